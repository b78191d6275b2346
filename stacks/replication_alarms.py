"""The alarm every replicated bucket of a layer gets: S3 failed to copy an object to the replica region (a KMS denial
there, a replica bucket gone). Without it a failing disaster-recovery copy is silent until the day it is needed."""
from __future__ import annotations

from collections.abc import Sequence

from aws_constructs.alarms import AlarmTopic, Metric, MetricAlarm, MetricAlarmProps
from aws_constructs.s3 import SecureBucket
from bindings import Construct


def alarm_on_failed_replication(scope: Construct, replicated: Sequence[tuple[SecureBucket, Metric]],
                                topic: AlarmTopic) -> None:
    for bucket, failed in replicated:
        MetricAlarm(scope, f"{bucket.node.id}ReplicationFailedAlarm", MetricAlarmProps(
            name=f"{bucket.name}-replication-failed",
            description=f"S3 failed to replicate objects of {bucket.name} to "
                        f"{failed.dimensions['DestinationBucket']} in the last 5 minutes: see the replication "
                        "runbook in docs/security.md",
            metric=failed, comparison="GreaterThanThreshold", threshold=0, topic=topic))
