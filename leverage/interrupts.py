"""Signals that end a run: SIGINT (Ctrl-C), SIGTERM (CI cancellation, `timeout`, `kill`) and SIGHUP (a closed
terminal) all end it the same way: whatever it was doing is rolled back on the way out (the write's `except`
clauses and `finally` blocks run: the journal restores the files, the lock is released, temporary folders are
removed), then one line and exit 128 + the signal's number, as a shell reports a process a signal ended.

An interrupted run can fail in other ways first: the engine's child process (Node.js), in the same process group,
dies of the same Ctrl-C, and the next call to it fails with a broken pipe. `received()` tells the caller that
such a failure is the interrupt's doing, not a bug.

Once a run's writes are committed (`settle()`), a signal ends nothing more: the run reports what it wrote and ends
as it would have, rather than be cut short with a message that nothing was written. A roll back is not cut short
either (`deferred()`), so that "restored" is true when it is said.
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_received: list[int] = []


@dataclass
class _Run:
    settled: bool = False  # the run ends as it is: a signal is noted and ends nothing
    deferring: int = 0  # blocks in which a signal waits for the block's end


_run = _Run()


class Interrupted(KeyboardInterrupt):
    """A signal ended the run. A KeyboardInterrupt, so that every clause that rolls back on Ctrl-C rolls back."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _raise(signum: int, _frame: FrameType | None) -> None:
    _received.append(signum)
    if not _run.settled and not _run.deferring:
        raise Interrupted(signum)


def settle() -> None:
    """The run's writes are committed: from here it ends as it is (a signal is noted by `received()`, no more)."""
    _run.settled = True


@contextmanager
def deferred() -> Iterator[None]:
    """Signals wait for the block's end, where the last one is raised, unless the block ends with an exception of
    its own or the run has settled."""
    waiting_since = len(_received)
    _run.deferring += 1
    try:
        yield
    finally:
        _run.deferring -= 1
    if len(_received) > waiting_since and not _run.deferring and not _run.settled:
        raise Interrupted(_received[-1])


def received() -> int | None:
    """The signal this process received during the current run, if any."""
    return _received[-1] if _received else None


@contextmanager
def handled(*, process_ends: bool = False) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise `Interrupted` while the block runs; the previous handlers come back after,
    or, for a process that ends with the block (`process_ends`, the command line), they are ignored from then on:
    the interpreter's exit hooks stop the engine's child and remove the temporary folders (a few seconds at most),
    and a signal then would leave them half done with no message, the run itself being over. Outside the main
    thread (signals cannot be handled there) the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    _run.settled, _run.deferring = False, 0
    # A signal the process was started ignoring (nohup, `&` without job control) stays ignored.
    previous = {signum: signal.signal(signum, _raise) for signum in HANDLED
                if signal.getsignal(signum) is not signal.SIG_IGN}
    try:
        yield
    finally:
        _run.settled = True  # a signal now (changing a handler first runs the pending ones) ends nothing
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_IGN if process_ends else handler)
        _run.settled = process_ends


def as_interrupt(exc: BaseException) -> Interrupted | None:
    """`exc` as the interrupt that caused it: an Interrupted itself, a plain KeyboardInterrupt (SIGINT raised
    before our handler was in place), or any failure that happened after a signal arrived (a broken pipe to a
    child process the same Ctrl-C ended)."""
    if isinstance(exc, Interrupted):
        return exc
    if isinstance(exc, KeyboardInterrupt):  # Python's for Ctrl-C, or the command line's before the run's handlers
        return Interrupted(exc.args[0] if exc.args and exc.args[0] in HANDLED else signal.SIGINT)
    signum = received()
    return Interrupted(signum) if signum is not None else None


@contextmanager
def private_temporary_folder_for_children(prefix: str) -> Iterator[None]:
    """Child processes started in the block put their temporary files in a folder of this process's own
    (TMPDIR), removed when the process exits, however the children end: a child killed by the same Ctrl-C
    cannot clean up after itself. Python's own temporary folder stays where it was."""
    tempfile.gettempdir()  # fixed before TMPDIR changes
    folder = _removed_at_exit(prefix)
    before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = folder
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before


@contextmanager
def temporary_folder(prefix: str) -> Iterator[Path]:
    """A temporary folder removed at the block's end, or at the process's exit when a signal cut that removal short."""
    folder = _removed_at_exit(prefix)
    try:
        yield Path(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _removed_at_exit(prefix: str) -> str:
    """A new temporary folder, its removal at exit registered before any signal can be handled (they wait)."""
    held = threading.current_thread() is threading.main_thread()
    if held:
        signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    try:
        folder = tempfile.mkdtemp(prefix=prefix)
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    finally:
        if held:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)
    return folder


def write_line(text: str) -> None:
    """One line on stderr, even when stderr is a closed pipe (the terminal is gone after SIGHUP)."""
    try:
        print(text, file=sys.stderr, flush=True)
    except (BrokenPipeError, OSError):
        pass
