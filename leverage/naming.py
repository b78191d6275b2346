"""AWS names of a Leverage project's resources: `<project>-<account>[-dr]-<name>`, the reference architecture's
convention (its modules' null labels: namespace = project, stage = account, then the name).

A copy of a layer outside the primary region (a `-dr` layer) gets `-dr` in its names too, because IAM and S3 names
are global and the copy must not collide with the original.
"""
from __future__ import annotations


def aws_name(project: str, account: str, name: str = "", *, disaster_recovery: bool = False) -> str:
    """The name of a project's resource in an account: `bb-apps-devstg-orders`, `bb-apps-devstg-dr-orders`;
    without `name`, the prefix that every such name starts with."""
    prefix = f"{project}-{account}{'-dr' if disaster_recovery else ''}"
    return f"{prefix}-{name}" if name else prefix
