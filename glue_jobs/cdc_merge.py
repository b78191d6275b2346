"""AWS Glue 5 (Spark 3.5, Python 3) job: DynamoDB change records in the raw bucket become current-state Iceberg tables.

Shipped to S3 as is and run unchanged by a local Spark session (`glue_jobs/run_local.py`): it imports only
pyspark and the standard library, Glue-specific code is limited to argument parsing (Glue appends its own arguments,
`--JOB_NAME`, `--TempDir`, ..., which are ignored), and everything else is plain Spark and Iceberg SQL.

Input: newline-delimited JSON records exactly as DynamoDB's Kinesis streaming destination writes them and Firehose
stores them, below `<raw-path>/<source table>/cdc_data/year=YYYY/month=MM/day=DD/hour=HH/<file>`. Each line is read
as text and parsed with an explicit schema (schema inference fails on attribute names differing only by case, such
as `Status` and `status`); images stay raw JSON text until they are unwrapped.

Arguments (`--name value`, as Glue passes them):
  --raw-path                 root holding one `<source table>/cdc_data` folder per table (`s3://bucket/dynamodb_data/`
                             on AWS, a local folder locally).
  --catalog-name             Spark catalog name the tables are addressed through (default `lakehouse`).
  --catalog-type             `glue` (org.apache.iceberg.aws.glue.GlueCatalog with S3FileIO) or `hadoop` (a catalog on
                             a local or HDFS warehouse folder, Iceberg's Hadoop layout `<warehouse>/<database>/<table>/`).
  --warehouse                warehouse URI (`s3://processed-bucket/lakehouse/`, or a local folder).
  --database                 catalog database (namespace) holding the tables.
  --tables                   optional JSON list: `[{"source": "Orders", "target": "orders",
                             "keys": [{"name": "pk", "type": "S"}, {"name": "sk", "type": "N"}]}]` (`target` optional).
                             Without it, one table per `<source>/cdc_data` folder found in the raw path, keys taken from
                             the records' `dynamodb.Keys` (and kept in the table's `cdc.keys` property afterwards).
  --overlap-minutes          files modified up to this long before the watermark are read again (default 60):
                             S3's LastModified is not the moment an object becomes listable; re-reading is harmless.
  --lateness-window-days     how long tombstones of deleted items are kept (default 7), see "Deletes".
  --maintenance-every-runs   Iceberg maintenance every N runs of a table (default 24; 0 never unless forced).
  --maintenance              `true` forces maintenance in this run (default `false`).
  --snapshot-retention-hours snapshots older than this are expired by maintenance (default 168; the last one stays).

Output, per source table, in `<catalog>.<database>`:
  `<target>`: the live items now (Iceberg format version 2, merge-on-read). Columns: each key attribute under its own
    name (S -> string; N -> string holding DynamoDB's digits exactly, cast in queries; B -> binary), `item` (the whole
    item as plain JSON, see `unwrap_item`), `cdc_event_name`, `cdc_event_id`, `cdc_event_time_us` (the change's
    ApproximateCreationDateTime in microseconds since the epoch), `cdc_source_file`, `cdc_merged_at` (timestamp).
  `<target>__deletes`: tombstones, the key columns plus the same `cdc_` columns, for deleted items.
  `cdc_merge_state` (one per database): per source table, the file watermark, run count and last maintenance run.
Target name: the source table name lowercased, every character other than a-z, 0-9 and `_` replaced by `_`
(DynamoDB allows `.` and `-`, the Glue catalog does not). Names colliding after that rule are refused.

Ordering: a change's position is (ApproximateCreationDateTime, event rank INSERT < MODIFY < REMOVE, eventID). Within
a batch only the newest change per key counts (equal positions, i.e. the same change delivered twice, are broken by
the smallest source file path). A change whose position is not greater than the one a row (or tombstone) reflects
never overwrites it: equal means the same change, so duplicates and replays change nothing, not even
`cdc_source_file` or `cdc_merged_at`.

Deletes: REMOVE (TTL deletes included: they are REMOVE records from `dynamodb.amazonaws.com`) deletes the row and
records a tombstone, so that a late older change cannot bring the item back. Tombstones whose change is older than
`--lateness-window-days` before the run are purged: a change delivered later than that after the delete that
supersedes it would resurrect the item (Kinesis and Firehose deliver within hours; a week is generous).

Incremental: a run reads only files modified after the table's watermark minus the overlap (Spark's `modifiedAfter`
prunes the other files before they are opened). The watermark is the newest modification time among the files read
and is stored only after both merges have committed: a failed run is simply read again by the next one.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pyspark is imported where it is used: the pure functions below run without Spark
    from pyspark.sql import DataFrame, SparkSession

KEY_TYPES = ("S", "N", "B")
EVENT_RANK = {"INSERT": 1, "MODIFY": 2, "REMOVE": 3}
STATE_TABLE = "cdc_merge_state"
TOMBSTONE_SUFFIX = "__deletes"
RESERVED_COLUMNS = ("item", "cdc_event_name", "cdc_event_id", "cdc_event_time_us", "cdc_source_file",
                    "cdc_merged_at", "cdc_event_rank")
JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
# DynamoDB writes ApproximateCreationDateTime in milliseconds unless the destination asks for MICROSECOND precision.
MICROSECONDS_THRESHOLD = 10**14
ICEBERG_EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"


# ---------------------------------------------------------------- arguments and names


@dataclass(frozen=True)
class KeyAttribute:
    name: str
    type: str  # S, N or B


@dataclass(frozen=True)
class TableSpec:
    source: str
    target: str
    keys: tuple[KeyAttribute, ...] = ()  # empty: taken from the table's property or the records


@dataclass(frozen=True)
class JobArguments:
    raw_path: str
    catalog_name: str
    catalog_type: str
    warehouse: str
    database: str
    tables: tuple[TableSpec, ...] | None
    overlap_minutes: int = 60
    lateness_window_days: int = 7
    maintenance_every_runs: int = 24
    force_maintenance: bool = False
    snapshot_retention_hours: int = 168


def sanitized_table_name(source: str) -> str:
    """The Iceberg table name of a DynamoDB table: lowercase, characters other than a-z, 0-9, `_` become `_`."""
    return re.sub(r"[^a-z0-9_]", "_", source.lower())


def _as_bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _table_specs(tables_json: str) -> tuple[TableSpec, ...]:
    specs = []
    for entry in json.loads(tables_json):
        keys = tuple(KeyAttribute(key["name"], key["type"]) for key in entry.get("keys", ()))
        specs.append(TableSpec(entry["source"], entry.get("target") or sanitized_table_name(entry["source"]), keys))
    return tuple(specs)


def parse_arguments(argv: list[str]) -> JobArguments:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-path", required=True)
    parser.add_argument("--catalog-name", default="lakehouse")
    parser.add_argument("--catalog-type", choices=("glue", "hadoop"), default="glue")
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--tables", default="")
    parser.add_argument("--overlap-minutes", type=int, default=60)
    parser.add_argument("--lateness-window-days", type=int, default=7)
    parser.add_argument("--maintenance-every-runs", type=int, default=24)
    parser.add_argument("--maintenance", type=_as_bool, default=False)
    parser.add_argument("--snapshot-retention-hours", type=int, default=168)
    known, _glue_arguments = parser.parse_known_args(argv)
    arguments = JobArguments(
        raw_path=known.raw_path.rstrip("/"), catalog_name=known.catalog_name, catalog_type=known.catalog_type,
        warehouse=known.warehouse, database=known.database,
        tables=_table_specs(known.tables) if known.tables.strip() else None,
        overlap_minutes=known.overlap_minutes, lateness_window_days=known.lateness_window_days,
        maintenance_every_runs=known.maintenance_every_runs, force_maintenance=known.maintenance,
        snapshot_retention_hours=known.snapshot_retention_hours)
    if arguments.tables is not None:
        validate_table_specs(arguments.tables)
    return arguments


def validate_table_specs(specs: tuple[TableSpec, ...]) -> None:
    targets = [spec.target for spec in specs]
    duplicates = sorted({target for target in targets if targets.count(target) > 1})
    if duplicates:
        raise ValueError(f"several source tables map to the same target table: {duplicates}")
    for spec in specs:
        if not re.fullmatch(r"[a-z0-9_]+", spec.target) or spec.target == STATE_TABLE \
                or spec.target.endswith(TOMBSTONE_SUFFIX):
            raise ValueError(f"target table name {spec.target!r} is not allowed")
        validate_keys(spec.source, spec.keys)


def validate_keys(source: str, keys: tuple[KeyAttribute, ...]) -> None:
    lowered = [key.name.lower() for key in keys]
    if len(keys) > 2 or len(set(lowered)) != len(keys):
        raise ValueError(f"{source}: a DynamoDB key has one or two distinct attributes, got {keys}")
    for key in keys:
        if key.type not in KEY_TYPES:
            raise ValueError(f"{source}: key attribute {key.name!r} has type {key.type!r}, not one of S, N, B")
        if key.name.lower() in RESERVED_COLUMNS:
            raise ValueError(f"{source}: key attribute {key.name!r} collides with a column the job adds")


def catalog_configuration(arguments: JobArguments) -> dict[str, str]:
    """Spark settings of the Iceberg catalog: the only difference between Glue and a local session."""
    prefix = f"spark.sql.catalog.{arguments.catalog_name}"
    settings = {prefix: "org.apache.iceberg.spark.SparkCatalog", f"{prefix}.warehouse": arguments.warehouse,
                "spark.sql.extensions": ICEBERG_EXTENSIONS, "spark.sql.session.timeZone": "UTC"}
    if arguments.catalog_type == "glue":
        settings[f"{prefix}.catalog-impl"] = "org.apache.iceberg.aws.glue.GlueCatalog"
        settings[f"{prefix}.io-impl"] = "org.apache.iceberg.aws.s3.S3FileIO"
    else:
        settings[f"{prefix}.type"] = "hadoop"
    return settings


# ---------------------------------------------------------------- unwrapping DynamoDB JSON (pure Python)


def _json_number(digits: str) -> str:
    """DynamoDB's number text as a JSON number with the same digits (never through a float)."""
    text = digits.strip()
    if JSON_NUMBER.fullmatch(text):
        return text
    try:  # forms JSON does not allow (`.5`, `+1`, `01`) with the same value
        canonical = str(Decimal(text))
    except InvalidOperation as error:
        raise ValueError(f"not a DynamoDB number: {digits!r}") from error
    if not JSON_NUMBER.fullmatch(canonical):
        raise ValueError(f"not a finite DynamoDB number: {digits!r}")
    return canonical


