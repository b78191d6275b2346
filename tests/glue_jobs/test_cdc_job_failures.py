"""How the lakehouse job reports a failure (without Spark: the session is a stand-in)."""
from __future__ import annotations

from datetime import datetime, timezone

from cdc_job import EVERY_ROW, CdcMergeJob, error_line, history_refill, refilled_attributes


def test_a_merge_failure_stays_the_error_when_its_commit_cannot_be_told() -> None:
    """After a failed merge the job asks the table whether the merge committed; that question failing too (the
    session gone) must not hide the merge's own error: it answers no."""
    class GoneSession:
        def sql(self, _text: str) -> None:
            raise RuntimeError("the session is gone")

    job = CdcMergeJob.__new__(CdcMergeJob)
    job.spark, job.table = GoneSession(), lambda name: name
    assert job.committed_since("orders", datetime.now(timezone.utc)) is False


def test_a_history_refill_left_by_a_failed_run_is_kept_with_this_runs() -> None:
    """The attributes a run that died left to refill are refilled with this run's; a retyped column, or a refill of
    every row left, refills every row."""
    assert history_refill(None, False, ()) is None
    assert history_refill(None, False, ("b", "a")) == '["a", "b"]'
    assert history_refill('["c", "a"]', False, ("b",)) == '["a", "b", "c"]'
    assert history_refill('["a"]', True, ()) == EVERY_ROW == history_refill(EVERY_ROW, False, ("a",))
    assert refilled_attributes('["a", "b"]') == ("a", "b") and refilled_attributes(EVERY_ROW) == ()
    for edited in ("true", '"ab"', "[1]", "{not json"):  # not what the job writes: every row, rather than a guess
        assert history_refill(edited, False, ("a",)) == EVERY_ROW


class PythonException(Exception):
    """As PySpark raises what a Python worker raised: its first line says only where it came from."""


WORKER_TRACEBACK = """
  An exception was thrown from the Python worker. Please see the stack trace below.
Traceback (most recent call last):
  File "glue_jobs/cdc_items.py", line 55, in _json_number
    raise ValueError(f"not a DynamoDB number: {digits!r}") from error
ValueError: not a DynamoDB number: '12abc'
"""


def test_a_python_worker_s_error_is_what_it_raised() -> None:
    """The runs table, the summary and the job's last line name the value, not `PythonException:`."""
    assert error_line(PythonException(WORKER_TRACEBACK)) == \
        "PythonException in a Python worker: ValueError: not a DynamoDB number: '12abc'"

    class Java:  # the JVM's form: the worker's traceback, then the Java frames
        def __str__(self) -> str:
            return ("org.apache.spark.api.python.PythonException: Traceback (most recent call last):\n"
                    "  File \"x.py\", line 1, in f\nKeyError: 'price'\n\n\tat org.apache.spark.Runner.read(R.scala:1)")

    error = PythonException("ignored")
    error.java_exception = Java()
    assert error_line(error) == "PythonException in a Python worker: KeyError: 'price'"
    assert error_line(RuntimeError("one\ntwo")) == "RuntimeError: one"
