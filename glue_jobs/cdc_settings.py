"""The job's arguments as Glue passes them (`--name value`; Glue's own, `--JOB_NAME`, `--TempDir`, ..., ignored),
the tables it merges, their names, and the Spark settings of the Iceberg catalog. Pure Python."""
from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass

from cdc_checks import (DEFAULT_COUNT_TOLERANCE_PERCENT, DEFAULT_MAX_CHANGE_AGE_HOURS, CheckSettings,
                        ChecksInputError, CountSource, parse_item_counts)
from cdc_columns import COLUMN_TYPES, DEFAULT_MAX_COLUMNS, JOB_PREFIX
from cdc_identity import KEY_TYPES, KeySchema, key_schema
from cdc_metrics import DEFAULT_NAMESPACE, MetricsInputError, metric_sink

TOMBSTONE_SUFFIX = "__deletes"
HISTORY_SUFFIX = "__history"
RUNS_TABLE = "cdc_merge_runs"
CHECKS_TABLE = "cdc_check_results"
LEGACY_STATE_TABLE = "cdc_merge_state"  # where earlier versions of the job kept the watermarks
RESERVED_COLUMNS = ("item",)  # and every column starting with `cdc_`
ARCHIVE_NAME = re.compile(r".*__v[0-9]+")
MAX_COLUMNS_LIMIT = 1000
ICEBERG_EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"


class JobInputError(ValueError):
    """Arguments or input the job refuses, with what to do about it."""


TABLE_ENTRY_KEYS = {"source", "target", "keys", "columns", "max_columns", "history", "max_change_age_hours",
                    "item_count_tolerance_percent", "item_count_role", "item_count_region"}


@dataclass(frozen=True)
class TableSpec:
    source: str
    target: str
    keys: KeySchema = ()  # empty: taken from the table's property or the records
    columns: tuple[tuple[str, str], ...] = ()  # declared typed columns: (attribute, column type)
    max_columns: int = DEFAULT_MAX_COLUMNS
    checks: CheckSettings = CheckSettings()
    history: bool = False  # an append-only `<target>__history` of every change
    count_source: CountSource | None = None  # where the source table's ItemCount is read


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
    max_columns: int = DEFAULT_MAX_COLUMNS
    checks: CheckSettings = CheckSettings()  # of discovered tables, and of --tables entries that set none
    history: bool = False  # of discovered tables
    item_counts: tuple[tuple[str, int], ...] = ()  # given source item counts (local runs, tests)
    metrics: str = "none"  # none, cloudwatch, file:<path>
    metrics_namespace: str = DEFAULT_NAMESPACE


def sanitized_table_name(source: str) -> str:
    """The Iceberg table name of a DynamoDB table: lowercase, characters other than a-z, 0-9, `_` become `_`."""
    return re.sub(r"[^a-z0-9_]", "_", source.lower())


def _as_bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _table_specs(tables_json: str, max_columns: int, checks: CheckSettings) -> tuple[TableSpec, ...]:
    specs = []
    for entry in json.loads(tables_json):
        unknown = sorted(set(entry) - TABLE_ENTRY_KEYS)
        if unknown:
            raise JobInputError(f"--tables entry {entry.get('source')!r} has the unknown key {unknown[0]!r}; known: "
                                + ", ".join(sorted(TABLE_ENTRY_KEYS)))
        role = entry.get("item_count_role")
        specs.append(TableSpec(
            entry["source"], entry.get("target") or sanitized_table_name(entry["source"]),
            key_schema(entry.get("keys", ())), tuple(entry.get("columns", {}).items()),
            entry.get("max_columns", max_columns),
            CheckSettings(entry.get("max_change_age_hours", checks.max_change_age_hours),
                          entry.get("item_count_tolerance_percent", checks.item_count_tolerance_percent)),
            bool(entry.get("history", False)),
            CountSource(role, entry.get("item_count_region", "")) if role else None))
    return tuple(specs)


