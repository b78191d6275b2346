"""The Spark side of the job: per source table, read the change records that arrived since the last run, merge them
into the table's Iceberg tables with typed columns, start a new generation when the DynamoDB table was replaced,
maintain the tables, and record the run. What it guarantees is documented in cdc_merge.py."""
from __future__ import annotations

import json
import time
import traceback
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import cdc_items
from cdc_checks import COUNT_LAG_HOURS, HOUR_US, QUALITY_CHECKS, CheckResult, ItemCounts, TableFacts, evaluate
from cdc_columns import (ColumnPlan, TypedColumn, column_comment, columns_from_json, columns_to_json, conflicts_sql,
                         plan_columns, quoted, sql_text, value_sql)
from cdc_identity import (Generation, KeyAttribute, KeyGroup, KeySchema, KeySchemaMix, MergeStep, archive_name,
                          keys_from_json, keys_to_json, plan_generations)
from cdc_metrics import Datum, metric_sink
from cdc_settings import (CHECKS_TABLE, HISTORY_SUFFIX, LEGACY_STATE_TABLE, RUNS_TABLE, TOMBSTONE_SUFFIX, JobArguments,
                          JobInputError, TableSpec, catalog_configuration, sanitized_table_name, validate_keys,
                          validate_table_specs)

if TYPE_CHECKING:  # pyspark is imported where it is used: the other modules' pure functions run without Spark
    from pyspark.sql import DataFrame, SparkSession

EVENT_RANK = {"INSERT": 1, "MODIFY": 2, "REMOVE": 3}
# DynamoDB writes ApproximateCreationDateTime in milliseconds unless the destination asks for MICROSECOND precision.
MICROSECONDS_THRESHOLD = 10**14
METADATA_COLUMNS = (("cdc_event_name", "STRING"), ("cdc_event_id", "STRING"), ("cdc_event_time_us", "BIGINT"),
                    ("cdc_source_file", "STRING"), ("cdc_merged_at", "TIMESTAMP"))
ITEM_COLUMNS = (("item", "STRING"), ("cdc_attribute_types", "MAP<STRING, STRING>"),
                ("cdc_type_conflicts", "ARRAY<STRING>"))
MERGE_ON_READ = ("'format-version'='2', 'write.delete.mode'='merge-on-read', 'write.update.mode'='merge-on-read', "
                 "'write.merge.mode'='merge-on-read'")
# Table properties naming a run's unfinished work: each is set before the step it guards and removed once that
# committed, so the next run completes what a run that died left.
BACKFILL = "cdc.backfill"  # typed columns to read again from `item`: of EVERY_ROW, or a JSON list of attributes' rows
EVERY_ROW = "pending"
SEEDING = "cdc.seeding"  # a history still to be started from the whole raw folder
MAX_UNTYPED_KEPT = 1000  # attribute names kept in `cdc.untyped-attributes`; beyond, every new column is backfilled
FACTS_TYPE = ("struct<item: string, types: map<string, string>, "
              "facts: map<string, struct<kind: string, text: string>>>")
STORED_FACTS_TYPE = "map<string, struct<kind: string, text: string>>"
RUNS_COLUMNS = (
    ("run_started_at", "TIMESTAMP"), ("source_table", "STRING"), ("target_table", "STRING"), ("outcome", "STRING"),
    ("error", "STRING"), ("generation", "BIGINT"), ("files_read", "BIGINT"), ("records_read", "BIGINT"),
    ("malformed_records", "BIGINT"), ("replaced_table_records", "BIGINT"), ("changes_merged", "BIGINT"),
    ("newest_change_us", "BIGINT"), ("columns_added", "ARRAY<STRING>"), ("columns_retyped", "ARRAY<STRING>"),
    ("type_conflicts", "MAP<STRING, BIGINT>"), ("untyped_attributes", "BIGINT"), ("archived_as", "STRING"),
    ("tombstones_purged", "BIGINT"), ("watermark_us", "BIGINT"), ("maintenance", "BOOLEAN"), ("seconds", "DOUBLE"),
)
CHECKS_COLUMNS = (
    ("run_started_at", "TIMESTAMP"), ("source_table", "STRING"), ("target_table", "STRING"), ("check_name", "STRING"),
    ("outcome", "STRING"), ("observed", "DOUBLE"), ("threshold", "DOUBLE"), ("detail", "STRING"),
)
HISTORY_EVENT_COLUMNS = (("cdc_event_name", "STRING"), ("cdc_event_id", "STRING"), ("cdc_event_time_us", "BIGINT"),
                         ("cdc_event_time", "TIMESTAMP"), ("cdc_source_file", "STRING"),
                         ("cdc_merged_at", "TIMESTAMP"))


class TableFailed(Exception):
    """A table's input the job refuses: the table is not merged this run, the others are."""


class RunFailed(Exception):
    """Raised after the run when tables failed: the Glue run ends FAILED (and notifies); the summaries say which."""

    def __init__(self, summaries: list["TableRunSummary"]) -> None:
        self.summaries = summaries
        failed = [summary for summary in summaries if summary.error]
        super().__init__("; ".join(f"table {summary.source}: {summary.error}" for summary in failed))


@dataclass
class TableRunSummary:
    source: str
    target: str
    generation: int | None = None
    files_read: int = 0
    records_read: int = 0
    malformed_records: int = 0
    replaced_table_records: int = 0  # changes of a DynamoDB table this one replaced: never merged
    changes_merged: int = 0
    newest_change_us: int | None = None
    columns_added: list[str] = field(default_factory=list)
    columns_retyped: list[str] = field(default_factory=list)
    type_conflicts: dict[str, int] = field(default_factory=dict)  # attribute -> values its column cannot hold
    untyped_attributes: int = 0
    archived_as: str | None = None
    tombstones_purged: int = 0
    watermark_us: int | None = None
    maintenance: bool = False
    history_added: int = 0  # changes appended to `<target>__history`
    newest_stored_change_us: int | None = None  # the newest change the table reflects, this run's or earlier
    checks: dict[str, str] = field(default_factory=dict)  # check -> passed, failed, skipped
    seconds: float = 0.0
    error: str | None = None

    def intake_data(self) -> list[Datum]:
        """What the run read and could not merge as it was (malformed lines, changes of a DynamoDB table this one
        replaced, values their typed column cannot hold) and whether it archived the table: besides
        `cdc_merge_runs`, as metrics a team can alarm on."""
        return [Datum("MalformedRecords", self.malformed_records),
                Datum("ReplacedTableRecords", self.replaced_table_records),
                Datum("TypeConflicts", sum(self.type_conflicts.values())),
                Datum("GenerationsArchived", 1 if self.archived_as else 0)]


@dataclass
class TableState:
    watermark_us: int | None = None
    runs: int = 0
    last_maintenance_run: int = 0


@dataclass
class StoredTable:
    """A live table as the catalog holds it now: its columns (name -> Spark SQL type) and its properties."""
    name: str
    columns: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return bool(self.columns)

    @property
    def keys(self) -> KeySchema:
        return keys_from_json(self.properties.get("cdc.keys"))

    def generation(self, newest_us: int | None) -> Generation | None:
        if not self.keys:
            return None
        started = self.properties.get("cdc.generation-started-us")
        return Generation(self.keys, int(self.properties.get("cdc.generation", "1")),
                          int(started) if started else None, newest_us)

    @property
    def typed_columns(self) -> tuple[TypedColumn, ...]:
        return columns_from_json(self.properties.get("cdc.columns"))

    @property
    def untyped(self) -> tuple[str, ...]:
        return tuple(json.loads(self.properties.get("cdc.untyped-attributes", "[]")))

    @property
    def legacy(self) -> bool:
        """Stored by a version of the job without typed columns: its rows' attributes are not known."""
        return self.exists and "cdc.columns" not in self.properties

    @property
    def rows_untyped(self) -> bool:
        """Rows may hold attributes no column shows: stored before typed columns, or more untyped ones than kept."""
        return self.legacy or len(self.untyped) >= MAX_UNTYPED_KEPT

    def state(self) -> TableState | None:
        if "cdc.watermark-us" not in self.properties:
            return None
        watermark = self.properties["cdc.watermark-us"]
        return TableState(int(watermark) if watermark else None, int(self.properties.get("cdc.runs", "0")),
                          int(self.properties.get("cdc.last-maintenance-run", "0")))


