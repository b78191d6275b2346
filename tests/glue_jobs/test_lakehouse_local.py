"""`make lakehouse-local` on the raw bucket synced from its root: the folder holding the tables is found, a table
whose folder holds another table's changes or keys that mix fails alone (one line each), the others are merged, and
a file dated in the future does not move the watermark past the run's start. One run: a Spark session is costly."""
from __future__ import annotations

import json
import random
import re
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.glue_jobs.cdc_records import Change, FirehoseFile, ItemFactory, firehose_path, utc_microseconds
from tests.glue_jobs.conftest import REPO

pytestmark = pytest.mark.spark


def table_properties(warehouse: Path, table: str) -> dict[str, str]:
    metadata = warehouse / "lakehouse" / table / "metadata"
    version = (metadata / "version-hint.text").read_text().strip()
    return json.loads((metadata / f"v{version}.metadata.json").read_text())["properties"]


def test_make_lakehouse_local_merges_the_good_tables_and_names_each_bad_one(spark_python: Path,
                                                                            tmp_path: Path) -> None:
    rng = random.Random(3)
    factory = ItemFactory(rng)
    arrival = datetime.now(timezone.utc) - timedelta(hours=3)
    start_us = utc_microseconds(arrival)

    def change(table: str, keys: dict, offset: int) -> Change:
        return Change(table, keys, "INSERT", start_us + offset, f"{offset:032x}", factory.image(keys, 1))

    users = [change("Users", {"id": {"S": f"user-{n}"}}, n) for n in range(5)]
    bucket = tmp_path / "raw-bucket"
    raw = bucket / "dynamodb_data"
    FirehoseFile(firehose_path("Users", arrival, 1, rng), users[:2], time.time() - 5 * 3600).write(raw)
    future = time.time() + 86400  # a clock that runs ahead: the watermark must not follow it
    FirehoseFile(firehose_path("Users", arrival, 2, rng), users[2:], future).write(raw)
    # Keys that interleave in time: not a replaced table, two tables in one folder.
    mixed = FirehoseFile(firehose_path("Mixed", arrival, 1, rng), [
        change("Mixed", {"id": {"S": "a"}}, 10), change("Mixed", {"id": {"S": "b"}}, 30)], time.time() - 3600)
    mixed.write(raw)
    interleaved = FirehoseFile(firehose_path("Mixed", arrival, 2, rng), [
        change("Mixed", {"pk": {"S": "a"}, "sk": {"N": "1"}}, 20)], time.time() - 3600)
    interleaved.write(raw)
    stray = FirehoseFile(firehose_path("Stray", arrival, 1, rng), [change("Users", {"id": {"S": "x"}}, 40)],
                         time.time() - 3600)
    stray.write(raw)

    warehouse = tmp_path / "warehouse"
    completed = subprocess.run(["make", "-s", "lakehouse-local", f"RAW={bucket}", f"WAREHOUSE={warehouse}"],
                               cwd=REPO, capture_output=True, text=True, timeout=300)
    finished_us = int(time.time() * 1_000_000)
    errors = [line for line in completed.stderr.splitlines() if line.startswith("error:")]
    assert completed.returncode != 0, completed.stdout[-2000:]
    assert f"using {raw}" in completed.stderr  # found below RAW, and said so
    assert len(errors) == 2, completed.stderr[-3000:]
    assert re.match(r"error: table Mixed: file \S+ holds changes with keys \[pk:S, sk:N\] from before a change "
                    r"with keys \[id:S\]", errors[0]) and interleaved.relative_path in errors[0]
    assert errors[1].startswith("error: table Stray: file ") and stray.relative_path in errors[1]
    assert "holds changes of DynamoDB table 'Users'" in errors[1]
    assert "cdc_merge done: 1 tables, 2 files, 5 records" in completed.stdout, completed.stdout[-2000:]
    assert not (warehouse / "lakehouse" / "mixed").exists() and not (warehouse / "lakehouse" / "stray").exists()
    watermark = int(table_properties(warehouse, "users")["cdc.watermark-us"])
    assert watermark <= finished_us < int(future * 1_000_000)
