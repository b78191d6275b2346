"""Layer folders on disk: what the generator owns, all-or-nothing writes, and drift."""
from __future__ import annotations

import difflib
import errno
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from leverage import interrupts
from leverage.write import journal
from leverage.errors import UserError
from leverage.write.journal import current_content
from leverage.write.content import (COMMON_VARIABLES, GENERATED_FILE_NAMES, MARKED_FILES, TOOL, FileContent, Symlink,
                                    carries_marker, common_variables_link)


def is_generated(path: Path) -> bool:
    """A file the generator wrote: a name it writes, and the marker where that name carries it.

    The marker opens the file: the first line of config.tf (`# `) and README.md (`<!-- `), the first key (`//`)
    of main.tf.json. A marker anywhere else, or in a file of another name (a user's `config.tf.orig`, an
    `extra.tf.json` copied from a generated file), does not count: such files are the user's.
    """
    if path.name not in MARKED_FILES or path.is_symlink() or not path.is_file():
        return False
    return carries_marker(path.name, path.read_bytes())


@dataclass
class Plan:
    """Differences between the desired layer files and the tree, relative to the Leverage root."""

    root: Path
    changed: dict[str, FileContent] = field(default_factory=dict)  # differs from the file on disk
    missing: dict[str, FileContent] = field(default_factory=dict)  # not on disk
    stale: list[str] = field(default_factory=list)  # generated files no stack produces any more
    conflicts: list[str] = field(default_factory=list)  # someone else's file where a generated one goes
    leftovers: list[str] = field(default_factory=list)  # what an interrupted synth left (journal, temporaries)

    @property
    def clean(self) -> bool:
        return not (self.changed or self.missing or self.stale or self.conflicts or self.leftovers)


def plan(root: Path, desired: dict[str, FileContent]) -> Plan:
    result = Plan(root)
    _refuse_folders_leaving_the_project(root, desired)
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
            if journal.is_temporary(path):
                result.leftovers.append(relative)
                continue
            if relative in desired or path.name not in GENERATED_FILE_NAMES:
                continue
            if is_generated(path) or _is_common_variables_link(root, path):
                result.stale.append(relative)
    result.leftovers = journal.leftovers(root) + result.leftovers
    return result


def _refuse_folders_leaving_the_project(root: Path, desired: dict[str, FileContent]) -> None:
    """A layer folder (or a folder above it) that is a symbolic link out of the project would be written through,
    where the project's version control does not see it."""
    inside = root.resolve()
    for folder in sorted({Path(relative).parent for relative in desired}):
        for part in reversed([folder, *folder.parents][:-1]):  # the account folder first
            path = root / part
            if path.is_symlink() and not _is_within(path.resolve(), inside):
                raise UserError(f"{part.as_posix()} in the Leverage project is a symbolic link to {path.resolve()}, "
                                "outside the project", fix="replace the link with a folder of the project (or remove "
                                "it); nothing was written")


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _is_common_variables_link(root: Path, path: Path) -> bool:
    """The link synth writes (a link cannot carry the marker)."""
    return (path.name == COMMON_VARIABLES and path.is_symlink()
            and Symlink(os.readlink(path)) == common_variables_link(root, path.parent))


@dataclass(frozen=True)
class Applied:
    written: list[str]
    removed: list[str]


def apply(result: Plan) -> Applied:
    """Write every change or none, also when the process dies: journal, stage beside the targets, rename.

    Call `journal.recover` first (under the project lock): a recorded run that did not finish is undone.
    """
    if result.conflicts:
        first = result.conflicts[0]
        raise UserError(f"{first} {conflict(result.root / first)}",
                        fix="move it out of the way or rename the generated layer; nothing was written")
    writes = {**result.missing, **result.changed}
    # Temporaries an older run left beside the layers' files are ours by name: removed with the stale files.
    removals = sorted(result.stale) + [item for item in result.leftovers if not journal.is_run_state(item)]
    if not writes and not removals:
        return Applied([], [])
    root = result.root
    run = f"{os.getpid()}-{secrets.token_hex(4)}"
    created: list[str] = []
    for relative in sorted(writes):
        for parent in reversed((root / relative).parents):
            folder = parent.relative_to(root).as_posix() if root in parent.parents else None
            if folder is not None and not parent.exists() and folder not in created:
                created.append(folder)
    steps = [journal.Step(relative, journal.temporary_for(root / relative, run).relative_to(root).as_posix(),
                          current_content(root / relative)) for relative in sorted(writes)]
    steps += [journal.Step(relative, None, current_content(root / relative)) for relative in removals]
    record = journal.Record(run, tuple(steps), tuple(created))
    try:
        journal.begin(root, record)
    except (OSError, KeyboardInterrupt) as exc:
        with interrupts.deferred():
            journal.recover(root)
        if not isinstance(exc, OSError):
            raise
        raise UserError(f"cannot write the journal in {root}: {_failure(exc, root)}",
                        fix=f"{os_error_fix(exc)}; nothing was written") from None
    try:
        for folder in created:
            os.mkdir(root / folder)
        for step in steps:
            if step.temporary is not None:
                journal.write_new(root / step.temporary, writes[step.path])
        for step in steps:
            if step.temporary is not None:
                os.replace(root / step.temporary, root / step.path)
            else:
                os.unlink(root / step.path)
        journal.finish(root)
        interrupts.settle()  # committed: a signal from here would only cut the report short
    except (OSError, KeyboardInterrupt) as exc:  # Ctrl-C too: rolled back now, not by the next synth
        try:
            with interrupts.deferred():  # a second Ctrl-C would leave it half done, and "restored" untrue
                journal.roll_back(root, record)
        except OSError as again:
            raise UserError(f"writing the layers failed ({exc}) and so did restoring them ({again})",
                            fix=f"run synth again: it finishes the roll back recorded in {journal.JOURNAL_NAME}") from None
        if not isinstance(exc, OSError):
            raise
        raise UserError(f"writing the layers failed ({_failure(exc, root)}); every file was restored",
                        fix=os_error_fix(exc)) from None
    return Applied(sorted(writes), removals)


def conflict(path: Path) -> str:
    """What stands where a generated file goes, in the words of a refusal."""
    if path.is_symlink():
        return (f"is a symbolic link (to {os.readlink(path)}), not a file {TOOL} wrote: the generator writes plain "
                "files, and never through a link")
    if path.is_dir():
        return "is a folder, where a generated file goes"
    return f"exists in the Leverage project but was not written by {TOOL} (no generated-file marker)"


def _failure(exc: OSError, root: Path) -> str:
    """The failed operation's cause and file, relative to the project where it is in it."""
    where = Path(exc.filename) if exc.filename else None
    if where is not None and root in where.parents:
        where = where.relative_to(root)
    return f"{exc.strerror or exc}" + (f": {where}" if where is not None else "")


def os_error_fix(exc: OSError) -> str:
    """The fix for a write the system refused, by its cause."""
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "give the user running synth write access to that folder (or run it as the folder's owner), then retry"
    if exc.errno == errno.EROFS:
        return "the file system is mounted read-only: run synth where the project is writable"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some disk space (or raise the quota), then retry"
    return "check the disk and retry"


def unified_diff(relative: str, old: FileContent, new: FileContent) -> str:
    def lines(content: FileContent) -> list[str]:
        if isinstance(content, Symlink):
            return [f"symlink -> {content.target}\n"]
        return content.decode("utf-8", errors="replace").splitlines(keepends=True)

    diff = difflib.unified_diff(lines(old), lines(new), f"a/{relative}", f"b/{relative}")
    return "".join(line if line.endswith("\n") else line + "\n" for line in diff)
