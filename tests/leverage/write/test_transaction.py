"""Writes: all-or-nothing when a step fails, recovered when the process dies, one writer per project, and cdktf's
output folder replaced only when it is cdktf's."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest

import main as app_main
from leverage.write import files
from leverage.write import journal
from leverage.write import lock
from leverage.write import state
from leverage.write.cdktf_out import output_folder
from leverage.errors import UserError
from leverage.write.content import GENERATED_FILE_NAMES, Symlink
from tests.conftest import REPO, assert_refused, copy_example, run_cli, tree_digest


def synth(capsys: pytest.CaptureFixture[str], root: Path, *settings: str):
    return run_cli(capsys, "synth", "-c", f"leverageRoot={root}", *settings)


def check(capsys: pytest.CaptureFixture[str], root: Path, *settings: str):
    return run_cli(capsys, "check", "-c", f"leverageRoot={root}", *settings)


class SimulatedCrash(BaseException):
    """The process dies here: no except clause of the app runs (only `finally`, as for a signal)."""


MUTATIONS = ("open", "replace", "unlink", "mkdir", "symlink", "rename", "rmdir")


class Injector:
    """Counts every file-system change the app makes and fails the `fail_at`-th one (once)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail_at: int | None = None,
                 error: Callable[[], BaseException] = lambda: OSError(28, "No space left on device")) -> None:
        self.calls = 0
        self.fail_at = fail_at
        self.error = error
        for name in MUTATIONS:
            monkeypatch.setattr(os, name, self._wrap(getattr(os, name), name))

    def _wrap(self, real: Callable[..., Any], name: str) -> Callable[..., Any]:
        def changing(*args: Any, **kwargs: Any) -> Any:
            if name == "open" and not (args[1] if len(args) > 1 else kwargs["flags"]) & os.O_CREAT:
                return real(*args, **kwargs)  # reading is not a change
            self.calls += 1
            if self.calls == self.fail_at:
                raise self.error()
            return real(*args, **kwargs)
        return changing


def layer_files(root: Path) -> dict[str, files.FileContent]:
    """The generated files of a synthesized tree, as `synth` would write them."""
    found: dict[str, files.FileContent] = {}
    for config in root.glob("*/*/*/config.tf"):
        for path in config.parent.iterdir():
            if path.name in GENERATED_FILE_NAMES:
                relative = path.relative_to(root).as_posix()
                found[relative] = Symlink(os.readlink(path)) if path.is_symlink() else path.read_bytes()
    return found


@pytest.fixture(scope="module")
def old_and_new(tmp_path_factory: pytest.TempPathFactory, synthesized_example: Path) -> tuple[Path, dict, dict]:
    """A project synthesized with one configuration, and the files another writes in it: changed files, a new
    layer folder, and stale links (the project's common-variables.tf is gone)."""
    base = tmp_path_factory.mktemp("writes")
    old = base / "old"
    shutil.copytree(synthesized_example, old, symlinks=True)
    (old / "config/common-variables.tf").unlink()
    new = copy_example(base / "new")
    (new / "config/common-variables.tf").unlink()
    assert app_main.main(["synth", "-c", f"leverageRoot={new}", "-c", "lakeLayer=lake-storage",
                          "-c", "firehoseBufferingIntervalSeconds=300"]) == 0
    desired = layer_files(new)
    done = base / "done"
    shutil.copytree(old, done, symlinks=True)
    files.apply(files.plan(done, desired))
    return old, desired, tree_digest(done)


def test_the_scenario_changes_removes_and_creates(old_and_new: tuple[Path, dict, dict]) -> None:
    old, desired, _ = old_and_new
    plan = files.plan(old, desired)
    assert plan.changed and plan.missing and len(plan.stale) == 4 and not plan.conflicts  # a stale link per kept layer


