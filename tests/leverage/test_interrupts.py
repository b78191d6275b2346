"""Signals and the run's end: handlers given back (or ignored by a process that ends), and signals that wait."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import main as app_main
from leverage import interrupts
from tests.conftest import REPO


def test_the_handlers_before_the_run_come_back_after_it_or_signals_are_ignored_when_the_process_ends() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with interrupts.handled():
        assert signal.getsignal(signal.SIGTERM) is interrupts._raise
    assert signal.getsignal(signal.SIGTERM) is before
    try:
        with interrupts.handled(process_ends=True):
            pass
        assert all(signal.getsignal(signum) is signal.SIG_IGN for signum in interrupts.HANDLED)
    finally:
        for signum in interrupts.HANDLED:
            signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)
        signal.signal(signal.SIGTERM, before)


def test_a_deferred_signal_is_raised_at_the_blocks_end_and_a_settled_run_ends_as_it_is() -> None:
    with interrupts.handled():
        finished = []
        with pytest.raises(interrupts.Interrupted):
            with interrupts.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                finished.append("the block")
        assert finished == ["the block"]
        interrupts.settle()
        os.kill(os.getpid(), signal.SIGTERM)
        assert interrupts.received() == signal.SIGTERM


def test_a_signal_as_the_run_ends_is_one_line(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the run's own handling of errors, before its handlers are removed."""
    def run_ending_on_a_signal(argv: list[str], debug: bool) -> int:
        os.kill(os.getpid(), signal.SIGHUP)
        return 0

    monkeypatch.setattr(app_main, "_main", run_ending_on_a_signal)
    assert app_main.main(["list"]) == 128 + signal.SIGHUP
    assert capsys.readouterr().err == "error: interrupted (SIGHUP); nothing was written (files a write had begun " \
                                      "were restored)\n"


# The command line before its run's handlers are in place (the run's `main` replaced by a signal and a wait).
EARLY_SIGNAL = """
import os, signal, sys, time
sys.path.insert(0, {repo!r})
import main
def main_receiving_a_signal(**options):
    os.kill(os.getpid(), signal.SIGHUP)
    time.sleep(30)
main.main = main_receiving_a_signal
main.command_line()
"""


def test_a_signal_before_the_runs_handlers_are_in_place_is_one_line() -> None:
    """The command line's first act: Python's defaults would print a traceback for Ctrl-C and nothing for SIGTERM."""
    ended = subprocess.run([sys.executable, "-c", EARLY_SIGNAL.format(repo=str(REPO))], capture_output=True,
                           text=True, timeout=60)
    assert (ended.returncode, ended.stdout) == (128 + signal.SIGHUP, "")
    assert ended.stderr == "error: interrupted (SIGHUP); nothing was written (files a write had begun were restored)\n"


# The command line with an empty cache folder, a signal arriving as the first bytecode entry is written.
SIGNAL_WHILE_CACHING = """
import os, signal, sys
sys.path.insert(0, {repo!r})
real_replace = os.replace
def replace(source, target, *args, **kwargs):
    if str(target).endswith(".pyc"):
        os.replace = real_replace
        os.kill(os.getpid(), signal.SIGTERM)
    return real_replace(source, target, *args, **kwargs)
os.replace = replace
sys.argv = ["main.py", "--version"]
import main
main.command_line()
"""


def test_a_signal_while_the_bytecode_cache_is_written_leaves_no_part_of_it(tmp_path: Path) -> None:
    """Before the run's handlers, the command line's unwinds: the cache's write removes its temporary file."""
    ended = subprocess.run([sys.executable, "-B", "-c", SIGNAL_WHILE_CACHING.format(repo=str(REPO))],
                           capture_output=True, text=True, timeout=60,
                           env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)})
    assert (ended.returncode, ended.stdout) == (128 + signal.SIGTERM, "")
    assert ended.stderr == "error: interrupted (SIGTERM); nothing was written (files a write had begun were restored)\n"
    entries = [path.name for path in tmp_path.rglob("*") if path.is_file()]
    assert entries and all(name.endswith(".pyc") and not name.startswith(".") for name in entries), entries
