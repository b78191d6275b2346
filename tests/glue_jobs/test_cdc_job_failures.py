"""How the lakehouse job reports a failure (without Spark: the session is a stand-in)."""
from __future__ import annotations

from datetime import datetime, timezone

from cdc_job import EVERY_ROW, CdcMergeJob, history_refill, refilled_attributes


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
