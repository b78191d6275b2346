"""This app's folder in the user's cache folder: where caches go, never the checkout (which may be read-only)."""
from __future__ import annotations

import functools
import os
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
    import tempfile

    folder = tempfile.mkdtemp(prefix="leverage-cdktf-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return Path(folder)