@dataclass
class ChangeStats:
    files: int = 0
    records: int = 0
    malformed: int = 0
    newest_file_us: int | None = None
    older_than_generation: int = 0
    groups: list[KeyGroup] = field(default_factory=list)
    schema_texts: dict[KeySchema, str] = field(default_factory=dict)  # as Spark wrote them, to filter by
    other_tables: list[tuple[str, str]] = field(default_factory=list)  # (table name, a file)


@dataclass
class CdcMergeJob:
    spark: "SparkSession"
    arguments: JobArguments
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def namespace(self) -> str:
        return f"{quoted(self.arguments.catalog_name)}.{quoted(self.arguments.database)}"

    def table(self, name: str) -> str:
        return f"{self.namespace}.{quoted(name)}"

    @property
    def now_us(self) -> int:
        return int(self.now.timestamp() * 1_000_000)

    # ------------------------------------------------------------ catalog

    def ensure_namespace(self) -> None:
        self.spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {self.namespace}")

    def discover_sources(self) -> tuple[TableSpec, ...]:
        """One table per `<source>/cdc_data` folder below the raw path."""
        jvm = self.spark.sparkContext._jvm
        root = jvm.org.apache.hadoop.fs.Path(self.arguments.raw_path)
        filesystem = root.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration())
        sources = []
        if filesystem.exists(root):
            for status in filesystem.listStatus(root):
                if status.isDirectory() and filesystem.exists(jvm.org.apache.hadoop.fs.Path(status.getPath(),
                                                                                          "cdc_data")):
                    source = status.getPath().getName()
                    sources.append(TableSpec(source, sanitized_table_name(source),
                                             max_columns=self.arguments.max_columns, checks=self.arguments.checks,
                                             history=self.arguments.history))
        if not sources:
            raise JobInputError(f"--raw-path {self.arguments.raw_path} holds no <table>/cdc_data/ folder: give the "
                                "folder that holds one per table (the raw bucket's dynamodb_data/), or --tables")
        specs = tuple(sorted(sources, key=lambda spec: spec.source))
        validate_table_specs(specs)
        return specs

    def load(self, name: str) -> StoredTable:
        """The table's properties read from its catalog, not with `SHOW TBLPROPERTIES`: Spark redacts there every
        property whose key or value matches its redaction patterns (`url`, `token`, `secret`, `password`...), as the
        attribute names in `cdc.columns` and `cdc.keys` often do (`imageUrl`, `sessionToken`)."""
        from pyspark.sql.utils import AnalysisException

        jvm = self.spark.sparkContext._jvm
        catalog = self.spark._jsparkSession.sessionState().catalogManager().catalog(self.arguments.catalog_name)
        namespace = self.spark.sparkContext._gateway.new_array(jvm.java.lang.String, 1)
        namespace[0] = self.arguments.database
        identifier = jvm.org.apache.spark.sql.connector.catalog.Identifier.of(namespace, name)
        try:
            loaded = catalog.loadTable(identifier)
        except AnalysisException:  # PySpark's form of the catalog's NoSuchTableException
            return StoredTable(name)
        properties = {str(key): str(value) for key, value in loaded.properties().items()}
        schema = self.spark.table(self.table(name)).schema
        return StoredTable(name, {column.name: column.dataType.simpleString() for column in schema.fields},
                           properties)

    def set_properties(self, name: str, properties: dict[str, str | None]) -> None:
        values = {key: value for key, value in properties.items() if value is not None}
        if values:
            pairs = ", ".join(f"{sql_text(key)}={sql_text(value)}" for key, value in values.items())
            self.spark.sql(f"ALTER TABLE {self.table(name)} SET TBLPROPERTIES ({pairs})")
        removed = [key for key, value in properties.items() if value is None]
        if removed:
            self.spark.sql(f"ALTER TABLE {self.table(name)} UNSET TBLPROPERTIES IF EXISTS "
                           f"({', '.join(sql_text(key) for key in removed)})")

    def legacy_state(self, source: str) -> TableState:
        """The watermark an earlier version of the job kept in its state table, if any."""
        tables = {row["tableName"] for row in self.spark.sql(f"SHOW TABLES IN {self.namespace}").collect()}
        if LEGACY_STATE_TABLE not in tables:
            return TableState()
        rows = self.spark.sql(f"SELECT watermark_us, runs, last_maintenance_run FROM {self.table(LEGACY_STATE_TABLE)}"
                              f" WHERE source_table = {sql_text(source)}").collect()
        return TableState(rows[0]["watermark_us"], rows[0]["runs"] or 0, rows[0]["last_maintenance_run"] or 0) \
            if rows else TableState()

    def newest_stored_change(self, target: str) -> int | None:
        rows = self.spark.sql(f"SELECT max(t) AS t FROM (SELECT max(cdc_event_time_us) AS t FROM {self.table(target)}"
                              f" UNION ALL SELECT max(cdc_event_time_us) FROM {self.table(target + TOMBSTONE_SUFFIX)})"
                              ).collect()
        return rows[0]["t"]

    # ------------------------------------------------------------ reading

    def read_new_files(self, spec: TableSpec, state: TableState) -> "DataFrame | None":
        """Lines of the files modified after the watermark minus the overlap, with their file and its time."""
        from pyspark.sql import functions as F

        folder = f"{self.arguments.raw_path}/{spec.source}/cdc_data"
        jvm = self.spark.sparkContext._jvm
        path = jvm.org.apache.hadoop.fs.Path(folder)
        if not path.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration()).exists(path):
            return None
        reader = self.spark.read.option("recursiveFileLookup", "true")
        threshold_us = None
        if state.watermark_us is not None:
            threshold_us = state.watermark_us - self.arguments.overlap_minutes * 60 * 1_000_000
            # modifiedAfter has second precision and is exclusive: one second earlier, the exact filter follows.
            since = datetime.fromtimestamp(threshold_us // 1_000_000 - 1, timezone.utc)
            reader = reader.option("modifiedAfter", since.strftime("%Y-%m-%dT%H:%M:%S"))
        lines = reader.text(folder).select(
            "value", F.col("_metadata.file_path").alias("source_file"),
            F.unix_micros(F.col("_metadata.file_modification_time")).alias("cdc_file_time_us"))
        if threshold_us is not None:
            lines = lines.where(F.col("cdc_file_time_us") > F.lit(threshold_us))
        return lines

    def parse_changes(self, lines: "DataFrame") -> "DataFrame":
        """One row per non-empty line: the change's fields, its key schema (as sorted JSON) and whether it is valid."""
        from pyspark.sql import functions as F

        record = F.from_json("value", record_schema(), {"mode": "PERMISSIVE"})
        created = F.col("r.dynamodb.ApproximateCreationDateTime")
        keys = F.from_json(F.col("r.dynamodb.Keys"), "map<string, map<string, string>>")
        schema = F.to_json(F.array_sort(F.transform(F.map_entries(keys), lambda entry: F.struct(
            entry["key"].alias("name"), F.element_at(F.map_keys(entry["value"]), 1).alias("type")))))
        valid = (F.col("r.eventName").isin(*EVENT_RANK) & F.col("r.eventID").isNotNull() & created.isNotNull()
                 & (F.size(keys) > 0))
        return (lines.where(F.length(F.trim("value")) > 0)
                .select(record.alias("r"), "source_file", "cdc_file_time_us")
                .select(
                    F.col("r.eventName").alias("cdc_event_name"), F.col("r.eventID").alias("cdc_event_id"),
                    F.when(created < MICROSECONDS_THRESHOLD, created * 1000).otherwise(created)
                    .alias("cdc_event_time_us"),
                    F.col("r.tableName").alias("cdc_table_name"), F.col("r.dynamodb.Keys").alias("cdc_keys_json"),
                    F.when(valid, schema).alias("cdc_key_schema"), F.col("r.dynamodb.NewImage").alias("cdc_new_image"),
                    F.col("source_file").alias("cdc_source_file"), "cdc_file_time_us"))

    def change_stats(self, changes: "DataFrame", spec: TableSpec, started_us: int | None) -> ChangeStats:
        """In one Spark job: per key schema and table name, the changes' counts, times and files (malformed changes
        have no key schema); the totals are their sums."""
        changes.createOrReplaceTempView("cdc_changes")
        before = f"cdc_event_time_us < {started_us}" if started_us is not None else "false"
        rows = self.spark.sql(f"""SELECT cdc_key_schema, cdc_table_name, {before} AS before_generation,
                count(*) AS records, min(cdc_event_time_us) AS first_us, max(cdc_event_time_us) AS last_us,
                min(cdc_source_file) AS file, collect_set(cdc_source_file) AS files, max(cdc_file_time_us) AS newest_file_us
            FROM cdc_changes GROUP BY 1, 2, 3""").collect()
        stats = ChangeStats(records=sum(row["records"] for row in rows),
                            files=len({file for row in rows for file in row["files"]}),
                            newest_file_us=max((row["newest_file_us"] for row in rows), default=None))
        groups: dict[KeySchema, KeyGroup] = {}
        for row in rows:
            if row["cdc_key_schema"] is None:
                stats.malformed += row["records"]
            elif row["cdc_table_name"] is not None and row["cdc_table_name"] != spec.source:
                stats.other_tables.append((row["cdc_table_name"], row["file"]))
            elif row["before_generation"]:
                stats.older_than_generation += row["records"]
            else:
                keys = keys_from_json(row["cdc_key_schema"])
                refuse_unstorable_keys(spec.source, keys, row["file"])
                stats.schema_texts[keys] = row["cdc_key_schema"]
                group = KeyGroup(keys, row["records"], row["first_us"], row["last_us"], row["file"])
                earlier = groups.get(keys)  # the same keys with and without a table name
                groups[keys] = group if earlier is None else KeyGroup(
                    keys, group.records + earlier.records, min(group.first_us, earlier.first_us),
                    max(group.last_us, earlier.last_us), min(group.file, earlier.file))
        stats.groups = list(groups.values())
        stats.other_tables.sort()
        return stats

    # ------------------------------------------------------------ tables and generations

    def create_tables(self, spec: TableSpec, generation: Generation) -> None:
        keys = key_columns(generation.keys)
        metadata = ", ".join(f"{name} {kind}" for name, kind in METADATA_COLUMNS)
        items = ", ".join(f"{name} {kind}" for name, kind in ITEM_COLUMNS)
        properties = (f"{MERGE_ON_READ}, 'cdc.source-table'={sql_text(spec.source)}, "
                      + ", ".join(f"{sql_text(key)}={sql_text(value)}"
                                  for key, value in generation_properties(generation).items() if value is not None))
        self.spark.sql(f"CREATE TABLE IF NOT EXISTS {self.table(spec.target)} ({keys}, {items}, {metadata})"
                       f" USING iceberg TBLPROPERTIES ({properties}, 'cdc.columns'='[]')")
        self.spark.sql(f"CREATE TABLE IF NOT EXISTS {self.table(spec.target + TOMBSTONE_SUFFIX)} ({keys},"
                       f" {metadata}) USING iceberg TBLPROPERTIES ({properties})")

    def archive(self, spec: TableSpec, stored: StoredTable, old: Generation, new: Generation) -> str:
        """The old generation's live items copied to `<target>__v<n>`, then the table emptied for the new keys."""
        name = archive_name(spec.target, old)
        properties = ", ".join(f"{sql_text(key)}={sql_text(value)}" for key, value in {
            "format-version": "2", "cdc.source-table": spec.source, "cdc.keys": keys_to_json(old.keys),
            "cdc.generation": str(old.number), "cdc.replaced-at": self.now.isoformat(),
            "cdc.columns": stored.properties.get("cdc.columns", "[]")}.items())
        self.spark.sql(f"CREATE TABLE IF NOT EXISTS {self.table(name)} USING iceberg TBLPROPERTIES ({properties})"
                       f" AS SELECT * FROM {self.table(spec.target)}")
        self.set_properties(spec.target, {**generation_properties(new), "cdc.resetting": "true"})
        return name

    def reset(self, spec: TableSpec, stored: StoredTable) -> StoredTable:
        """Empties the table and its tombstones and gives them the key columns of `cdc.keys` (after an archive).
        Typed columns stay, but for one named like a new key column: its attribute gets a column anew."""
        keys = {key.name: key_sql_type(key).lower() for key in stored.keys}
        lowered = {name.lower() for name in keys}
        kept = tuple(column for column in stored.typed_columns
                     if column.name.lower() not in lowered and column.attribute not in keys)
        fixed = {name for name, _ in METADATA_COLUMNS + ITEM_COLUMNS}
        for name, typed in ((spec.target, {column.name for column in kept}), (spec.target + TOMBSTONE_SUFFIX, set())):
            self.spark.sql(f"DELETE FROM {self.table(name)}")
            current = self.load(name).columns
            stale = [column for column in current
                     if column not in fixed | typed and keys.get(column) != current[column]]
            if stale:
                self.spark.sql(f"ALTER TABLE {self.table(name)} DROP COLUMNS "
                               f"({', '.join(quoted(column) for column in stale)})")
            missing = [key for key in stored.keys if current.get(key.name) != keys[key.name]]
            if missing:  # first, in key order
                self.spark.sql(f"ALTER TABLE {self.table(name)} ADD COLUMNS ("
                               + ", ".join(f"{quoted(key.name)} {key_sql_type(key)} FIRST" for key in reversed(missing))
                               + ")")
        self.set_properties(spec.target, {"cdc.columns": columns_to_json(kept), "cdc.resetting": None})
        return self.load(spec.target)

    def prepare(self, spec: TableSpec, stored: StoredTable, generation: Generation) -> StoredTable:
        """The tables exist with the generation's keys and the columns this version of the job writes."""
        if not stored.exists:
            self.create_tables(spec, generation)
            return self.load(spec.target)
        if stored.properties.get("cdc.resetting"):
            stored = self.reset(spec, stored)
        missing = [(name, kind) for name, kind in ITEM_COLUMNS if name not in stored.columns]
        if missing:  # a table from before typed columns
            self.spark.sql(f"ALTER TABLE {self.table(spec.target)} ADD COLUMNS ("
                           + ", ".join(f"{name} {kind} AFTER item" for name, kind in reversed(missing)) + ")")
            stored = self.load(spec.target)
        return stored

    # ------------------------------------------------------------ typed columns

    def apply_columns(self, spec: TableSpec, stored: StoredTable, plan: ColumnPlan,
                      keys: KeySchema) -> StoredTable:
        """The plan stored first, then the schema made to match it, then existing rows backfilled: a run that dies
        in between is completed by the next (`cdc.backfill` stays until the backfill committed)."""
        pending = bool(stored.properties.get(BACKFILL))
        if not (plan.changed or pending or plan.columns != stored.typed_columns
                or plan.untyped != stored.untyped):
            return stored
        untyped = plan.untyped[:MAX_UNTYPED_KEPT]
        self.set_properties(spec.target, {"cdc.columns": columns_to_json(plan.columns),
                                          "cdc.untyped-attributes": json.dumps(list(untyped), ensure_ascii=False),
                                          **({BACKFILL: EVERY_ROW} if plan.backfill else {})})
        stored = self.load(spec.target)
        self.match_schema(spec.target, stored, plan.columns, keys)
        if plan.backfill or pending:
            self.backfill(spec.target, plan.columns)
            self.set_properties(spec.target, {BACKFILL: None})
        return self.load(spec.target)

    def match_schema(self, target: str, stored: StoredTable, columns: tuple[TypedColumn, ...],
                     keys: KeySchema) -> None:
        retyped = [column for column in columns
                   if column.name in stored.columns and stored.columns[column.name] != spark_type(column)]
        if retyped:
            self.spark.sql(f"ALTER TABLE {self.table(target)} DROP COLUMNS "
                           f"({', '.join(quoted(column.name) for column in retyped)})")
        missing, after = [], keys[-1].name if keys else None
        for column in columns:
            if column.name not in stored.columns or column in retyped:
                position = f" AFTER {quoted(after)}" if after else " FIRST"
                comment = sql_text(column_comment(column.attribute))
                missing.append(f"{quoted(column.name)} {column.sql_type} COMMENT {comment}{position}")
            after = column.name
        if missing:
            self.spark.sql(f"ALTER TABLE {self.table(target)} ADD COLUMNS ({', '.join(missing)})")

    def stored_facts(self) -> str:
        """SQL: the facts of a stored row, from its `item` and `cdc_attribute_types` (a Python UDF)."""
        register_modules_by_value()
        self.spark.udf.register("cdc_stored_facts", cdc_items.stored_item_facts, STORED_FACTS_TYPE)
        return "cdc_stored_facts(item, cdc_attribute_types)"

    def backfill(self, target: str, columns: tuple[TypedColumn, ...], holding: tuple[str, ...] = ()) -> None:
        """Every stored row's typed columns read again from its `item` and `cdc_attribute_types`; with `holding`,
        only the rows that hold one of those attributes."""
        facts = self.stored_facts()
        assignments = [f"{quoted(column.name)} = {value_sql(column, facts)}" for column in columns]
        assignments.append(f"cdc_type_conflicts = {conflicts_sql(columns, facts)}")
        having = (f" WHERE arrays_overlap(map_keys(cdc_attribute_types), array({', '.join(map(sql_text, holding))}))"
                  if holding else "")
        self.spark.sql(f"UPDATE {self.table(target)} SET {', '.join(assignments)}{having}")

    def profile(self, view: str, keys: KeySchema) -> tuple[dict[str, dict[str, int]], int, int]:
        """In one Spark job: this run's values per attribute and kind, the number of changes and of REMOVEs among
        them. Every image holds its key attributes (DynamoDB's NewImage is the whole item): the first key's values
        count the images."""
        key_names = {key.name for key in keys}
        profile: dict[str, dict[str, int]] = {}
        images = removes = 0
        for row in self.spark.sql(f"SELECT cdc_event_name = 'REMOVE' AS removal, cdc_attribute AS attribute,"
                                  f" cdc_fact.kind AS kind, count(*) AS n FROM {view} LATERAL VIEW OUTER"
                                  " explode(cdc_image.facts) cdc_facts AS cdc_attribute, cdc_fact GROUP BY 1, 2, 3"
                                  ).collect():
            if row["removal"]:
                removes += row["n"]
            elif row["attribute"] == keys[0].name:
                images += row["n"]
            elif row["attribute"] is not None and row["attribute"] not in key_names:
                profile.setdefault(row["attribute"], {})[row["kind"]] = row["n"]
        return profile, images + removes, removes

    def stored_profile(self, target: str, keys: KeySchema) -> dict[str, dict[str, int]]:
        """The attributes of rows stored before typed columns, to give them columns too (once)."""
        self.spark.sql(f"SELECT named_struct('facts', {self.stored_facts()}) AS cdc_image, cdc_event_name"
                       f" FROM {self.table(target)}").createOrReplaceTempView("cdc_stored")
        return self.profile("cdc_stored", keys)[0]

    # ------------------------------------------------------------ merging

    @staticmethod
    def keyed_changes(changes: "DataFrame", keys: KeySchema, schema_text: str, started_us: int | None) -> "DataFrame":
        """The valid changes with these keys (at or after the generation's start), each key in its column."""
        from pyspark.sql import functions as F

        rank = F.coalesce(*[F.when(F.col("cdc_event_name") == name, F.lit(value))
                            for name, value in EVENT_RANK.items()])
        typed = F.from_json("cdc_keys_json", "map<string, map<string, string>>")
        batch = changes.where(F.col("cdc_key_schema") == F.lit(schema_text))
        if started_us is not None:
            batch = batch.where(F.col("cdc_event_time_us") >= F.lit(started_us))
        with_keys = batch.withColumn("cdc_key_map", typed).withColumn("cdc_event_rank", rank)
        for key in keys:
            value = F.element_at(F.element_at("cdc_key_map", F.lit(key.name)), F.lit(key.type))
            with_keys = with_keys.withColumn(key.name, F.unbase64(value) if key.type == "B" else value)
        return with_keys.where(F.expr(" AND ".join(f"{quoted(key.name)} IS NOT NULL" for key in keys)))

    @staticmethod
    def with_facts(changes: "DataFrame", keys: KeySchema) -> "DataFrame":
        """The changes' keys, item, types and facts (`r`, null for a REMOVE) and event columns."""
        from pyspark.sql import functions as F

        register_modules_by_value()
        facts = F.udf(cdc_items.item_facts, FACTS_TYPE)
        image = F.when(F.col("cdc_event_name") == "REMOVE", F.lit(None)).otherwise(facts("cdc_new_image"))
        return changes.select(*[F.col(quoted(key.name)) for key in keys], image.alias("cdc_image"), "cdc_event_name",
                              "cdc_event_id", "cdc_event_time_us", "cdc_source_file", "cdc_event_rank")

    def newest_change_per_key(self, changes: "DataFrame", keys: KeySchema, schema_text: str,
                              started_us: int | None) -> "DataFrame":
        """The valid changes with these keys (at or after the generation's start), only the newest per key, with
        its item, types and facts."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        valid = self.keyed_changes(changes, keys, schema_text, started_us)
        order = Window.partitionBy(*[F.col(quoted(key.name)) for key in keys]).orderBy(
            F.col("cdc_event_time_us").desc(), F.col("cdc_event_rank").desc(), F.col("cdc_event_id").desc(),
            F.col("cdc_source_file").asc())
        newest = valid.withColumn("cdc_position", F.row_number().over(order)).where("cdc_position = 1")
        return self.with_facts(newest, keys)

    @staticmethod
    def newer(incoming: str, stored: str) -> str:
        """SQL: the incoming change's position is strictly after the stored one's (equal: the same change)."""
        stored_rank = " ".join(f"WHEN {stored}.cdc_event_name = '{name}' THEN {value}"
                               for name, value in EVENT_RANK.items())
        stored_rank = f"(CASE {stored_rank} END)"
        return (f"({incoming}.cdc_event_time_us > {stored}.cdc_event_time_us OR "
                f"({incoming}.cdc_event_time_us = {stored}.cdc_event_time_us AND "
                f"({incoming}.cdc_event_rank > {stored_rank} OR ({incoming}.cdc_event_rank = {stored_rank} AND "
                f"{incoming}.cdc_event_id > {stored}.cdc_event_id))))")

    @staticmethod
    def key_join(left: str, right: str, keys: KeySchema) -> str:
        return " AND ".join(f"{left}.{quoted(key.name)} = {right}.{quoted(key.name)}" for key in keys)

    def changes_to_apply(self, target: str, keys: KeySchema) -> None:
        """View `cdc_candidates`: the batch's changes that change the table. None that a tombstone supersedes (no
        late change resurrects), none that the live row already holds or follows: every run reads the overlap
        window's files again and Firehose redelivers, so without this `ChangesMerged` and the item-count check's
        allowance would count the same changes on every run."""
        tombstones, live = self.table(target + TOMBSTONE_SUFFIX), self.table(target)
        # An anti join: a key several live rows share (DuplicateKeys) must not repeat the change, which would make
        # the merge fail on every run.
        self.spark.sql(f"""CREATE OR REPLACE TEMPORARY VIEW cdc_candidates AS
            SELECT c.* FROM cdc_newest c LEFT JOIN {tombstones} d ON {self.key_join('d', 'c', keys)}
            LEFT ANTI JOIN {live} t ON {self.key_join('t', 'c', keys)} AND NOT {self.newer('c', 't')}
            WHERE d.cdc_event_id IS NULL OR {self.newer('c', 'd')}""")

    def typed_source(self, keys: KeySchema, columns: tuple[TypedColumn, ...]) -> None:
        """View `cdc_source`: the candidates as rows of the live table, typed columns included."""
        typed = "".join(f"{value_sql(column, 'cdc_image.facts')} AS {quoted(column.name)}, " for column in columns)
        self.spark.sql(f"""CREATE OR REPLACE TEMPORARY VIEW cdc_source AS SELECT
            {''.join(quoted(key.name) + ', ' for key in keys)}{typed}cdc_image.item AS item,
            cdc_image.types AS cdc_attribute_types, {conflicts_sql(columns, 'cdc_image.facts')} AS cdc_type_conflicts,
            cdc_event_name, cdc_event_id, cdc_event_time_us, cdc_source_file, cdc_event_rank
            FROM cdc_merged""")

    def merge_into_live(self, target: str, keys: KeySchema, columns: tuple[TypedColumn, ...]) -> None:
        names = [quoted(key.name) for key in keys] + [quoted(column.name) for column in columns] + [
            name for name, _ in ITEM_COLUMNS] + ["cdc_event_name", "cdc_event_id", "cdc_event_time_us",
                                                 "cdc_source_file"]
        assignments = ", ".join(f"t.{name} = s.{name}" for name in names)
        self.spark.sql(f"""MERGE INTO {self.table(target)} t USING cdc_source s ON {self.key_join('t', 's', keys)}
            WHEN MATCHED AND {self.newer('s', 't')} AND s.cdc_event_name = 'REMOVE' THEN DELETE
            WHEN MATCHED AND {self.newer('s', 't')} THEN UPDATE SET {assignments}, t.cdc_merged_at = current_timestamp()
            WHEN NOT MATCHED AND s.cdc_event_name <> 'REMOVE' THEN
                INSERT ({', '.join(names)}, cdc_merged_at)
                VALUES ({', '.join('s.' + name for name in names)}, current_timestamp())""")

    def merge_into_tombstones(self, target: str, keys: KeySchema) -> None:
        names = [quoted(key.name) for key in keys] + ["cdc_event_name", "cdc_event_id", "cdc_event_time_us",
                                                      "cdc_source_file"]
        assignments = ", ".join(f"t.{name} = s.{name}" for name in names)
        self.spark.sql(f"""MERGE INTO {self.table(target + TOMBSTONE_SUFFIX)} t
            USING (SELECT * FROM cdc_source WHERE cdc_event_name = 'REMOVE') s ON {self.key_join('t', 's', keys)}
            WHEN MATCHED AND {self.newer('s', 't')} THEN UPDATE SET {assignments}, t.cdc_merged_at = current_timestamp()
            WHEN NOT MATCHED THEN INSERT ({', '.join(names)}, cdc_merged_at)
                VALUES ({', '.join('s.' + name for name in names)}, current_timestamp())""")

    def purge_tombstones(self, target: str) -> int:
        horizon_us = int((self.now - timedelta(days=self.arguments.lateness_window_days)).timestamp() * 1_000_000)
        tombstones = self.table(target + TOMBSTONE_SUFFIX)
        expired = self.spark.sql(f"SELECT count(*) AS n FROM {tombstones} WHERE cdc_event_time_us < {horizon_us}")
        count = expired.collect()[0]["n"]
        if count:
            self.spark.sql(f"DELETE FROM {tombstones} WHERE cdc_event_time_us < {horizon_us}")
        return count

    def merge_step(self, spec: TableSpec, stored: StoredTable, step: MergeStep, changes: "DataFrame | None",
                   stats: ChangeStats, summary: TableRunSummary) -> StoredTable:
        """One generation's changes of this run merged, typed columns evolved first."""
        from pyspark import StorageLevel

        keys = step.generation.keys
        profile, merged, removes = {}, 0, 0
        source = None
        if step.group is not None and changes is not None:
            newest = self.newest_change_per_key(changes, keys, stats.schema_texts[keys], step.generation.started_us)
            newest.createOrReplaceTempView("cdc_newest")
            self.changes_to_apply(spec.target, keys)
            # Cached: the profile and the live merge see the same changes. The live merge's commit may drop the cache
            # (the view reads the live table): the tombstone merge then reads them again, and its REMOVEs are the
            # same, since the live merge wrote no row for their keys.
            source = self.spark.table("cdc_candidates").persist(StorageLevel.MEMORY_AND_DISK)
            source.createOrReplaceTempView("cdc_merged")
            profile, merged, removes = self.profile("cdc_merged", keys)
        try:
            rows_untyped = stored.rows_untyped and self.has_rows(spec.target)
            if stored.legacy and rows_untyped:
                for attribute, kinds in self.stored_profile(spec.target, keys).items():
                    for kind, count in kinds.items():
                        profile.setdefault(attribute, {})[kind] = profile.get(attribute, {}).get(kind, 0) + count
            typed = {column.name for column in stored.typed_columns}
            reserved = {key.name for key in keys} | {name for name in stored.columns if name not in typed}
            plan = plan_columns(stored.typed_columns, profile, reserved=reserved, declared=dict(spec.columns),
                                max_columns=spec.max_columns, untyped=stored.untyped,
                                stored_rows_untyped=rows_untyped)
            stored = self.apply_columns(spec, stored, plan, keys)
            summary.columns_added += [column.name for column in plan.added]
            summary.columns_retyped += [column.name for column in plan.retyped]
            summary.untyped_attributes = len(plan.untyped)
            for attribute, count in plan.conflicts.items():
                summary.type_conflicts[attribute] = summary.type_conflicts.get(attribute, 0) + count
            if source is not None and merged:
                self.typed_source(keys, plan.columns)
                merging_since = datetime.now(timezone.utc)
                try:
                    self.merge_into_live(spec.target, keys, plan.columns)
                except Exception:
                    if self.committed_since(spec.target, merging_since):
                        summary.changes_merged += merged  # a retry finds them in the table and does not count them
                    raise
                summary.changes_merged += merged
                if removes:
                    self.merge_into_tombstones(spec.target, keys)
        finally:
            if source is not None:
                source.unpersist()
        return stored

    def committed_since(self, target: str, moment: datetime) -> bool:
        """Whether a snapshot of the table was committed at or after `moment` (the driver's clock, which Iceberg's
        commits use too). Asked after a failure: when it cannot be told, no (the failure is what to report)."""
        since = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
        try:
            return bool(self.spark.sql(f"SELECT 1 FROM {self.table(target)}.snapshots"
                                       f" WHERE committed_at >= TIMESTAMP '{since}' LIMIT 1").collect())
        except Exception:  # the merge's own error, which the caller raises, is the one to report
            return False

    def has_rows(self, target: str) -> bool:
        return bool(self.spark.sql(f"SELECT 1 FROM {self.table(target)} LIMIT 1").collect())

    # ------------------------------------------------------------ history

    def update_history(self, spec: TableSpec, generation: Generation, changes: "DataFrame | None",
                       stats: ChangeStats) -> int:
        """Appends this run's changes of the current generation to `<target>__history` (each change once, however
        often it was delivered); a history switched on now starts with every change still in the raw folder. Its
        typed columns follow the live table's. Returns the number of changes appended."""
        from pyspark import StorageLevel

        name = spec.target + HISTORY_SUFFIX
        history = self.load(name)
        if history.exists and history.keys != generation.keys:  # the table was replaced
            self.archive_history(name, history)
            history = StoredTable(name)
        if not history.exists:
            self.create_history(name, spec, generation)
            history = self.load(name)
        # Created by this run, or by one that died before its first append committed: it starts from the raw folder.
        seeding, seed = history.properties.get(SEEDING) == "true", None
        try:
            if seeding:
                lines = self.read_new_files(spec, TableState())
                changes = seed = None if lines is None else self.parse_changes(lines).persist(
                    StorageLevel.MEMORY_AND_DISK)
                stats = ChangeStats() if seed is None else self.change_stats(seed, spec, generation.started_us)
            appended = 0
            if changes is not None and generation.keys in stats.schema_texts:
                columns = self.load(spec.target).typed_columns
                self.match_history_columns(name, history, columns, generation.keys)
                appended = self.append_history(name, generation, columns, self.keyed_changes(
                    changes, generation.keys, stats.schema_texts[generation.keys], generation.started_us))
            if seeding:
                self.set_properties(name, {SEEDING: None})
            return appended
        finally:
            if seed is not None:
                seed.unpersist()

    def match_history_columns(self, name: str, history: StoredTable, columns: tuple[TypedColumn, ...],
                              keys: KeySchema) -> None:
        """The history's typed columns made the live table's `columns`, and the rows they change refilled. The
        refill is stored before the schema changes and dropped once it committed: the next run completes one that
        died between the two (the schema then shows nothing left to refill). That run has changes to append: the
        watermark had not moved, so it reads the same files again."""
        retyped = any(column.name in history.columns and history.columns[column.name] != spark_type(column)
                      for column in columns)
        # A version the live table never held (set and cleared within a run) may have had an attribute that only
        # a later run gives a column: its rows get the value then.
        added = tuple(column.attribute for column in columns if column.name not in history.columns)
        refill = history_refill(history.properties.get(BACKFILL), retyped, added)
        if refill is None or not self.has_rows(name):
            self.match_schema(name, history, columns, keys)
            return
        self.set_properties(name, {BACKFILL: refill})
        self.match_schema(name, history, columns, keys)
        self.backfill(name, columns, refilled_attributes(refill))
        self.set_properties(name, {BACKFILL: None})

    def create_history(self, name: str, spec: TableSpec, generation: Generation) -> None:
        keys = key_columns(generation.keys)
        items = ", ".join(f"{column} {kind}" for column, kind in ITEM_COLUMNS)
        events = ", ".join(f"{column} {kind}" for column, kind in HISTORY_EVENT_COLUMNS)
        properties = ", ".join(f"{sql_text(key)}={sql_text(value)}" for key, value in {
            "format-version": "2", "cdc.source-table": spec.source, "cdc.keys": keys_to_json(generation.keys),
            "cdc.generation": str(generation.number), SEEDING: "true"}.items())
        self.spark.sql(f"CREATE TABLE IF NOT EXISTS {self.table(name)} ({keys}, {items}, {events}) USING iceberg"
                       f" PARTITIONED BY (days(cdc_event_time)) TBLPROPERTIES ({properties})")

    def archive_history(self, name: str, history: StoredTable) -> None:
        """The history of a replaced DynamoDB table kept as `<target>__v<n>__history`, beside its live items'."""
        generation = history.properties.get("cdc.generation", "1")
        archived = f"{name.removesuffix(HISTORY_SUFFIX)}__v{generation}{HISTORY_SUFFIX}"
        self.spark.sql(f"CREATE TABLE IF NOT EXISTS {self.table(archived)} USING iceberg PARTITIONED BY "
                       f"(days(cdc_event_time)) TBLPROPERTIES ('format-version'='2') AS SELECT * FROM "
                       f"{self.table(name)}")
        self.spark.sql(f"DROP TABLE {self.table(name)} PURGE")

    def append_history(self, name: str, generation: Generation, columns: tuple[TypedColumn, ...],
                       keyed: "DataFrame") -> int:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        keys = generation.keys
        once = Window.partitionBy(*[F.col(quoted(key.name)) for key in keys], F.col("cdc_event_id")).orderBy(
            F.col("cdc_source_file").asc())
        unique = keyed.withColumn("cdc_position", F.row_number().over(once)).where("cdc_position = 1")
        self.with_facts(unique, keys).createOrReplaceTempView("cdc_history_facts")
        typed = "".join(f"{value_sql(column, 'cdc_image.facts')} AS {quoted(column.name)}, " for column in columns)
        self.spark.sql(f"""CREATE OR REPLACE TEMPORARY VIEW cdc_history_source AS SELECT
            {''.join(quoted(key.name) + ', ' for key in keys)}{typed}cdc_image.item AS item,
            cdc_image.types AS cdc_attribute_types, {conflicts_sql(columns, 'cdc_image.facts')} AS cdc_type_conflicts,
            cdc_event_name, cdc_event_id, cdc_event_time_us, timestamp_micros(cdc_event_time_us) AS cdc_event_time,
            cdc_source_file FROM cdc_history_facts""")
        bounds = self.spark.sql("SELECT count(*) AS n, date_format(min(cdc_event_time), 'yyyy-MM-dd') AS first"
                                " FROM cdc_history_source").collect()
        if not bounds[0]["n"]:
            return 0
        names = [quoted(key.name) for key in keys] + [quoted(column.name) for column in columns] + [
            column for column, _ in ITEM_COLUMNS] + [column for column, _ in HISTORY_EVENT_COLUMNS
                                                     if column != "cdc_merged_at"]
        first = bounds[0]["first"]
        before = self.spark.sql(f"SELECT count(*) AS n FROM {self.table(name)}").collect()[0]["n"]
        # Only the days this batch touches are joined (the table is partitioned by day): a history does not make
        # every run read all of itself.
        self.spark.sql(f"""MERGE INTO {self.table(name)} t USING cdc_history_source s
            ON {self.key_join('t', 's', keys)} AND t.cdc_event_id = s.cdc_event_id
               AND t.cdc_event_time >= TIMESTAMP '{first}'
            WHEN NOT MATCHED THEN INSERT ({', '.join(names)}, cdc_merged_at)
                VALUES ({', '.join('s.' + column for column in names)}, current_timestamp())""")
        return self.spark.sql(f"SELECT count(*) AS n FROM {self.table(name)}").collect()[0]["n"] - before

    # ------------------------------------------------------------ maintenance

    def maintenance_due(self, state: TableState) -> bool:
        every = self.arguments.maintenance_every_runs
        return self.arguments.force_maintenance or (every > 0 and state.runs - state.last_maintenance_run >= every)

    def maintain(self, *names: str, appended: tuple[str, ...] = ()) -> None:
        """Compaction of every data file, deletes applied, then expiry of the snapshots older than the retention (the
        newest always stays).

        Every data file, each with a new sequence number, so no delete file written before applies to any row after
        it; those dangling delete files are then dropped from the table (`drop_dangling_deletes`). Rewriting only the
        files that have deletes would leave older untouched files behind, and their age would keep every delete file;
        `rewrite_position_delete_files`, which drops them at once, fails on tables with array or map columns in
        Iceberg 1.10 (apache/iceberg issue 15080), and typed tables have them.

        Tables only ever appended to (`appended`: a history) have no deletes: only their small files are combined
        (Iceberg's default bin-packing), so a long history is not rewritten whole every time."""
        catalog = quoted(self.arguments.catalog_name)
        for name in names + appended:
            identifier = sql_text(f"{self.arguments.database}.{name}")
            options = "" if name in appended else (", options => map('rewrite-all', 'true', "
                                                   "'use-starting-sequence-number', 'false')")
            self.spark.sql(f"CALL {catalog}.system.rewrite_data_files(table => {identifier}{options})")
            if name not in appended:
                self.drop_dangling_deletes(name)
            older_than = (datetime.now(timezone.utc) - timedelta(hours=self.arguments.snapshot_retention_hours))
            cutoff = f"TIMESTAMP '{older_than.strftime('%Y-%m-%d %H:%M:%S.%f')}'"
            # The procedure lists every file the table's snapshots reach: not for nothing (the metadata table is
            # read from the metadata alone).
            expired = self.spark.sql(f"SELECT count(*) AS n FROM {self.table(name)}.snapshots"
                                     f" WHERE committed_at < {cutoff}").collect()[0]["n"]
            if expired:
                self.spark.sql(f"CALL {catalog}.system.expire_snapshots(table => {identifier},"
                               f" older_than => {cutoff}, retain_last => 1)")

    def drop_dangling_deletes(self, name: str) -> int:
        """Removes from the table the position-delete files older than every live data file: they apply to no row.
        The compaction's own commit drops only those older than the merge before it, and a merge writes a delete
        file per data file it touches: left alone, a table carried a whole merge's delete files into each cycle
        (about 70 at the peak of a 24-run cycle in the 200-run benchmark, against 22 in the first). Iceberg's
        `remove-dangling-deletes` leaves unpartitioned tables alone, and `rewrite_position_delete_files` fails on
        tables with array or map columns (see `maintain`). One commit of Iceberg's own API, from the manifests."""
        oldest_live = self.spark.sql(f"SELECT min(sequence_number) AS n FROM {self.table(name)}.entries"
                                     " WHERE status < 2 AND data_file.content = 0").collect()[0]["n"]
        if oldest_live is None:  # no live data file
            return 0
        jvm = self.spark._jvm
        table = jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(self.spark._jsparkSession, self.table(name))
        snapshot = table.currentSnapshot()
        position_deletes = jvm.org.apache.iceberg.FileContent.POSITION_DELETES
        dangling = []
        for manifest in snapshot.deleteManifests(table.io()):
            reader = jvm.org.apache.iceberg.ManifestFiles.readDeleteManifest(manifest, table.io(), table.specs())
            try:
                files = reader.iterator()
                while files.hasNext():
                    delete = files.next()
                    if delete.content() == position_deletes and delete.dataSequenceNumber() < oldest_live:
                        dangling.append(delete.copy())
            finally:
                reader.close()
        if dangling:
            rewrite = table.newRewrite()
            for delete in dangling:
                rewrite.deleteFile(delete)
            rewrite.commit()
        return len(dangling)

    # ------------------------------------------------------------ one table

    def merge_table(self, spec: TableSpec, summary: TableRunSummary) -> bool:
        """Merges one table's new changes; True when its maintenance ran."""
        from pyspark import StorageLevel

        stored = self.load(spec.target)
        state = stored.state() or (self.legacy_state(spec.source) if stored.exists else TableState())
        generation = stored.generation(self.stored_newest(stored, spec.target))
        lines = self.read_new_files(spec, state)
        changes, stats = None, ChangeStats()
        try:
            if lines is not None:
                changes = self.parse_changes(lines).persist(StorageLevel.MEMORY_AND_DISK)
                stats = self.change_stats(changes, spec, generation.started_us if generation else None)
            summary.files_read, summary.records_read, summary.malformed_records = \
                stats.files, stats.records, stats.malformed
            if stats.other_tables:
                table, file = stats.other_tables[0]
                raise TableFailed(f"file {file} holds changes of DynamoDB table {table!r}; move it to "
                                  f"{table}/cdc_data/ (each table's folder holds its own changes only)")
            try:
                plan = plan_generations(generation, spec.keys, stats.groups)
            except KeySchemaMix as error:
                raise TableFailed(f"{error}; a replaced table's changes must all come after the old table's: "
                                  "move the other table's files out of the folder") from None
            summary.replaced_table_records = stats.older_than_generation + sum(group.records
                                                                              for group in plan.ignored)
            current = generation
            for step in plan.steps:
                if step.archive and current is not None:
                    summary.archived_as = self.archive(spec, stored, current, step.generation)
                    stored = self.load(spec.target)
                stored = self.prepare(spec, stored, step.generation)
                stored = self.merge_step(spec, stored, step, changes, stats, summary)
                current = step.generation
            if spec.history and plan.final is not None:
                summary.history_added = self.update_history(spec, plan.final, changes, stats)
        finally:
            if changes is not None:
                changes.unpersist()
        if plan.final is None:  # no keys yet: nothing is stored, the same files are read again next time
            return False
        summary.generation = plan.final.number
        summary.newest_change_us = max((step.group.last_us for step in plan.steps
                                        if step.group and step.generation is plan.final), default=None)
        summary.tombstones_purged = self.purge_tombstones(spec.target)
        state.runs += 1
        maintained = self.maintenance_due(state)
        if maintained:
            self.maintain(spec.target, spec.target + TOMBSTONE_SUFFIX,
                          appended=(spec.target + HISTORY_SUFFIX,) if spec.history else ())
            state.last_maintenance_run = state.runs
            summary.maintenance = True
        # Last: the watermark moves only once everything above has committed, and never past this run's start (a
        # file dated in the future is read again until then).
        if stats.newest_file_us is not None:
            state.watermark_us = max(min(stats.newest_file_us, self.now_us), state.watermark_us or 0)
        summary.watermark_us = state.watermark_us
        newest = max(filter(None, (summary.newest_change_us, generation.newest_us if generation and
                                   generation.keys == plan.final.keys else None)), default=None)
        summary.newest_stored_change_us = newest
        self.set_properties(spec.target, {
            **generation_properties(replace(plan.final, newest_us=newest)),
            "cdc.watermark-us": "" if state.watermark_us is None else str(state.watermark_us),
            "cdc.runs": str(state.runs), "cdc.last-maintenance-run": str(state.last_maintenance_run)})
        return maintained

    def stored_newest(self, stored: StoredTable, target: str) -> int | None:
        if not stored.keys:
            return None
        if "cdc.newest-change-us" in stored.properties:
            value = stored.properties["cdc.newest-change-us"]
            return int(value) if value else None
        return self.newest_stored_change(target)  # a table from before the property

    # ------------------------------------------------------------ measuring

    def recent_changes(self) -> dict[str, int]:
        """Per source table, the changes merged by the runs of the last COUNT_LAG_HOURS hours, failed runs
        included: a run that failed after its merge committed counts the changes it merged."""
        since = (self.now - timedelta(hours=COUNT_LAG_HOURS)).strftime("%Y-%m-%d %H:%M:%S")
        rows = self.spark.sql(f"SELECT source_table, sum(changes_merged) AS n FROM {self.table(RUNS_TABLE)}"
                              f" WHERE run_started_at >= TIMESTAMP '{since}'"
                              " GROUP BY source_table").collect()
        return {row["source_table"]: row["n"] or 0 for row in rows}

    def first_run_us(self, target: str) -> int:
        """When the job first ran for the table: this run, if it never did before."""
        row = self.spark.sql(f"SELECT unix_micros(min(run_started_at)) AS first FROM {self.table(RUNS_TABLE)}"
                             f" WHERE target_table = {sql_text(target)}").collect()[0]
        return self.now_us if row["first"] is None else row["first"]

    def measure_waiting(self, spec: TableSpec, summary: TableRunSummary) -> tuple[list[CheckResult], list[Datum]]:
        """A table with no change stored yet: only its freshness, which counts from the job's first run for it, so
        that a table whose changes never arrive goes stale (its alarm would otherwise wait for a metric forever)."""
        facts = TableFacts(0, 0, 0, None, self.now_us, first_run_us=self.first_run_us(spec.target))
        results = [result for result in evaluate(facts, spec.checks) if result.check == "freshness"]
        summary.checks = {result.check: result.outcome for result in results}
        dimensions = (("Database", self.arguments.database), ("Table", spec.target))
        data = [Datum("NewestChangeAgeSeconds", facts.change_age_seconds, "Seconds")] + summary.intake_data()
        return results, [replace(datum, dimensions=dimensions) for datum in data]

    def measure_failed(self, spec: TableSpec) -> list[Datum]:
        """A table whose run failed: the age of the newest change it holds, from its properties (no query that
        could fail too), so that its stale alarm sees a table stuck on a failure, which publishes nothing else."""
        try:
            newest = self.load(spec.target).properties.get("cdc.newest-change-us")
        except Exception:  # noqa: BLE001  (the catalog unreachable: the run's failure is reported anyway)
            return []
        if not newest:
            return []
        age = TableFacts(0, 0, 0, int(newest), self.now_us).change_age_seconds
        return [Datum("NewestChangeAgeSeconds", age, "Seconds",
                      (("Database", self.arguments.database), ("Table", spec.target)))]

    def key_facts(self, target: str, keys: KeySchema) -> tuple[int, int, int]:
        """In one Spark job: live rows, key values held by several rows, rows lacking a key attribute."""
        names = ", ".join(quoted(key.name) for key in keys)
        missing = " OR ".join(f"{quoted(key.name)} IS NULL" for key in keys)
        row = self.spark.sql(f"""SELECT coalesce(sum(n), 0) AS live_rows,
                coalesce(sum(CASE WHEN missing THEN n ELSE 0 END), 0) AS without_keys,
                count_if(NOT missing AND n > 1) AS duplicates
            FROM (SELECT ({missing}) AS missing, count(*) AS n FROM {self.table(target)} GROUP BY {names})""").collect()[0]
        return row["live_rows"], row["duplicates"], row["without_keys"]

    def file_counts(self, name: str) -> dict[str, int]:
        """The table's live data files, delete files and snapshots: the snapshots and the newest one's summary, from
        the table's metadata file alone (no manifest, no data file read)."""
        row = self.spark.sql(f"""SELECT count(*) AS snapshots,
                max_by(summary['total-data-files'], committed_at) AS data_files,
                max_by(summary['total-delete-files'], committed_at) AS delete_files
            FROM {self.table(name)}.snapshots""").collect()[0]
        return {name: int(value or 0) for name, value in row.asDict().items()}

    def measure(self, spec: TableSpec, summary: TableRunSummary, recent: dict[str, int],
                counts: ItemCounts) -> tuple[list[CheckResult], list[Datum]]:
        """The table's checks and metrics after its merge (and maintenance, when due)."""
        stored = self.load(spec.target)
        if not stored.keys:
            return self.measure_waiting(spec, summary)
        live_rows, duplicates, without_keys = self.key_facts(spec.target, stored.keys)
        item_count, note = counts.count(spec.source, spec.count_source)
        newest = summary.newest_stored_change_us
        facts = TableFacts(live_rows, duplicates, without_keys, newest, self.now_us, item_count, note,
                           recent.get(spec.source, 0) + summary.changes_merged,
                           self.first_run_us(spec.target) if newest is None else None)
        results = evaluate(facts, spec.checks)
        summary.checks = {result.check: result.outcome for result in results}
        dimensions = (("Database", self.arguments.database), ("Table", spec.target))
        files = self.file_counts(spec.target)
        data = [Datum("ChangesMerged", summary.changes_merged), Datum("LiveRows", live_rows),
                Datum("DuplicateKeys", duplicates), Datum("RowsWithoutKeys", without_keys),
                Datum("QualityChecksFailed", sum(result.failed for result in results
                                                 if result.check in QUALITY_CHECKS)),
                Datum("DataFiles", files["data_files"]), Datum("DeleteFiles", files["delete_files"]),
                Datum("Snapshots", files["snapshots"])] + summary.intake_data()
        if facts.change_age_seconds is not None:
            data.append(Datum("NewestChangeAgeSeconds", facts.change_age_seconds, "Seconds"))
        if item_count is not None:
            data += [Datum("SourceItemCount", item_count), Datum("ItemCountDifference", abs(live_rows - item_count))]
        return results, [replace(datum, dimensions=dimensions) for datum in data]

    # ------------------------------------------------------------ the run

    def ensure_runs_table(self) -> None:
        for name, columns in ((RUNS_TABLE, RUNS_COLUMNS), (CHECKS_TABLE, CHECKS_COLUMNS)):
            listed = ", ".join(f"{column} {kind}" for column, kind in columns)
            self.spark.sql(f"CREATE TABLE IF NOT EXISTS {self.table(name)} ({listed}) USING iceberg"
                           " TBLPROPERTIES ('format-version'='2')")

    def record_runs(self, summaries: list[TableRunSummary]) -> None:
        """One row per table and run in `cdc_merge_runs`, in one commit."""
        schema = ", ".join(f"{name} {kind}" for name, kind in RUNS_COLUMNS)
        rows = [(self.now, summary.source, summary.target, "failed" if summary.error else "merged", summary.error,
                 summary.generation, summary.files_read, summary.records_read, summary.malformed_records,
                 summary.replaced_table_records, summary.changes_merged, summary.newest_change_us,
                 summary.columns_added, summary.columns_retyped, summary.type_conflicts, summary.untyped_attributes,
                 summary.archived_as, summary.tombstones_purged, summary.watermark_us, summary.maintenance,
                 summary.seconds) for summary in summaries]
        self.spark.createDataFrame(rows, schema).writeTo(self.table(RUNS_TABLE)).append()

    def record_checks(self, results: list[tuple[TableSpec, CheckResult]]) -> None:
        """One row per table, check and run in `cdc_check_results`, in one commit."""
        schema = ", ".join(f"{name} {kind}" for name, kind in CHECKS_COLUMNS)
        rows = [(self.now, spec.source, spec.target, result.check, result.outcome,
                 None if result.observed is None else float(result.observed),
                 None if result.threshold is None else float(result.threshold), result.detail)
                for spec, result in results]
        self.spark.createDataFrame(rows, schema).writeTo(self.table(CHECKS_TABLE)).append()

    def run(self) -> list[TableRunSummary]:
        self.ensure_namespace()
        specs = self.arguments.tables if self.arguments.tables is not None else self.discover_sources()
        self.ensure_runs_table()
        sink = metric_sink(self.arguments.metrics, self.arguments.metrics_namespace)
        recent, counts = self.recent_changes(), ItemCounts(dict(self.arguments.item_counts))
        summaries, maintained, results, data = [], False, [], []
        for spec in specs:
            started = time.monotonic()
            summary = TableRunSummary(spec.source, spec.target)
            try:
                maintained = self.merge_table(spec, summary) or maintained
                checked, measured = self.measure(spec, summary, recent, counts)
                results += [(spec, result) for result in checked]
                data += measured
            except TableFailed as error:
                summary.error = str(error)
                data += self.measure_failed(spec)
            except Exception as error:  # the others are still merged; the run fails at the end
                summary.error = error_line(error)
                traceback.print_exc()
                data += self.measure_failed(spec)
            summary.seconds = round(time.monotonic() - started, 3)
            print("cdc_merge table " + json.dumps(asdict(summary), sort_keys=True), flush=True)
            summaries.append(summary)
        if summaries:
            self.record_runs(summaries)
        if results:
            self.record_checks(results)
        if maintained:
            self.maintain(appended=(RUNS_TABLE, CHECKS_TABLE))
        failed = sum(1 for summary in summaries if summary.error)
        database = (("Database", self.arguments.database),)
        data.append(Datum("FailedTables", failed, dimensions=database))
        if not failed:  # what the "no successful run" alarm waits for: missing, it breaches
            data.append(Datum("SuccessfulRuns", 1, dimensions=database))
        sink.publish(data, self.now)
        return summaries


