"""A record of a write in progress, so that a run that dies half-way is rolled back by the next one.

Before it touches anything, a run writes the journal (`.leverage-cdktf/journal.json` in the project's root, where
version control ignores it: state.py):
every file it will replace or remove with its previous content, the temporary file each new content is staged
in, and the folders it will create. Only then does it stage and rename. Removing the journal is the commit.
If the journal is still there, the run did not finish: the next `synth` restores every recorded file, removes
the temporaries and the folders it created, and only then does its own work; `check` reports it as drift.
"""
from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from leverage.errors import UserError
from leverage.write import lock, state
from leverage.write.content import GENERATED_FILE_NAMES, FileContent, Symlink, carries_marker, is_generated_content

JOURNAL_NAME = f"{state.STATE_FOLDER}/journal.json"
LEGACY_JOURNAL_NAME = ".leverage-cdktf.journal.json"  # where versions before the state folder kept it
TEMPORARY_SUFFIX = ".leverage-cdktf.tmp"  # every temporary file the app creates in the project ends so


@dataclass(frozen=True)
class Step:
    path: str  # relative to the project root
    temporary: str | None  # where the new content is staged; None: the file is removed
    previous: FileContent | None  # None: the file did not exist


@dataclass(frozen=True)
class Record:
    run: str
    steps: tuple[Step, ...]
    created_folders: tuple[str, ...]  # parents first


def journal_path(root: Path) -> Path:
    """The journal to read: the legacy one while an older version's interrupted run left it."""
    legacy = root / LEGACY_JOURNAL_NAME
    return legacy if legacy.is_file() and not (root / JOURNAL_NAME).is_file() else root / JOURNAL_NAME


def temporary_for(target: Path, run: str) -> Path:
    return target.with_name(f".{target.name}.{run}{TEMPORARY_SUFFIX}")


def is_temporary(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(TEMPORARY_SUFFIX)


def write_new(path: Path, content: FileContent) -> None:
    """Create `path` (which must not exist) with `content`, on disk before this returns."""
    if isinstance(content, Symlink):
        os.symlink(content.target, path)
        return
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(descriptor, view):]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def begin(root: Path, record: Record) -> None:
    document = {
        "tool": "leverage-cdktf",
        "run": record.run,
        "created_folders": list(record.created_folders),
        "steps": [{"path": step.path, "temporary": step.temporary, "previous": _encode(step.previous)}
                  for step in record.steps],
    }
    path = root / JOURNAL_NAME
    state.ensure(root)
    staged = temporary_for(path, record.run)
    write_new(staged, (json.dumps(document, indent=1) + "\n").encode())
    os.replace(staged, path)
    _sync_folder(path.parent)


def finish(root: Path) -> None:
    (root / JOURNAL_NAME).unlink()
    _sync_folder((root / JOURNAL_NAME).parent)
    state.tidy(root)


def read(root: Path) -> Record | None:
    path = journal_path(root)
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_bytes())
        steps = tuple(Step(item["path"], item["temporary"], _decode(item["previous"])) for item in document["steps"])
        record = Record(document["run"], steps, tuple(document["created_folders"]))
        recorded = [*record.created_folders, *(step.path for step in steps),
                    *(step.temporary for step in steps if step.temporary is not None)]
        if not all(_inside(relative) for relative in recorded):
            raise ValueError("a path outside the project")
        return record
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise UserError(f"{path} records an interrupted synth but cannot be read ({type(exc).__name__})",
                        fix="restore the layer folders from version control, then delete that file") from None


def _inside(relative: str) -> bool:
    path = PurePosixPath(relative)
    return bool(relative) and not path.is_absolute() and ".." not in path.parts


def roll_back(root: Path, record: Record) -> None:
    """Put back every recorded file; idempotent, so a roll back that dies is finished by the next run."""
    for step in reversed(record.steps):
        target = root / step.path
        _restore(target, step.previous, record.run)
        if step.temporary is not None:
            _remove(root / step.temporary)
    for folder in reversed(record.created_folders):
        try:
            (root / folder).rmdir()
        except FileNotFoundError:
            pass
        except OSError:
            pass  # not empty: something else is in it now, which is not ours to remove
    journal_path(root).unlink(missing_ok=True)
    _sync_folder(journal_path(root).parent if journal_path(root).parent.is_dir() else root)
    state.tidy(root)


def recover(root: Path) -> Record | None:
    """Roll back a run that did not finish, if the journal says there was one."""
    _remove_stray_journal_temporaries(root)
    record = read(root)
    if record is not None:
        mismatch = _mismatch(root, record)
        if mismatch:
            raise UserError(
                f"{journal_path(root)} records an interrupted synth that does not match this project ({mismatch}), "
                "so it was not rolled back",
                fix="if no synth was interrupted here (a journal copied or committed by mistake), delete that file; "
                    "else restore the layer folders from version control, then delete it")
        try:
            roll_back(root, record)
        except OSError as exc:
            raise UserError(f"cannot roll back the interrupted synth recorded in {journal_path(root)}: {exc}",
                            fix="fix the cause and run synth again (it retries the roll back)") from None
    state.tidy(root)
    return record


