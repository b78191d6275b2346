"""Runs the Glue job script (cdc_merge.py) in a local Spark session with an Iceberg catalog on local disk.

    .venv-spark/bin/python glue_jobs/run_local.py --raw-path RAW --warehouse WAREHOUSE [--database lakehouse]
        [any other cdc_merge argument]

Run as a script, as Glue runs the job's: the spark venv has none of the app's dependencies, and the job's modules
import each other by plain name. The only differences from Glue are the session's settings: the Iceberg
runtime jar from the installed snowpark-connect-deps-iceberg package, a `hadoop` catalog on the warehouse folder
(Iceberg's Hadoop layout `<warehouse>/<database>/<table>/`), and little memory (driver 1 GiB, few shuffle
partitions, no UI).
"""
from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cdc_merge  # noqa: E402  (the job script itself, unchanged)

JAR_PACKAGE = "snowpark-connect-deps-iceberg"
JAR_PREFIX = "iceberg-spark-runtime-3.5_2.12-"


def iceberg_runtime_jar() -> Path:
    """The Iceberg Spark runtime jar inside the installed PyPI package (Maven Central is not reachable here)."""
    for entry in importlib.metadata.files(JAR_PACKAGE) or ():
        if entry.name.startswith(JAR_PREFIX) and entry.name.endswith(".jar"):
            return Path(entry.locate()).resolve()
    raise FileNotFoundError(f"{JAR_PREFIX}*.jar is not in the installed {JAR_PACKAGE} package")


def local_spark_configuration(scratch: Path | None = None) -> dict[str, str]:
    settings = {
        "spark.master": "local[2]", "spark.jars": str(iceberg_runtime_jar()), "spark.driver.memory": "1g",
        "spark.sql.shuffle.partitions": "4", "spark.default.parallelism": "4", "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.adaptive.enabled": "true", "spark.driver.extraJavaOptions": "-XX:+UseSerialGC",
    }
    if scratch is not None:
        settings["spark.local.dir"] = str(scratch)
    return settings


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


def main(argv: list[str] | None = None) -> int:
    summaries = cdc_merge.main(local_arguments(sys.argv[1:] if argv is None else argv), local_spark_configuration())
    total_files = sum(summary.files_read for summary in summaries)
    total_records = sum(summary.records_read for summary in summaries)
    print(f"cdc_merge done: {len(summaries)} tables, {total_files} files, {total_records} records", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
