"""A pytest plugin for `make mutate` only (loaded from setup.cfg).

mutmut forks each mutant's test run from one process, so all runs share that process's jsii Node.js child (starting
one per run would cost seconds each). A run killed in the middle of a jsii call leaves an answer in the pipe that the
next run would take for its own; this guard turns every later run into "suspicious" (exit 35) instead of letting
such garbage count as a killed mutant.
"""
from __future__ import annotations

import os
import select

SUSPICIOUS = 35


def pytest_sessionstart(session: object) -> None:
    from jsii._runtime import kernel

    node = kernel.provider.__dict__.get("_process")  # started lazily; nothing to check before the first call
    if node is None:
        return
    try:
        readable, _, _ = select.select([node._process.stdout.fileno()], [], [], 0)
        if readable:
            raise RuntimeError("an earlier run left an answer in the jsii pipe")
        kernel.stats()
    except Exception:  # noqa: BLE001  (any failure here means the pipe is out of step)
        os._exit(SUSPICIOUS)