def _mismatch(root: Path, record: Record) -> str | None:
    """Why rolling `record` back could touch what is not the generator's, or None. A roll back restores and removes
    only files a generated layer may hold (`<account>/<region>/<layer>/<generated name>`) whose recorded previous
    content is generated (or absent: the run created it) and that are now as the run left them: absent, as
    before, or generated; temporaries only under the run's own names; folders only above those files."""
    for step in record.steps:
        parts = PurePosixPath(step.path).parts
        if len(parts) < 4 or parts[-1] not in GENERATED_FILE_NAMES or any(part.startswith(".") for part in parts):
            return f"{step.path} is not a file a generated layer holds"
        folder = PurePosixPath(step.path).parent.as_posix()
        if folder not in record.created_folders and not _holds_generated_layer(root / folder):
            return (f"{step.path} is in {folder}, which is not a generated layer folder (neither its config.tf nor "
                    "its main.tf.json carries the generated-file marker)")
        if step.previous is not None and not is_generated_content(root, step.path, step.previous):
            return f"it would put back {step.path} without the generated-file marker"
        current = current_content(root / step.path)
        if current is not None and current != step.previous and not is_generated_content(root, step.path, current):
            return f"{step.path} is not the generator's now (no generated-file marker)"
        expected = temporary_for(root / step.path, record.run).relative_to(root).as_posix()
        if step.temporary is not None and step.temporary != expected:
            return f"{step.temporary} is not a temporary of that run"
    parents = {parent.as_posix() for step in record.steps for parent in PurePosixPath(step.path).parents}
    stray = next((folder for folder in record.created_folders if folder not in parents or folder == "."), None)
    return f"{stray} is not a folder of a recorded file" if stray is not None else None


def _holds_generated_layer(folder: Path) -> bool:
    """A layer folder the generator wrote: its config.tf or main.tf.json carries the marker (a hand-written layer's
    files, its `common-variables.tf` link among them, are never touched, whatever a journal says)."""
    for name in ("config.tf", "main.tf.json"):
        path = folder / name
        if not path.is_symlink() and path.is_file() and carries_marker(name, path.read_bytes()):
            return True
    return False


def leftovers(root: Path) -> list[str]:
    """What an interrupted run left at the project's root (its temporaries are found beside the layers' files)."""
    found = [name for name in (JOURNAL_NAME, LEGACY_JOURNAL_NAME) if (root / name).exists()]
    found += sorted(path.relative_to(root).as_posix() for path in _journal_temporaries(root))
    # A killed run's lock, or the folder itself when that run died creating it; what else is there is not the
    # generator's, and no synth removes it.
    if (root / lock.LOCK_NAME).exists():
        found.append(lock.LOCK_NAME)
    elif not found and state.holds_only_its_ignore_file(root):
        found.append(f"{state.STATE_FOLDER}/")
    return found


def is_run_state(relative: str) -> bool:
    """The lock, the journal or a temporary of the journal: not a layer's file (those are in layer folders)."""
    path = PurePosixPath(relative)
    return relative in (JOURNAL_NAME, LEGACY_JOURNAL_NAME) or path.parts[0] == state.STATE_FOLDER or (
        path.parent.as_posix() == "." and is_temporary(Path(path.name)))


def _journal_temporaries(root: Path) -> list[Path]:
    return [*(root / state.STATE_FOLDER).glob(f".journal.json.*{TEMPORARY_SUFFIX}"),
            *root.glob(f".{LEGACY_JOURNAL_NAME}.*{TEMPORARY_SUFFIX}")]


def _restore(target: Path, previous: FileContent | None, run: str) -> None:
    current = current_content(target)
    if current == previous:
        return
    if previous is None:
        _remove(target)
        return
    staged = temporary_for(target, f"{run}-restore")
    _remove(staged)
    write_new(staged, previous)
    os.replace(staged, target)


def current_content(path: Path) -> FileContent | None:
    if path.is_symlink():
        return Symlink(os.readlink(path))
    if path.is_file():
        return path.read_bytes()
    return None


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()


def _remove_stray_journal_temporaries(root: Path) -> None:
    for path in _journal_temporaries(root):
        _remove(path)


def _encode(content: FileContent | None) -> dict[str, str] | None:
    if content is None:
        return None
    if isinstance(content, Symlink):
        return {"symlink": content.target}
    return {"base64": base64.b64encode(content).decode("ascii")}


def _decode(item: dict[str, str] | None) -> FileContent | None:
    if item is None:
        return None
    if "symlink" in item:
        return Symlink(item["symlink"])
    return base64.b64decode(item["base64"], validate=True)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
