"""The Glue job against an independent model, in one local Spark session (scenario_runner.py, .venv-spark).

The scenario (scenario.py) runs ten job runs: batches with out-of-order and duplicate changes, late older changes
after deletes, TTL deletes, a run that fails after its first merge, two that fail in the history, their retries,
replays of merged files, the maintenance cadence and a forced maintenance, a DynamoDB table replaced by one with other
keys, items whose attributes evolve, and a full rebuild with `--tables`, declared columns and a cap. The tables are
read with pyiceberg (not Spark) after each run and compared row by row, typed columns included, with the model
(lake_model.py, typed_model.py); then the docs' Athena examples run against the merged tables.
"""
from __future__ import annotations

import base64
import json
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest

from tests.glue_jobs.cdc_records import LONG_NUMBER, Change, FirehoseFile, plain_value, utc_microseconds
from tests.glue_jobs.conftest import REPO
from tests.glue_jobs.lake_model import TableModel
from tests.glue_jobs.scenario import (LOCK_OWNER, COUNT_DRIFT, DATABASE, DECLARED_COLUMNS, EXPLICIT_DATABASE, FAULTS_STEP,
                                      FRESH_HOURS, HEALTHY_STEP, KEY_TYPES, LATENESS_WINDOW_DAYS, LEGACY_ITEMS,
                                      LEGACY_TARGET, LEGACY_WATERMARK_US, ORDERS, OVERLAP_MINUTES, QUIET_DAYS,
                                      QUIET_TARGET, REBUILD_MAX_COLUMNS, REPLACED_KEY_TYPES, REPLACED_SORT_KEY,
                                      SESSIONS, TARGETS, Scenario, build_scenario, give_item_counts, metrics_file,
                                      write_plan)
from tests.glue_jobs.typed_model import ColumnModel, dumped

pytestmark = pytest.mark.spark
RUNNER = Path(__file__).with_name("scenario_runner.py")
SUCCESSFUL_STEPS = ("run1", "run2", "run3-retry", "run4-replay", "run5-cadence", "run6-maintenance")
ICEBERG_TYPES = {"string": "string", "json": "string", "bigint": "long", "decimal": "decimal(38, 9)",
                 "boolean": "boolean", "binary": "binary", "array<string>": "list<string>",
                 "array<bigint>": "list<long>", "array<decimal>": "list<decimal(38, 9)>",
                 "array<binary>": "list<binary>"}
DOCS = REPO / "docs" / "lakehouse.md"
QUERY_SECTION = "## Querying with Athena"
HISTORY_SECTION = "## History on demand"
AS_OF = re.compile(r"TIMESTAMP '[0-9: -]+'")  # the docs' moment T, replaced by the test's


@dataclass
class Outcome:
    scenario: Scenario
    results: dict[str, dict[str, Any]]
    queries: list[dict[str, Any]]
    expected: dict[str, dict[str, TableModel]]  # step -> source table -> the model after that step
    files_expected: dict[str, dict[str, int]]  # step -> source table -> files the watermark rule lets it read
    metrics: dict[str, list[dict[str, Any]]]  # step -> the metrics it published (the file sink's lines)
    as_of_us: int  # the moment the docs' "as of" query is asked about