# ---------------------------------------------------------------- helpers


def refuse_unstorable_keys(source: str, keys: KeySchema, file: str) -> None:
    """Keys read from the records (those declared in --tables are checked before the run): one named as a column the
    job adds would overwrite it."""
    try:
        validate_keys(source, keys)
    except JobInputError as error:
        raise TableFailed(f"{error}, in file {file}: the job cannot store this table; leave it out of the "
                          "lakehouse's tables (its changes stay in the raw bucket)") from None


def record_schema():
    from pyspark.sql import types as T

    raw_json = T.StringType()  # an object read into a string field keeps its JSON text (case of names included)
    return T.StructType([
        T.StructField("awsRegion", T.StringType()), T.StructField("eventID", T.StringType()),
        T.StructField("eventName", T.StringType()),
        T.StructField("userIdentity", T.StructType([T.StructField("type", T.StringType()),
                                                    T.StructField("principalId", T.StringType())])),
        T.StructField("recordFormat", T.StringType()), T.StructField("tableName", T.StringType()),
        T.StructField("dynamodb", T.StructType([
            T.StructField("ApproximateCreationDateTime", T.LongType()), T.StructField("Keys", raw_json),
            T.StructField("NewImage", raw_json), T.StructField("OldImage", raw_json),
            T.StructField("SizeBytes", T.LongType())])),
        T.StructField("eventSource", T.StringType()),
    ])