def test_a_failure_at_any_step_restores_every_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                   old_and_new: tuple[Path, dict, dict]) -> None:
    old, desired, _ = old_and_new
    before = tree_digest(old)
    counting = tmp_path / "count"
    shutil.copytree(old, counting, symlinks=True)
    with monkeypatch.context() as patch:
        counter = Injector(patch)
        files.apply(files.plan(counting, desired))
    assert counter.calls > 20
    for step in range(1, counter.calls + 1):
        root = tmp_path / f"fail-{step}"
        shutil.copytree(old, root, symlinks=True)
        with monkeypatch.context() as patch:
            Injector(patch, fail_at=step)
            try:
                files.apply(files.plan(root, desired))
            except UserError as exc:
                assert "every file was restored" in str(exc) or "nothing was written" in str(exc)
            else:  # only removing the emptied state folder after the commit failed: the layers are written
                assert step > counter.calls - 2 and state.state_folder(root).is_dir()
                continue
        assert tree_digest(root) == before, f"step {step} of {counter.calls}"  # no staged temporary left either


@pytest.mark.parametrize("refused, message", [
    ("main.tf.json", "writing the layers failed (Permission denied: apps-devstg/us-east-1/databases-dynamodb/"
                     "main.tf.json); every file was restored"),
    ("journal.json", "cannot write the journal in <root>: Permission denied: .leverage-cdktf/journal.json")])
def test_a_write_the_system_refuses_says_why_and_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                            old_and_new: tuple[Path, dict, dict], refused: str,
                                                            message: str) -> None:
    """Permission denied is not a full disk: the line names the cause, the file, and the fix for that cause (root
    ignores file modes, so the refusal is the system call's)."""
    old, desired, _ = old_and_new
    root = tmp_path / "example"
    shutil.copytree(old, root, symlinks=True)
    before = tree_digest(root)
    real_replace = os.replace

    def replace(source: Any, target: Any, *args: Any, **kwargs: Any) -> None:
        if str(target).endswith(refused):
            raise PermissionError(13, "Permission denied", str(target))
        real_replace(source, target, *args, **kwargs)
    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(UserError) as refusal:
        files.apply(files.plan(root, desired))
    assert message.replace("<root>", str(root)) in refusal.value.message, refusal.value.message
    assert refusal.value.fix.startswith("give the user running synth write access to that folder")
    assert "check the disk" not in refusal.value.message
    monkeypatch.undo()
    assert tree_digest(root) == before


def test_a_crash_at_any_step_shows_as_drift_and_is_rolled_back(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                              old_and_new: tuple[Path, dict, dict]) -> None:
    old, desired, after = old_and_new
    before = tree_digest(old)
    step, crashed_with_changes = 0, 0
    while True:
        step += 1
        root = tmp_path / f"crash-{step}"
        shutil.copytree(old, root, symlinks=True)
        with monkeypatch.context() as patch:
            Injector(patch, fail_at=step, error=SimulatedCrash)
            try:
                files.apply(files.plan(root, desired))
                finished = True
            except SimulatedCrash:
                finished = False
        if finished:
            break
        if tree_digest(root) != before:
            crashed_with_changes += 1
            assert files.plan(root, desired).leftovers, f"step {step}: a change that check does not report"
        committed = not journal.journal_path(root).exists() and state.state_folder(root).is_dir()
        journal.recover(root)
        if committed and tree_digest(root) == after:  # it died removing the emptied state folder after the commit
            continue
        assert tree_digest(root) == before, f"step {step}"
        files.apply(files.plan(root, desired))
        assert tree_digest(root) == after, f"step {step}"
    assert step > 20 and crashed_with_changes == step - 2  # all but a crash before the very first change


def synth_dying_at_the_first_layer_file(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                        root: Path, *settings: str) -> None:
    """A synth whose process dies once its journal is written, as it renames the first layer file into place."""
    real_replace = os.replace

    def die_at_first_layer_file(source: Any, target: Any) -> None:
        if not str(target).endswith(journal.JOURNAL_NAME):
            raise SimulatedCrash()
        real_replace(source, target)

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", die_at_first_layer_file)
        with pytest.raises(SimulatedCrash):
            synth(capsys, root, *settings)


@pytest.fixture
def synthesized_copy(tmp_path: Path, synthesized_example: Path) -> Path:
    return Path(shutil.copytree(synthesized_example, tmp_path / "example", symlinks=True))


