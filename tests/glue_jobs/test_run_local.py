"""`make lakehouse-local`'s RAW, checked before Spark starts (the Spark run itself: test_lakehouse_local.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

import run_local


def tables(root: Path, *names: str) -> Path:
    for name in names:
        (root / name / "cdc_data" / "year=2026").mkdir(parents=True)
    return root


def test_raw_holding_the_tables_is_used_as_is(tmp_path: Path) -> None:
    assert run_local.tables_root(tables(tmp_path, "Orders")) == (tmp_path, None)


def test_the_one_folder_below_raw_holding_the_tables_is_found_and_named(tmp_path: Path) -> None:
    tables(tmp_path / "dynamodb_data", "Orders", "Users")
    root, note = run_local.tables_root(tmp_path)
    assert root == tmp_path / "dynamodb_data" and str(root) in note


@pytest.mark.parametrize("layout, message", [
    ((), "holds no <table>/cdc_data/ folder (Firehose writes"),
    (("a/x", "b/y"), "several folders below it do: a, b"),
])
def test_raw_without_tables_is_refused_with_a_hint_before_spark_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], layout: tuple[str, ...], message: str) -> None:
    for folder in layout:
        tables(tmp_path / folder.split("/")[0], folder.split("/")[1])
    code = run_local.main(["--raw-path", str(tmp_path), "--warehouse", str(tmp_path / "warehouse")])
    lines = capsys.readouterr().err.splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: RAW ") and message in lines[0]
    assert "cdc_merge done" not in capsys.readouterr().out


def test_a_raw_that_is_not_a_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_local.main(["--raw-path", str(tmp_path / "missing"), "--warehouse", str(tmp_path)]) == 2
    assert "is not a folder" in capsys.readouterr().err
