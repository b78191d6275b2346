"""Layer folders on disk: what the generator owns, all-or-nothing writes, and drift."""
from __future__ import annotations

import difflib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from leverage.errors import UserError
from leverage.render import (COMMON_VARIABLES, GENERATED_FILE_NAMES, MARKED_FILES, TOOL, FileContent, Symlink,
                             common_variables_link, marker_prefix)


def is_generated(path: Path) -> bool:
    """A file the generator wrote: a name it writes, and the marker where that name carries it.

    The marker opens the file: the first line of config.tf (`# `) and README.md (`<!-- `), the first key (`//`)
    of main.tf.json. A marker anywhere else, or in a file of another name (a user's `config.tf.orig`, an
    `extra.tf.json` copied from a generated file), does not count: such files are the user's.
    """
    opener = MARKED_FILES.get(path.name)
    if opener is None or path.is_symlink() or not path.is_file():
        return False
    data = path.read_bytes()
    if opener == '"//"':
        try:
            document = json.loads(data)
        except ValueError:
            return False
        first = next(iter(document.items()), None) if isinstance(document, dict) else None
        return first is not None and first[0] == "//" and str(first[1]).startswith(marker_prefix())
    first_line = data.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    return first_line.startswith(opener + marker_prefix())


def current_content(path: Path) -> FileContent | None:
    if path.is_symlink():
        return Symlink(os.readlink(path))
    if path.is_file():
        return path.read_bytes()
    return None


@dataclass
class Plan:
    """Differences between the desired layer files and the tree, relative to the Leverage root."""

    root: Path
    changed: dict[str, FileContent] = field(default_factory=dict)  # differs from the file on disk
    missing: dict[str, FileContent] = field(default_factory=dict)  # not on disk
    stale: list[str] = field(default_factory=list)  # generated files no stack produces any more
    conflicts: list[str] = field(default_factory=list)  # someone else's file where a generated one goes

    @property
    def clean(self) -> bool:
        return not (self.changed or self.missing or self.stale or self.conflicts)


def plan(root: Path, desired: dict[str, FileContent]) -> Plan:
    result = Plan(root)
    for relative, content in sorted(desired.items()):
        path = root / relative
        current = current_content(path)
        if current is None:
            if path.exists():  # a folder stands where the file goes
                result.conflicts.append(relative)
            else:
                result.missing[relative] = content
        elif current != content:
            ours = is_generated(path) if isinstance(content, bytes) else False
            if ours:
                result.changed[relative] = content
            else:
                result.conflicts.append(relative)
    # Only the folders of the layers generated now: other folders may hold layers another configuration
    # (another source account or region) generated, or layers left out on purpose.
    for folder in sorted({(root / relative).parent for relative in desired}):
        for path in sorted(folder.iterdir()) if folder.is_dir() else ():
            relative = path.relative_to(root).as_posix()
            if relative in desired or path.name not in GENERATED_FILE_NAMES:
                continue
            if is_generated(path) or _is_common_variables_link(root, path):
                result.stale.append(relative)
    return result


def _is_common_variables_link(root: Path, path: Path) -> bool:
    """The link synth writes (a link cannot carry the marker)."""
    return (path.name == COMMON_VARIABLES and path.is_symlink()
            and Symlink(os.readlink(path)) == common_variables_link(root, path.parent))


@dataclass(frozen=True)
class Applied:
    written: list[str]
    removed: list[str]


def apply(result: Plan) -> Applied:
    """Write every change or none: stage all new contents beside their targets, then swap them in."""
    if result.conflicts:
        first = result.conflicts[0]
        raise UserError(
            f"{first} exists in the Leverage project but was not written by {TOOL} (no generated-file marker)",
            fix="move it out of the way or rename the generated layer; nothing was written",
        )
    writes = {**result.missing, **result.changed}
    staged: list[tuple[Path, Path]] = []
    created_dirs: list[Path] = []
    try:
        for relative, content in sorted(writes.items()):
            target = result.root / relative
            for parent in reversed(target.parents):
                if not parent.exists() and result.root in parent.parents:
                    parent.mkdir()
                    created_dirs.append(parent)
            staged.append((_stage(target, content), target))
    except OSError as exc:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        for folder in reversed(created_dirs):
            folder.rmdir()
        raise UserError(f"cannot write {exc.filename or result.root}: {exc.strerror}",
                        fix="check the folder and its permissions; nothing was written") from None
    done: list[tuple[Path, FileContent | None]] = []
    try:
        for temporary, target in staged:
            previous = current_content(target)
            os.replace(temporary, target)
            done.append((target, previous))
        for relative in result.stale:
            target = result.root / relative
            previous = current_content(target)
            target.unlink()
            done.append((target, previous))
    except OSError as exc:
        _roll_back(done, staged)
        raise UserError(f"writing the layers failed ({exc}); every file was restored", fix="check the disk and retry") from None
    return Applied(sorted(writes), list(result.stale))


def _stage(target: Path, content: FileContent) -> Path:
    descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    temporary = Path(name)
    if isinstance(content, Symlink):
        os.close(descriptor)
        temporary.unlink()
        os.symlink(content.target, temporary)
    else:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.chmod(temporary, 0o644)
    return temporary


def _roll_back(done: list[tuple[Path, FileContent | None]], staged: list[tuple[Path, Path]]) -> None:
    for target, previous in reversed(done):
        target.unlink(missing_ok=True)
        if isinstance(previous, Symlink):
            os.symlink(previous.target, target)
        elif previous is not None:
            target.write_bytes(previous)
    for temporary, _ in staged:
        if temporary.is_symlink() or temporary.exists():
            temporary.unlink()


def unified_diff(relative: str, old: FileContent, new: FileContent) -> str:
    def lines(content: FileContent) -> list[str]:
        if isinstance(content, Symlink):
            return [f"symlink -> {content.target}\n"]
        return content.decode("utf-8", errors="replace").splitlines(keepends=True)

    diff = difflib.unified_diff(lines(old), lines(new), f"a/{relative}", f"b/{relative}")
    return "".join(line if line.endswith("\n") else line + "\n" for line in diff)
