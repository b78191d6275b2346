"""Local merge throughput of the lakehouse job, and the cost of an incremental run after a large history against a
full rebuild of that history.

    .venv-spark/bin/python bench/lakehouse.py [--items 6000] [--hours 48] [--output figures.json]

One Spark session (local[2], driver 1 GiB, as `make lakehouse-local`) runs the job script twice: a full rebuild of
a history of `--hours` hourly Firehose files into a fresh warehouse, then an incremental run after one more hour
arrived (the watermark skips the history; the overlap re-reads the previous hour's file). The ratio is the
incremental run's time over the full rebuild's. Session start is reported apart: every job run pays it once.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "glue_jobs"))

from tests.glue_jobs.cdc_records import Change, FirehoseFile, ItemFactory, firehose_path, utc_microseconds  # noqa: E402

TABLE = "BenchOrders"


def hour_of_changes(rng: random.Random, factory: ItemFactory, items: int, hour_start_us: int, per_hour: int,
                    versions: dict[int, int]) -> list[Change]:
    """Changes of one hour: new items, modifies of earlier ones, a few deletes, in arrival order."""
    changes = []
    for position in range(per_hour):
        number = rng.randrange(items)
        keys = {"pk": {"S": f"customer#{number % 997}"}, "sk": {"N": str(number)}}
        version = versions.get(number, 0) + 1
        versions[number] = version
        time_us = hour_start_us + position * (3_600_000_000 // per_hour)
        event_id = "%032x" % rng.getrandbits(128)
        if version == 1:
            changes.append(Change(TABLE, keys, "INSERT", time_us, event_id, factory.image(keys, version)))
        elif rng.random() < 0.05:
            changes.append(Change(TABLE, keys, "REMOVE", time_us, event_id, None, factory.image(keys, version)))
            versions.pop(number)
        else:
            image = factory.image(keys, version)
            changes.append(Change(TABLE, keys, "MODIFY", time_us, event_id, image, image))
    return changes


def write_history(raw: Path, hours: int, items: int, per_hour: int, start: datetime) -> list[FirehoseFile]:
    rng = random.Random(11)
    factory, versions = ItemFactory(rng), {}
    files = []
    for hour in range(hours):
        arrival = start + timedelta(hours=hour)
        changes = hour_of_changes(rng, factory, items, utc_microseconds(arrival), per_hour, versions)
        file = FirehoseFile(firehose_path(TABLE, arrival + timedelta(minutes=5), hour, rng), changes,
                            (arrival + timedelta(minutes=5)).timestamp())
        file.write(raw)
        files.append(file)
    return files


def timed_run(spark, raw: Path, warehouse: Path) -> tuple[float, dict]:
    import cdc_merge
    import run_local

    arguments = run_local.local_arguments(["--raw-path", str(raw), "--warehouse", str(warehouse), "--database", "bench",
                                       "--overlap-minutes", "60", "--maintenance-every-runs", "0"])
    started = time.perf_counter()
    summaries = cdc_merge.main(arguments, spark=spark)
    return time.perf_counter() - started, summaries[0].__dict__


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=6000)
    parser.add_argument("--hours", type=int, default=48)
    parser.add_argument("--per-hour", type=int, default=800)
    parser.add_argument("--output", type=Path)
    options = parser.parse_args()

    import cdc_merge
    import run_local

    scratch = Path(tempfile.mkdtemp(prefix="lakehouse-bench-"))
    try:
        raw, warehouse = scratch / "raw", scratch / "warehouse"
        start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=options.hours + 2)
        history = write_history(raw, options.hours, options.items, options.per_hour, start)
        records = sum(len(file.changes) for file in history)

        session_started = time.perf_counter()
        first = run_local.local_arguments(["--raw-path", str(raw), "--warehouse", str(warehouse)])
        spark = cdc_merge.spark_session(cdc_merge.parse_arguments(first), run_local.local_spark_configuration(scratch))
        spark.sparkContext.setLogLevel("ERROR")
        session_seconds = time.perf_counter() - session_started

        full_seconds, full = timed_run(spark, raw, warehouse)
        rng = random.Random(99)
        new_hour = start + timedelta(hours=options.hours)
        versions: dict[int, int] = {}
        changes = hour_of_changes(rng, ItemFactory(rng), options.items, utc_microseconds(new_hour),
                                  options.per_hour, versions)
        FirehoseFile(firehose_path(TABLE, new_hour + timedelta(minutes=5), 99, rng), changes,
                     (new_hour + timedelta(minutes=5)).timestamp()).write(raw)
        incremental_seconds, incremental = timed_run(spark, raw, warehouse)
        spark.stop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    figures = {
        "history_files": len(history), "history_records": records, "session_start_s": round(session_seconds, 1),
        "full_rebuild_s": round(full_seconds, 1), "full_rebuild_records_per_s": round(records / full_seconds),
        "incremental_files_read": incremental["files_read"], "incremental_records_read": incremental["records_read"],
        "incremental_s": round(incremental_seconds, 1),
        "incremental_over_full_ratio": round(incremental_seconds / full_seconds, 3),
        "full_rebuild_files_read": full["files_read"],
    }
    print(f"lakehouse job, local[2], history of {records} records in {len(history)} hourly files")
    print(f"  session start                 {figures['session_start_s']:>8} s (once per job run)")
    print(f"  full rebuild                  {figures['full_rebuild_s']:>8} s  "
          f"{figures['full_rebuild_records_per_s']} records/s")
    print(f"  incremental run (one hour)    {figures['incremental_s']:>8} s  read {incremental['files_read']} files, "
          f"{incremental['records_read']} records")
    print(f"  incremental / full rebuild    {figures['incremental_over_full_ratio']:>8}")
    if options.output:
        options.output.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
