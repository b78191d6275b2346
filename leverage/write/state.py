"""The folder in the project's root that holds the lock and the journal while a synth runs (or after one was
killed): `.leverage-cdktf/`, with a `.gitignore` that ignores everything in it, so that neither is ever committed
(a journal committed by mistake would be rolled back in every other checkout). It is removed when nothing is
left in it."""
from __future__ import annotations

from pathlib import Path

STATE_FOLDER = ".leverage-cdktf"
IGNORE_FILE = ".gitignore"
IGNORE_ALL = "# leverage-cdktf's lock and journal: never commit them\n*\n"


def state_folder(root: Path) -> Path:
    return root / STATE_FOLDER


def ensure(root: Path) -> Path:
    """The state folder, created with its ignore file. Raises OSError when it cannot be."""
    folder = state_folder(root)
    folder.mkdir(exist_ok=True)
    ignore = folder / IGNORE_FILE
    if not ignore.is_file():
        ignore.write_text(IGNORE_ALL)
    return folder


def tidy(root: Path) -> None:
    """Remove the state folder when it holds nothing but its ignore file; leave it to whoever uses it now."""
    folder = state_folder(root)
    try:
        if not {entry.name for entry in folder.iterdir()} <= {IGNORE_FILE}:
            return
        (folder / IGNORE_FILE).unlink(missing_ok=True)
        folder.rmdir()
    except FileNotFoundError:
        return
    except OSError:  # another run's lock appeared in between: its folder keeps ignoring it
        if folder.is_dir() and not (folder / IGNORE_FILE).exists():
            (folder / IGNORE_FILE).write_text(IGNORE_ALL)
