"""The Glue jobs' tests: Spark runs in .venv-spark (`make .venv-spark`), these tests in the main venv.

The job's modules import each other by plain name, as they do on Glue (top-level modules there): their folder
goes on the path, so the pure-Python parts are tested here without Spark.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
JOB_FOLDER = REPO / "glue_jobs"
if str(JOB_FOLDER) not in sys.path:
    sys.path.insert(0, str(JOB_FOLDER))
SPARK_PYTHON = REPO / ".venv-spark" / "bin" / "python"


@pytest.fixture(scope="session")
def spark_python() -> Path:
    """The spark venv's interpreter; missing, the spark tests skip (under CI, the suite's hook makes that a failure)."""
    if not (REPO / ".venv-spark" / ".installed").exists() or not os.access(SPARK_PYTHON, os.X_OK):
        pytest.skip("the spark venv is missing: run `make .venv-spark` (pyspark, Iceberg runtime jar, pyiceberg)")
    return SPARK_PYTHON
