"""The user's cache folder and the bytecode kept there: found where the user keeps caches, validated against the
source like Python's own __pycache__, and in use from the first import of a run when Python writes no bytecode."""
from __future__ import annotations

import importlib.util
import marshal
import os
import py_compile
import subprocess
import sys
import time
from importlib.machinery import SourceFileLoader
from pathlib import Path

import pytest

import bindings  # noqa: F401  (its modules below were imported through the cache)
from bindings import ENGINE
from tests.conftest import REPO
from user_cache import bytecode, folder

PROVIDER = ENGINE.provider


def test_cache_lives_in_the_user_cache_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert folder.user_cache_dir() == tmp_path / "leverage-cdktf"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert folder.user_cache_dir() == tmp_path / "home" / ".cache" / "leverage-cdktf"


def test_app_bytecode_is_cached_in_the_user_cache_folder_and_follows_the_source(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bytecode._CachedBytecodeLoader, "folder", tmp_path / "bytecode")
    module = tmp_path / "app_module.py"
    module.write_text("ANSWER = 42\n")
    loader = bytecode._CachedBytecodeLoader("app_module", str(module))
    namespace: dict = {}
    exec(loader.get_code("app_module"), namespace)
    assert namespace["ANSWER"] == 42 and len(list((tmp_path / "bytecode").glob("app_module-*.pyc"))) == 1

    def no_compiling(*args: object) -> None:
        raise AssertionError("compiled again")

    with monkeypatch.context() as patched:
        patched.setattr(loader, "source_to_code", no_compiling)
        exec(loader.get_code("app_module"), namespace)  # from the cache
    module.write_text("ANSWER = 43  # changed\n")
    exec(loader.get_code("app_module"), namespace)
    assert namespace["ANSWER"] == 43
    entry = next((tmp_path / "bytecode").glob("app_module-*.pyc"))
    entry.write_bytes(b"damaged")
    exec(loader.get_code("app_module"), namespace)
    assert namespace["ANSWER"] == 43
    entry.write_bytes(entry.read_bytes()[:16] + marshal.dumps(7))  # a valid header, then what is no code
    exec(loader.get_code("app_module"), namespace)
    assert namespace["ANSWER"] == 43


def test_an_installed_module_compiled_at_install_loads_from_its_own_pycache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What pip compiled stays where it is; what it did not (a venv installed with --no-compile) is cached."""
    monkeypatch.setattr(bytecode._CachedBytecodeLoader, "folder", tmp_path / "bytecode")
    compiled, uncompiled = tmp_path / "compiled.py", tmp_path / "uncompiled.py"
    for module in (compiled, uncompiled):
        module.write_text(f"NAME = {module.stem!r}\n")
    py_compile.compile(str(compiled), cfile=importlib.util.cache_from_source(str(compiled)), doraise=True)
    for module in (compiled, uncompiled):
        namespace: dict = {}
        exec(bytecode._InstalledBytecodeLoader(module.stem, str(module)).get_code(module.stem), namespace)
        assert namespace["NAME"] == module.stem
    assert [path.name.split("-")[0] for path in (tmp_path / "bytecode").iterdir()] == ["uncompiled"]


def test_modules_load_through_the_bytecode_cache_when_python_writes_none() -> None:
    import leverage.render.generate
    import stacks.datalake

    app, installed = (bytecode._CachedBytecodeLoader, bytecode._InstalledBytecodeLoader) if sys.dont_write_bytecode \
        else (SourceFileLoader, SourceFileLoader)
    assert type(stacks.datalake.__loader__) is app and type(leverage.render.generate.__loader__) is app
    assert type(sys.modules["jsii._runtime"].__loader__) is installed  # imported by bindings
    assert type(sys.modules[f"{PROVIDER}.s3_bucket"].__loader__) is installed
    assert type(sys.modules["json.decoder"].__loader__) is SourceFileLoader  # the standard library's own


# A fresh process that writes no bytecode (-B): what main.py imports before the engine comes through the cache too.
STARTUP_PROBE = """
import sys
sys.path.insert(0, {repo!r})
import main
main.main(["--version"])
print(sorted({{type(module.__loader__).__name__ for name, module in sys.modules.items()
              if name.split(".")[0] in ("main", "leverage", "stacks")}}))
"""


def test_main_loads_the_app_through_the_bytecode_cache_from_its_first_import(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-B", "-c", STARTUP_PROBE.format(repo=str(REPO))], capture_output=True,
                         text=True, env={"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(tmp_path)}, check=True)
    # `main` is the script's own module (imported before it could call the cache); everything after it is cached.
    assert run.stdout.splitlines()[-1] == "['SourceFileLoader', '_CachedBytecodeLoader']"
    cached = {path.name.split("-")[0] for path in (tmp_path / "leverage-cdktf").glob("bytecode-*/*.pyc")}
    assert {"errors", "interrupts"} <= cached


def test_bytecode_unused_for_a_month_is_pruned_once_a_day(tmp_path: Path) -> None:
    """Entries are named by their source's path: a moved checkout's, or a test suite's copies', would stay forever."""
    now = time.time()
    old, recent, other = tmp_path / "old-1.pyc", tmp_path / "recent-2.pyc", tmp_path / "notes.txt"
    for path in (old, recent, other):
        path.write_bytes(b"")
    for path in (old, other):
        os.utime(path, (now - 40 * bytecode.DAY, now - 40 * bytecode.DAY))
    bytecode.prune_bytecode(tmp_path, now)
    assert not old.exists() and recent.exists() and other.exists()
    os.utime(recent, (now - 40 * bytecode.DAY, now - 40 * bytecode.DAY))
    bytecode.prune_bytecode(tmp_path, now + 3600)  # pruned an hour ago: not again today
    assert recent.exists()
    bytecode.prune_bytecode(tmp_path, now + bytecode.DAY + 1)
    assert not recent.exists()
    bytecode.prune_bytecode(tmp_path / "none yet", now)  # no folder: nothing to do
