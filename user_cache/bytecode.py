"""The app's Python bytecode, kept in the user's cache folder.

With PYTHONDONTWRITEBYTECODE set (as on these machines, and in many CI images) Python would otherwise compile the
app's modules and those of a venv installed without compiling on every run, about a quarter of a synth's CPU
(measured).
"""
from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import marshal
import os
import sys
import time
import types
from pathlib import Path

from user_cache.folder import user_cache_dir, write_atomically

_APP_ROOT = Path(__file__).resolve().parent.parent


class _CachedBytecodeLoader(importlib.machinery.SourceFileLoader):
    """Loads a module from bytecode kept in the user's cache folder, validated like Python's own __pycache__
    (source modification time and size); compiles and stores it on a miss."""

    # Per optimization level too (`python -O` leaves out asserts), as Python's own __pycache__ names it.
    folder = user_cache_dir() / (f"bytecode-{sys.implementation.cache_tag}" +
                                 (f"-opt{sys.flags.optimize}" if sys.flags.optimize else ""))

    def get_code(self, fullname: str) -> types.CodeType:
        source = self.get_filename(fullname)
        stat = os.stat(source)
        header = importlib.util.MAGIC_NUMBER + b"\0\0\0\0" + \
            (int(stat.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little") + (stat.st_size & 0xFFFFFFFF).to_bytes(4, "little")
        cached = self.folder / f"{Path(source).stem}-{hashlib.sha256(source.encode()).hexdigest()[:24]}.pyc"
        try:
            data = cached.read_bytes()
            if data[:16] == header:
                code = marshal.loads(memoryview(data)[16:])
                if isinstance(code, types.CodeType):  # what a damaged entry holds may still unmarshal
                    return code
        except (OSError, ValueError, EOFError, TypeError):
            pass  # missing or damaged: compiled again below
        code = self.source_to_code(self.get_data(source), source)
        try:
            write_atomically(cached, header + marshal.dumps(code))
        except OSError:
            pass  # the cache is an optimization only
        return code


class _InstalledBytecodeLoader(_CachedBytecodeLoader):
    """An installed package's module: from its own __pycache__ when it was compiled at install, else as above
    (a venv installed with `pip install --no-compile`: the engine's ~2,200 provider submodules, of which the
    layers use ~30, are not worth compiling ahead)."""

    def get_code(self, fullname: str) -> types.CodeType:
        if os.path.exists(importlib.util.cache_from_source(self.get_filename(fullname))):
            return importlib.machinery.SourceFileLoader.get_code(self, fullname)
        return super().get_code(fullname)


UNUSED_DAYS = 30
DAY = 24 * 3600


def prune_bytecode(folder: Path, now: float | None = None) -> None:
    """Remove the entries nothing has read or written for UNUSED_DAYS, at most once a day (a marker file's time):
    entries are named by their source's path, so a checkout moved or deleted, or a test suite's copies of the app,
    would otherwise stay forever. Read times are the file system's (at most a day old with Linux's default
    `relatime`; with `noatime`, an entry in use is compiled again once a month). Two runs pruning at once, or one
    reading what another removes, only compile again."""
    now = time.time() if now is None else now
    marker = folder / ".pruned"
    try:
        if now - marker.stat().st_mtime < DAY:
            return
    except FileNotFoundError:
        pass
    except OSError:
        return
    try:
        marker.touch()
        entries = list(os.scandir(folder))
    except OSError:
        return  # no folder yet, or not ours to write
    for entry in entries:
        try:
            if entry.name.endswith(".pyc"):
                status = entry.stat()
                if now - max(status.st_atime, status.st_mtime) > UNUSED_DAYS * DAY:
                    os.unlink(entry.path)
        except OSError:
            continue


def keep_bytecode() -> None:
    """With PYTHONDONTWRITEBYTECODE set (as on these machines), Python compiles on every run whatever has no
    __pycache__ of its own: the app's ~3,000 lines, and what a venv installed without compiling holds (the
    cdktn venv: the engine's library and the provider submodules the layers use). Keep their bytecode in the
    user's cache folder instead. The standard library and what was compiled at install keep their own
    __pycache__. Covers the modules imported from here on: main.py calls it before importing anything of the app;
    bindings calls it too, for an app or a test that imports the bindings first. Calling it again changes nothing."""
    if not sys.dont_write_bytecode or os.environ.get("PYTHONPYCACHEPREFIX"):
        return  # Python caches bytecode itself
    if any(getattr(hook, "keeps_bytecode", False) for hook in sys.path_hooks):
        return  # done already
    prune_bytecode(_CachedBytecodeLoader.folder)

    environment = Path(sys.prefix).resolve()  # the venv may live inside the checkout

    def loader_for(path: str) -> type[_CachedBytecodeLoader] | None:
        if not path:
            return None  # the working directory, whatever it is
        folder = Path(path).resolve()
        if folder.is_relative_to(environment):
            return _InstalledBytecodeLoader if folder != environment and folder.is_dir() else None
        return _CachedBytecodeLoader if folder.is_relative_to(_APP_ROOT) else None

    def caching_finder(path: str) -> importlib.machinery.FileFinder:
        loader = loader_for(path)
        if loader is None:
            raise ImportError("neither this app's folder nor its environment's")
        return importlib.machinery.FileFinder(
            path, (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
            (loader, importlib.machinery.SOURCE_SUFFIXES),
            (importlib.machinery.SourcelessFileLoader, importlib.machinery.BYTECODE_SUFFIXES))

    caching_finder.keeps_bytecode = True  # type: ignore[attr-defined]
    sys.path_hooks.insert(0, caching_finder)
    for path in [path for path in sys.path_importer_cache if loader_for(path)]:
        del sys.path_importer_cache[path]  # made before the hook: made again through it
