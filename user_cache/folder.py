"""This app's folder in the user's cache folder: where caches go, never the checkout (which may be read-only)."""
from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path


def user_cache_dir() -> Path:
    """This app's folder in the user's cache folder (XDG_CACHE_HOME, else ~/.cache); never the checkout, which
    may be read-only. Without a home folder, a private temporary folder for this run."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    try:
        return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "leverage-cdktf"
    except RuntimeError:  # no HOME and no password entry
        return _private_folder()


@functools.cache
def _private_folder() -> Path:
    """One per run, removed at its end."""
    import atexit
    import shutil

    folder = tempfile.mkdtemp(prefix="leverage-cdktf-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return Path(folder)


def write_atomically(path: Path, content: bytes) -> None:
    """A temporary file beside it, renamed over it: readers (and runs writing it at once) see the old file or a new
    one, never a part. Raises OSError when it cannot be written; nothing is left behind then."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
