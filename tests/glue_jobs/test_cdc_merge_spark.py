"""The Glue job script against the DynamoDB oracle, in one local Spark session (scenario_runner.py, .venv-spark).

The scenario (scenario.py) runs eight job runs: batches with out-of-order and duplicate changes, late older changes
after deletes, TTL deletes, a run that fails after its first merge and its retry, replays of merged files, the
maintenance cadence and a forced maintenance, and a full rebuild with `--tables`. The tables are read with pyiceberg
(not Spark) after each run and compared row by row with the oracle's live items.
"""
from __future__ import annotations

import base64
import json
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.glue_jobs.conftest import spark_environment
from tests.glue_jobs.cdc_records import LONG_NUMBER, Change, DynamoOracle, FirehoseFile, plain_value, \
    utc_microseconds
from tests.glue_jobs.scenario import (DATABASE, EXPLICIT_DATABASE, KEY_TYPES, LATENESS_WINDOW_DAYS, ORDERS,
                                          OVERLAP_MINUTES, SESSIONS, TARGETS, Scenario, build_scenario, write_plan)

pytestmark = pytest.mark.spark
RUNNER = Path(__file__).with_name("scenario_runner.py")
SUCCESSFUL_STEPS = ("run1", "run2", "run3-retry", "run4-replay", "run5-cadence", "run6-maintenance")


@dataclass
class Outcome:
    scenario: Scenario
    results: dict[str, dict[str, Any]]
    expected: dict[str, dict[str, DynamoOracle]]  # step -> database -> oracle after that step
    files_expected: dict[str, dict[str, int]]  # step -> source table -> files the watermark rule lets it read


def expected_by_watermark(scenario: Scenario) -> tuple[dict[str, dict[str, DynamoOracle]], dict[str, dict[str, int]]]:
    """Replays the deliveries through the oracle, each run seeing the files modified after its table's watermark
    minus the overlap (the watermark: newest file read by the last successful run)."""
    window_us = LATENESS_WINDOW_DAYS * 86400 * 1_000_000
    clock = utc_microseconds(scenario.now)
    incremental, rebuild = DynamoOracle(window_us), DynamoOracle(window_us)
    delivered: dict[str, list[FirehoseFile]] = {ORDERS: [], SESSIONS: []}
    watermarks: dict[str, float | None] = {ORDERS: None, SESSIONS: None}
    oracles: dict[str, dict[str, DynamoOracle]] = {}
    files_read: dict[str, dict[str, int]] = {}
    for step in scenario.steps:
        for file in step.files:
            delivered[file.changes[0].table].append(file)
        if step.database == EXPLICIT_DATABASE:
            rebuild.apply_run([change for file in delivered[ORDERS] for change in file.changes], clock)
            oracles[step.name] = {EXPLICIT_DATABASE: rebuild}
            continue
        files_read[step.name] = {}
        for table, files in delivered.items():
            since = watermarks[table]
            readable = [file for file in files if since is None or file.modified_at > since - OVERLAP_MINUTES * 60]
            files_read[step.name][table] = len(readable)
            if step.fail_after:
                continue
            incremental.apply_run([change for file in readable for change in file.changes], clock)
            if readable:
                watermarks[table] = max([file.modified_at for file in readable] + [since or 0])
        oracles[step.name] = {DATABASE: _snapshot(incremental)}
    return oracles, files_read


def _snapshot(oracle: DynamoOracle) -> DynamoOracle:
    return DynamoOracle(oracle.lateness_window_us, dict(oracle.state))


