"""How the lakehouse job reports a failure (without Spark: the session is a stand-in)."""
from __future__ import annotations

from datetime import datetime, timezone

from cdc_job import CdcMergeJob


def test_a_merge_failure_stays_the_error_when_its_commit_cannot_be_told() -> None:
    """After a failed merge the job asks the table whether the merge committed; that question failing too (the
    session gone) must not hide the merge's own error: it answers no."""
    class GoneSession:
        def sql(self, _text: str) -> None:
            raise RuntimeError("the session is gone")

    job = CdcMergeJob.__new__(CdcMergeJob)
    job.spark, job.table = GoneSession(), lambda name: name
    assert job.committed_since("orders", datetime.now(timezone.utc)) is False
