"""`main.py new-layer <account>/<layer> [--dir FOLDER]`: a starter layer module and its test, registered in
cdktf.json; the test passes and the next synth writes a working layer folder, with no drift after it."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, app_main, run_cli, tree_digest
from tests.layers import load_config_dir, main_json


@pytest.fixture
def app_settings(tmp_path: Path, project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's cdktf.json, copied beside the project (leverageRoot pointing at it)."""
    settings = json.loads((REPO / "cdktf.json").read_text())
    settings["context"]["leverageRoot"] = str(project_copy)
    settings["context"]["layers"] = []
    path = tmp_path / "cdktf.json"
    path.write_text(json.dumps(settings, indent=2) + "\n")
    monkeypatch.setattr(app_main, "CDKTF_JSON", path)
    return path


def run_generated_test(test_file: Path) -> None:
    """The generated test module's tests, run in this process (its folder on sys.path, as pytest would put it)."""
    sys.path.insert(0, str(test_file.parent))
    try:
        spec = importlib.util.spec_from_file_location(test_file.stem, test_file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        tests = [getattr(module, name) for name in dir(module) if name.startswith("test_")]
        assert tests
        for test in tests:
            test()
    finally:
        sys.path.remove(str(test_file.parent))


def test_the_scaffold_passes_its_own_test_and_synthesizes_a_working_layer(
        capsys: pytest.CaptureFixture[str], app_settings: Path, project_copy: Path, tmp_path: Path) -> None:
    team = tmp_path / "team-layers"
    made = run_cli(capsys, "new-layer", "data-science/orders-events", "--dir", str(team))
    assert made.code == 0, made.err
    assert sorted(path.name for path in team.iterdir()) == ["orders_events.py", "test_orders_events.py"]
    registered = json.loads(app_settings.read_text())["context"]["layers"]
    assert registered == [{"module": "team-layers/orders_events.py", "class": "OrdersEventsLayer",
                           "account": "data-science", "layer": "orders-events", "settings": {"retention_days": 4}}]
    run_generated_test(team / "test_orders_events.py")
    # Where its docstring says to run it: from the app's folder, whose cdktf.json loads what the layer imports.
    assert "`python -m pytest team-layers/test_orders_events.py`" in " ".join(
        (team / "test_orders_events.py").read_text().split())

    assert run_cli(capsys, "synth").code == 0
    folder = project_copy / "data-science/us-east-1/orders-events"
    assert main_json(folder)["resource"]["aws_sqs_queue"]["queue"]["name"] == "bb-data-science-orders-events"
    _, diagnostics = load_config_dir(folder)
    assert not diagnostics
    checked = run_cli(capsys, "check")
    assert checked.code == 0, checked.out
    assert "data-science/us-east-1/orders-events" in run_cli(capsys, "list").out


def test_the_default_folder_is_layers_in_the_leverage_project(
        capsys: pytest.CaptureFixture[str], app_settings: Path, project_copy: Path) -> None:
    assert run_cli(capsys, "new-layer", "apps-devstg/jobs").code == 0
    assert (project_copy / "layers/jobs.py").is_file() and (project_copy / "layers/test_jobs.py").is_file()
    entry = json.loads(app_settings.read_text())["context"]["layers"][0]
    assert entry["module"] == "example/layers/jobs.py" and entry["class"] == "JobsLayer"


@pytest.mark.parametrize("argv, message", [
    (("new-layer",), "new-layer needs <account>/<layer>"),
    (("new-layer", "orders"), "new-layer 'orders' is not <account>/<layer>"),
    (("new-layer", "nowhere/orders"), "has no account folder nowhere/"),
    (("new-layer", "data-science/Orders"), "is not <account>/<layer>"),
    (("synth", "data-science/orders"), "synth takes no ACCOUNT/LAYER or --dir"),
    # What synth would refuse afterwards is refused before anything is written or registered.
    (("new-layer", "data-science/lakehouse-demo"), "'lakehouse-demo' is the folder of a built-in layer"),
    (("new-layer", "data-science/" + "a" * 70), "the starter's queue name would break AWS's limits"),
    (("new-layer", "data-science/" + "a" * 300), "the starter's queue name would break AWS's limits"),
])
def test_bad_new_layer_input_is_refused_and_nothing_is_written(
        capsys: pytest.CaptureFixture[str], app_settings: Path, argv: tuple[str, ...], message: str) -> None:
    before = tree_digest(app_settings.parent)
    result = run_cli(capsys, *argv)
    assert result.code == 2 and result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    assert message in result.err
    assert tree_digest(app_settings.parent) == before


def test_an_existing_file_or_registered_layer_is_never_overwritten(
        capsys: pytest.CaptureFixture[str], app_settings: Path, tmp_path: Path) -> None:
    team = tmp_path / "team"
    assert run_cli(capsys, "new-layer", "data-science/orders", "--dir", str(team)).code == 0
    before = tree_digest(tmp_path)
    again = run_cli(capsys, "new-layer", "data-science/orders", "--dir", str(tmp_path / "other"))
    assert again.code == 2 and "cdktf.json registers that layer already" in again.err
    (team / "test_orders.py").unlink()
    shutil.copy(team / "orders.py", tmp_path / "orders.py")
    clash = run_cli(capsys, "new-layer", "apps-devstg/orders", "--dir", str(tmp_path))
    assert clash.code == 2 and f"{tmp_path / 'orders.py'} exists already" in clash.err
    assert tree_digest(tmp_path) == {**{k: v for k, v in before.items() if k != "team/test_orders.py"},
                                     "orders.py": before["team/orders.py"]}


def test_a_signal_once_the_layer_is_registered_ends_nothing(
        capsys: pytest.CaptureFixture[str], app_settings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut short then, the module and its test would be removed and cdktf.json would register a missing module."""
    real_replace = os.replace

    def replace_then_ctrl_c(source: object, target: object) -> None:
        real_replace(source, target)
        if Path(str(target)) == app_settings:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace_then_ctrl_c)
    made = run_cli(capsys, "new-layer", "data-science/orders", "--dir", str(tmp_path / "team"))
    monkeypatch.undo()
    assert made.code == 0, made.err
    assert sorted(path.name for path in (tmp_path / "team").iterdir()) == ["orders.py", "test_orders.py"]
    assert [entry["layer"] for entry in json.loads(app_settings.read_text())["context"]["layers"]] == ["orders"]
    assert not list(tmp_path.glob(".cdktf.json.new"))


def test_a_signal_before_the_layer_is_registered_leaves_nothing_even_with_a_second_one(
        capsys: pytest.CaptureFixture[str], app_settings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files and the folders made for them are removed; a second signal waits for that."""
    (tmp_path / "team").mkdir()
    before = tree_digest(tmp_path)
    real_unlink = Path.unlink
    removed: list[Path] = []

    def ctrl_c_instead(source: object, target: object) -> None:
        raise KeyboardInterrupt

    def unlink_with_a_second_signal(path: Path, missing_ok: bool = False) -> None:
        removed.append(path)
        if len(removed) == 1:
            os.kill(os.getpid(), signal.SIGTERM)
        real_unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(os, "replace", ctrl_c_instead)
    monkeypatch.setattr(Path, "unlink", unlink_with_a_second_signal)
    made = run_cli(capsys, "new-layer", "data-science/orders", "--dir", str(tmp_path / "team/a/b"))
    monkeypatch.undo()
    assert made.code == 128 + signal.SIGTERM and made.err.count("\n") == 1, made.err
    assert len(removed) == 3  # the module, its test, the partial cdktf.json
    assert tree_digest(tmp_path) == before and list((tmp_path / "team").iterdir()) == []