def test_check_reports_an_interrupted_synth_and_synth_rolls_it_back(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, synthesized_copy: Path) -> None:
    root = synthesized_copy
    before = tree_digest(root)
    # Another region: new folders whose common-variables.tf links are staged as temporary symlinks.
    synth_dying_at_the_first_layer_file(capsys, monkeypatch, root, "-c", "region=us-east-2")
    staged_link = next((root / "apps-devstg/us-east-2/datalake").glob(".common-variables.tf.*.leverage-cdktf.tmp"))
    assert staged_link.is_symlink()

    drift = check(capsys, root, "-c", "region=us-east-2")
    assert drift.code == 1
    assert f"leftover: {journal.JOURNAL_NAME} (an interrupted synth left it" in drift.out
    assert f"leftover: {staged_link.relative_to(root).as_posix()} " in drift.out
    assert check(capsys, root).code == 1  # whatever the settings: the journal is at the root

    result = synth(capsys, root)
    assert result.code == 0 and result.err.startswith("warning: an earlier synth was interrupted; rolled back")
    assert "0 files changed" in result.out
    assert tree_digest(root) == before
    assert check(capsys, root).code == 0


def test_a_killed_process_is_rolled_back_by_the_next_synth(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                           synthesized_example: Path) -> None:
    """A real process that dies (os._exit: no clean-up of any kind) half-way through renaming the layer files."""
    root = tmp_path / "example"
    shutil.copytree(synthesized_example, root, symlinks=True)
    before = tree_digest(root)
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(REPO)!r})
        import main
        real_replace, calls = os.replace, []
        def dying(source, target):
            calls.append(target)
            if len(calls) == 3:  # the journal, one layer file, then death
                os._exit(9)
            real_replace(source, target)
        os.replace = dying
        sys.exit(main.main(sys.argv[1:]))
    """)
    process = subprocess.run([sys.executable, "-c", script, "synth", "-c", f"leverageRoot={root}",
                              "-c", "region=us-east-2"],
                             capture_output=True, text=True, timeout=300, cwd=tmp_path,
                             env={**os.environ, "CDKTF_OUTDIR": str(tmp_path / "cdktf.out")})
    assert process.returncode == 9, process.stderr
    assert (root / lock.LOCK_NAME).exists()  # left by the dead process; its flock died with it
    assert tree_digest(root) != before and (root / journal.JOURNAL_NAME).is_file()
    assert check(capsys, root).code == 1
    result = synth(capsys, root)
    assert result.code == 0 and "rolled back" in result.err
    assert tree_digest(root) == before


# One writer per project.

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from leverage.write import lock
    with lock.exclusive(Path(sys.argv[2])):
        print("held", flush=True)
        time.sleep(float(sys.argv[3]))
""")


