"""Every AWS limit the constructs check: the smallest and largest value AWS accepts reach the synthesized JSON,
and the first value past each end is refused."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest

from aws_constructs.dynamodb import KeyAttribute, Table, TableProps
from aws_constructs.errors import ConstructPropsError
from aws_constructs.glue import CatalogDatabase
from aws_constructs.iam import PolicyStatement
from aws_constructs.logs import LogGroup, LogGroupProps
from aws_constructs.s3 import SecureBucket, SecureBucketProps, Transition, check_bucket_name
from bindings import TerraformStack
from tests.aws_constructs.support import (BUCKET, BUCKET_NAME, ENV, PREFIX, alarm_topic_with, crawler_with, firehose_with, log_group_with,
    metric_alarm_with, new_stack, only, role, stream, synth, unpartitioned_firehose_with)


# --- limits: the smallest and largest value AWS accepts, and the first it rejects on each side --------------------

def padded_prefix(length: int) -> str:
    """A valid partitioned prefix of exactly `length` characters."""
    return "p" * (length - len(PREFIX)) + PREFIX


def transition_limit(storage_class: str, earliest: int, message: str) -> "Limit":
    """A lifecycle transition to `storage_class`: `earliest` days accepted, one day fewer refused."""
    return Limit(lambda s, v: SecureBucket(s, "Bucket", SecureBucketProps(name=BUCKET_NAME, transitions=(
        Transition(v, storage_class),))), (earliest,), (earliest - 1,), rf"^bucket {BUCKET_NAME}: {message}$",
        ("aws_s3_bucket_lifecycle_configuration", "rule.0.transition.0.days"))


def length_message(kind: str, low: int, high: int) -> str:
    return (rf"^{kind} name '[^']*' has \d+ characters, AWS allows {low} to {high}; shorten the project, account or "
            r"layer naming settings$")

@dataclass(frozen=True)
class Limit:
    """One AWS limit: `build(stack, value)` builds a construct; `where` is (resource type, attribute path) whose
    synthesized value must be the accepted value itself, or None when nothing is synthesized."""

    build: Callable[[TerraformStack, object], None]
    accepted: tuple
    rejected: tuple
    message: str
    where: tuple[str, str] | None = None


LIMITS = {
    "kinesis-retention-hours": Limit(lambda s, v: stream(s, retention_hours=v), (24, 8760), (23, 8761),
                                     r"^Kinesis retention is \d+; AWS accepts a whole number of hours from 24 to 8760$",
                                     ("aws_kinesis_stream", "retention_period")),
    "kinesis-shard-count": Limit(lambda s, v: stream(s, on_demand=False, shard_count=v), (1, 100_000), (0, 100_001),
                                 r"^Kinesis shard count is \d+; AWS accepts a whole number of shards from 1 to 100000$",
                                 ("aws_kinesis_stream", "shard_count")),
    "kinesis-name-length": Limit(lambda s, v: stream(s, name="k" * v), (1, 128), (0, 129),
                                 length_message("Kinesis stream", 1, 128), ("aws_kinesis_stream", "name")),
    "firehose-buffer-mib-partitioned": Limit(
        lambda s, v: firehose_with(s, buffering_size_mib=v), (64, 128), (63, 129),
        r"^Firehose buffering size is (63 MiB; with dynamic partitioning AWS requires at least 64 MiB"
        r"|129; AWS accepts a whole number of MiB from 1 to 128)$",
        ("aws_kinesis_firehose_delivery_stream", "extended_s3_configuration.buffering_size")),
    "firehose-buffer-mib": Limit(
        lambda s, v: unpartitioned_firehose_with(s, buffering_size_mib=v), (1, 128), (0, 129),
        r"^Firehose buffering size is \d+; AWS accepts a whole number of MiB from 1 to 128$",
        ("aws_kinesis_firehose_delivery_stream", "extended_s3_configuration.buffering_size")),
    "firehose-interval-partitioned": Limit(
        lambda s, v: firehose_with(s, buffering_interval_seconds=v), (1, 900), (0, 901),
        r"^Firehose buffering interval is (0 s; zero buffering is not available with dynamic partitioning, use 1 to "
        r"900 seconds|901; AWS accepts a whole number of seconds from 0 to 900)$",
        ("aws_kinesis_firehose_delivery_stream", "extended_s3_configuration.buffering_interval")),
    "firehose-interval": Limit(
        lambda s, v: unpartitioned_firehose_with(s, buffering_interval_seconds=v), (0, 900), (-1, 901),
        r"^Firehose buffering interval is -?\d+; AWS accepts a whole number of seconds from 0 to 900$",
        ("aws_kinesis_firehose_delivery_stream", "extended_s3_configuration.buffering_interval")),
    "firehose-name-length": Limit(lambda s, v: firehose_with(s, name="f" * v), (1, 64), (0, 65),
                                  length_message("Firehose delivery stream", 1, 64),
                                  ("aws_kinesis_firehose_delivery_stream", "name")),
    "firehose-prefix-length": Limit(lambda s, v: firehose_with(s, prefix=padded_prefix(v)), (len(PREFIX), 1024),
                                    (1025,), r"^Firehose prefix is over 1024 bytes$",
                                    ("aws_kinesis_firehose_delivery_stream", "extended_s3_configuration.prefix")),
    "firehose-error-prefix-length": Limit(
        lambda s, v: firehose_with(s, error_output_prefix="e" * v), (1, 1024), (1025,),
        r"^Firehose error output prefix is over 1024 bytes$",
        ("aws_kinesis_firehose_delivery_stream", "extended_s3_configuration.error_output_prefix")),
    "iam-role-name-length": Limit(lambda s, v: role(s, name="r" * v).add_to_principal_policy(PolicyStatement(
        sid="Read", actions=("s3:GetObject",), resources=(f"{BUCKET.arn}/raw/*",))), (1, 64), (0, 65),
        length_message("IAM role", 1, 64), ("aws_iam_role", "name")),
    "s3-bucket-name-length": Limit(lambda s, v: check_bucket_name("b" * v), (3, 63), (2, 64),
                                   r"^S3 bucket name 'b*' has \d+ characters, S3 allows 3 to 63 \(not DNS-compliant\)$"),
    "s3-infrequent-access-days": transition_limit("STANDARD_IA", 30, "S3 moves objects to STANDARD_IA after 30 days "
                                                                    "at the earliest, not 29"),
    "s3-one-zone-infrequent-access-days": transition_limit("ONEZONE_IA", 30, "S3 moves objects to ONEZONE_IA after 30 "
                                                                           "days at the earliest, not 29"),
    "s3-transition-days": transition_limit("GLACIER", 1, r"lifecycle transition days \[0\] must be increasing and "
                                                         "positive"),
    "dynamodb-table-name-length": Limit(
        lambda s, v: Table(s, "Table", TableProps(name="t" * v, partition_key=KeyAttribute("pk"))), (3, 255), (2, 256),
        length_message("DynamoDB table", 3, 255), ("aws_dynamodb_table", "name")),
    "dynamodb-key-name-bytes": Limit(
        lambda s, v: Table(s, "Table", TableProps(name="orders", partition_key=KeyAttribute("\u00e9" * (v // 2) + "k" * (v % 2)))),
        (1, 255), (0, 256), r"^DynamoDB key attribute name '[^']*' must be 1 to 255 bytes$",
        ("aws_dynamodb_table", "hash_key")),
    "log-retention-days": Limit(lambda s, v: log_group_with(s, retention_days=v), (1, 3653), (0, 2, 3654),
                                r"^log retention \d+ days is not one CloudWatch offers; use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, "
                                r"180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653$",
                                ("aws_cloudwatch_log_group", "retention_in_days")),
    "log-group-name-length": Limit(lambda s, v: log_group_with(s, name="g" * v), (1, 512), (0, 513),
                                   length_message("CloudWatch log group", 1, 512), ("aws_cloudwatch_log_group", "name")),
    "log-stream-name-length": Limit(lambda s, v: LogGroup(s, "Logs", LogGroupProps(name="group")).add_stream(
        "Stream", "s" * v), (1, 512), (0, 513), length_message("CloudWatch log stream", 1, 512),
        ("aws_cloudwatch_log_stream", "name")),
    "glue-database-name-length": Limit(lambda s, v: CatalogDatabase(s, "Database", "d" * v, ENV), (1, 255), (0, 256),
                                       length_message("Glue database", 1, 255), ("aws_glue_catalog_database", "name")),
    "glue-crawler-name-length": Limit(lambda s, v: crawler_with(s, "c" * v), (1, 255), (0, 256),
                                      length_message("Glue crawler", 1, 255), ("aws_glue_crawler", "name")),
    "sns-topic-name-length": Limit(lambda s, v: alarm_topic_with(s, name="n" * v), (1, 256), (0, 257),
                                   length_message("SNS topic", 1, 256), ("aws_sns_topic", "name")),
    "alarm-topic-key-deletion-days": Limit(
        lambda s, v: alarm_topic_with(s, key_deletion_window_days=v), (7, 30), (6, 31),
        r"^KMS key deletion window is \d+; AWS accepts a whole number of days from 7 to 30$",
        ("aws_kms_key", "deletion_window_in_days")),
    "alarm-evaluation-periods": Limit(
        lambda s, v: metric_alarm_with(s, evaluation_periods=v), (1, 100), (0, 101),
        r"^alarm bb-iterator-age evaluation periods is \d+; AWS accepts a whole number of periods from 1 to 100$",
        ("aws_cloudwatch_metric_alarm", "evaluation_periods")),
    "alarm-datapoints": Limit(
        lambda s, v: metric_alarm_with(s, evaluation_periods=5, datapoints_to_alarm=v), (1, 5), (6,),
        r"^alarm bb-iterator-age datapoints is \d+; AWS accepts a whole number of data points from 1 to 5$",
        ("aws_cloudwatch_metric_alarm", "datapoints_to_alarm")),
    "alarm-name-length": Limit(lambda s, v: metric_alarm_with(s, name="a" * v), (1, 255), (0, 256),
                               length_message("CloudWatch alarm", 1, 255),
                               ("aws_cloudwatch_metric_alarm", "alarm_name")),
}


def expected_in_output(limit_id: str, value: object) -> object:
    """What the synthesized attribute holds for an accepted value (names are built from the value)."""
    expected = {"kinesis-name-length": "k", "firehose-name-length": "f", "iam-role-name-length": "r",
                "firehose-error-prefix-length": "e",
                "dynamodb-table-name-length": "t", "log-group-name-length": "g", "log-stream-name-length": "s",
                "glue-database-name-length": "d", "glue-crawler-name-length": "c", "sns-topic-name-length": "n",
                "alarm-name-length": "a"}
    if limit_id in expected:
        return expected[limit_id] * value
    if limit_id == "firehose-prefix-length":
        return padded_prefix(value)
    if limit_id == "dynamodb-key-name-bytes":
        return "\u00e9" * (value // 2) + "k" * (value % 2)
    return value


def attribute(resource: dict, path: str) -> object:
    for step in path.split("."):
        resource = resource[int(step)] if step.isdigit() else resource[step]
    return resource


@pytest.mark.parametrize("limit_id, value", [(limit_id, value) for limit_id, limit in LIMITS.items()
                                             for value in limit.accepted])
def test_limits_accept_the_smallest_and_largest_value_aws_accepts(limit_id, value):
    limit = LIMITS[limit_id]
    stack = new_stack()
    limit.build(stack, value)
    if limit.where:
        resource_type, path = limit.where
        assert attribute(only(synth(stack), "resource", resource_type), path) == expected_in_output(limit_id, value)


@pytest.mark.parametrize("limit_id, value", [(limit_id, value) for limit_id, limit in LIMITS.items()
                                             for value in limit.rejected])
def test_limits_reject_the_first_value_past_each_end(limit_id, value):
    limit = LIMITS[limit_id]
    with pytest.raises(ConstructPropsError, match=limit.message):
        limit.build(new_stack(), value)
