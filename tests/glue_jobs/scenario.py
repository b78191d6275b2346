"""The scenario the spark tests drive through the job in one Spark session: batches with out-of-order, duplicate,
late and replayed deliveries across runs, failed runs, maintenance, a DynamoDB table replaced by one with other keys,
items whose attributes evolve (a new attribute, a number that gains decimals, type conflicts, names that collide),
and a full rebuild with declared columns and a cap on typed columns.

Pure standard library (the test process builds the plan; scenario_runner.py executes it in the spark venv).
"""
from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cdc_settings import HISTORY_SUFFIX
from tests.glue_jobs.cdc_records import Change, FirehoseFile, ItemFactory, firehose_path, utc_microseconds

ORDERS, SESSIONS = "Orders", "app.Sessions-v2"  # the second name exercises the sanitizing rule
TARGETS = {ORDERS: "orders", SESSIONS: "app_sessions_v2"}
KEY_TYPES = {ORDERS: {"pk": "S", "sk": "N"}, SESSIONS: {"session_id": "B"}}
# In run 3 the sessions table is replaced by one with other keys (the same name, a key of another type); its sort key
# is named as a column the job uses while merging once was (Spark matches names regardless of case).
REPLACED_SORT_KEY = "Position"
REPLACED_KEY_TYPES = {"session_id": "S", REPLACED_SORT_KEY: "N"}
# The rebuild declares columns and caps them (the other runs infer every column).
DECLARED_COLUMNS = {"version": "decimal", "mixed": "json", "status": "string"}
REBUILD_MAX_COLUMNS = 10
# A table an earlier version of the job left (keys, item and the cdc_ event columns, no typed columns, its watermark
# in a state table): the rebuild's run gives it typed columns, read from the items it holds (their types as the JSON
# suggests), and takes over its watermark.
LEGACY, LEGACY_TARGET, LEGACY_WATERMARK_US = "Legacy", "legacy", 1_700_000_500_000_000
# A table the rebuild declares whose changes never arrived: the job first ran for it QUIET_DAYS before.
QUIET, QUIET_TARGET, QUIET_DAYS = "Quiet", "quiet", 30
LEGACY_ITEMS = {"a": {"id": "a", "count": 3, "price": 2.5, "tags": ["x", "y"], "meta": {"k": 1}, "flag": True,
                      "blob": "AAEC"},
                "b": {"id": "b", "count": 4, "note": None, "Flag": False}}
OVERLAP_MINUTES = 10
LATENESS_WINDOW_DAYS = 7
EVERY_RUNS = 5
# The scenario's changes are about two days old, fresh for this limit; the table of an earlier version of the job
# holds changes of 2023, stale for it.
FRESH_HOURS = 240
# Every check passes in the healthy run; in the rebuild, the earlier version's table has a fault for each check
# planted (and the rebuilt table, beside it, none).
HEALTHY_STEP, FAULTS_STEP = "run6-maintenance", "rebuild-explicit"
COUNT_DRIFT = 500  # what the rebuild's source item count of Legacy adds to its true count
HISTORY_ON = ("--history", "true")  # switched on from run 4: backfilled from the raw folder
LOCK_OWNER = "lock_owner"  # an attribute set and cleared within run 1 (never live), live from run 5
DATABASE, EXPLICIT_DATABASE = "lakehouse", "explicit"
SECOND = 1_000_000


@dataclass
class Step:
    name: str
    files: list[FirehoseFile]
    extra_args: list[str] = field(default_factory=list)
    fail_after: str | None = None
    fail_on: str = ""  # the failure only where the method's first argument (a table's name) ends with this
    database: str = DATABASE
    setup_sql: list[str] = field(default_factory=list)