def hold_lock(root: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(REPO), str(root), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


def test_a_second_synth_is_refused_naming_the_holder(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                                     synthesized_copy: Path) -> None:
    """The holder is this process (flock(2) locks belong to an open file, so a second open conflicts all the
    same): in-process, so `make mutate` runs it."""
    before = tree_digest(synthesized_copy)
    with lock.exclusive(synthesized_copy):
        holder = (synthesized_copy / lock.LOCK_NAME).read_text().strip()
        assert holder.startswith(f"pid {os.getpid()} on ") and " since 20" in holder
        refused = synth(capsys, synthesized_copy, "-c", "firehoseBufferingIntervalSeconds=300")
        assert refused.code == 2 and refused.err.count("\n") == 1
        assert refused.err.startswith(f"error: another synth is writing layers in example right now ({holder}; lock ")
        monkeypatch.setattr(lock, "CHECK_WAIT_SECONDS", 0.3)
        waited = check(capsys, synthesized_copy)
        assert waited.code == 2 and waited.err.count("\n") == 1
        assert f"a synth has been writing layers in example for more than 0.3 s ({holder})" in waited.err
    assert tree_digest(synthesized_copy) == before  # the holder removes its lock file; nothing else was touched
    # A holder that died leaves its file without its flock: the next synth takes it over, and removes it after.
    state.ensure(synthesized_copy)
    (synthesized_copy / lock.LOCK_NAME).write_text("pid 1 on elsewhere since 2026-01-01T00:00:00Z\n")
    assert synth(capsys, synthesized_copy, "-c", "firehoseBufferingIntervalSeconds=300").code == 0
    assert not (synthesized_copy / lock.LOCK_NAME).exists()


def test_check_waits_for_a_running_synth(capsys: pytest.CaptureFixture[str], synthesized_example: Path,
                                         tmp_path: Path) -> None:
    root = tmp_path / "example"
    shutil.copytree(synthesized_example, root, symlinks=True)
    holder = hold_lock(root, 1.0)
    try:
        result = check(capsys, root)
        assert holder.poll() is not None  # it returned only once the holder had finished
        assert result.code == 0, result.out + result.err
    finally:
        holder.kill()
        holder.wait()


# cdktf's output folder.

def test_cdktf_output_folder_rules(tmp_path: Path) -> None:
    app, project = tmp_path / "app", tmp_path / "projects/acme"
    (project / "apps-devstg").mkdir(parents=True)
    app.mkdir()
    (app / "main.py").write_text("")
    owned = tmp_path / "out"
    (owned / "stacks/a").mkdir(parents=True)
    (owned / "manifest.json").write_text("{}")
    users = tmp_path / "mine"
    users.mkdir()
    (users / "notes.txt").write_text("mine")
    (tmp_path / "file").write_text("x")
    refused = {
        "": "is set but empty", "  ": "is set but empty",
        str(app): "the app's folder or one above it", str(tmp_path): "the app's folder or one above it",
        "/": "the app's folder or one above it",
        str(project): "the Leverage project", str(project / "apps-devstg"): "the Leverage project",
        str(project / "new"): "the Leverage project", str(project.parent): "the Leverage project",
        str(users): "holds files a synth does not write", str(tmp_path / "file"): "is not a folder",
    }
    for setting, message in refused.items():
        with pytest.raises(UserError, match=message):
            output_folder({"CDKTF_OUTDIR": setting}, app, project)
    assert output_folder({"CDKTF_OUTDIR": str(owned)}, app, project) == owned
    assert output_folder({"CDKTF_OUTDIR": str(tmp_path / "absent")}, app, project) == tmp_path / "absent"
    assert output_folder({}, app, project) == app / "cdktf.out"


@pytest.mark.parametrize("where", ["empty", "cwd file", "project", "account", "user folder"])
def test_synth_refuses_a_cdktf_output_folder_that_is_not_cdktfs(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, where: str) -> None:
    project = copy_example(tmp_path / "example")
    (tmp_path / "mine.txt").write_text("mine")
    monkeypatch.chdir(tmp_path)
    value = {"empty": "", "cwd file": str(tmp_path / "mine.txt"), "project": str(project),
             "account": str(project / "apps-devstg"), "user folder": str(tmp_path)}[where]
    monkeypatch.setenv("CDKTF_OUTDIR", value)
    before = tree_digest(tmp_path)
    result = synth(capsys, project)
    assert result.code == 2 and result.err.startswith("error: CDKTF_OUTDIR") and result.err.count("\n") == 1
    assert tree_digest(tmp_path) == before


def test_cdktf_output_is_replaced_only_with_the_layers(capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    project = copy_example(tmp_path / "example")
    out = tmp_path / "cdktf.out"
    (out / "stacks/old").mkdir(parents=True)
    (out / "manifest.json").write_text("old")
    monkeypatch.setenv("CDKTF_OUTDIR", str(out))
    (project / "apps-devstg/us-east-1/datalake").mkdir(parents=True)
    (project / "apps-devstg/us-east-1/datalake/config.tf").write_text("# mine\n")
    before = tree_digest(tmp_path)
    assert synth(capsys, project).code == 2  # the layers fail: cdktf's folder stays as it was
    assert tree_digest(tmp_path) == before
    (project / "apps-devstg/us-east-1/datalake/config.tf").unlink()
    assert synth(capsys, project).code == 0
    assert (out / "manifest.json").read_text() != "old" and not (out / "stacks/old").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cdktf.out", "example"]  # nothing staged is left


@pytest.mark.parametrize("journal_text", ["{", '{"run": "x", "created_folders": [], "steps": [{"path": "../outside", '
                                          '"temporary": null, "previous": null}]}'])
def test_a_journal_that_cannot_be_trusted_stops_synth(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                      synthesized_example: Path, journal_text: str) -> None:
    root = tmp_path / "example"
    shutil.copytree(synthesized_example, root, symlinks=True)
    (tmp_path / "outside").write_text("kept")
    state.ensure(root)
    (root / journal.JOURNAL_NAME).write_text(journal_text)
    before = tree_digest(tmp_path)
    result = synth(capsys, root)
    assert result.code == 2 and "records an interrupted synth but cannot be read" in result.err
    assert tree_digest(tmp_path) == before


def test_cdktf_output_siblings_carry_the_run_so_leftovers_and_other_projects_do_not_collide(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from leverage.write.cdktf_out import Swap

    out = tmp_path / "cdktf.out"
    (out / "stacks").mkdir(parents=True)
    for leftover in (".cdktf.out.new", ".cdktf.out.old"):  # what a killed run of an older version left
        (tmp_path / leftover / "stacks").mkdir(parents=True)
    # What runs killed between their swaps left: two of a process that is gone, one of a run still going.
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    running = f".cdktf.out.{os.getpid()}-0123abcd.new"
    for name in (f".cdktf.out.{int(gone.stdout)}-0123abcd.new", f".cdktf.out.{int(gone.stdout)}-0123abcd.old", running):
        (tmp_path / name / "stacks").mkdir(parents=True)
    monkeypatch.setenv("CDKTF_OUTDIR", str(out))
    project = copy_example(tmp_path / "example")
    result = synth(capsys, project)
    assert result.code == 0, result.err
    # The dead runs' leftovers are removed; the running one's stays, and so do names this app never stages.
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([".cdktf.out.new", ".cdktf.out.old", running,
                                                                       "cdktf.out", "example"])
    # Two swaps of one folder at once (two projects from one checkout): each stages under its own names.
    source = tmp_path / "source"
    (source / "stacks").mkdir(parents=True)
    first, second = Swap(out), Swap(out)
    seen: list[str] = []
    real_rename = os.rename
    monkeypatch.setattr(os, "rename", lambda a, b: (seen.append(Path(b).name), real_rename(a, b))[1])
    first.stage(source)
    second.stage(source)
    staged = [name for name in seen if name != "cdktf.out"]
    assert len(set(staged)) == len(staged) == 2 and all(f".{os.getpid()}-" in name for name in staged)
    first.commit()
    second.commit()


def test_ctrl_c_while_writing_rolls_back_at_once_in_one_line_exit_130(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    root = copy_example(tmp_path / "example")
    assert synth(capsys, root, "-c", "streamRetentionHours=48").code == 0
    for layer in ("apps-devstg/us-east-1/datalake", "data-science/us-east-1/datalake-demo"):
        (root / layer / "README.md").unlink()  # three files to write
    before = tree_digest(tmp_path)
    real_replace = os.replace
    calls = []

    def interrupted(source: Any, target: Any) -> None:  # Ctrl-C after the journal and one file are in place
        calls.append(target)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", interrupted)
    result = synth(capsys, root)
    monkeypatch.undo()
    assert result.code == 130 and result.err.count("\n") == 1 and result.err.startswith("error: interrupted")
    assert "Traceback" not in result.err
    assert tree_digest(tmp_path) == before  # no journal left for the next run: rolled back already


def test_a_second_ctrl_c_waits_for_the_roll_back(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Cut short, the roll back would leave files half restored under a message saying they were restored."""
    root = copy_example(tmp_path / "example")
    assert synth(capsys, root, "-c", "streamRetentionHours=48").code == 0
    for layer in ("apps-devstg/us-east-1/datalake", "data-science/us-east-1/datalake-demo"):
        (root / layer / "README.md").unlink()
    before = tree_digest(tmp_path)
    real_replace, real_restore = os.replace, journal._restore
    calls, restores = [], []

    def interrupted(source: Any, target: Any) -> None:  # the first Ctrl-C as the third file goes in place
        calls.append(target)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real_replace(source, target)

    def restore_interrupted(*args: Any) -> None:  # the second as the roll back begins
        restores.append(args)
        if len(restores) == 1:
            os.kill(os.getpid(), signal.SIGINT)
        real_restore(*args)

    monkeypatch.setattr(os, "replace", interrupted)
    monkeypatch.setattr(journal, "_restore", restore_interrupted)
    result = synth(capsys, root)
    monkeypatch.undo()
    assert len(restores) > 1 and result.code == 130 and result.err.count("\n") == 1, result.err
    assert tree_digest(tmp_path) == before


def _encoded(text: str) -> dict[str, str]:
    import base64

    return {"base64": base64.b64encode(text.encode()).decode()}


KEYS_MAIN = "apps-devstg/us-east-1/security-keys/main.tf"
KEYS_CONFIG = "apps-devstg/us-east-1/security-keys/config.tf"
KEYS_LINK = "apps-devstg/us-east-1/security-keys/common-variables.tf"  # every Leverage layer links the project's
NOT_GENERATED = "is in apps-devstg/us-east-1/security-keys, which is not a generated layer folder"
MARKED_CONFIG = "# Generated by leverage-cdktf from stacks/x.py. Do not edit.\n"
# case -> (the journal's steps and created folders, what the message names): a stale or crafted journal.
UNTRUSTED_JOURNALS = {
    "removes a hand-written layer's file": ([{"path": KEYS_MAIN, "temporary": None, "previous": None}], [],
                                            f"{KEYS_MAIN} is not a file a generated layer holds"),
    "removes build.env": ([{"path": "build.env", "temporary": None, "previous": None}], [],
                          "build.env is not a file a generated layer holds"),
    "overwrites common.tfvars": ([{"path": "config/common.tfvars", "temporary": None, "previous": _encoded("x = 1\n")}],
                                 [], "config/common.tfvars is not a file a generated layer holds"),
    "puts back a file without the marker": (
        [{"path": "apps-devstg/us-east-1/datalake/config.tf", "temporary": None, "previous": _encoded("mine\n")}], [],
        "it would put back apps-devstg/us-east-1/datalake/config.tf without the generated-file marker"),
    "replaces a hand-written config.tf": ([{"path": KEYS_CONFIG, "temporary": None, "previous": _encoded(MARKED_CONFIG)}],
                                         [], f"{KEYS_CONFIG} {NOT_GENERATED}"),
    "removes a hand-written config.tf it claims to have created": (
        [{"path": KEYS_CONFIG, "temporary": None, "previous": None}], [], f"{KEYS_CONFIG} {NOT_GENERATED}"),
    # The link is the generator's kind of file, and generated content: only its folder says it is not the generator's.
    "removes a hand-written layer's common-variables.tf link": (
        [{"path": KEYS_LINK, "temporary": None, "previous": None}], [], f"{KEYS_LINK} {NOT_GENERATED}"),
    "a generated config.tf claimed beside a hand-written layer's link": (
        [{"path": KEYS_LINK, "temporary": None, "previous": None},
         {"path": KEYS_CONFIG, "temporary": None, "previous": None}], [], f"{KEYS_LINK} {NOT_GENERATED}"),
    "nested too deeply to be read": ("[" * 100_000 + "]" * 100_000, [], "cannot be read (RecursionError)"),
    "removes someone else's temporary": (
        [{"path": "apps-devstg/us-east-1/datalake/config.tf", "temporary": "apps-devstg/us-east-1/security-keys/x.tf",
          "previous": None}], [], "apps-devstg/us-east-1/security-keys/x.tf is not a temporary of that run"),
    "removes a folder it did not create": (
        [{"path": "apps-devstg/us-east-1/datalake/README.md", "temporary": None, "previous": None}],
        ["apps-devstg/us-east-1/security-keys"], "apps-devstg/us-east-1/security-keys is not a folder of a recorded file"),
}


@pytest.mark.parametrize("case", sorted(UNTRUSTED_JOURNALS))
def test_a_journal_that_does_not_match_the_project_is_refused_and_touches_nothing(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, synthesized_example: Path, case: str) -> None:
    import json

    steps, created, message = UNTRUSTED_JOURNALS[case]
    root = tmp_path / "example"
    shutil.copytree(synthesized_example, root, symlinks=True)
    (root / "apps-devstg/us-east-1/security-keys").mkdir()
    (root / KEYS_MAIN).write_text('resource "aws_kms_key" "k" {}\n')
    (root / KEYS_CONFIG).write_text("# mine\n")
    (root / KEYS_LINK).symlink_to("../../../config/common-variables.tf")
    state.ensure(root)
    journal.journal_path(root).write_text(steps if isinstance(steps, str) else
                                          json.dumps({"run": "1-x", "created_folders": created, "steps": steps}))
    before = tree_digest(tmp_path)
    result = synth(capsys, root)
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert "records an interrupted synth" in result.err and message in result.err
    assert tree_digest(tmp_path) == before


def test_the_lock_and_the_journal_are_where_version_control_ignores_them(project_copy: Path) -> None:
    """A journal committed by mistake would be rolled back in every other checkout."""
    def untracked() -> list[str]:
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=project_copy,
                                capture_output=True, text=True, check=True).stdout
        return [line[3:] for line in status.splitlines()]

    subprocess.run(["git", "init", "-q"], cwd=project_copy, check=True)
    layer_file = "apps-devstg/us-east-1/datalake/README.md"
    with lock.exclusive(project_copy):
        journal.begin(project_copy, journal.Record("1-x", (journal.Step(layer_file, None, None),), ()))
        assert (project_copy / journal.JOURNAL_NAME).is_file() and (project_copy / lock.LOCK_NAME).is_file()
        assert not [path for path in untracked() if "leverage-cdktf" in path], untracked()
        journal.finish(project_copy)
    assert not state.state_folder(project_copy).exists()  # removed when nothing is left in it


def test_files_of_the_users_in_the_state_folder_are_kept_with_the_folder(
        capsys: pytest.CaptureFixture[str], synthesized_copy: Path) -> None:
    """A `.gitignore` (or any file) the generator did not write there is never overwritten or removed."""
    root = synthesized_copy
    folder = state.state_folder(root)
    folder.mkdir()
    (folder / state.IGNORE_FILE).write_text("mine\n")
    (folder / "notes").write_text("mine too\n")
    result = synth(capsys, root, "-c", "streamRetentionHours=48")
    assert result.code == 0, result.err
    assert (folder / state.IGNORE_FILE).read_text() == "mine\n" and (folder / "notes").read_text() == "mine too\n"
    assert sorted(path.name for path in folder.iterdir()) == [state.IGNORE_FILE, "notes"]
    result = check(capsys, root, "-c", "streamRetentionHours=48")
    assert result.code == 0 and "leftover" not in result.out + result.err, result.out + result.err


def test_only_an_ignore_file_the_generator_wrote_is_removed_with_the_folder(project_copy: Path) -> None:
    folder = state.ensure(project_copy)
    state.tidy(project_copy)
    assert not folder.exists()
    folder.mkdir()
    (folder / state.IGNORE_FILE).write_text("mine\n")
    state.tidy(project_copy)
    assert (folder / state.IGNORE_FILE).read_text() == "mine\n"


@pytest.mark.parametrize("command", ["synth", "check"])
@pytest.mark.parametrize("standing", ["link out of the project", "link into the project", "file"])
def test_a_state_folder_that_is_not_a_folder_of_the_project_is_refused(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, synthesized_copy: Path, command: str,
        standing: str) -> None:
    """The lock, the journal and the ignore file would be written through it, over what is there."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / state.IGNORE_FILE).write_text("user content\n")
    folder = state.state_folder(synthesized_copy)
    if standing == "file":
        folder.write_text("mine\n")
    else:
        folder.symlink_to(outside if standing == "link out of the project" else synthesized_copy / "config")
    message = "is not a folder" if standing == "file" else "is a symbolic link"
    assert_refused(capsys, command, synthesized_copy, ("streamRetentionHours=48",), f"{state.STATE_FOLDER} in the Leverage project {message}")


def test_a_lock_file_that_is_a_link_is_never_written_through(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, synthesized_copy: Path) -> None:
    target = tmp_path / "mine"
    target.write_text("user content\n")
    state.ensure(synthesized_copy)
    (synthesized_copy / lock.LOCK_NAME).symlink_to(target)
    assert_refused(capsys, "synth", synthesized_copy, ("streamRetentionHours=48",),
                   f"the lock file {synthesized_copy / lock.LOCK_NAME} is a symbolic link")


def test_a_journal_an_older_version_left_at_the_root_is_still_rolled_back(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, synthesized_copy: Path) -> None:
    root = synthesized_copy
    before = tree_digest(root)
    synth_dying_at_the_first_layer_file(capsys, monkeypatch, root, "-c", "firehoseBufferingIntervalSeconds=300")
    os.rename(root / journal.JOURNAL_NAME, root / journal.LEGACY_JOURNAL_NAME)  # where older versions kept it
    shutil.rmtree(state.state_folder(root))
    assert check(capsys, root).code == 1
    result = synth(capsys, root)
    assert result.code == 0 and result.err.startswith("warning: an earlier synth was interrupted; rolled back")
    assert tree_digest(root) == before
