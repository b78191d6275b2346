"""What only a separate process can show, in one run (each costs seconds): the usual import of the provider package
gives the fast import's output byte for byte (the suite's one run of the usual import, which costs the most: every
test comparing with it reads the session's layers, which this run checks), output does not depend on the hash
seed or the working directory, and `check` works in a read-only checkout and writes nothing."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bindings import ENGINE, provider_cache
from tests.conftest import REPO, tree_digest

pytestmark = pytest.mark.slow

PROVIDER = ENGINE.provider
PROBE = ".read-only-probe"


def modules_imported(import_time_report: str) -> set[str]:
    """The modules a process imported, from CPython's `-X importtime` report on stderr."""
    return {line.rsplit("|", 1)[1].strip() for line in import_time_report.splitlines()
            if line.startswith("import time:")}


def read_only_script(project: Path, command: str) -> str:
    """Mount the checkout and the project read-only, prove a write fails in both, then run `command`.
    `set -e`: a failed mount stops the script before the command runs."""
    return "\n".join([
        "set -e",
        *(f"mount --bind {tree} {tree}\nmount -o remount,bind,ro {tree}" for tree in (REPO, project)),
        f"for tree in {REPO} {project}; do",
        f"  if touch \"$tree/{PROBE}\" 2>/dev/null; then echo \"writable: $tree\" >&2; exit 97; fi",
        "done",
        "echo mounted-read-only >&2",
        f"exec {command}",
    ])


def test_usual_import_in_a_read_only_checkout_from_another_directory_finds_no_drift(
        tmp_path: Path, synthesized_example: Path) -> None:
    """`check` with LEVERAGE_CDKTF_EAGER_IMPORT=1 (the package's own `__init__` runs, and its `_jsii` loads the whole
    assembly; cdktf's `__init__` also imports every submodule),
    another hash seed, started from another directory, with the app's checkout and the Leverage project mounted
    read-only (a private mount namespace, as root), against the layers the test session wrote with the fast import."""
    can_mount = shutil.which("unshare") is not None and os.geteuid() == 0
    project = tmp_path / "example"
    shutil.copytree(synthesized_example, project, symlinks=True)
    before = tree_digest(project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    command = f"{sys.executable} -X importtime {REPO / 'main.py'} check -c leverageRoot={project}"
    argv = (["unshare", "--mount", "--propagation", "private", "sh", "-c", read_only_script(project, command)]
            if can_mount else command.split())
    env = {key: value for key, value in os.environ.items() if key != "CDKTF_OUTDIR"}  # check's own defaults
    process = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=elsewhere,
                             env={**env, "LEVERAGE_CDKTF_EAGER_IMPORT": "1", "PYTHONHASHSEED": "999"})
    if can_mount:
        assert "mounted-read-only" in process.stderr, f"the read-only mount failed: {process.stderr[-2000:]}"
    assert process.returncode == 0, process.stdout + process.stderr[-3000:]
    assert process.stdout.startswith("no drift"), process.stdout
    assert PROVIDER in modules_imported(process.stderr)  # the package's own `__init__` ran
    # ... which the fast import (this process) never runs: a bare package, and the trimmed assembly.
    assert provider_cache.loaded is not None and not hasattr(sys.modules[PROVIDER], "__jsii_assembly__")
    assert tree_digest(project) == before
    assert not (REPO / PROBE).exists() and not (project / PROBE).exists()
    if not can_mount:  # a failure under CI (tests/conftest.py)
        pytest.skip("the read-only part needs root and unshare(1); the rest was checked without the mount")


# A wrapper around main.py that stops at the first layer file it renames into place (the journal is written, the
# engine's child still runs) and says so: the signal then arrives in the middle of the write, every time.
STOPS_WHILE_WRITING = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, sys.argv[1])
    import main
    real_replace = os.replace
    def replace(source, target, *args, **kwargs):
        if str(target).endswith("main.tf.json"):
            print("writing", flush=True)
            time.sleep(60)
        return real_replace(source, target, *args, **kwargs)
    os.replace = replace
    sys.exit(main.main(sys.argv[2:]))
""")
# The same, stopping as the stacks are synthesized (the lock held, the engine's child running): a fixed delay would
# let a fast machine finish the run first.
STOPS_WHILE_SYNTHESIZING = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[1])
    import main
    import leverage.synth
    real_synthesize = leverage.synth.synthesize
    def synthesize(*args, **kwargs):
        print("synthesizing", flush=True)
        time.sleep(60)
        return real_synthesize(*args, **kwargs)
    leverage.synth.synthesize = synthesize
    sys.exit(main.main(sys.argv[2:]))
""")
WRAPPERS = {"writing": STOPS_WHILE_WRITING, "synthesizing": STOPS_WHILE_SYNTHESIZING}
# case -> (signal, sent to the whole process group (as a terminal's Ctrl-C or a CI runner does), when: as soon as
# the app has its handlers in place (None), or at a point of the run a wrapper above stops at)
SIGNALS = {
    "a closed terminal while it loads": (signal.SIGHUP, True, None),
    "a cancelled CI job (or timeout) while it synthesizes, the lock held": (signal.SIGTERM, False, "synthesizing"),
    "Ctrl-C while it writes, the engine's child dying with it": (signal.SIGINT, True, "writing"),
}


