"""The folder in the project's root that holds the lock and the journal while a synth runs (or after one was
killed): `.leverage-cdktf/`, with a `.gitignore` that ignores everything in it, so that neither is ever committed
(a journal committed by mistake would be rolled back in every other checkout). It is removed when nothing but
that ignore file is left in it; a file the generator did not write there (a `.gitignore` of the user's too) is
never overwritten or removed, and keeps the folder."""
from __future__ import annotations

import os
from pathlib import Path

from leverage.errors import UserError

STATE_FOLDER = ".leverage-cdktf"
IGNORE_FILE = ".gitignore"
IGNORE_ALL = "# leverage-cdktf's lock and journal: never commit them\n*\n"


def state_folder(root: Path) -> Path:
    return root / STATE_FOLDER


def refuse_unless_folder(root: Path) -> None:
    """A link (or a file) where the state folder goes: the lock and the journal would be written through it, out of
    the project, and its ignore file over whatever is there."""
    folder = state_folder(root)
    if folder.is_symlink():
        raise UserError(f"{STATE_FOLDER} in the Leverage project is a symbolic link (to {os.readlink(folder)}): synth "
                        "keeps its lock and journal in a folder of the project, never through a link",
                        fix="remove the link (synth creates the folder itself); nothing was written")
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{STATE_FOLDER} in the Leverage project is not a folder: synth keeps its lock and journal "
                        "in that folder", fix="move that file away (synth creates the folder itself); nothing was written")


def ensure(root: Path) -> Path:
    """The state folder, created with its ignore file unless one is there. Raises OSError when it cannot be."""
    refuse_unless_folder(root)
    folder = state_folder(root)
    folder.mkdir(exist_ok=True)
    _create_ignore_file(folder)
    return folder


def holds_only_its_ignore_file(root: Path) -> bool:
    """The state folder holds nothing but the ignore file the generator wrote (or nothing): all of it is ours."""
    folder = state_folder(root)
    if folder.is_symlink() or not folder.is_dir():
        return False
    names = {entry.name for entry in folder.iterdir()}
    return names <= {IGNORE_FILE} and (not names or _is_our_ignore_file(folder / IGNORE_FILE))


def tidy(root: Path) -> None:
    """Remove the state folder when all it holds is ours and nobody uses it; leave it to whoever uses it now."""
    folder = state_folder(root)
    try:
        if not holds_only_its_ignore_file(root):
            return
        (folder / IGNORE_FILE).unlink(missing_ok=True)
        folder.rmdir()
    except FileNotFoundError:
        return
    except OSError:  # another run's lock appeared in between: its folder keeps ignoring it
        if folder.is_dir() and not folder.is_symlink():
            _create_ignore_file(folder)


def _create_ignore_file(folder: Path) -> None:
    """Only where none is: a `.gitignore` someone else put there (or a link) is theirs, and stays as it is."""
    try:
        descriptor = os.open(folder / IGNORE_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        return
    try:
        os.write(descriptor, IGNORE_ALL.encode())
    finally:
        os.close(descriptor)


def _is_our_ignore_file(path: Path) -> bool:
    return not path.is_symlink() and path.is_file() and path.read_bytes() == IGNORE_ALL.encode()