@dataclass
class ChangeMaker:
    rng: random.Random
    factory: ItemFactory
    sequence: int = 0
    versions: dict[tuple, int] = field(default_factory=dict)

    def event_id(self) -> str:
        self.sequence += 1
        return "%032x" % self.rng.getrandbits(128)

    def _image(self, table: str, keys: dict[str, Any]) -> dict[str, Any]:
        identity = (table, json.dumps(keys, sort_keys=True))
        self.versions[identity] = self.versions.get(identity, 0) + 1
        return self.factory.image(keys, self.versions[identity])

    def insert(self, table: str, keys: dict[str, Any], time_us: int, event_id: str | None = None) -> Change:
        return Change(table, keys, "INSERT", time_us, event_id or self.event_id(), self._image(table, keys))

    def modify(self, table: str, keys: dict[str, Any], time_us: int, event_id: str | None = None) -> Change:
        image = self._image(table, keys)
        return Change(table, keys, "MODIFY", time_us, event_id or self.event_id(), image, dict(image))

    def remove(self, table: str, keys: dict[str, Any], time_us: int, ttl: bool = False,
               event_id: str | None = None) -> Change:
        return Change(table, keys, "REMOVE", time_us, event_id or self.event_id(), None, self._image(table, keys),
                      ttl_delete=ttl)


def order_key(number: int | str, sort: str | None = None) -> dict[str, Any]:
    return {"pk": {"S": f"customer#{number}"}, "sk": {"N": sort if sort is not None else str(int(number) * 10)}}


def session_key(number: int) -> dict[str, Any]:
    import base64
    return {"session_id": {"B": base64.b64encode(bytes([number, 0, 255, number * 7 % 256])).decode()}}


def replaced_session_key(number: int, seq: int = 1) -> dict[str, Any]:
    return {"session_id": {"S": f"session-{number}"}, REPLACED_SORT_KEY: {"N": str(seq)}}


@dataclass
class Scenario:
    """The steps and, for the oracle, which changes each successful run saw."""
    steps: list[Step]
    now: datetime

    def plan(self, raw: Path, warehouse: Path) -> dict[str, Any]:
        steps = []
        for step in self.steps:
            args = ["--raw-path", str(raw), "--warehouse", str(warehouse), "--database", step.database,
                    "--overlap-minutes", str(OVERLAP_MINUTES), "--lateness-window-days", str(LATENESS_WINDOW_DAYS),
                    "--maintenance-every-runs", str(EVERY_RUNS), "--JOB_NAME", "ignored-glue-argument",
                    "--max-change-age-hours", str(FRESH_HOURS),
                    "--metrics", f"file:{metrics_file(warehouse.parent, step.name)}"]
            files = [{"path": file.relative_path, "text": file.text(), "mtime": file.modified_at}
                     for file in step.files]
            steps.append({"name": step.name, "files": files, "args": args + step.extra_args,
                          "fail_after": step.fail_after, "fail_on": step.fail_on, "setup_sql": step.setup_sql})
        return {"raw": str(raw), "warehouse": str(warehouse), "steps": steps}