def _unwrapped_json(typed: dict[str, Any]) -> str:
    if len(typed) != 1:
        raise ValueError(f"a DynamoDB attribute value has exactly one type, got {sorted(typed)}")
    (kind, value), = typed.items()
    if kind in ("S", "B"):
        return json.dumps(value, ensure_ascii=False)
    if kind == "N":
        return _json_number(value)
    if kind == "BOOL":
        return "true" if value in (True, "true") else "false"
    if kind == "NULL":
        return "null"
    if kind in ("SS", "BS"):
        return "[" + ",".join(json.dumps(member, ensure_ascii=False) for member in value) + "]"
    if kind == "NS":
        return "[" + ",".join(_json_number(member) for member in value) + "]"
    if kind == "L":
        return "[" + ",".join(_unwrapped_json(member) for member in value) + "]"
    if kind == "M":
        return _unwrapped_map(value)
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def _unwrapped_map(attributes: dict[str, Any]) -> str:
    # Sorted names: the same item always gives the same text, whatever order the stream wrote its attributes in.
    members = (json.dumps(name, ensure_ascii=False) + ":" + _unwrapped_json(attributes[name])
               for name in sorted(attributes))
    return "{" + ",".join(members) + "}"


def unwrap_item(json_text: str | None) -> str | None:
    """A DynamoDB image (`{"a": {"N": "1"}, ...}`) as plain JSON: numbers as JSON numbers with their exact digits,
    SS/NS/BS as arrays, B as its base64 text, NULL as null, BOOL as a boolean, M and L nested."""
    if json_text is None:
        return None
    return _unwrapped_map(json.loads(json_text))


