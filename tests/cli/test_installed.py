"""Installed as a dependency (`pip install` of this folder): a team's own folder with its cdktf.json and layer
modules, beside its Leverage project, synthesizes the example's layers byte-identical to this checkout's."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, REPO, tree_digest

pytestmark = pytest.mark.slow


def test_the_installed_package_writes_the_example_byte_identical(tmp_path: Path) -> None:
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                "--no-deps", "--target", str(target), str(REPO)], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert (target / "leverage/render/templates/config.tf.j2").is_file() and not (target / "tests").exists()
    team = tmp_path / "team-app"  # the team's own app: its cdktf.json, its Leverage project, its layer modules
    team.mkdir()
    shutil.copy(REPO / "cdktf.json", team / "cdktf.json")
    shutil.copytree(EXAMPLE, team / "example", symlinks=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    # The module, then the console script (each a process of its own: a few seconds each).
    for command in ([sys.executable, "-m", "main", "synth"], [str(target / "bin/leverage-cdktf"), "check"]):
        done = subprocess.run(command, cwd=team, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout.startswith("no drift"), done.stdout
    assert tree_digest(team / "example") == tree_digest(EXAMPLE)
