"""The lakehouse job's tests: Spark runs in .venv-spark (`make .venv-spark`), these tests in the main venv."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SPARK_PYTHON = REPO / ".venv-spark" / "bin" / "python"


@pytest.fixture(scope="session")
def spark_python() -> Path:
    """The spark venv's interpreter; missing, the spark tests skip (under CI, the suite's hook makes that a failure)."""
    if not (REPO / ".venv-spark" / ".installed").exists() or not os.access(SPARK_PYTHON, os.X_OK):
        pytest.skip("the spark venv is missing: run `make .venv-spark` (pyspark, Iceberg runtime jar, pyiceberg)")
    return SPARK_PYTHON
