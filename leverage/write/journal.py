"""A record of a write in progress, so that a run that dies half-way is rolled back by the next one.

Before it touches anything, a run writes the journal (`.leverage-cdktf.journal.json` in the project's root):
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
from leverage.write.content import FileContent, Symlink

JOURNAL_NAME = ".leverage-cdktf.journal.json"
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
    return root / JOURNAL_NAME


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
    path = journal_path(root)
    staged = temporary_for(path, record.run)
    write_new(staged, (json.dumps(document, indent=1) + "\n").encode())
    os.replace(staged, path)
    _sync_folder(root)


def finish(root: Path) -> None:
    journal_path(root).unlink()
    _sync_folder(root)


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
    except (ValueError, KeyError, TypeError) as exc:
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
    _sync_folder(root)


def recover(root: Path) -> Record | None:
    """Roll back a run that did not finish, if the journal says there was one."""
    _remove_stray_journal_temporaries(root)
    record = read(root)
    if record is not None:
        try:
            roll_back(root, record)
        except OSError as exc:
            raise UserError(f"cannot roll back the interrupted synth recorded in {journal_path(root)}: {exc}",
                            fix="fix the cause and run synth again (it retries the roll back)") from None
    return record


def leftovers(root: Path) -> list[str]:
    """What an interrupted run left at the project's root (its temporaries are found beside the layers' files)."""
    found = [JOURNAL_NAME] if journal_path(root).exists() else []
    found += sorted(path.name for path in root.glob(f".{JOURNAL_NAME}.*{TEMPORARY_SUFFIX}"))
    return found


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
    for path in root.glob(f".{JOURNAL_NAME}.*{TEMPORARY_SUFFIX}"):
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