def build_scenario(seed: int = 7) -> Scenario:
    rng = random.Random(seed)
    make = ChangeMaker(rng, ItemFactory(rng))
    now = datetime.now(timezone.utc).replace(microsecond=0)
    base = utc_microseconds(now - timedelta(days=2))
    delivered = now - timedelta(hours=30)  # the first file's arrival; later ones follow

    def t(seconds: float) -> int:
        return base + int(seconds * SECOND)

    def file(table: str, changes: list[Change], hours_after_first: float) -> FirehoseFile:
        arrival = delivered + timedelta(hours=hours_after_first)
        return FirehoseFile(firehose_path(table, arrival, 1, rng), changes, arrival.timestamp())

    old_key = order_key("old", "1")
    # Run 1: inserts; out-of-order modifies inside the batch; a duplicate; delete then re-insert; equal-time ties.
    inserts = [make.insert(ORDERS, order_key(i, "12345678901234567890" if i == 0 else None), t(i)) for i in range(12)]
    sibling = make.insert(ORDERS, order_key(1, "11"), t(12))  # same partition key, another sort key
    k1_v2, k1_v3 = make.modify(ORDERS, order_key(1), t(100)), make.modify(ORDERS, order_key(1), t(200))
    k1_v2.new_image[LOCK_OWNER] = {"S": "worker-1"}  # only in the history, which gets its column in run 5
    k2_dup = make.modify(ORDERS, order_key(2), t(150))
    k5 = [make.remove(ORDERS, order_key(5), t(300)), make.insert(ORDERS, order_key(5), t(400))]
    # Same microsecond: REMOVE outranks MODIFY although the MODIFY's eventID sorts higher.
    k6 = [make.modify(ORDERS, order_key(6), t(500), "e" * 32), make.remove(ORDERS, order_key(6), t(500), False, "1" * 32)]
    k7 = [make.modify(ORDERS, order_key(7), t(600), "a" * 32), make.modify(ORDERS, order_key(7), t(600), "f" * 32)]
    old = [make.insert(ORDERS, old_key, utc_microseconds(now - timedelta(days=31))),
           make.remove(ORDERS, old_key, utc_microseconds(now - timedelta(days=30)))]
    sessions = [make.insert(SESSIONS, session_key(i), t(i)) for i in range(6)]
    sessions += [make.modify(SESSIONS, session_key(1), t(50)), make.modify(SESSIONS, session_key(2), t(60))]
    run1 = [file(ORDERS, inserts[:6] + [k1_v3, k2_dup, k6[1], k7[1]], 0),
            file(ORDERS, inserts[6:] + [sibling, k2_dup] + k5[::-1], 1),
            file(ORDERS, old, 1.5),
            file(ORDERS, [k1_v2, k6[0], k7[0]], 2),
            file(SESSIONS, sessions, 2)]

    # Run 2 (malformed line included): a late older modify, a newer one, deletes (one by TTL), a redelivered duplicate.
    # From here on prices have decimals (the bigint column widens) and items have a `priority` (a column is added).
    make.factory.fractional_prices = make.factory.priority = True
    run2_orders = [make.modify(ORDERS, order_key(1), t(150)), make.modify(ORDERS, order_key(2), t(1000)),
                   make.remove(ORDERS, order_key(3), t(1100)), make.remove(ORDERS, order_key(4), t(1200), ttl=True),
                   make.remove(ORDERS, order_key(8), t(1250))]
    broken = file(ORDERS, [k2_dup], 5)
    run2 = [file(ORDERS, run2_orders, 4), broken,
            file(SESSIONS, [make.remove(SESSIONS, session_key(3), t(700))], 4.5)]

    # Run 3 (fails once, then retried): late older changes after deletes, a re-insert after a delete, a change
    # whose tombstone fell out of the lateness window, and a file that shows up inside the overlap window. The
    # sessions table was replaced: the new one's keys are (session_id S, Position N), its changes come after the old's.
    replaced = [make.insert(SESSIONS, replaced_session_key(i), t(5000 + i)) for i in range(4)]
    replaced += [make.insert(SESSIONS, replaced_session_key(1, 2), t(5010)),
                 make.modify(SESSIONS, replaced_session_key(2), t(5020)),
                 make.remove(SESSIONS, replaced_session_key(3), t(5030))]
    run3 = [file(ORDERS, [make.modify(ORDERS, order_key(3), t(1050)), make.modify(ORDERS, order_key(4), t(1150)),
                          make.insert(ORDERS, order_key(8), t(1400))], 7),
            file(ORDERS, [make.modify(ORDERS, old_key, utc_microseconds(now - timedelta(days=30, hours=12)))], 7.5),
            file(SESSIONS, [make.modify(SESSIONS, session_key(4), t(900)),
                            make.insert(SESSIONS, session_key(3), t(650))], 7),
            file(SESSIONS, replaced, 7.2)]
    overlap_file = file(ORDERS, [make.modify(ORDERS, order_key(9), t(1500))], 5 - 5 / 60)
    run3.append(overlap_file)

    # Run 4: the files of runs 1 and 2 replayed under new names (Firehose retries, a re-drive). Not the one of the
    # item whose tombstone was purged: its REMOVE would rightly delete the resurrected item again. The sessions
    # replayed are the replaced table's: not merged any more.
    replays = [FirehoseFile(firehose_path(original.relative_path.split("/")[0], delivered + timedelta(hours=9), 2,
                                          rng), original.changes, (delivered + timedelta(hours=9)).timestamp())
               for original in run1[:2] + run1[3:] + run2[:1] + run2[2:]]
    # Run 5: a change of the replaced sessions table delivered late (after the new table's first changes).
    k11_locked = make.modify(ORDERS, order_key(11), t(2000))
    k11_locked.new_image[LOCK_OWNER] = {"S": "worker-2"}
    run5 = [file(ORDERS, [k11_locked], 11),
            file(SESSIONS, [make.modify(SESSIONS, session_key(5), t(950)),
                            make.modify(SESSIONS, replaced_session_key(0), t(5100))], 11)]
    rebuild_tables = [{"source": ORDERS, "target": "orders_explicit", "keys": [
        {"name": "pk", "type": "S"}, {"name": "sk", "type": "N"}], "columns": DECLARED_COLUMNS,
        "max_columns": REBUILD_MAX_COLUMNS}, {"source": LEGACY, "keys": [{"name": "id", "type": "S"}]},
        {"source": QUIET, "keys": [{"name": "id", "type": "S"}]}]
    steps = [
        Step("run1", run1), Step("run2", run2),
        Step("run3-fails", run3, fail_after="merge_into_live"), Step("run3-retry", []),
        # Runs 4 and 5 die once in the history, after its merges committed: as it is created (the retry must still
        # start it from the whole raw folder), and between adding a column and refilling the rows that need it.
        Step("run4-fails", replays, list(HISTORY_ON), fail_after="create_history", fail_on=HISTORY_SUFFIX),
        Step("run4-replay", [], list(HISTORY_ON)),
        Step("run5-fails", run5, list(HISTORY_ON), fail_after="match_schema", fail_on=HISTORY_SUFFIX),
        Step("run5-cadence", [], list(HISTORY_ON)),
        Step(HEALTHY_STEP, [], ["--maintenance", "true", "--snapshot-retention-hours", "0", *HISTORY_ON]),
        Step(FAULTS_STEP, [], ["--tables", json.dumps(rebuild_tables)], database=EXPLICIT_DATABASE,
             setup_sql=legacy_table() + planted_faults() + quiet_table_first_run(now)),
    ]
    return Scenario(steps, now)