PYTHON_TRACEBACK = "Traceback (most recent call last):"


def error_line(error: Exception) -> str:
    """One line saying what failed: for an error of Spark's JVM, the Java exception rather than py4j's call; for one
    a Python worker raised (in a UDF, say a number no DynamoDB item can hold), what it raised, which Spark puts at
    the end of the worker's traceback, below a first line saying only where it came from."""
    java = getattr(error, "java_exception", None)
    text = str(java) if java is not None else f"{type(error).__name__}: {error}"
    if PYTHON_TRACEBACK in text:
        worker = text.rsplit(PYTHON_TRACEBACK, 1)[1].split("\n\tat ", 1)[0]
        raised = [line.strip() for line in worker.splitlines() if line.strip() and not line[0].isspace()]
        if raised:
            return f"{type(error).__name__} in a Python worker: {raised[-1]}"
    return next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)


def key_sql_type(key: KeyAttribute) -> str:
    """N keys are strings holding DynamoDB's digits exactly (a decimal cannot hold every DynamoDB number)."""
    return "BINARY" if key.type == "B" else "STRING"


def key_columns(keys: KeySchema) -> str:
    return ", ".join(f"{quoted(key.name)} {key_sql_type(key)}" for key in keys)


def spark_type(column: TypedColumn) -> str:
    """The column's type as Spark's schema writes it (`simpleString`)."""
    return column.sql_type.lower().replace(" ", "")


