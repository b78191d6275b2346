"""The engine's child process (jsii's Node.js kernel), stopped quietly when the app exits.

jsii stops its kernel at exit by writing to the child's stdin. When a Ctrl-C reached the whole process group, the
child is already dead and that write fails with a BrokenPipeError traceback after the app has printed its one line.
`stop_quietly_at_exit` registers a stop that runs before jsii's own (atexit runs the last registered first) and
takes its place: the child is asked to exit, or killed when it cannot hear, and jsii's temporary files are removed.
"""
from __future__ import annotations

import atexit
import contextlib
import subprocess

from jsii._runtime import kernel

_registered: list[bool] = []


def _stop() -> None:
    process = kernel.provider._process  # started when the bindings were imported
    try:
        process.stop()  # unregisters jsii's own hook first thing
    except (OSError, ValueError):  # the child is gone: the pipe is broken, or was closed already
        child = process._process
        with contextlib.suppress(OSError):
            child.kill()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            child.wait(timeout=5)
        for pipe in (child.stdin, child.stdout, child.stderr):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                pipe.close()
        with contextlib.suppress(OSError):
            process._ctx_stack.close()


def stop_quietly_at_exit() -> None:
    """Once per process, after the bindings are imported (the kernel runs)."""
    if not _registered:
        atexit.register(_stop)
        _registered.append(True)