def metrics_file(folder: Path, step: str) -> Path:
    return folder / "metrics" / f"{step}.jsonl"


PLANTED_KEY = "a"  # of the earlier version's table: its row is copied, two live rows with one key


def planted_faults() -> list[str]:
    """In the earlier version's table, before the rebuild: a row copied (two rows, one key) and a row without its
    key, as writes outside the job would leave them. Its changes are of 2023: stale too."""
    table = f"local.{EXPLICIT_DATABASE}.{LEGACY_TARGET}"
    return [f"INSERT INTO {table} SELECT * FROM {table} WHERE id = '{PLANTED_KEY}'",
            f"INSERT INTO {table} VALUES (NULL, '{{}}', 'INSERT', 'planted', 1700000000000009, 'old-file', "
            "current_timestamp())"]


def quiet_table_first_run(now: datetime) -> list[str]:
    """The runs table as the job's first run for the quiet table left it, QUIET_DAYS ago."""
    from cdc_job import RUNS_COLUMNS

    runs = f"local.{EXPLICIT_DATABASE}.cdc_merge_runs"
    first = (now - timedelta(days=QUIET_DAYS)).strftime("%Y-%m-%d %H:%M:%S")
    known = {"run_started_at": f"TIMESTAMP '{first}'", "source_table": f"'{QUIET}'",
             "target_table": f"'{QUIET_TARGET}'", "outcome": "'merged'"}
    values = ", ".join(known.get(name, f"CAST(NULL AS {kind})") for name, kind in RUNS_COLUMNS)
    return [f"CREATE TABLE {runs} ({', '.join(f'{name} {kind}' for name, kind in RUNS_COLUMNS)}) USING iceberg "
            "TBLPROPERTIES ('format-version'='2')", f"INSERT INTO {runs} VALUES ({values})"]