def history_refill(stored: str | None, retyped: bool, added: tuple[str, ...]) -> str | None:
    """A history's `cdc.backfill` for this run: EVERY_ROW, or a JSON list of the attributes whose rows are refilled
    (a crashed run's and this run's); None when nothing is. A stored value that is no list of names (edited by
    hand) refills every row rather than guess."""
    earlier = _names_in(stored)
    if stored == EVERY_ROW or retyped or earlier is None:
        return EVERY_ROW
    attributes = sorted({*earlier, *added})
    return json.dumps(attributes, ensure_ascii=False) if attributes else None


def _names_in(stored: str | None) -> list[str] | None:
    try:
        names = json.loads(stored) if stored else []
    except ValueError:
        return None
    return names if isinstance(names, list) and all(isinstance(name, str) for name in names) else None


def refilled_attributes(refill: str) -> tuple[str, ...]:
    """`backfill`'s `holding` for a stored refill: () for every row."""
    return () if refill == EVERY_ROW else tuple(json.loads(refill))


def generation_properties(generation: Generation) -> dict[str, str | None]:
    """None removes a property; an empty `cdc.newest-change-us` says the generation has no change yet."""
    return {"cdc.keys": keys_to_json(generation.keys), "cdc.generation": str(generation.number),
            "cdc.generation-started-us": None if generation.started_us is None else str(generation.started_us),
            "cdc.newest-change-us": "" if generation.newest_us is None else str(generation.newest_us)}


def register_modules_by_value() -> None:
    """The UDFs' module travels with them: Python workers outside Glue (local runs, tests) cannot import it by name."""
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(cdc_items)


def apply_catalog_configuration(spark: "SparkSession", arguments: JobArguments) -> None:
    """Catalog settings on a running session (Glue's, or a reused one): Spark loads catalogs lazily, on first use.
    The SQL extensions are the exception: they are read when the session starts."""
    for name, value in catalog_configuration(arguments).items():
        if name != "spark.sql.extensions":
            spark.conf.set(name, value)


def spark_session(arguments: JobArguments, extra_configuration: dict[str, str] | None = None) -> "SparkSession":
    """The session with the Iceberg catalog configured; on Glue no session exists before this (no GlueContext)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("cdc_merge")
    for name, value in {**(extra_configuration or {}), **catalog_configuration(arguments)}.items():
        builder = builder.config(name, value)
    spark = builder.getOrCreate()
    apply_catalog_configuration(spark, arguments)
    return spark

