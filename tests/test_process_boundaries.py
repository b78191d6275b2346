"""What only separate processes can show: the fast import gives the usual import's output, and output does not
depend on hash seeds, the working directory or the file system's order."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_example, tree_digest


def synth_in_process(root: Path, cwd: Path, **env: str) -> None:
    process = subprocess.run(
        [sys.executable, str(REPO / "main.py"), "synth", "-c", f"leverageRoot={root}"],
        cwd=cwd, capture_output=True, text=True, timeout=300,
        env={**os.environ, "CDKTF_OUTDIR": str(cwd / "cdktf.out"), **env},
    )
    assert process.returncode == 0, process.stderr


def test_usual_import_and_other_hash_seed_give_byte_identical_layers(tmp_path: Path, synthesized_example: Path) -> None:
    root = copy_example(tmp_path / "example")
    synth_in_process(root, tmp_path, LEVERAGE_CDKTF_EAGER_IMPORT="1", PYTHONHASHSEED="12345")
    assert tree_digest(root) == tree_digest(synthesized_example)


def test_fast_import_from_another_directory_gives_byte_identical_layers(tmp_path: Path,
                                                                      synthesized_example: Path) -> None:
    root = copy_example(tmp_path / "example")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    synth_in_process(root, elsewhere, PYTHONHASHSEED="999")
    assert tree_digest(root) == tree_digest(synthesized_example)


def test_check_works_in_a_read_only_checkout(tmp_path: Path, synthesized_example: Path) -> None:
    """The app's checkout and the Leverage project mounted read-only (a private mount namespace, as root)."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare to mount read-only")
    project = tmp_path / "example"
    shutil.copytree(synthesized_example, project, symlinks=True)
    read_only = " && ".join(f"mount --bind {path} {path} && mount -o remount,bind,ro {path}" for path in (REPO, project))
    script = f"{read_only} && touch {project}/probe 2>/dev/null; {sys.executable} {REPO / 'main.py'} check -c leverageRoot={project}"
    process = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                             capture_output=True, text=True, timeout=300, cwd=tmp_path)
    if "mount:" in process.stderr and process.returncode != 0 and "no drift" not in process.stdout:
        pytest.skip(f"cannot mount here: {process.stderr.strip()}")
    assert process.returncode == 0, process.stdout + process.stderr
    assert process.stdout.startswith("no drift")
    assert not (project / "probe").exists()  # the mount really was read-only
