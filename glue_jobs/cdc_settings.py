"""The job's arguments as Glue passes them (`--name value`; Glue's own, `--JOB_NAME`, `--TempDir`, ..., ignored),
the tables it merges, their names, and the Spark settings of the Iceberg catalog. Pure Python."""
from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass

from cdc_columns import COLUMN_TYPES, DEFAULT_MAX_COLUMNS, JOB_PREFIX
from cdc_identity import KEY_TYPES, KeySchema, key_schema

TOMBSTONE_SUFFIX = "__deletes"
RUNS_TABLE = "cdc_merge_runs"
LEGACY_STATE_TABLE = "cdc_merge_state"  # where earlier versions of the job kept the watermarks
RESERVED_COLUMNS = ("item",)  # and every column starting with `cdc_`
ARCHIVE_NAME = re.compile(r".*__v[0-9]+")
MAX_COLUMNS_LIMIT = 1000
ICEBERG_EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"


class JobInputError(ValueError):
    """Arguments or input the job refuses, with what to do about it."""


@dataclass(frozen=True)
class TableSpec:
    source: str
    target: str
    keys: KeySchema = ()  # empty: taken from the table's property or the records
    columns: tuple[tuple[str, str], ...] = ()  # declared typed columns: (attribute, column type)
    max_columns: int = DEFAULT_MAX_COLUMNS


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


def sanitized_table_name(source: str) -> str:
    """The Iceberg table name of a DynamoDB table: lowercase, characters other than a-z, 0-9, `_` become `_`."""
    return re.sub(r"[^a-z0-9_]", "_", source.lower())


def _as_bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _table_specs(tables_json: str, max_columns: int) -> tuple[TableSpec, ...]:
    specs = []
    for entry in json.loads(tables_json):
        specs.append(TableSpec(
            entry["source"], entry.get("target") or sanitized_table_name(entry["source"]),
            key_schema(entry.get("keys", ())), tuple(entry.get("columns", {}).items()),
            entry.get("max_columns", max_columns)))
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
    known, _glue_arguments = parser.parse_known_args(argv)
    arguments = JobArguments(
        raw_path=known.raw_path.rstrip("/"), catalog_name=known.catalog_name, catalog_type=known.catalog_type,
        warehouse=known.warehouse, database=known.database,
        tables=_table_specs(known.tables, known.max_typed_columns) if known.tables.strip() else None,
        overlap_minutes=known.overlap_minutes, lateness_window_days=known.lateness_window_days,
        maintenance_every_runs=known.maintenance_every_runs, force_maintenance=known.maintenance,
        snapshot_retention_hours=known.snapshot_retention_hours, max_columns=known.max_typed_columns)
    if arguments.tables is not None:
        validate_table_specs(arguments.tables)
    return arguments


def validate_table_specs(specs: tuple[TableSpec, ...]) -> None:
    targets = [spec.target for spec in specs]
    duplicates = sorted({target for target in targets if targets.count(target) > 1})
    if duplicates:
        raise JobInputError(f"several source tables map to the same target table: {duplicates}")
    for spec in specs:
        if not re.fullmatch(r"[a-z0-9_]+", spec.target) or spec.target in (RUNS_TABLE, LEGACY_STATE_TABLE) \
                or spec.target.endswith(TOMBSTONE_SUFFIX) or ARCHIVE_NAME.fullmatch(spec.target):
            raise JobInputError(f"target table name {spec.target!r} is not allowed (it ends like the job's own "
                                f"tables, {TOMBSTONE_SUFFIX} or __v<n>, or is one of them)")
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

