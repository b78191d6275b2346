"""The engine's child process (jsii's Node.js kernel), stopped quietly when the app exits, however it exits.

jsii stops its kernel at exit by writing to the child's stdin. When a Ctrl-C reached the whole process group, the
child is already dead and that write fails with a BrokenPipeError traceback after the app has printed its one line,
also when the signal arrives while the engine is still loading. `quiet_stops` makes jsii's own stop quiet before
the kernel starts: the child is asked to exit, or killed when it cannot hear, and jsii's temporary files are removed.
"""
from __future__ import annotations

import contextlib
import subprocess
from typing import Any, Callable

from jsii._kernel.providers.process import _NodeProcess
from jsii.errors import JavaScriptError, JSIIError

_QUIET = "_leverage_quiet"


def _stop_quietly(original: Callable[[Any], None]) -> Callable[[Any], None]:
    def stop(process: Any) -> None:
        try:
            original(process)  # unregisters its exit hook first thing
        except (OSError, ValueError, AttributeError):  # the child is gone (a broken or closed pipe), or never started
            child = getattr(process, "_process", None)
            if child is not None:
                with contextlib.suppress(OSError):
                    child.kill()
                with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                    child.wait(timeout=5)
                for pipe in (child.stdin, child.stdout, child.stderr):
                    with contextlib.suppress(OSError, ValueError, AttributeError):
                        pipe.close()
            with contextlib.suppress(OSError, AttributeError):
                process._ctx_stack.close()

    setattr(stop, _QUIET, True)
    return stop


def quiet_stops() -> None:
    """Once per process, before the kernel starts (jsii registers the stop at exit when it starts the child)."""
    if not getattr(_NodeProcess.stop, _QUIET, False):
        _NodeProcess.stop = _stop_quietly(_NodeProcess.stop)  # type: ignore[method-assign]


def engine_failure(error: BaseException) -> str | None:
    """What the engine said, as one line, when `error` is its failure: a JavaScript error (jsii raises it as a
    RuntimeError caused by a JavaScriptError: a validation of the construct tree, a token that does not resolve) or
    a fault of jsii's kernel (a JSIIError: say its files went missing); None for any other error. Left out: the
    JavaScript stack (jsii's kernel frames, never the Python that made the construct) and the engine's advice on its
    validations, which the app gives no option to skip."""
    if not isinstance(error, JSIIError) and not (isinstance(error, RuntimeError)
                                                 and isinstance(error.__cause__, JavaScriptError)):
        return None
    message = str(error).split("Object creation stack:")[0]
    kept = [line.strip() for line in message.splitlines()
            if line.strip() and not line.strip().startswith(_ENGINE_ADVICE)]
    return " ".join(kept).removeprefix("Error: ") or type(error).__name__


_ENGINE_ADVICE = ("If you wish to ignore these validations", "Validations allow for dynamic verification")
