"""What only separate processes can show: the fast import gives the usual import's output, output does not depend
on hash seeds or the working directory, and `check` runs in a read-only checkout."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_example, tree_digest

PROVIDER = "cdktf_cdktf_provider_aws"
# The provider package has ~2,200 service submodules; its own `__init__` imports every one of them.
USUAL_IMPORT_AT_LEAST = 2000


def provider_submodules_imported(import_time_report: str) -> set[str]:
    """Provider submodules a process imported, from CPython's `-X importtime` report on stderr."""
    return {line.rsplit("|", 1)[1].strip() for line in import_time_report.splitlines()
            if line.startswith("import time:") and line.rsplit("|", 1)[1].strip().startswith(PROVIDER + ".")}


def test_usual_import_and_other_hash_seed_give_byte_identical_layers(tmp_path: Path, synthesized_example: Path) -> None:
    """LEVERAGE_CDKTF_EAGER_IMPORT=1 really runs the package's own `__init__` (every submodule imported), and the
    layers it writes are byte for byte those of the fast import this test session uses."""
    root = copy_example(tmp_path / "example")
    process = subprocess.run(
        [sys.executable, "-X", "importtime", str(REPO / "main.py"), "synth", "-c", f"leverageRoot={root}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "CDKTF_OUTDIR": str(tmp_path / "cdktf.out"), "LEVERAGE_CDKTF_EAGER_IMPORT": "1",
             "PYTHONHASHSEED": "12345"},
    )
    assert process.returncode == 0, process.stderr[-3000:]
    assert len(provider_submodules_imported(process.stderr)) >= USUAL_IMPORT_AT_LEAST
    assert tree_digest(root) == tree_digest(synthesized_example)
    # ... while the fast import (this process) loaded only what the stacks use.
    assert len([name for name in sys.modules if name.startswith(PROVIDER + ".")]) < USUAL_IMPORT_AT_LEAST // 10


def test_check_in_a_read_only_checkout_from_another_directory(tmp_path: Path, synthesized_example: Path) -> None:
    """`check` with the app's checkout and the Leverage project mounted read-only (a private mount namespace, as
    root), started from another directory with another hash seed: it must write nothing and find no drift, which
    also proves the fast import's output does not depend on the working directory or the hash seed."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) to mount the checkout read-only")
    project = tmp_path / "example"
    shutil.copytree(synthesized_example, project, symlinks=True)
    before = tree_digest(project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    read_only = [f"mount --bind {path} {path}\nmount -o remount,bind,ro {path}" for path in (REPO, project)]
    # `set -e`: a failed mount stops the script, and the test fails. A probe write must then fail in both trees.
    script = "\n".join([
        "set -e", *read_only,
        f"for tree in {REPO} {project}; do",
        "  if touch \"$tree/.read-only-probe\" 2>/dev/null; then echo \"writable: $tree\" >&2; exit 97; fi",
        "done",
        "echo mounted-read-only >&2",
        f"exec {sys.executable} {REPO / 'main.py'} check -c leverageRoot={project}",
    ])
    env = {key: value for key, value in os.environ.items() if key != "CDKTF_OUTDIR"}  # check's own defaults
    process = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                             capture_output=True, text=True, timeout=600, cwd=elsewhere,
                             env={**env, "PYTHONHASHSEED": "999"})
    assert "mounted-read-only" in process.stderr, f"the read-only mount failed: {process.stderr.strip()}"
    assert process.returncode == 0, process.stdout + process.stderr
    assert process.stdout.startswith("no drift"), process.stdout
    assert tree_digest(project) == before
    assert not (REPO / ".read-only-probe").exists() and not (project / ".read-only-probe").exists()