def docs_queries(heading: str = QUERY_SECTION) -> list[str]:
    """The SQL blocks of a section of the docs."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index(heading):]
    section = section[:section.index("\n## ", len(heading))]
    blocks = re.findall(r"```sql\n(.*?)```", section, re.DOTALL)
    return [statement.strip() for block in blocks for statement in block.split(";")
            if re.sub(r"--[^\n]*", "", statement).strip()]


def as_of_query(as_of_us: int) -> str:
    """The docs' "the item as of time T" query, asked about `as_of_us`."""
    moment = datetime.fromtimestamp(as_of_us / 1_000_000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    query, = docs_queries(HISTORY_SECTION)
    assert len(AS_OF.findall(query)) == 1, query
    return AS_OF.sub(f"TIMESTAMP '{moment}'", query)


def expected_by_watermark(scenario: Scenario) -> tuple[dict[str, dict[str, TableModel]], dict[str, dict[str, int]]]:
    """Replays the deliveries through the model, each run seeing the files modified after its table's watermark
    minus the overlap (the watermark: newest file read by the last successful run)."""
    window_us = LATENESS_WINDOW_DAYS * 86400 * 1_000_000
    clock = utc_microseconds(scenario.now)
    incremental = {source: TableModel(source, window_us) for source in (ORDERS, SESSIONS)}
    rebuild = {ORDERS: TableModel(ORDERS, window_us, (("pk", "S"), ("sk", "N")), dict(DECLARED_COLUMNS),
                                  REBUILD_MAX_COLUMNS)}
    delivered: dict[str, list[FirehoseFile]] = {ORDERS: [], SESSIONS: []}
    watermarks: dict[str, float | None] = {ORDERS: None, SESSIONS: None}
    models: dict[str, dict[str, TableModel]] = {}
    files_read: dict[str, dict[str, int]] = {}
    for step in scenario.steps:
        for file in step.files:
            delivered[file.changes[0].table].append(file)
        if step.database == EXPLICIT_DATABASE:
            for source, model in rebuild.items():
                model.apply_run([change for file in delivered[source] for change in file.changes], clock)
            models[step.name] = rebuild
            continue
        files_read[step.name] = {}
        for table, files in delivered.items():
            since = watermarks[table]
            readable = [file for file in files if since is None or file.modified_at > since - OVERLAP_MINUTES * 60]
            files_read[step.name][table] = len(readable)
            incremental[table].apply_run([change for file in readable for change in file.changes], clock,
                                         fails_after_first_merge=step.fail_after == "merge_into_live",
                                         fails_before_purge=bool(step.fail_after))
            if step.fail_after:
                continue
            if readable:
                watermarks[table] = max([file.modified_at for file in readable] + [since or 0])
        models[step.name] = {source: model.snapshot() for source, model in incremental.items()}
    return models, files_read


@pytest.fixture(scope="module")
def outcome(spark_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    scenario = build_scenario()
    expected, files_expected = expected_by_watermark(scenario)
    give_item_counts(scenario, {source: len(model.live()) for source, model in expected[HEALTHY_STEP].items()},
                     len(expected[FAULTS_STEP][ORDERS].live()))
    folder = tmp_path_factory.mktemp("lakehouse-scenario")
    as_of_us = utc_microseconds(scenario.now - timedelta(days=2)) + 1000 * 1_000_000 + 500_000  # t(1000.5)
    plan = write_plan(scenario, folder / "run", {"database": DATABASE,
                                                 "sql": docs_queries() + [as_of_query(as_of_us)]})
    result_file = folder / "results.json"
    completed = subprocess.run([str(spark_python), str(RUNNER), str(plan), str(result_file)],
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-5000:]
    results = json.loads(result_file.read_text())
    metrics = {step.name: [json.loads(line) for line in metrics_file(folder / "run", step.name).read_text().splitlines()]
               for step in scenario.steps}
    return Outcome(scenario, {step["name"]: step for step in results["steps"]}, results["queries"], expected,
                   files_expected, metrics, as_of_us)


def summary(outcome: Outcome, step: str, source: str) -> dict[str, Any]:
    return next(entry for entry in outcome.results[step]["summaries"] if entry["source"] == source)


def table(outcome: Outcome, step: str, name: str) -> dict[str, Any]:
    return outcome.results[step]["tables"][name]


def row_key(row: dict[str, Any], key_types: dict[str, str]) -> tuple:
    return tuple((name, kind, row[name]["base64"] if kind == "B" else row[name])
                 for name, kind in sorted(key_types.items()))


def rows_by_key(rows: list[dict[str, Any]], key_types: dict[str, str]) -> dict[tuple, dict[str, Any]]:
    keyed = {row_key(row, key_types): row for row in rows}
    assert len(keyed) == len(rows), "one row per key"
    return keyed


def assert_rows_match(rows: list[dict[str, Any]], live: dict[tuple, Change], columns: ColumnModel,
                      keys: dict[str, str]) -> None:
    """Keys, the change each row reflects, `item` with exact numbers, the attribute types, and every typed column
    with its conflicts, as the model expects them."""
    keyed = rows_by_key(rows, keys)
    assert sorted(keyed) == sorted(live)
    for key, change in live.items():
        row = keyed[key]
        assert (row["cdc_event_id"], row["cdc_event_name"], row["cdc_event_time_us"]) == \
            (change.event_id, change.event_name, change.time_us), key
        assert json.loads(row["item"], parse_float=Decimal, parse_int=Decimal) == plain_value({"M": change.new_image})
        assert dict(row["cdc_attribute_types"]) == {name: next(iter(typed))
                                                    for name, typed in change.new_image.items()}, key
        values, conflicts = columns.expected(change.new_image)
        types = {column.name: column.type for column in columns.columns.values()}
        assert {name: dumped(types[name], row[name]) for name in values} == values, key
        assert row["cdc_type_conflicts"] == conflicts, key


def assert_columns_match(dumped_table: dict[str, Any], keys: dict[str, str], columns: ColumnModel) -> None:
    """The table's schema: keys, then the typed columns in the order they were added (doc: the attribute's exact
    name), then `item` and the job's columns."""
    expected = [(name, "binary" if kind == "B" else "string", None) for name, kind in sorted(keys.items())]
    expected += [(column.name, ICEBERG_TYPES[column.type], column.attribute) for column in columns.columns.values()]
    expected += [("item", "string", None), ("cdc_attribute_types", "map<string, string>", None),
                 ("cdc_type_conflicts", "list<string>", None), ("cdc_event_name", "string", None),
                 ("cdc_event_id", "string", None), ("cdc_event_time_us", "long", None),
                 ("cdc_source_file", "string", None), ("cdc_merged_at", "timestamptz", None)]
    assert [(column["name"], column["type"], column["doc"]) for column in dumped_table["columns"]] == expected


def model_keys(model: TableModel) -> dict[str, str]:
    return dict(model.keys)


@pytest.mark.parametrize("step", SUCCESSFUL_STEPS)
@pytest.mark.parametrize("source", [ORDERS, SESSIONS])
def test_live_rows_and_typed_columns_match_the_model_after_each_run(outcome: Outcome, step: str, source: str) -> None:
    failed = [entry for entry in outcome.results[step]["summaries"] if entry["error"]]
    assert outcome.results[step]["error"] is None and not failed, outcome.results[step].get("traceback") or failed
    model = outcome.expected[step][source]
    dumped_table = table(outcome, step, TARGETS[source])
    assert_columns_match(dumped_table, model_keys(model), model.columns)
    assert_rows_match(dumped_table["rows"], model.live(), model.columns, model_keys(model))


def test_a_full_rebuild_with_explicit_tables_declared_columns_and_a_cap_matches_the_model(outcome: Outcome) -> None:
    result = outcome.results["rebuild-explicit"]
    assert result["error"] is None, result.get("traceback")
    # A declared table is created before its first change arrives (the quiet one).
    assert set(result["tables"]) == {"cdc_merge_runs", "orders_explicit", "orders_explicit__deletes",
                                     LEGACY_TARGET, LEGACY_TARGET + "__deletes", "cdc_merge_state",
                                     "cdc_check_results", QUIET_TARGET, QUIET_TARGET + "__deletes"}
    model = outcome.expected["rebuild-explicit"][ORDERS]
    orders = table(outcome, "rebuild-explicit", "orders_explicit")
    assert_columns_match(orders, model_keys(model), model.columns)
    assert_rows_match(orders["rows"], model.live(), model.columns, model_keys(model))
    # Declared types win over what the values would give (version: bigint, mixed: a number mostly), and count
    # against the cap; the rest are the attributes with most values.
    types = {column.attribute: column.type for column in model.columns.columns.values()}
    assert {attribute: types[attribute] for attribute in DECLARED_COLUMNS} == DECLARED_COLUMNS
    assert len(types) == REBUILD_MAX_COLUMNS and model.columns.untyped
    entry = summary(outcome, "rebuild-explicit", ORDERS)
    assert entry["untyped_attributes"] == len(model.columns.untyped)
    assert entry["type_conflicts"] == model.conflicts and "mixed" not in entry["type_conflicts"]  # json holds all


def as_typed(value: Any) -> dict[str, Any]:
    """A plain JSON value with the DynamoDB type its JSON suggests (how rows stored without types are read)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, (int, float)):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [as_typed(member) for member in value]}
    return {"M": {name: as_typed(member) for name, member in value.items()}}


def test_a_table_from_before_typed_columns_gets_them_from_the_items_it_holds(outcome: Outcome) -> None:
    legacy = table(outcome, "rebuild-explicit", LEGACY_TARGET)
    images = {key: {name: as_typed(value) for name, value in item.items()} for key, item in LEGACY_ITEMS.items()}
    columns = ColumnModel({"id"})
    columns.run(list(images.values()))
    assert_columns_match(legacy, {"id": "S"}, columns)
    types = {column.name: column.type for column in columns.columns.values()}
    assert types == {"blob": "string", "count": "bigint", "flag": "boolean", "flag_2": "boolean", "meta": "json",
                     "price": "decimal", "tags": "json"}  # B and sets read as their JSON suggests; `note` only null
    for row in legacy["rows"]:
        if row["id"] is None:  # planted for the checks (a row without its key)
            continue
        values, conflicts = columns.expected(images[row["id"]])
        assert {name: dumped(types[name], row[name]) for name in values} == values
        assert row["cdc_type_conflicts"] == conflicts and row["cdc_attribute_types"] is None
        assert json.loads(row["item"]) == LEGACY_ITEMS[row["id"]]  # untouched
    assert summary(outcome, "rebuild-explicit", "Legacy")["columns_added"] == list(types)
    # Its watermark and run count, from the state table earlier versions kept, now in its properties.
    assert legacy["properties"]["cdc.watermark-us"] == str(LEGACY_WATERMARK_US)
    assert legacy["properties"]["cdc.runs"] == "4"


def test_a_replaced_table_starts_a_new_generation_and_keeps_the_old_one_queryable(outcome: Outcome) -> None:
    model = outcome.expected["run3-retry"][SESSIONS]
    assert model.generation == 2 and model_keys(model) == REPLACED_KEY_TYPES
    live = table(outcome, "run3-retry", TARGETS[SESSIONS])
    assert json.loads(live["properties"]["cdc.keys"]) == [{"name": REPLACED_SORT_KEY, "type": "N"},
                                                           {"name": "session_id", "type": "S"}]
    assert live["properties"]["cdc.generation"] == "2"
    # Nothing of the destroyed table stays live: only the new table's items, under the new keys.
    assert_rows_match(live["rows"], model.live(), model.columns, REPLACED_KEY_TYPES)
    archive = table(outcome, "run3-retry", TARGETS[SESSIONS] + "__v1")
    assert_rows_match(archive["rows"], model.archives[1].live, model.archives[1].columns, KEY_TYPES[SESSIONS])
    assert archive["properties"]["cdc.generation"] == "1" and model.archives[1].live
    entry = summary(outcome, "run3-retry", SESSIONS)
    assert entry["archived_as"] == TARGETS[SESSIONS] + "__v1" and entry["generation"] == 2
    # That run held changes of both tables: the old table's merged first, then archived, then the new one's.
    old_changes = [change for file in outcome.scenario.steps[2].files for change in file.changes
                   if change.table == SESSIONS and REPLACED_SORT_KEY not in change.keys]
    assert any(model.archives[1].live.get(change.key) == change for change in old_changes)


def test_changes_of_a_replaced_table_are_counted_and_never_merged(outcome: Outcome) -> None:
    for step in ("run4-replay", "run5-cadence"):
        assert summary(outcome, step, SESSIONS)["replaced_table_records"] == \
            outcome.expected[step][SESSIONS].replaced_records > 0, step
    before = table(outcome, "run3-retry", TARGETS[SESSIONS] + "__v1")["rows"]
    after = table(outcome, "run6-maintenance", TARGETS[SESSIONS] + "__v1")["rows"]
    assert sorted(map(json.dumps, before)) == sorted(map(json.dumps, after))


def test_columns_are_added_widened_and_named_as_documented(outcome: Outcome) -> None:
    first, second = (summary(outcome, step, ORDERS) for step in ("run1", "run2"))
    assert "priority" not in first["columns_added"] and second["columns_added"] == ["priority"]
    assert second["columns_retyped"] == ["price"]
    before, columns = ({column["name"]: (column["type"], column["doc"]) for column in table(outcome, step, "orders")
                        ["columns"]} for step in ("run1", "run2"))
    assert before["price"] == ("long", "price") and columns["price"] == ("decimal(38, 9)", "price")
    assert columns["status"] == ("string", "status") and columns["status_2"] == ("string", "Status")
    assert columns["item_2"] == ("string", "Item") and columns["pk_2"] == ("string", "PK")
    assert columns["order_total"] == ("long", "order-total") and columns["a_1st"] == ("boolean", "1st")
    assert columns["a_cdc_note"] == ("string", "cdc_note") and columns["mixed"][0] == "long"
    assert columns["address"] == ("string", "address") and columns["tags"] == ("list<string>", "tags")
    assert "deleted_at" not in columns  # only NULLs: no type yet
    sessions = {column["name"] for column in table(outcome, "run1", TARGETS[SESSIONS])["columns"]}
    assert "pk" in sessions and "pk_2" not in sessions  # no key named pk there


def test_type_conflicts_are_counted_per_run_and_named_per_row(outcome: Outcome) -> None:
    for step in (*SUCCESSFUL_STEPS, "run3-fails"):  # the retry does not count what the failed run merged
        for source in (ORDERS, SESSIONS):
            assert summary(outcome, step, source)["type_conflicts"] == outcome.expected[step][source].conflicts
    conflicts = summary(outcome, "run1", ORDERS)["type_conflicts"]
    assert conflicts["mixed"] > 0 and conflicts["scores"] > 0  # S in a number column; a set too wide for decimals
    rows = table(outcome, "run6-maintenance", "orders")["rows"]
    assert any(row["cdc_type_conflicts"] for row in rows) and any(not row["cdc_type_conflicts"] for row in rows)


def test_each_run_is_recorded_in_the_runs_table(outcome: Outcome) -> None:
    runs = table(outcome, "run6-maintenance", "cdc_merge_runs")["rows"]
    recorded = sorted((row["source_table"], row["outcome"]) for row in runs)
    assert recorded == sorted([(ORDERS, "merged")] * 6 + [(SESSIONS, "merged")] * 6
                              + [(ORDERS, "failed"), (SESSIONS, "failed")] * 3)
    failed = sorted(row["error"] for row in runs if row["outcome"] == "failed")
    assert failed == sorted(f"RuntimeError: injected failure after {method}" for method in
                            ("merge_into_live", "create_history", "match_schema") for _ in (ORDERS, SESSIONS))
    widened = [row for row in runs if row["columns_retyped"] == ["price"] and row["source_table"] == ORDERS]
    assert len(widened) == 1 and widened[0]["generation"] == 1


def test_the_docs_athena_examples_run_on_the_merged_tables(outcome: Outcome) -> None:
    assert len(outcome.queries) >= 3
    for answer in outcome.queries:
        assert answer["error"] is None and answer["rows"], answer["query"]
    model = outcome.expected["run6-maintenance"][ORDERS]
    per_status: dict[str, list[Decimal]] = {}
    for change in model.live().values():
        values, _ = model.columns.expected(change.new_image)
        per_status.setdefault(values["status"], []).append(values["amount"])
    first = outcome.queries[0]  # orders and their total amount per status
    with localcontext() as exact:
        exact.prec = 60  # a decimal(38,9) sum, not Python's 28 digits
        assert {row["status"]: (row["orders"], Decimal(row["amount"])) for row in first["rows"]} == {
            status: (len(amounts), sum(amount for amount in amounts if amount is not None))
            for status, amounts in per_status.items()}


def test_the_scenario_exercises_what_it_claims(outcome: Outcome) -> None:
    """Guards the model comparisons against a scenario that no longer covers the hard cases."""
    live = outcome.expected["run3-retry"][ORDERS].live()
    keys = {dict((name, value) for name, _, value in key)["pk"]: change for key, change in live.items()}
    assert "customer#3" not in keys and "customer#4" not in keys and "customer#6" not in keys
    assert keys["customer#5"].event_name == "INSERT" and keys["customer#8"].event_name == "INSERT"
    assert keys["customer#7"].event_id == "f" * 32
    assert keys["customer#old"].event_name == "MODIFY"  # its tombstone fell out of the window (documented limit)
    assert len([key for key in live if dict((n, v) for n, _, v in key)["pk"] == "customer#1"]) == 2
    every_type = {kind for change in live.values() for typed in change.new_image.values() for kind in typed}
    assert every_type == {"S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"}


def test_numbers_keep_their_digits_and_case_variants_survive(outcome: Outcome) -> None:
    rows = table(outcome, "run3-retry", "orders")["rows"]
    texts = [row["item"] for row in rows]
    assert any(LONG_NUMBER in text and f'"{LONG_NUMBER}"' not in text for text in texts)
    assert any(row["amount"] == LONG_NUMBER for row in rows)  # decimal(38,9), every digit
    for text in texts:
        item = json.loads(text)
        assert {"Status", "status"} <= set(item) and item["Status"] != item["status"]
    long_key = [row for row in rows if row["pk"] == "customer#0"]
    assert long_key[0]["sk"] == "12345678901234567890"


def test_binary_keys_are_binary_columns(outcome: Outcome) -> None:
    rows = table(outcome, "run1", TARGETS[SESSIONS])["rows"]
    assert rows and all(base64.b64decode(row["session_id"]["base64"]) for row in rows)


def test_each_run_reads_only_files_after_the_watermark_minus_the_overlap(outcome: Outcome) -> None:
    for step, tables in outcome.files_expected.items():
        if outcome.results[step]["error"]:
            continue
        for source, count in tables.items():
            assert summary(outcome, step, source)["files_read"] == count, (step, source)
    # After the whole history, a run with nothing new reads only the previous run's file (inside the overlap).
    delivered = sum(1 for step in outcome.scenario.steps for file in step.files if file.changes[0].table == ORDERS)
    assert summary(outcome, "run6-maintenance", ORDERS)["files_read"] == 1 and delivered > 10


def watermark(outcome: Outcome, step: str, source: str) -> int:
    return int(table(outcome, step, TARGETS[source])["properties"]["cdc.watermark-us"])


def test_a_failed_run_leaves_the_watermark_and_the_next_run_reads_its_files_again(outcome: Outcome) -> None:
    failed = outcome.results["run3-fails"]
    assert "injected failure" in failed["error"]
    assert watermark(outcome, "run3-fails", ORDERS) == watermark(outcome, "run2", ORDERS)
    assert summary(outcome, "run3-retry", ORDERS)["files_read"] == outcome.files_expected["run3-fails"][ORDERS]


def test_the_watermark_is_the_newest_file_read(outcome: Outcome) -> None:
    newest = max(file.modified_at for step in outcome.scenario.steps[:2] for file in step.files
                 if file.changes[0].table == ORDERS)
    assert watermark(outcome, "run2", ORDERS) == int(newest * 1_000_000)


def test_replays_change_nothing_not_even_merge_metadata(outcome: Outcome) -> None:
    assert summary(outcome, "run4-replay", ORDERS)["files_read"] > 0
    for target in (TARGETS[ORDERS], TARGETS[SESSIONS], TARGETS[ORDERS] + "__deletes"):
        before = table(outcome, "run3-retry", target)["rows"]
        after = table(outcome, "run4-replay", target)["rows"]
        assert sorted(map(json.dumps, before)) == sorted(map(json.dumps, after)), target


def test_changes_merged_counts_only_changes_that_changed_the_table(outcome: Outcome) -> None:
    for step in (*SUCCESSFUL_STEPS, "run3-fails"):  # a failed run counts what its merge committed; its retry not
        for source in (ORDERS, SESSIONS):
            assert summary(outcome, step, source)["changes_merged"] == outcome.expected[step][source].merged, step
    assert summary(outcome, "run1", ORDERS)["changes_merged"] > 0
    for step in ("run4-replay", HEALTHY_STEP):  # files merged before, read again: replayed, in the overlap window
        assert summary(outcome, step, ORDERS)["files_read"] > 0, step
        assert summary(outcome, step, ORDERS)["changes_merged"] == 0, step


def test_deleted_items_keep_tombstones_and_old_ones_are_purged(outcome: Outcome) -> None:
    tombstones = table(outcome, "run3-retry", "orders__deletes")["rows"]
    keyed = rows_by_key(tombstones, KEY_TYPES[ORDERS])
    expected = outcome.expected["run3-retry"][ORDERS].tombstones
    assert keyed.keys() == expected.keys()  # an item created again (order 8) keeps its own, which its row outranks
    for key, change in expected.items():
        assert keyed[key]["cdc_event_id"] == change.event_id
    ttl = [row for key, row in keyed.items() if dict((n, v) for n, _, v in key)["pk"] == "customer#4"]
    assert ttl and ttl[0]["cdc_event_name"] == "REMOVE"
    horizon = utc_microseconds(outcome.scenario.now) - LATENESS_WINDOW_DAYS * 86400 * 1_000_000
    assert all(row["cdc_event_time_us"] >= horizon for row in tombstones)
    assert summary(outcome, "run1", ORDERS)["tombstones_purged"] == 1


def test_malformed_lines_are_counted_and_skipped(outcome: Outcome) -> None:
    assert summary(outcome, "run2", ORDERS)["malformed_records"] == 1


def test_tables_are_iceberg_v2_merge_on_read_with_their_keys(outcome: Outcome) -> None:
    orders = table(outcome, "run1", "orders")
    assert orders["format_version"] == 2 and orders["properties"]["write.merge.mode"] == "merge-on-read"
    assert json.loads(orders["properties"]["cdc.keys"]) == [{"name": "pk", "type": "S"}, {"name": "sk", "type": "N"}]
    assert orders["rows"][0]["cdc_source_file"].endswith(tuple(
        file.relative_path for file in outcome.scenario.steps[0].files))


def test_maintenance_runs_on_its_cadence_and_compacts(outcome: Outcome) -> None:
    cadence = [summary(outcome, step, ORDERS)["maintenance"] for step in SUCCESSFUL_STEPS]
    assert cadence == [False, False, False, False, True, True]
    merged, cadence, forced = (table(outcome, step, "orders") for step in ("run3-retry", "run5-cadence",
                                                                           "run6-maintenance"))
    assert merged["delete_files"] > 0 and merged["data_files"] > 1  # merges wrote position deletes
    # Run 5's merge wrote delete files just before the compaction, which made them apply to no row: dropped too.
    assert cadence["data_files"] == 1 and cadence["delete_files"] == 0
    assert forced["snapshots"] == 1 and forced["data_files"] == 1 and forced["delete_files"] == 0


# ---------------------------------------------------------------- checks, metrics, history


EVENT_RANK = {"INSERT": 1, "MODIFY": 2, "REMOVE": 3}


def published(outcome: Outcome, step: str, name: str, table: str | None = None,
              database: str = DATABASE) -> list[float]:
    """The values a run published of one metric (of one table, or of the job)."""
    return [line["value"] for line in outcome.metrics[step] if line["name"] == name
            and line["dimensions"].get("Table") == table and line["dimensions"]["Database"] == database]


def check_rows(outcome: Outcome, step: str, target: str) -> dict[str, dict[str, Any]]:
    """That run's rows of `cdc_check_results` for one table, by check (the run's rows: its start is the newest)."""
    rows = table(outcome, step, "cdc_check_results")["rows"]
    newest = max(row["run_started_at"] for row in rows)
    return {row["check_name"]: row for row in rows if row["run_started_at"] == newest and row["target_table"] == target}


CHECKS = ("unique_keys", "key_attributes", "freshness", "item_count")


def test_a_healthy_table_reports_nothing(outcome: Outcome) -> None:
    """Unique keys, every key attribute, fresh enough, the source's exact item count: every check passes."""
    for source in (ORDERS, SESSIONS):
        target = TARGETS[source]
        assert summary(outcome, HEALTHY_STEP, source)["checks"] == dict.fromkeys(CHECKS, "passed"), source
        assert {name: row["outcome"] for name, row in check_rows(outcome, HEALTHY_STEP, target).items()} == \
            dict.fromkeys(CHECKS, "passed")
        for metric in ("QualityChecksFailed", "DuplicateKeys", "RowsWithoutKeys", "ItemCountDifference"):
            assert published(outcome, HEALTHY_STEP, metric, target) == [0], (source, metric)
        assert published(outcome, HEALTHY_STEP, "LiveRows", target) == [len(outcome.expected[HEALTHY_STEP][source]
                                                                             .live())]
    # Before any source count was given, the count check is skipped and says so; nothing fails.
    assert summary(outcome, "run1", ORDERS)["checks"]["item_count"] == "skipped"
    assert "no source item count" in check_rows(outcome, "run1", "orders")["item_count"]["detail"]
    assert all(result != "failed" for step in ("run1", "run2", "run5-cadence")
               for source in (ORDERS, SESSIONS) for result in summary(outcome, step, source)["checks"].values())


def test_each_planted_fault_is_reported(outcome: Outcome) -> None:
    """The earlier version's table with a copied row (one key twice), a row without its key, a source count 500 off,
    and changes of 2023: each check fails, in the summary, the check results table and the metrics. The table
    rebuilt beside it in the same run reports nothing."""
    legacy = check_rows(outcome, FAULTS_STEP, LEGACY_TARGET)
    assert {name: row["outcome"] for name, row in legacy.items()} == dict.fromkeys(CHECKS, "failed")
    assert legacy["unique_keys"]["observed"] == 1 and legacy["key_attributes"]["observed"] == 1
    rows = len(LEGACY_ITEMS) + 2  # the copied row and the row without a key are live rows
    assert legacy["item_count"]["observed"] == COUNT_DRIFT - 2
    assert legacy["item_count"]["threshold"] < COUNT_DRIFT - 2 and f"{rows} live rows" in legacy["item_count"]["detail"]
    assert legacy["freshness"]["observed"] > FRESH_HOURS * 3600 == legacy["freshness"]["threshold"]
    assert summary(outcome, FAULTS_STEP, "Legacy")["checks"] == dict.fromkeys(CHECKS, "failed")
    assert {name: row["outcome"] for name, row in check_rows(outcome, FAULTS_STEP, "orders_explicit").items()} == \
        dict.fromkeys(CHECKS, "passed")

    def metric(name: str, target: str) -> list[float]:
        return published(outcome, FAULTS_STEP, name, target, EXPLICIT_DATABASE)

    assert metric("QualityChecksFailed", LEGACY_TARGET) == [3] and metric("QualityChecksFailed", "orders_explicit") == [0]
    assert metric("DuplicateKeys", LEGACY_TARGET) == [1] and metric("RowsWithoutKeys", LEGACY_TARGET) == [1]
    assert metric("ItemCountDifference", LEGACY_TARGET) == [COUNT_DRIFT - 2]
    assert metric("LiveRows", LEGACY_TARGET) == [rows]
    newest = max(int(row["cdc_event_time_us"]) for row in table(outcome, FAULTS_STEP, LEGACY_TARGET)["rows"])
    age, = metric("NewestChangeAgeSeconds", LEGACY_TARGET)
    assert abs(age - (utc_microseconds(outcome.scenario.now) - newest) / 1e6) < 600  # measured at the run's start
    # A declared table whose changes never arrived is as old as the job's first run for it: stale, and published.
    quiet = check_rows(outcome, FAULTS_STEP, QUIET_TARGET)["freshness"]
    assert quiet["outcome"] == "failed" and "no change merged yet" in quiet["detail"]
    age, = metric("NewestChangeAgeSeconds", QUIET_TARGET)
    assert abs(age - QUIET_DAYS * 86400) < 600 and abs(quiet["observed"] - age) < 600


def test_every_run_publishes_its_outcome_and_only_a_clean_run_a_success(outcome: Outcome) -> None:
    for step in SUCCESSFUL_STEPS:
        assert published(outcome, step, "SuccessfulRuns") == [1] and published(outcome, step, "FailedTables") == [0]
    assert published(outcome, "run3-fails", "SuccessfulRuns") == []
    assert published(outcome, "run3-fails", "FailedTables") == [2]
    # A failed table's age is still published, from what it held before (its stale alarm sees a table stuck failing).
    newest = int(table(outcome, "run2", "orders")["properties"]["cdc.newest-change-us"])
    age, = published(outcome, "run3-fails", "NewestChangeAgeSeconds", "orders")
    assert abs(age - (utc_microseconds(outcome.scenario.now) - newest) / 1e6) < 600
    assert published(outcome, "run3-fails", "LiveRows", "orders") == []  # nothing measured that needs a query
    assert published(outcome, "run1", "ChangesMerged", "orders") == [summary(outcome, "run1", ORDERS)["changes_merged"]]
    assert {line["namespace"] for lines in outcome.metrics.values() for line in lines} == {"Lakehouse"}


def test_what_a_run_could_not_merge_as_it_was_is_published(outcome: Outcome) -> None:
    """Malformed lines, a replaced table's changes, type conflicts and an archive: each merged table's run publishes
    what its summary says, and the scenario has each of them at least once."""
    seen = dict.fromkeys(("MalformedRecords", "ReplacedTableRecords", "TypeConflicts", "GenerationsArchived"), 0)
    for step in outcome.scenario.steps:
        if step.database != DATABASE:
            continue
        for entry in outcome.results[step.name]["summaries"]:
            if entry["error"]:
                continue
            expected = {"MalformedRecords": entry["malformed_records"],
                        "ReplacedTableRecords": entry["replaced_table_records"],
                        "TypeConflicts": sum(entry["type_conflicts"].values()),
                        "GenerationsArchived": 1 if entry["archived_as"] else 0}
            for name, value in expected.items():
                assert published(outcome, step.name, name, entry["target"]) == [value], (step.name, entry["target"])
                seen[name] += value
    assert all(seen.values()), seen
    assert published(outcome, "run2", "MalformedRecords", "orders") == [1]
    assert published(outcome, "run3-retry", "GenerationsArchived", TARGETS[SESSIONS]) == [1]


def test_files_and_snapshots_are_published_after_maintenance(outcome: Outcome) -> None:
    for step in ("run5-cadence", HEALTHY_STEP, "run2"):
        dumped_table = table(outcome, step, "orders")
        assert published(outcome, step, "DataFiles", "orders") == [dumped_table["data_files"]], step
        assert published(outcome, step, "DeleteFiles", "orders") == [dumped_table["delete_files"]], step
        assert published(outcome, step, "Snapshots", "orders") == [dumped_table["snapshots"]], step
    assert published(outcome, HEALTHY_STEP, "Snapshots", "orders") == [1]


def delivered_changes(outcome: Outcome, source: str, through: str) -> list[Change]:
    changes = []
    for step in outcome.scenario.steps:
        if step.database == DATABASE:
            changes += [change for file in step.files for change in file.changes if change.table == source]
        if step.name == through:
            return changes
    raise AssertionError(through)


def test_history_switched_on_is_backfilled_and_holds_every_change_once(outcome: Outcome) -> None:
    for step in ("run4-replay", "run5-cadence", HEALTHY_STEP):
        history = table(outcome, step, "orders__history")
        ids = [row["cdc_event_id"] for row in history["rows"]]
        assert len(ids) == len(set(ids)), step  # replayed files' changes once
        assert set(ids) == {change.event_id for change in delivered_changes(outcome, ORDERS, step)}, step
        assert history["partition"] == ["day(cdc_event_time)"]
    first = summary(outcome, "run4-replay", ORDERS)
    assert first["history_added"] == len(table(outcome, "run4-replay", "orders__history")["rows"])
    assert summary(outcome, HEALTHY_STEP, ORDERS)["history_added"] == 0  # only the overlap's replays: nothing new
    # The replaced sessions table: the history of the current table only (keys session_id and Position).
    sessions = table(outcome, HEALTHY_STEP, TARGETS[SESSIONS] + "__history")
    assert {row["cdc_event_id"] for row in sessions["rows"]} == {
        change.event_id for change in delivered_changes(outcome, SESSIONS, HEALTHY_STEP) if REPLACED_SORT_KEY in change.keys}
    assert json.loads(sessions["properties"]["cdc.keys"]) == [{"name": REPLACED_SORT_KEY, "type": "N"},
                                                              {"name": "session_id", "type": "S"}]


def test_a_run_that_dies_in_the_history_leaves_what_is_unfinished_in_its_properties(outcome: Outcome) -> None:
    """Its retry finishes it and removes them: left behind, every run would read the whole raw folder again or
    refill every row."""
    def properties(step: str) -> dict[str, str]:
        return table(outcome, step, "orders__history")["properties"]

    assert properties("run4-fails")["cdc.seeding"] == "true" and "cdc.backfill" not in properties("run4-fails")
    assert properties("run5-fails")["cdc.backfill"] == json.dumps([LOCK_OWNER])
    for step in ("run4-replay", "run5-cadence", HEALTHY_STEP):
        assert not {"cdc.seeding", "cdc.backfill"} & set(properties(step)), step


def test_history_rows_have_the_live_tables_typed_columns(outcome: Outcome) -> None:
    live = table(outcome, HEALTHY_STEP, "orders")
    history = table(outcome, HEALTHY_STEP, "orders__history")
    typed = [column for column in live["columns"] if column["doc"] is not None]
    assert typed and all(column in history["columns"] for column in typed)
    types = {column.name: column.type for column in outcome.expected[HEALTHY_STEP][ORDERS].columns.columns.values()}
    events = {row["cdc_event_id"]: row for row in history["rows"]}

    def values(row: dict[str, Any]) -> dict[str, Any]:  # as the model reads them (JSON text compared parsed)
        return {column["name"]: dumped(types[column["name"]], row[column["name"]]) for column in typed}

    for row in live["rows"]:
        assert values(events[row["cdc_event_id"]]) == values(row)
        assert json.loads(events[row["cdc_event_id"]]["item"], parse_float=Decimal) == \
            json.loads(row["item"], parse_float=Decimal)
    removes = [row for row in history["rows"] if row["cdc_event_name"] == "REMOVE"]
    assert removes and all(row["item"] is None for row in removes)


def test_history_rows_hold_each_typed_value_of_their_item_even_of_versions_never_live(outcome: Outcome) -> None:
    """A typed column is null only where the item has no value for it or the value is a listed conflict: also for a
    version set and cleared within a run (its attribute got a column only in a later run)."""
    history = table(outcome, HEALTHY_STEP, "orders__history")
    typed = {column["name"]: column["doc"] for column in history["columns"] if column["doc"] is not None}
    for row in history["rows"]:
        item = json.loads(row["item"]) if row["item"] is not None else {}
        missing = [name for name, attribute in typed.items() if item.get(attribute) is not None
                   and row[name] is None and attribute not in (row["cdc_type_conflicts"] or [])]
        assert missing == [], row["cdc_event_id"]
    locked = {row["cdc_event_id"]: row[LOCK_OWNER] for row in history["rows"] if row[LOCK_OWNER] is not None}
    assert sorted(locked.values()) == ["worker-1", "worker-2"]
    assert LOCK_OWNER in {column["name"] for column in table(outcome, "run5-cadence", "orders")["columns"]}
    assert LOCK_OWNER not in {column["name"] for column in table(outcome, "run4-replay", "orders")["columns"]}


def test_the_docs_as_of_query_gives_each_item_as_it_was_then(outcome: Outcome) -> None:
    """Each key's newest change at or before T, unless it was a delete: from every change delivered, however late
    (unlike the live table, whose tombstones are purged after the lateness window)."""
    answer = outcome.queries[-1]
    assert answer["error"] is None, answer
    newest: dict[tuple, Change] = {}
    for change in delivered_changes(outcome, ORDERS, HEALTHY_STEP):
        position = (change.time_us, EVENT_RANK[change.event_name], change.event_id)
        known = newest.get(change.key)
        if change.time_us <= outcome.as_of_us and (known is None or position > (
                known.time_us, EVENT_RANK[known.event_name], known.event_id)):
            newest[change.key] = change
    expected = {change.event_id for change in newest.values() if change.event_name != "REMOVE"}
    assert {row["cdc_event_id"] for row in answer["rows"]} == expected
    assert len(answer["rows"]) == len(expected) and any(change.event_name == "REMOVE" for change in newest.values())