@pytest.fixture(scope="module")
def outcome(spark_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    scenario = build_scenario()
    folder = tmp_path_factory.mktemp("lakehouse-scenario")
    plan = write_plan(scenario, folder / "run")
    result_file = folder / "results.json"
    completed = subprocess.run([str(spark_python), str(RUNNER), str(plan), str(result_file)],
                               capture_output=True, text=True, timeout=600, env=spark_environment())
    assert completed.returncode == 0, completed.stderr[-5000:]
    results = {step["name"]: step for step in json.loads(result_file.read_text())}
    expected, files_expected = expected_by_watermark(scenario)
    return Outcome(scenario, results, expected, files_expected)


def summary(outcome: Outcome, step: str, source: str) -> dict[str, Any]:
    return next(entry for entry in outcome.results[step]["summaries"] if entry["source"] == source)


def row_key(row: dict[str, Any], source: str) -> tuple:
    key = []
    for name, kind in sorted(KEY_TYPES[source].items()):
        value = row[name]["base64"] if kind == "B" else row[name]
        key.append((name, kind, value))
    return tuple(key)


def live_rows(outcome: Outcome, step: str, source: str, target: str | None = None) -> dict[tuple, dict[str, Any]]:
    table = outcome.results[step]["tables"][target or TARGETS[source]]
    rows = {row_key(row, source): row for row in table["rows"]}
    assert len(rows) == len(table["rows"]), "one row per key"
    return rows


def assert_matches_oracle(rows: dict[tuple, dict[str, Any]], expected: dict[tuple, Change]) -> None:
    assert sorted(rows) == sorted(expected)
    for key, change in expected.items():
        row = rows[key]
        assert (row["cdc_event_id"], row["cdc_event_name"], row["cdc_event_time_us"]) == \
            (change.event_id, change.event_name, change.time_us), key
        item = json.loads(row["item"], parse_float=Decimal, parse_int=Decimal)
        assert item == plain_value({"M": change.new_image}), key


@pytest.mark.parametrize("step", SUCCESSFUL_STEPS)
@pytest.mark.parametrize("source", [ORDERS, SESSIONS])
def test_live_rows_match_the_oracle_after_each_run(outcome: Outcome, step: str, source: str) -> None:
    assert outcome.results[step]["error"] is None, outcome.results[step].get("traceback")
    assert_matches_oracle(live_rows(outcome, step, source), outcome.expected[step][DATABASE].live(source))


def test_a_full_rebuild_with_explicit_tables_matches_the_oracle(outcome: Outcome) -> None:
    result = outcome.results["rebuild-explicit"]
    assert result["error"] is None, result.get("traceback")
    assert set(result["tables"]) == {"cdc_merge_state", "orders_explicit", "orders_explicit__deletes"}
    assert_matches_oracle(live_rows(outcome, "rebuild-explicit", ORDERS, "orders_explicit"),
                          outcome.expected["rebuild-explicit"][EXPLICIT_DATABASE].live(ORDERS))


def test_the_scenario_exercises_what_it_claims(outcome: Outcome) -> None:
    """Guards the oracle comparisons against a scenario that no longer covers the hard cases."""
    live = outcome.expected["run3-retry"][DATABASE].live(ORDERS)
    keys = {dict((name, value) for name, _, value in key)["pk"]: change for key, change in live.items()}
    assert "customer#3" not in keys and "customer#4" not in keys and "customer#6" not in keys
    assert keys["customer#5"].event_name == "INSERT" and keys["customer#8"].event_name == "INSERT"
    assert keys["customer#7"].event_id == "f" * 32
    assert keys["customer#old"].event_name == "MODIFY"  # its tombstone fell out of the window (documented limit)
    assert len([key for key in live if dict((n, v) for n, _, v in key)["pk"] == "customer#1"]) == 2


def test_numbers_keep_their_digits_and_case_variants_survive(outcome: Outcome) -> None:
    rows = live_rows(outcome, "run3-retry", ORDERS)
    texts = [row["item"] for row in rows.values()]
    assert any(LONG_NUMBER in text and f'"{LONG_NUMBER}"' not in text for text in texts)
    for text in texts:
        item = json.loads(text)
        assert {"Status", "status"} <= set(item) and item["Status"] != item["status"]
    long_key = [row for key, row in rows.items() if dict((n, v) for n, _, v in key)["pk"] == "customer#0"]
    assert long_key[0]["sk"] == "12345678901234567890"


def test_binary_keys_are_binary_columns(outcome: Outcome) -> None:
    rows = live_rows(outcome, "run1", SESSIONS)
    assert all(base64.b64decode(row["session_id"]["base64"]) for row in rows.values())


def test_each_run_reads_only_files_after_the_watermark_minus_the_overlap(outcome: Outcome) -> None:
    for step, tables in outcome.files_expected.items():
        if outcome.results[step]["error"]:
            continue
        for source, count in tables.items():
            assert summary(outcome, step, source)["files_read"] == count, (step, source)
    # After the whole history, a run with nothing new reads only the previous run's file (inside the overlap).
    delivered = sum(1 for step in outcome.scenario.steps for file in step.files if file.changes[0].table == ORDERS)
    assert summary(outcome, "run6-maintenance", ORDERS)["files_read"] == 1 and delivered > 10


def test_a_failed_run_leaves_the_watermark_and_the_next_run_reads_its_files_again(outcome: Outcome) -> None:
    failed = outcome.results["run3-fails"]
    assert "injected failure" in failed["error"]
    state = {row["source_table"]: row for row in failed["tables"]["cdc_merge_state"]["rows"]}
    after_run2 = {row["source_table"]: row for row in outcome.results["run2"]["tables"]["cdc_merge_state"]["rows"]}
    assert state[ORDERS]["watermark_us"] == after_run2[ORDERS]["watermark_us"]
    assert summary(outcome, "run3-retry", ORDERS)["files_read"] == outcome.files_expected["run3-fails"][ORDERS]


def test_the_watermark_is_the_newest_file_read(outcome: Outcome) -> None:
    newest = max(file.modified_at for step in outcome.scenario.steps[:2] for file in step.files
                 if file.changes[0].table == ORDERS)
    state = {row["source_table"]: row for row in outcome.results["run2"]["tables"]["cdc_merge_state"]["rows"]}
    assert state[ORDERS]["watermark_us"] == int(newest * 1_000_000)


def test_replays_change_nothing_not_even_merge_metadata(outcome: Outcome) -> None:
    assert summary(outcome, "run4-replay", ORDERS)["files_read"] > 0
    for target in (TARGETS[ORDERS], TARGETS[SESSIONS], TARGETS[ORDERS] + "__deletes"):
        before = outcome.results["run3-retry"]["tables"][target]["rows"]
        after = outcome.results["run4-replay"]["tables"][target]["rows"]
        assert sorted(map(json.dumps, before)) == sorted(map(json.dumps, after)), target


def test_deleted_items_keep_tombstones_and_old_ones_are_purged(outcome: Outcome) -> None:
    tombstones = outcome.results["run3-retry"]["tables"]["orders__deletes"]["rows"]
    keys = {row_key(row, ORDERS): row for row in tombstones}
    for key, change in outcome.expected["run3-retry"][DATABASE].tombstones(ORDERS).items():
        assert keys[key]["cdc_event_id"] == change.event_id
    ttl = [row for key, row in keys.items() if dict((n, v) for n, _, v in key)["pk"] == "customer#4"]
    assert ttl and ttl[0]["cdc_event_name"] == "REMOVE"
    horizon = utc_microseconds(outcome.scenario.now) - LATENESS_WINDOW_DAYS * 86400 * 1_000_000
    assert all(row["cdc_event_time_us"] >= horizon for row in tombstones)
    assert summary(outcome, "run1", ORDERS)["tombstones_purged"] == 1


def test_malformed_lines_are_counted_and_skipped(outcome: Outcome) -> None:
    assert summary(outcome, "run2", ORDERS)["malformed_records"] == 1


def test_tables_are_iceberg_v2_with_the_documented_columns(outcome: Outcome) -> None:
    table = outcome.results["run1"]["tables"]["orders"]
    assert table["format_version"] == 2
    assert json.loads(table["properties"]["cdc.keys"]) == [{"name": "pk", "type": "S"}, {"name": "sk", "type": "N"}]
    assert list(table["rows"][0]) == ["pk", "sk", "item", "cdc_event_name", "cdc_event_id", "cdc_event_time_us",
                                      "cdc_source_file", "cdc_merged_at"]
    assert table["rows"][0]["cdc_source_file"].endswith(tuple(
        file.relative_path for file in outcome.scenario.steps[0].files))


def test_maintenance_runs_on_its_cadence_and_compacts(outcome: Outcome) -> None:
    cadence = [summary(outcome, step, ORDERS)["maintenance"] for step in SUCCESSFUL_STEPS]
    assert cadence == [False, False, False, False, True, True]
    before, after = (outcome.results[step]["tables"]["orders"] for step in ("run5-cadence", "run6-maintenance"))
    assert before["snapshots"] > 1 and after["snapshots"] == 1
    assert after["delete_files"] == 0 and after["data_files"] <= before["data_files"]
    assert outcome.results["run3-retry"]["tables"]["orders"]["delete_files"] > 0  # merges wrote position deletes