# ---------------------------------------------------------------- Spark


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


def quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def sql_text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class TableRunSummary:
    source: str
    target: str
    files_read: int = 0
    records_read: int = 0
    malformed_records: int = 0
    changes_merged: int = 0
    tombstones_purged: int = 0
    watermark_us: int | None = None
    maintenance: bool = False
    seconds: float = 0.0


@dataclass
class TableState:
    watermark_us: int | None = None
    runs: int = 0
    last_maintenance_run: int = 0


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

    # ------------------------------------------------------------ setup

    def ensure_database_and_state(self) -> None:
        self.spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {self.namespace}")
        self.spark.sql(f"""CREATE TABLE IF NOT EXISTS {self.table(STATE_TABLE)} (
            source_table STRING, target_table STRING, watermark_us BIGINT, runs BIGINT,
            last_maintenance_run BIGINT, updated_at TIMESTAMP) USING iceberg
            TBLPROPERTIES ('format-version'='2')""")

    def discover_sources(self) -> tuple[TableSpec, ...]:
        """One table per `<source>/cdc_data` folder below the raw path."""
        jvm = self.spark.sparkContext._jvm
        root = jvm.org.apache.hadoop.fs.Path(self.arguments.raw_path)
        filesystem = root.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration())
        if not filesystem.exists(root):
            return ()
        sources = []
        for status in filesystem.listStatus(root):
            if status.isDirectory() and filesystem.exists(jvm.org.apache.hadoop.fs.Path(status.getPath(), "cdc_data")):
                source = status.getPath().getName()
                sources.append(TableSpec(source, sanitized_table_name(source)))
        specs = tuple(sorted(sources, key=lambda spec: spec.source))
        validate_table_specs(specs)
        return specs

    def table_exists(self, name: str) -> bool:
        return any(row["tableName"] == name for row in self.spark.sql(f"SHOW TABLES IN {self.namespace}").collect())

    def stored_keys(self, target: str) -> tuple[KeyAttribute, ...]:
        rows = self.spark.sql(f"SHOW TBLPROPERTIES {self.table(target)} ('cdc.keys')").collect()
        value = rows[0]["value"] if rows else ""
        if not value.startswith("["):
            return ()
        return tuple(KeyAttribute(key["name"], key["type"]) for key in json.loads(value))

    def create_tables(self, spec: TableSpec, keys: tuple[KeyAttribute, ...]) -> None:
        key_columns = ", ".join(f"{quoted(key.name)} {'BINARY' if key.type == 'B' else 'STRING'}" for key in keys)
        metadata = ("cdc_event_name STRING, cdc_event_id STRING, cdc_event_time_us BIGINT, cdc_source_file STRING, "
                    "cdc_merged_at TIMESTAMP")
        keys_property = sql_text(json.dumps([{"name": key.name, "type": key.type} for key in keys]))
        # merge-on-read: a merge writes position deletes instead of rewriting every touched data file.
        properties = ("'format-version'='2', 'write.delete.mode'='merge-on-read', 'write.update.mode'='merge-on-read',"
                      f" 'write.merge.mode'='merge-on-read', 'cdc.keys'={keys_property},"
                      f" 'cdc.source-table'={sql_text(spec.source)}")
        self.spark.sql(f"CREATE TABLE IF NOT EXISTS {self.table(spec.target)} ({key_columns}, item STRING, {metadata})"
                       f" USING iceberg TBLPROPERTIES ({properties})")
        self.spark.sql(f"CREATE TABLE IF NOT EXISTS {self.table(spec.target + TOMBSTONE_SUFFIX)} ({key_columns},"
                       f" {metadata}) USING iceberg TBLPROPERTIES ({properties})")

    def read_state(self, source: str) -> TableState:
        rows = self.spark.sql(f"SELECT watermark_us, runs, last_maintenance_run FROM {self.table(STATE_TABLE)}"
                              f" WHERE source_table = {sql_text(source)}").collect()
        if not rows:
            return TableState()
        return TableState(rows[0]["watermark_us"], rows[0]["runs"] or 0, rows[0]["last_maintenance_run"] or 0)

    def write_state(self, spec: TableSpec, state: TableState) -> None:
        watermark = "CAST(NULL AS BIGINT)" if state.watermark_us is None else str(state.watermark_us)
        self.spark.sql(f"""MERGE INTO {self.table(STATE_TABLE)} t
            USING (SELECT {sql_text(spec.source)} AS source_table, {sql_text(spec.target)} AS target_table,
                          {watermark} AS watermark_us, {state.runs} AS runs,
                          {state.last_maintenance_run} AS last_maintenance_run, current_timestamp() AS updated_at) s
            ON t.source_table = s.source_table
            WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *""")

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
            F.unix_micros(F.col("_metadata.file_modification_time")).alias("file_time_us"))
        if threshold_us is not None:
            lines = lines.where(F.col("file_time_us") > F.lit(threshold_us))
        return lines

    def parse_changes(self, lines: "DataFrame") -> "DataFrame":
        from pyspark.sql import functions as F

        record = F.from_json("value", record_schema(), {"mode": "PERMISSIVE"})
        created = F.col("r.dynamodb.ApproximateCreationDateTime")
        return (lines.where(F.length(F.trim("value")) > 0)
                .select(record.alias("r"), "source_file", "file_time_us")
                .select(
                    F.col("r.eventName").alias("cdc_event_name"), F.col("r.eventID").alias("cdc_event_id"),
                    F.when(created < MICROSECONDS_THRESHOLD, created * 1000).otherwise(created)
                    .alias("cdc_event_time_us"),
                    F.col("r.dynamodb.Keys").alias("keys_json"), F.col("r.dynamodb.NewImage").alias("new_image"),
                    F.col("source_file").alias("cdc_source_file"), "file_time_us"))

    def discover_keys(self, spec: TableSpec, changes: "DataFrame") -> tuple[KeyAttribute, ...]:
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        typed = F.from_json("keys_json", T.MapType(T.StringType(), T.MapType(T.StringType(), T.StringType())))
        pairs = (changes.select(F.explode(typed).alias("name", "typed"))
                 .select("name", F.explode(F.map_keys("typed")).alias("type")).distinct().collect())
        keys = tuple(sorted((KeyAttribute(row["name"], row["type"]) for row in pairs), key=lambda key: key.name))
        validate_keys(spec.source, keys)
        return keys

    # ------------------------------------------------------------ merging

    def newest_change_per_key(self, changes: "DataFrame", keys: tuple[KeyAttribute, ...]) -> "DataFrame":
        """Valid changes with their key columns, only the newest per key; its item unwrapped."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        typed = F.from_json("keys_json", T.MapType(T.StringType(), T.MapType(T.StringType(), T.StringType())))
        rank = F.coalesce(*[F.when(F.col("cdc_event_name") == name, F.lit(value))
                            for name, value in EVENT_RANK.items()])
        with_keys = changes.withColumn("key_map", typed).withColumn("cdc_event_rank", rank)
        for key in keys:
            value = F.element_at(F.element_at("key_map", F.lit(key.name)), F.lit(key.type))
            with_keys = with_keys.withColumn(key.name, F.unbase64(value) if key.type == "B" else value)
        valid = with_keys.where(
            F.col("cdc_event_rank").isNotNull() & F.col("cdc_event_id").isNotNull()
            & F.col("cdc_event_time_us").isNotNull()
            & F.expr(" AND ".join(f"{quoted(key.name)} IS NOT NULL" for key in keys)))
        order = Window.partitionBy(*[F.col(quoted(key.name)) for key in keys]).orderBy(
            F.col("cdc_event_time_us").desc(), F.col("cdc_event_rank").desc(), F.col("cdc_event_id").desc(),
            F.col("cdc_source_file").asc())
        newest = valid.withColumn("position", F.row_number().over(order)).where("position = 1")
        if __name__ != "__main__":
            # Imported (local runner, tests) rather than run as Glue's main script: the Python workers cannot import
            # this module by name, so the UDF travels by value.
            from pyspark import cloudpickle
            cloudpickle.register_pickle_by_value(sys.modules[__name__])
        unwrap = F.udf(unwrap_item, T.StringType())
        item = F.when(F.col("cdc_event_name") == "REMOVE", F.lit(None).cast("string")).otherwise(unwrap("new_image"))
        return newest.select(*[F.col(quoted(key.name)) for key in keys], item.alias("item"), "cdc_event_name",
                             "cdc_event_id", "cdc_event_time_us", "cdc_source_file", "cdc_event_rank")

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

    def key_join(self, left: str, right: str, keys: tuple[KeyAttribute, ...]) -> str:
        return " AND ".join(f"{left}.{quoted(key.name)} = {right}.{quoted(key.name)}" for key in keys)

    def not_superseded_by_tombstones(self, target: str, keys: tuple[KeyAttribute, ...]) -> None:
        """View `cdc_candidates`: the batch's changes no tombstone supersedes (no late change resurrects)."""
        tombstones = self.table(target + TOMBSTONE_SUFFIX)
        self.spark.sql(f"""CREATE OR REPLACE TEMPORARY VIEW cdc_candidates AS
            SELECT c.* FROM cdc_newest c LEFT JOIN {tombstones} d ON {self.key_join('d', 'c', keys)}
            WHERE d.cdc_event_id IS NULL OR {self.newer('c', 'd')}""")

    def merge_into_live(self, target: str, keys: tuple[KeyAttribute, ...]) -> None:
        columns = [quoted(key.name) for key in keys] + ["item", "cdc_event_name", "cdc_event_id",
                                                        "cdc_event_time_us", "cdc_source_file"]
        assignments = ", ".join(f"t.{column} = s.{column}" for column in columns)
        self.spark.sql(f"""MERGE INTO {self.table(target)} t USING cdc_source s ON {self.key_join('t', 's', keys)}
            WHEN MATCHED AND {self.newer('s', 't')} AND s.cdc_event_name = 'REMOVE' THEN DELETE
            WHEN MATCHED AND {self.newer('s', 't')} THEN UPDATE SET {assignments}, t.cdc_merged_at = current_timestamp()
            WHEN NOT MATCHED AND s.cdc_event_name <> 'REMOVE' THEN
                INSERT ({', '.join(columns)}, cdc_merged_at)
                VALUES ({', '.join('s.' + column for column in columns)}, current_timestamp())""")

    def merge_into_tombstones(self, target: str, keys: tuple[KeyAttribute, ...]) -> None:
        columns = [quoted(key.name) for key in keys] + ["cdc_event_name", "cdc_event_id", "cdc_event_time_us",
                                                        "cdc_source_file"]
        assignments = ", ".join(f"t.{column} = s.{column}" for column in columns)
        self.spark.sql(f"""MERGE INTO {self.table(target + TOMBSTONE_SUFFIX)} t
            USING (SELECT * FROM cdc_source WHERE cdc_event_name = 'REMOVE') s ON {self.key_join('t', 's', keys)}
            WHEN MATCHED AND {self.newer('s', 't')} THEN UPDATE SET {assignments}, t.cdc_merged_at = current_timestamp()
            WHEN NOT MATCHED THEN INSERT ({', '.join(columns)}, cdc_merged_at)
                VALUES ({', '.join('s.' + column for column in columns)}, current_timestamp())""")

    def purge_tombstones(self, target: str) -> int:
        horizon_us = int((self.now - timedelta(days=self.arguments.lateness_window_days)).timestamp() * 1_000_000)
        tombstones = self.table(target + TOMBSTONE_SUFFIX)
        expired = self.spark.sql(f"SELECT count(*) AS n FROM {tombstones} WHERE cdc_event_time_us < {horizon_us}")
        count = expired.collect()[0]["n"]
        if count:
            self.spark.sql(f"DELETE FROM {tombstones} WHERE cdc_event_time_us < {horizon_us}")
        return count

    # ------------------------------------------------------------ maintenance

    def maintenance_due(self, state: TableState) -> bool:
        every = self.arguments.maintenance_every_runs
        return self.arguments.force_maintenance or (every > 0 and state.runs - state.last_maintenance_run >= every)

    def maintain(self, target: str) -> None:
        """Compaction of data and delete files, then expiry of old snapshots (the newest always stays)."""
        catalog = quoted(self.arguments.catalog_name)
        older_than = (self.now - timedelta(hours=self.arguments.snapshot_retention_hours)).strftime(
            "%Y-%m-%d %H:%M:%S.%f")
        for name in (target, target + TOMBSTONE_SUFFIX):
            identifier = sql_text(f"{self.arguments.database}.{name}")
            self.spark.sql(f"CALL {catalog}.system.rewrite_data_files(table => {identifier},"
                           " options => map('delete-file-threshold', '1'))")
            self.spark.sql(f"CALL {catalog}.system.rewrite_position_delete_files(table => {identifier},"
                           " options => map('rewrite-all', 'true'))")
            self.spark.sql(f"CALL {catalog}.system.expire_snapshots(table => {identifier},"
                           f" older_than => TIMESTAMP '{older_than}', retain_last => 1)")

    # ------------------------------------------------------------ one table

    def merge_table(self, spec: TableSpec) -> TableRunSummary:
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        started = time.monotonic()
        summary = TableRunSummary(spec.source, spec.target)
        state = self.read_state(spec.source)
        lines = self.read_new_files(spec, state)
        changes = None
        if lines is not None:
            changes = self.parse_changes(lines).persist(StorageLevel.MEMORY_AND_DISK)
            totals = changes.agg(F.countDistinct("cdc_source_file").alias("files"), F.count("*").alias("records"),
                                 F.sum(F.when(F.col("cdc_event_id").isNull(), 1).otherwise(0)).alias("malformed"),
                                 F.max("file_time_us").alias("newest_file_us")).collect()[0]
            summary.files_read, summary.records_read = totals["files"], totals["records"]
            summary.malformed_records = totals["malformed"] or 0
            if totals["newest_file_us"] is not None:
                summary.watermark_us = max(totals["newest_file_us"], state.watermark_us or 0)
        keys = spec.keys or (self.stored_keys(spec.target) if self.table_exists(spec.target) else ())
        if not keys and changes is not None and summary.records_read:
            keys = self.discover_keys(spec, changes)
        if keys:
            self.create_tables(spec, keys)
        if keys and changes is not None and summary.records_read:
            newest = self.newest_change_per_key(changes, keys)
            newest.createOrReplaceTempView("cdc_newest")
            self.not_superseded_by_tombstones(spec.target, keys)
            # Cached once: both merges read the same changes, and the tombstone merge must not see its own writes.
            source = self.spark.table("cdc_candidates").persist(StorageLevel.MEMORY_AND_DISK)
            source.createOrReplaceTempView("cdc_source")
            try:
                summary.changes_merged = source.count()
                self.merge_into_live(spec.target, keys)
                self.merge_into_tombstones(spec.target, keys)
            finally:
                source.unpersist()
        if keys:
            summary.tombstones_purged = self.purge_tombstones(spec.target)
        if changes is not None:
            changes.unpersist()
        state.runs += 1
        if keys and self.maintenance_due(state):
            self.maintain(spec.target)
            state.last_maintenance_run = state.runs
            summary.maintenance = True
        # Last: the watermark moves only once everything above has committed.
        state.watermark_us = summary.watermark_us if summary.watermark_us is not None else state.watermark_us
        summary.watermark_us = state.watermark_us
        self.write_state(spec, state)
        summary.seconds = round(time.monotonic() - started, 3)
        return summary

    def run(self) -> list[TableRunSummary]:
        self.ensure_database_and_state()
        specs = self.arguments.tables if self.arguments.tables is not None else self.discover_sources()
        summaries = []
        for spec in specs:
            summary = self.merge_table(spec)
            print("cdc_merge table " + json.dumps(summary.__dict__, sort_keys=True), flush=True)
            summaries.append(summary)
        return summaries


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


def main(argv: list[str] | None = None, extra_configuration: dict[str, str] | None = None,
         spark: "SparkSession | None" = None) -> list[TableRunSummary]:
    """The job: on Glue `main()` (arguments from sys.argv); locally and in tests with settings or a session."""
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    if spark is None:
        spark = spark_session(arguments, extra_configuration)
    else:
        apply_catalog_configuration(spark, arguments)
    return CdcMergeJob(spark, arguments).run()


if __name__ == "__main__":
    main()
