"""Runs a sequence of job runs in ONE local Spark session (a session costs 8-15 s to start) and dumps the tables
after each run with pyiceberg, an independent reader of the Iceberg files; then runs the plan's SQL queries (the
docs' Athena examples) in the same session.

    .venv-spark/bin/python tests/glue_jobs/scenario_runner.py PLAN.json RESULT.json

The plan names, per step, the files to deliver (written with their modification time, as Firehose would deliver
them), SQL to run first (tables as an earlier version of the job left them), the job's arguments, and optionally a
method of the job to make fail after it ran, optionally only for tables whose name ends with a suffix (fault
injection: the watermark moves only after the merge commits, and the next run completes what a failed run left).
Runs in the spark venv: standard library, pyspark, pyiceberg.
"""
from __future__ import annotations

import base64
import json
import os
import sys
import traceback
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

JOB = Path(__file__).resolve().parents[2] / "glue_jobs"
sys.path.insert(0, str(JOB))

import cdc_job  # noqa: E402
import cdc_merge  # noqa: E402
import cdc_settings  # noqa: E402
import run_local  # noqa: E402


def json_value(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"base64": base64.b64encode(value).decode()}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [json_value(member) for member in value]
    if isinstance(value, dict):
        return {name: json_value(member) for name, member in value.items()}
    return value


def live_file_contents(iceberg: Any) -> list[int]:
    """The content type (0 data, 1 position deletes, 2 equality deletes) of each file of the current snapshot."""
    snapshot = iceberg.current_snapshot()
    if snapshot is None:
        return []
    return [int(entry.data_file.content) for manifest in snapshot.manifests(iceberg.io)
            for entry in manifest.fetch_manifest_entry(iceberg.io, discard_deleted=True)]


def read_table(warehouse: Path, database: str, table: str) -> dict[str, Any] | None:
    from pyiceberg.table import StaticTable

    folder = warehouse / database / table / "metadata"
    if not (folder / "version-hint.text").exists():
        return None
    version = (folder / "version-hint.text").read_text().strip()
    iceberg = StaticTable.from_metadata(str(folder / f"v{version}.metadata.json"))
    contents = live_file_contents(iceberg)
    has_data = 0 in contents  # pyiceberg cannot scan a snapshot without data files
    # The batch reader keeps the schema when position deletes leave no rows (to_arrow() then fails).
    arrow_rows = iceberg.scan().to_arrow_batch_reader().read_all().to_pylist() if has_data else []
    rows = [{name: json_value(value) for name, value in row.items()} for row in arrow_rows]
    return {
        "rows": rows,
        "columns": [{"name": column.name, "type": str(column.field_type), "doc": column.doc}
                    for column in iceberg.schema().fields],
        "format_version": iceberg.metadata.format_version,
        "properties": dict(iceberg.properties),
        "snapshots": len(iceberg.snapshots()),
        "data_files": contents.count(0),
        "delete_files": len(contents) - contents.count(0),
        "partition": [f"{field.transform}({iceberg.schema().find_column_name(field.source_id)})"
                      for field in iceberg.spec().fields],
    }


def dump(warehouse: Path, database: str) -> dict[str, Any]:
    folder = warehouse / database
    names = sorted(path.name for path in folder.iterdir()) if folder.exists() else []
    return {name: read_table(warehouse, database, name) for name in names}


def deliver(raw: Path, files: list[dict[str, Any]]) -> None:
    for entry in files:
        path = raw / entry["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(entry["text"], encoding="utf-8")
        os.utime(path, (entry["mtime"], entry["mtime"]))


def run_step(spark: Any, step: dict[str, Any]) -> dict[str, Any]:
    failing, only_on = step.get("fail_after"), step.get("fail_on", "")
    original = getattr(cdc_job.CdcMergeJob, failing) if failing else None
    if failing:
        def fail_after(self: Any, *arguments: Any, **keywords: Any) -> Any:
            result = original(self, *arguments, **keywords)
            table = arguments[0] if arguments else next(iter(keywords.values()), "")
            if str(table).endswith(only_on):
                raise RuntimeError(f"injected failure after {failing}")
            return result
        setattr(cdc_job.CdcMergeJob, failing, fail_after)
    try:
        summaries = cdc_merge.main(run_local.local_arguments(step["args"]), spark=spark)
        return {"summaries": [summary.__dict__ for summary in summaries], "error": None}
    except cdc_job.RunFailed as failure:  # tables failed, the others were merged
        return {"summaries": [summary.__dict__ for summary in failure.summaries], "error": str(failure)}
    except Exception as error:  # the failure is the step's result
        return {"summaries": [], "error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
    finally:
        if failing:
            setattr(cdc_job.CdcMergeJob, failing, original)


def run_queries(spark: Any, database: str, queries: list[str]) -> list[dict[str, Any]]:
    """Each query's rows, or its error (a query the docs show must run)."""
    spark.sql(f"USE local.{database}")
    answers = []
    for query in queries:
        try:
            rows = [{name: json_value(value) for name, value in row.asDict().items()}
                    for row in spark.sql(query).collect()]
            answers.append({"query": query, "rows": rows, "error": None})
        except Exception as error:
            answers.append({"query": query, "rows": [], "error": f"{type(error).__name__}: {error}"})
    return answers


def main(plan_path: str, result_path: str) -> int:
    plan = json.loads(Path(plan_path).read_text())
    raw, warehouse = Path(plan["raw"]), Path(plan["warehouse"])
    first = run_local.local_arguments(plan["steps"][0]["args"])
    spark = cdc_job.spark_session(cdc_settings.parse_arguments(first), run_local.local_spark_configuration())
    spark.sparkContext.setLogLevel("ERROR")
    results = []
    for step in plan["steps"]:
        deliver(raw, step["files"])
        for statement in step.get("setup_sql", ()):  # tables as an earlier version of the job left them
            spark.sql(statement)
        outcome = run_step(spark, step)
        database = first[first.index("--database") + 1] if "--database" not in step["args"] else \
            step["args"][step["args"].index("--database") + 1]
        outcome.update({"name": step["name"], "tables": dump(warehouse, database)})
        results.append(outcome)
    queries = run_queries(spark, plan["queries"]["database"], plan["queries"]["sql"]) if plan.get("queries") else []
    spark.stop()
    Path(result_path).write_text(json.dumps({"steps": results, "queries": queries}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