def parse_arguments(argv: list[str]) -> JobArguments:
    parser = argparse.ArgumentParser(description="DynamoDB change records -> current-state Iceberg tables")
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
    parser.add_argument("--max-typed-columns", type=int, default=DEFAULT_MAX_COLUMNS)
    parser.add_argument("--max-change-age-hours", type=int, default=DEFAULT_MAX_CHANGE_AGE_HOURS)
    parser.add_argument("--item-count-tolerance-percent", type=float, default=DEFAULT_COUNT_TOLERANCE_PERCENT)
    parser.add_argument("--item-counts", default="")
    parser.add_argument("--history", type=_as_bool, default=False)
    parser.add_argument("--metrics", default="none")
    parser.add_argument("--metrics-namespace", default=DEFAULT_NAMESPACE)
    known, _glue_arguments = parser.parse_known_args(argv)
    try:
        checks = CheckSettings(known.max_change_age_hours, known.item_count_tolerance_percent)
        tables = _table_specs(known.tables, known.max_typed_columns, checks) if known.tables.strip() else None
        item_counts = tuple(sorted(parse_item_counts(known.item_counts).items()))
        metric_sink(known.metrics, known.metrics_namespace)  # refused here, before Spark starts
    except (ChecksInputError, MetricsInputError) as error:
        raise JobInputError(str(error)) from None
    arguments = JobArguments(
        raw_path=known.raw_path.rstrip("/"), catalog_name=known.catalog_name, catalog_type=known.catalog_type,
        warehouse=known.warehouse, database=known.database, tables=tables,
        overlap_minutes=known.overlap_minutes, lateness_window_days=known.lateness_window_days,
        maintenance_every_runs=known.maintenance_every_runs, force_maintenance=known.maintenance,
        snapshot_retention_hours=known.snapshot_retention_hours, max_columns=known.max_typed_columns,
        checks=checks, history=known.history, item_counts=item_counts, metrics=known.metrics,
        metrics_namespace=known.metrics_namespace)
    if arguments.tables is not None:
        validate_table_specs(arguments.tables)
    return arguments


def validate_table_specs(specs: tuple[TableSpec, ...]) -> None:
    targets = [spec.target for spec in specs]
    duplicates = sorted({target for target in targets if targets.count(target) > 1})
    if duplicates:
        raise JobInputError(f"several source tables map to the same target table: {duplicates}")
    for spec in specs:
        if not re.fullmatch(r"[a-z0-9_]+", spec.target) or spec.target in (RUNS_TABLE, CHECKS_TABLE,
                                                                            LEGACY_STATE_TABLE) \
                or spec.target.endswith((TOMBSTONE_SUFFIX, HISTORY_SUFFIX)) or ARCHIVE_NAME.fullmatch(spec.target):
            raise JobInputError(f"target table name {spec.target!r} is not allowed (it ends like the job's own "
                                f"tables, {TOMBSTONE_SUFFIX}, {HISTORY_SUFFIX} or __v<n>, or is one of them)")
        validate_keys(spec.source, spec.keys)
        validate_columns(spec)


def validate_keys(source: str, keys: KeySchema) -> None:
    lowered = [key.name.lower() for key in keys]
    if len(keys) > 2 or len(set(lowered)) != len(keys):
        raise JobInputError(f"{source}: a DynamoDB key has one or two distinct attributes, got {keys}")
    for key in keys:
        if key.type not in KEY_TYPES:
            raise JobInputError(f"{source}: key attribute {key.name!r} has type {key.type!r}, not one of S, N, B")
        if key.name.lower() in RESERVED_COLUMNS or key.name.lower().startswith(JOB_PREFIX):
            raise JobInputError(f"{source}: key attribute {key.name!r} collides with a column the job adds "
                                f"(item, {JOB_PREFIX}*)")


def validate_columns(spec: TableSpec) -> None:
    if not 0 <= spec.max_columns <= MAX_COLUMNS_LIMIT:
        raise JobInputError(f"{spec.source}: max_columns {spec.max_columns} is not between 0 and {MAX_COLUMNS_LIMIT}")
    keys = {key.name for key in spec.keys}
    for attribute, column_type in spec.columns:
        if column_type not in COLUMN_TYPES:
            raise JobInputError(f"{spec.source}: column {attribute!r} has type {column_type!r}, not one of "
                                + ", ".join(COLUMN_TYPES))
        if attribute in keys or not attribute:
            raise JobInputError(f"{spec.source}: column {attribute!r} is a key attribute, not a typed column")
    if len(spec.columns) > spec.max_columns:
        raise JobInputError(f"{spec.source}: {len(spec.columns)} declared columns exceed max_columns "
                            f"{spec.max_columns}")


def catalog_configuration(arguments: JobArguments) -> dict[str, str]:
    """Spark settings of the Iceberg catalog (the only difference between Glue and a local session), and of the SQL
    the job writes: attribute names are quoted into it, so `${...}` in one must stay text, not a variable."""
    prefix = f"spark.sql.catalog.{arguments.catalog_name}"
    settings = {prefix: "org.apache.iceberg.spark.SparkCatalog", f"{prefix}.warehouse": arguments.warehouse,
                "spark.sql.extensions": ICEBERG_EXTENSIONS, "spark.sql.session.timeZone": "UTC",
                "spark.sql.variable.substitute": "false"}
    if arguments.catalog_type == "glue":
        settings[f"{prefix}.catalog-impl"] = "org.apache.iceberg.aws.glue.GlueCatalog"
        settings[f"{prefix}.io-impl"] = "org.apache.iceberg.aws.s3.S3FileIO"
    else:
        settings[f"{prefix}.type"] = "hadoop"
    return settings

