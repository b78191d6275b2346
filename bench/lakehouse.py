"""Local merge throughput of the lakehouse job, and the cost of an incremental run against the first run, at three
history sizes; or (`--runs N`) whether a table's files and snapshots stay bounded over many runs.

    .venv-spark/bin/python bench/lakehouse.py [--hours 12,48,96] [--per-hour 800] [--items 6000] [--output figures.json]
    .venv-spark/bin/python bench/lakehouse.py --runs 200 [--per-hour 100] [--items 2000] [--output figures.json]

One Spark session (local[2], driver 1 GiB, as `make lakehouse-local`) runs the job script, for each history size:
a first run over `hours` hourly Firehose files into a fresh warehouse (every change new: tables created, columns
typed), then an incremental run after one more hour arrived (the watermark skips the history; the overlap re-reads
the previous hour's file). The ratio is the incremental run's time over the first run's. Session start is reported
apart: every job run pays it once; the sizes run smallest first, in the same session, so the larger ones find the
JVM warm, as a long-lived session would.

Each run is measured in wall seconds and in CPU-seconds of every process it uses (the driver's JVM, its Python
workers: read from /proc, so Linux only): on a shared machine the CPU-seconds are the figure that holds.

With `--runs N`: N job runs on one table, each after one more hour of changes arrived, with the layer's maintenance
cadence (every 24 runs) and every snapshot older than the run expired at maintenance (`--snapshot-retention-hours
0`: the runs take seconds, not hours, so the default 168 hours would expire nothing here; on AWS a table keeps
168 hours of runs' snapshots more). The data files, delete files and snapshots the job publishes after each run
(its `DataFiles`, `DeleteFiles`, `Snapshots` metrics, through the file sink) are reported: their maximum in each
cycle of the cadence and over the runs. Bounded (exit 0) means no cycle's maxima exceed the second cycle's (the
first starts from no table, a run short of a whole cycle).
"""
from __future__ import annotations

import argparse
import json
import os
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


def write_hours(raw: Path, start: datetime, hours: range, items: int, per_hour: int, rng: random.Random,
                versions: dict[int, int]) -> int:
    factory, records = ItemFactory(rng), 0
    for hour in hours:
        arrival = start + timedelta(hours=hour)
        changes = hour_of_changes(rng, factory, items, utc_microseconds(arrival), per_hour, versions)
        FirehoseFile(firehose_path(TABLE, arrival + timedelta(minutes=5), hour, rng), changes,
                     (arrival + timedelta(minutes=5)).timestamp()).write(raw)
        records += len(changes)
    return records


def descendants_cpu_seconds() -> float:
    """CPU-seconds used so far by this process's descendants (the JVM, the Python workers it forks): those alive,
    and those that ended and were waited for by one of them."""
    ticks, processes = os.sysconf("SC_CLK_TCK"), {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        processes[int(pid)] = (int(fields[1]), sum(int(value) for value in fields[11:15]) / ticks)
    total, parents = 0.0, {os.getpid()}
    while parents:
        children = {pid for pid, (parent, _) in processes.items() if parent in parents}
        total += sum(processes[pid][1] for pid in children)
        parents = children
    return total


def timed_run(spark, raw: Path, warehouse: Path, catalog: str) -> tuple[float, float, dict]:
    """One job run: wall seconds, CPU-seconds, its summary. A catalog of its own per warehouse (Spark keeps a
    catalog's settings from its first use)."""
    import cdc_merge
    import run_local

    arguments = run_local.local_arguments(["--raw-path", str(raw), "--warehouse", str(warehouse), "--database",
                                           "bench", "--catalog-name", catalog, "--overlap-minutes", "60",
                                           "--maintenance-every-runs", "0"])
    started, cpu = time.perf_counter(), descendants_cpu_seconds()
    summaries = cdc_merge.main(arguments, spark=spark)
    return time.perf_counter() - started, descendants_cpu_seconds() - cpu, summaries[0].__dict__


def measure(spark, scratch: Path, hours: int, items: int, per_hour: int) -> dict:
    raw, warehouse = scratch / f"raw-{hours}", scratch / f"warehouse-{hours}"
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours + 2)
    rng, versions = random.Random(11), {}
    records = write_hours(raw, start, range(hours), items, per_hour, rng, versions)
    first_seconds, first_cpu, first = timed_run(spark, raw, warehouse, f"history{hours}")
    write_hours(raw, start, range(hours, hours + 1), items, per_hour, rng, versions)
    incremental_seconds, incremental_cpu, incremental = timed_run(spark, raw, warehouse, f"history{hours}")
    return {
        "hours": hours, "history_records": records, "first_run_s": round(first_seconds, 1),
        "first_run_cpu_s": round(first_cpu, 1), "first_run_records_per_s": round(records / first_seconds),
        "typed_columns": len(first["columns_added"]), "changes_merged": first["changes_merged"],
        "incremental_files_read": incremental["files_read"], "incremental_records_read": incremental["records_read"],
        "incremental_s": round(incremental_seconds, 1), "incremental_cpu_s": round(incremental_cpu, 1),
        "incremental_records_per_s": round(incremental["records_read"] / incremental_seconds),
        "incremental_over_first_ratio": round(incremental_seconds / first_seconds, 3),
        "incremental_over_first_cpu_ratio": round(incremental_cpu / first_cpu, 3),
    }


