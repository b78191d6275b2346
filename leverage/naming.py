"""AWS names of a Leverage project's resources: `<project>-<account>[-dr]-<name>`, the reference architecture's
convention (its modules' null labels: namespace = project, stage = account, then the name).

A copy of a layer outside the primary region (a `-dr` layer) gets `-dr` in its names too, because IAM and S3 names
are global and the copy must not collide with the original.

With `kind`, the name is checked against that kind of resource's AWS limits (length and characters) here, at
synth, instead of failing at apply.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class NameLimit:
    length: int
    pattern: str  # the characters AWS allows (fullmatch)
    allowed: str  # the same, in words, for the error


_LETTERS_DIGITS_DASH_UNDERSCORE = r"[A-Za-z0-9_-]+"
# AWS's documented limits of the names the layers give; a kind missing here is not checked.
AWS_NAME_LIMITS: dict[str, NameLimit] = {
    "s3_bucket": NameLimit(63, r"[a-z0-9][a-z0-9.-]*[a-z0-9]", "lowercase letters, digits, '.' and '-'"),
    "iam_role": NameLimit(64, r"[A-Za-z0-9+=,.@_-]+", "letters, digits and +=,.@_-"),
    "iam_policy": NameLimit(128, r"[A-Za-z0-9+=,.@_-]+", "letters, digits and +=,.@_-"),
    "sqs_queue": NameLimit(80, r"[A-Za-z0-9_-]+(\.fifo)?", "letters, digits, '-' and '_'"),
    "sns_topic": NameLimit(256, r"[A-Za-z0-9_-]+(\.fifo)?", "letters, digits, '-' and '_'"),
    "kinesis_stream": NameLimit(128, r"[A-Za-z0-9_.-]+", "letters, digits, '.', '-' and '_'"),
    "firehose_delivery_stream": NameLimit(64, r"[A-Za-z0-9_.-]+", "letters, digits, '.', '-' and '_'"),
    "dynamodb_table": NameLimit(255, r"[A-Za-z0-9_.-]{3,}", "letters, digits, '.', '-' and '_' (3 or more)"),
    "glue_database": NameLimit(255, r"[a-z0-9_]+", "lowercase letters, digits and '_'"),
    "glue_crawler": NameLimit(255, r"[^\x00-\x1f]+", "no control characters"),
    "cloudwatch_event_rule": NameLimit(64, r"[A-Za-z0-9_.-]+", "letters, digits, '.', '-' and '_'"),
    "cloudwatch_alarm": NameLimit(255, r"[^\x00-\x1f]+", "no control characters"),
    "log_group": NameLimit(512, r"[A-Za-z0-9_./#-]+", "letters, digits and _-./#"),
    "lambda_function": NameLimit(64, _LETTERS_DIGITS_DASH_UNDERSCORE, "letters, digits, '-' and '_'"),
    "kms_alias": NameLimit(256, r"alias/[A-Za-z0-9/_-]+", "'alias/' then letters, digits and /_-"),
}



def aws_name(project: str, account: str, name: str = "", *, disaster_recovery: bool = False,
             kind: str | None = None) -> str:
    """The name of a project's resource in an account: `bb-apps-devstg-orders`, `bb-apps-devstg-dr-orders`;
    without `name`, the prefix that every such name starts with. With `kind` (a key of AWS_NAME_LIMITS, such as
    "sqs_queue"), a name longer than AWS allows or holding characters it refuses raises ValueError."""
    prefix = f"{project}-{account}{'-dr' if disaster_recovery else ''}"
    full = f"{prefix}-{name}" if name else prefix
    if kind is not None:
        check_aws_name(full, kind)
    return full


def check_aws_name(name: str, kind: str) -> None:
    """ValueError when `name` breaks the AWS limits of a `kind` resource (AWS_NAME_LIMITS)."""
    if kind not in AWS_NAME_LIMITS:
        raise ValueError(f"unknown kind of AWS name {kind!r} (known: {', '.join(sorted(AWS_NAME_LIMITS))})")
    limit = AWS_NAME_LIMITS[kind]
    if len(name) > limit.length:
        raise ValueError(f"the {kind} name {name!r} has {len(name)} characters, more than the {limit.length} AWS allows")
    if not re.fullmatch(limit.pattern, name):
        raise ValueError(f"the {kind} name {name!r} holds characters AWS refuses there: use {limit.allowed}")
