"""`make lakehouse-local`: the job script on a local folder laid out as Firehose writes it; run again, nothing new."""
from __future__ import annotations

import random
import re
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.glue_jobs.conftest import spark_environment
from tests.glue_jobs.cdc_records import Change, FirehoseFile, ItemFactory, firehose_path, utc_microseconds

pytestmark = pytest.mark.spark
REPO = Path(__file__).resolve().parents[2]


def make_lakehouse_local(raw: Path, warehouse: Path) -> str:
    completed = subprocess.run(["make", "-s", "lakehouse-local", f"RAW={raw}", f"WAREHOUSE={warehouse}"], cwd=REPO,
                               capture_output=True, text=True, timeout=300, env=spark_environment())
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def test_make_lakehouse_local_merges_and_then_finds_nothing_new(spark_python: Path, tmp_path: Path) -> None:
    rng = random.Random(3)
    factory = ItemFactory(rng)
    arrival = datetime.now(timezone.utc) - timedelta(hours=3)
    changes = [Change("Users", {"id": {"S": f"user-{n}"}}, "INSERT", utc_microseconds(arrival) + n, f"{n:032x}",
                      factory.image({"id": {"S": f"user-{n}"}}, 1)) for n in range(5)]
    raw = tmp_path / "dynamodb_data"
    FirehoseFile(firehose_path("Users", arrival, 1, rng), changes[:2], time.time() - 5 * 3600).write(raw)
    FirehoseFile(firehose_path("Users", arrival, 2, rng), changes[2:], time.time() - 2 * 3600).write(raw)

    first = make_lakehouse_local(raw, tmp_path / "warehouse")
    assert re.search(r"cdc_merge done: 1 tables, 2 files, 5 records", first), first
    assert (tmp_path / "warehouse" / "lakehouse" / "users" / "metadata" / "version-hint.text").exists()
    # Again: the older file is behind the watermark; the newest is read again inside the 60-minute overlap.
    again = make_lakehouse_local(raw, tmp_path / "warehouse")
    assert re.search(r"cdc_merge done: 1 tables, 1 files, 3 records", again), again