EVERY_RUNS = 24  # the layer's maintenance cadence (the job's default)


def bounded_counts(spark, scratch: Path, runs: int, items: int, per_hour: int) -> dict:
    """`runs` job runs of one table, an hour of changes before each; the file and snapshot counts after each."""
    import cdc_merge
    import run_local

    raw, warehouse, metrics = scratch / "raw-runs", scratch / "warehouse-runs", scratch / "runs-metrics.jsonl"
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=runs + 2)
    rng, versions, counts, cpu_per_run = random.Random(5), {}, [], []
    arguments = run_local.local_arguments([
        "--raw-path", str(raw), "--warehouse", str(warehouse), "--database", "bench", "--catalog-name", "runs",
        "--overlap-minutes", "60", "--maintenance-every-runs", str(EVERY_RUNS), "--snapshot-retention-hours", "0",
        "--metrics", f"file:{metrics}"])
    for run in range(runs):
        write_hours(raw, start, range(run, run + 1), items, per_hour, rng, versions)
        cpu = descendants_cpu_seconds()
        cdc_merge.main(arguments, spark=spark)
        cpu_per_run.append(descendants_cpu_seconds() - cpu)
        published = [json.loads(line) for line in metrics.read_text().splitlines()]
        metrics.unlink()
        counts.append({line["name"]: int(line["value"]) for line in published
                       if line["name"] in ("DataFiles", "DeleteFiles", "Snapshots")})
    cycles = [counts[start:start + EVERY_RUNS] for start in range(0, len(counts), EVERY_RUNS)]
    cycle_max = [{name: max(count[name] for count in cycle) for name in cycle[0]} for cycle in cycles]
    return {
        "runs": runs, "changes_per_run": per_hour, "maintenance_every_runs": EVERY_RUNS,
        "cycle_max": cycle_max,
        "first_cycle_max": cycle_max[0],
        "last_cycle_max": cycle_max[-1],
        "overall_max": {name: max(count[name] for count in counts) for name in counts[0]},
        "after_last_run": counts[-1],
        "cpu_s_per_run_first_cycle": round(sum(cpu_per_run[:EVERY_RUNS]) / EVERY_RUNS, 2),
        "cpu_s_per_run_last_cycle": round(sum(cpu_per_run[-EVERY_RUNS:]) / EVERY_RUNS, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", default="12,48,96", help="history sizes, in hourly files")
    parser.add_argument("--items", type=int, default=None, help="distinct items (default 6000; 2000 with --runs)")
    parser.add_argument("--per-hour", type=int, default=None, help="changes an hour (default 800; 100 with --runs)")
    parser.add_argument("--runs", type=int, default=0, help="measure file and snapshot counts over this many runs")
    parser.add_argument("--output", type=Path)
    options = parser.parse_args()
    items = options.items or (2000 if options.runs else 6000)
    per_hour = options.per_hour or (100 if options.runs else 800)

    import cdc_job
    import cdc_settings
    import run_local

    scratch = Path(tempfile.mkdtemp(prefix="lakehouse-bench-"))
    try:
        session_started, cpu = time.perf_counter(), descendants_cpu_seconds()
        arguments = run_local.local_arguments(["--raw-path", str(scratch), "--warehouse", str(scratch / "w")])
        spark = cdc_job.spark_session(cdc_settings.parse_arguments(arguments),
                                      run_local.local_spark_configuration(scratch))
        spark.sparkContext.setLogLevel("ERROR")
        session_seconds, session_cpu = time.perf_counter() - session_started, descendants_cpu_seconds() - cpu
        if options.runs:
            bounded = bounded_counts(spark, scratch, options.runs, items, per_hour)
        else:
            sizes = [measure(spark, scratch, int(hours), items, per_hour)
                     for hours in sorted(int(hours) for hours in options.hours.split(","))]
        spark.stop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    if options.runs:
        print(json.dumps(bounded, indent=1))
        if options.output:
            options.output.write_text(json.dumps(bounded, indent=1) + "\n")
        # The first cycle starts from no table, one run short of a whole cycle: the second is the reference.
        reference = bounded["cycle_max"][min(1, len(bounded["cycle_max"]) - 1)]
        return 0 if all(cycle[name] <= reference[name] for cycle in bounded["cycle_max"] for name in reference) else 1

    print(f"lakehouse job, local[2]; session start {session_seconds:.1f} s, {session_cpu:.1f} CPU-s (once per run)")
    print(f"{'history':>22} {'first run':>18} {'records/s':>10} {'incremental':>18} {'records/s':>10} {'ratio':>6}")
    for size in sizes:
        print(f"{size['history_records']:>8} records {size['hours']:>3} h {size['first_run_s']:>6} s "
              f"{size['first_run_cpu_s']:>5} CPU-s {size['first_run_records_per_s']:>10} {size['incremental_s']:>6} s "
              f"{size['incremental_cpu_s']:>5} CPU-s {size['incremental_records_per_s']:>10} "
              f"{size['incremental_over_first_cpu_ratio']:>6}")
    if options.output:
        options.output.write_text(json.dumps({"session_start_s": round(session_seconds, 1),
                                              "session_start_cpu_s": round(session_cpu, 1), "sizes": sizes},
                                             indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