def give_item_counts(scenario: Scenario, healthy: dict[str, int], rebuilt_orders: int) -> None:
    """The source tables' item counts: exact for the healthy run and for the rebuilt Orders; the earlier version's
    table's `COUNT_DRIFT` above its items."""
    for step in scenario.steps:
        if step.name == HEALTHY_STEP:
            step.extra_args += ["--item-counts", json.dumps(healthy)]
        if step.name == FAULTS_STEP:
            step.extra_args += ["--item-counts", json.dumps({ORDERS: rebuilt_orders,
                                                             LEGACY: len(LEGACY_ITEMS) + COUNT_DRIFT})]


def legacy_table() -> list[str]:
    table = f"local.{EXPLICIT_DATABASE}.{LEGACY_TARGET}"
    rows = ", ".join(f"('{key}', '{json.dumps(item, sort_keys=True, separators=(',', ':'))}', 'INSERT', "
                     f"'{index:032x}', {1_700_000_000_000_000 + index}, 'old-file', current_timestamp())"
                     for index, (key, item) in enumerate(sorted(LEGACY_ITEMS.items())))
    return [f"CREATE NAMESPACE IF NOT EXISTS local.{EXPLICIT_DATABASE}",
            f"CREATE TABLE {table} (id STRING, item STRING, cdc_event_name STRING, cdc_event_id STRING, "
            "cdc_event_time_us BIGINT, cdc_source_file STRING, cdc_merged_at TIMESTAMP) USING iceberg TBLPROPERTIES ("
            "'format-version'='2', 'write.delete.mode'='merge-on-read', 'write.update.mode'='merge-on-read', "
            f"'write.merge.mode'='merge-on-read', 'cdc.keys'='[{{\"name\": \"id\", \"type\": \"S\"}}]', "
            f"'cdc.source-table'='{LEGACY}')",
            f"CREATE TABLE {table}__deletes (id STRING, cdc_event_name STRING, cdc_event_id STRING, "
            "cdc_event_time_us BIGINT, cdc_source_file STRING, cdc_merged_at TIMESTAMP) USING iceberg",
            f"INSERT INTO {table} VALUES {rows}",
            f"CREATE TABLE local.{EXPLICIT_DATABASE}.cdc_merge_state (source_table STRING, target_table STRING, "
            "watermark_us BIGINT, runs BIGINT, last_maintenance_run BIGINT, updated_at TIMESTAMP) USING iceberg",
            f"INSERT INTO local.{EXPLICIT_DATABASE}.cdc_merge_state VALUES ('{LEGACY}', '{LEGACY_TARGET}', "
            f"{LEGACY_WATERMARK_US}, 3, 0, current_timestamp())"]


MALFORMED_LINE = '{"awsRegion": "us-east-1", "eventID": "trunc'


def write_plan(scenario: Scenario, folder: Path, queries: dict[str, Any] | None = None) -> Path:
    """The plan file; the run-2 duplicate file also carries a truncated line, as a broken delivery would. `queries`:
    SQL the runner runs after the last step (`{"database": ..., "sql": [...]}`)."""
    raw, warehouse = folder / "raw", folder / "warehouse"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    plan = scenario.plan(raw, warehouse)
    run2 = next(step for step in plan["steps"] if step["name"] == "run2")
    run2["files"][1]["text"] += MALFORMED_LINE + "\n\n"
    if queries:
        plan["queries"] = queries
    path = folder / "plan.json"
    path.write_text(json.dumps(plan))
    return path