def as_from_a_terminal() -> None:
    """In the child before it runs the app: the signals at their defaults, as a terminal starts a command, whatever
    started the tests (`nohup`, a CI runner ignoring SIGHUP)."""
    for signum in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


def handlers_in_place(pid: int, signum: int, timeout: float = 60.0) -> None:
    """Wait until the process catches `signum` (/proc's SigCgt mask): before that, the interpreter is still starting
    and the signal's default action ends it, which no program can prevent. A fixed delay is too short on a busy
    machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status").read_text()
        caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
        if caught & (1 << (signum - 1)):
            return
        time.sleep(0.01)
    raise AssertionError(f"the app did not install a handler for signal {signum} within {timeout:.0f} s")


@pytest.mark.parametrize("case", SIGNALS)
def test_a_signal_is_one_line_exit_128_plus_n_and_leaves_nothing_behind(tmp_path: Path, case: str) -> None:
    """SIGINT, SIGTERM and SIGHUP alike: one line, no traceback (not even from the engine's child, which a signal to
    the group ends too), exit 128 + n, the tree as it was, the lock released, no temporary folder left."""
    from tests.conftest import copy_example

    signum, group, when = SIGNALS[case]
    project = copy_example(tmp_path / "example")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    before = tree_digest(project)
    argv = ([sys.executable, "-c", WRAPPERS[when], str(REPO)] if when
            else [sys.executable, str(REPO / "main.py")]) + ["synth", "-c", f"leverageRoot={project}"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                               env={**os.environ, "TMPDIR": str(temporary), "CDKTF_OUTDIR": str(tmp_path / "out")},
                               start_new_session=True, preexec_fn=as_from_a_terminal)
    if when:
        assert process.stdout is not None and process.stdout.readline() == f"{when}\n"
    else:
        handlers_in_place(process.pid, signum)
    if group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    out, err = process.communicate(timeout=120)
    assert (process.returncode, out) == (128 + signum, ""), err[-2000:]
    assert err == f"error: interrupted ({signal.Signals(signum).name}); nothing was written (files a write had " \
                  "begun were restored)\n", err[-2000:]
    assert tree_digest(project) == before  # no lock, no journal: the state folder is gone too
    assert list(temporary.iterdir()) == []


def started_by_nohup() -> None:
    as_from_a_terminal()
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def test_a_signal_the_process_was_started_ignoring_stays_ignored(tmp_path: Path) -> None:
    """`nohup` starts the command ignoring SIGHUP (a shell without job control does so with SIGINT for `&`): the
    terminal closing must not end the run, which writes the layers and exits 0."""
    from tests.conftest import copy_example

    project = copy_example(tmp_path / "example")
    process = subprocess.Popen([sys.executable, str(REPO / "main.py"), "synth", "-c", f"leverageRoot={project}"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                               env={**os.environ, "CDKTF_OUTDIR": str(tmp_path / "out")}, start_new_session=True,
                               preexec_fn=started_by_nohup)
    handlers_in_place(process.pid, signal.SIGTERM)  # the app's own handlers are in place: SIGHUP was left alone
    while process.poll() is None:  # to the group: the engine's Node.js child (which resets signals at its start) too
        os.killpg(process.pid, signal.SIGHUP)
        time.sleep(0.1)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0 and "interrupted" not in err, err[-2000:]
    assert out.rstrip().endswith("files changed")


# The same wrapper, stopping once the write is committed (the journal finished): the report and the clean-up are
# left, and the engine's child still runs.
STOPS_ONCE_WRITTEN = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[1])
    import main
    from leverage import interrupts
    real_settle = interrupts.settle
    def settle():
        real_settle()
        print("written", flush=True)
        deadline = time.monotonic() + 60
        while interrupts.received() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    interrupts.settle = settle
    sys.argv[1:] = sys.argv[2:]
    main.command_line()
""")


def test_ctrl_c_once_the_write_is_committed_ends_the_run_as_it_would_have(tmp_path: Path) -> None:
    """A signal after the commit would only cut the report and the clean-up short, and its message would say that
    nothing was written: the run goes on, reports the files it wrote and exits 0, and removes its temporary folders,
    though the same Ctrl-C ended the engine's child."""
    from tests.conftest import copy_example

    project = copy_example(tmp_path / "example")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    process = subprocess.Popen([sys.executable, "-c", STOPS_ONCE_WRITTEN, str(REPO), "synth", "-c",
                                f"leverageRoot={project}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=REPO, env={**os.environ, "TMPDIR": str(temporary),
                                              "CDKTF_OUTDIR": str(tmp_path / "out")}, start_new_session=True,
                               preexec_fn=as_from_a_terminal)
    assert process.stdout is not None and process.stdout.readline() == "written\n"
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-2000:]
    assert "error" not in err and "Traceback" not in err, err[-2000:]
    assert out.rstrip().endswith("files changed") and "wrote apps-devstg/us-east-1/datalake/main.tf.json" in out
    assert (project / "apps-devstg/us-east-1/datalake/main.tf.json").is_file()
    assert not (project / ".leverage-cdktf").exists()
    assert list(temporary.iterdir()) == []
