"""AWS Glue 5 (Spark 3.5, Python 3) job: DynamoDB change records in the raw bucket become current-state Iceberg tables.

The script Glue runs. Its modules (cdc_settings, cdc_items, cdc_columns, cdc_identity, cdc_job) reach Glue through
`--extra-py-files`; locally `glue_jobs/run_local.py` runs the same code in a local Spark session. They import only
pyspark and the standard library; Glue-specific code is limited to argument parsing (Glue appends its own arguments,
`--JOB_NAME`, `--TempDir`, ..., which are ignored), everything else is plain Spark and Iceberg SQL.

Input: newline-delimited JSON records exactly as DynamoDB's Kinesis streaming destination writes them and Firehose
stores them, below `<raw-path>/<source table>/cdc_data/year=YYYY/month=MM/day=DD/hour=HH/<file>`. Each line is read
as text and parsed with an explicit schema (schema inference fails on attribute names differing only by case, such
as `Status` and `status`); images stay raw JSON text until they are unwrapped.

Arguments (`--name value`, as Glue passes them):
  --raw-path                 root holding one `<source table>/cdc_data` folder per table (`s3://bucket/dynamodb_data/`
                             on AWS, a local folder locally).
  --catalog-name             Spark catalog name the tables are addressed through (default `lakehouse`).
  --catalog-type             `glue` (org.apache.iceberg.aws.glue.GlueCatalog with S3FileIO) or `hadoop` (a catalog on
                             a local or HDFS warehouse folder, Iceberg's Hadoop layout
                             `<warehouse>/<database>/<table>/`).
  --warehouse                warehouse URI (`s3://processed-bucket/lakehouse/`, or a local folder).
  --database                 catalog database (namespace) holding the tables.
  --tables                   optional JSON list: `[{"source": "Orders", "target": "orders",
                             "keys": [{"name": "pk", "type": "S"}, {"name": "sk", "type": "N"}],
                             "columns": {"amount": "decimal"}, "max_columns": 50}]` (all but `source` optional).
                             Without it, one table per `<source>/cdc_data` folder found in the raw path, keys taken from
                             the records' `dynamodb.Keys` (and kept in the table's `cdc.keys` property afterwards).
  --overlap-minutes          files modified up to this long before the watermark are read again (default 60):
                             S3's LastModified is not the moment an object becomes listable; re-reading is harmless.
  --lateness-window-days     how long tombstones of deleted items are kept (default 7), see "Deletes".
  --maintenance-every-runs   Iceberg maintenance every N runs of a table (default 24; 0 never unless forced).
  --maintenance              `true` forces maintenance in this run (default `false`).
  --snapshot-retention-hours snapshots older than this are expired by maintenance (default 168; the last one stays).
  --max-typed-columns        typed columns per table unless `--tables` sets `max_columns` (default 200).

Output, per source table, in `<catalog>.<database>`:
  `<target>`: the live items now (Iceberg format version 2, merge-on-read). Columns: each key attribute under its own
    name (S -> string; N -> string holding DynamoDB's digits exactly; B -> binary), one typed column per top-level
    attribute (cdc_columns.py: types, names, conflicts, widening), `item` (the whole item as plain JSON, cdc_items.py),
    `cdc_attribute_types` (each attribute's DynamoDB type), `cdc_type_conflicts` (attributes whose value their typed
    column cannot hold), `cdc_event_name`, `cdc_event_id`, `cdc_event_time_us` (the change's
    ApproximateCreationDateTime in microseconds since the epoch), `cdc_source_file`, `cdc_merged_at` (timestamp).
  `<target>__deletes`: tombstones, the key columns plus the same `cdc_` event columns, for deleted items.
  `<target>__v<n>`: the items of a DynamoDB table the source table replaced (cdc_identity.py).
  `cdc_merge_runs` (one per database): one row per table and run: what it read and merged, conflicts, columns added.
  The table's state is in its properties: `cdc.keys`, `cdc.generation`, `cdc.columns`, `cdc.watermark-us`, ...
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
prunes the other files before they are opened). The watermark is the newest modification time among the files read,
never later than the run's start (a file dated in the future is read again until then), and is stored only after
the merges have committed: a failed run is simply read again by the next one.

Failures: a table whose folder holds another table's changes, or changes with different keys interleaved in time,
is not merged (its watermark stays); the other tables are, and the run then fails naming each failed table.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from cdc_job import CdcMergeJob, RunFailed, TableRunSummary, apply_catalog_configuration, spark_session
from cdc_settings import parse_arguments

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def main(argv: list[str] | None = None, extra_configuration: dict[str, str] | None = None,
         spark: "SparkSession | None" = None) -> list[TableRunSummary]:
    """The job: on Glue `main()` (arguments from sys.argv); locally and in tests with settings or a session.
    Raises RunFailed, after merging the others, when a table failed."""
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    if spark is None:
        spark = spark_session(arguments, extra_configuration)
    else:
        apply_catalog_configuration(spark, arguments)
    summaries = CdcMergeJob(spark, arguments).run()
    if any(summary.error for summary in summaries):
        raise RunFailed(summaries)
    return summaries


if __name__ == "__main__":
    main()
