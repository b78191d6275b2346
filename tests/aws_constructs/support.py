"""Shared set-up of the construct tests: one stack per test, synthesized JSON, and helpers to read it."""
from __future__ import annotations

import json
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the project root, however pytest is started

# First of the project's imports: it registers the fast-import shim before any provider module loads.
import bindings  # noqa: E402,F401
# Aliased: pytest would otherwise try to collect a class whose name starts with `Test`.
from bindings import TerraformStack, Testing as CdktfTesting  # noqa: E402

from aws_constructs.alarms import AlarmTopic, AlarmTopicProps, Metric, MetricAlarm, MetricAlarmProps  # noqa: E402
from aws_constructs.dynamodb import (  # noqa: E402
    ChangeStreamProps,
    KeyAttribute,
    KinesisChangeStream,
    Table,
    TableProps,
)
from aws_constructs.env import AwsEnvironment  # noqa: E402
from aws_constructs.errors import ConstructPropsError  # noqa: E402
from aws_constructs.firehose import (  # noqa: E402
    DynamicPartitioning,
    KinesisToS3DeliveryStream,
    S3DeliveryStreamProps,
    delivery_key_prefix,
)
from aws_constructs.glue import CatalogDatabase, CrawlerProps, S3Crawler  # noqa: E402
from aws_constructs.iam import PolicyStatement, ServiceRole, ServiceRoleProps  # noqa: E402
from aws_constructs.kinesis import DataStream, DataStreamProps  # noqa: E402
from aws_constructs.kms import KmsKeyRef  # noqa: E402
from aws_constructs.logs import LogGroup, LogGroupProps  # noqa: E402
from aws_constructs.s3 import BucketRef, SecureBucket, SecureBucketProps, Transition, check_bucket_name  # noqa: E402

ACCOUNT = "555555555555"
REGION = "us-east-1"
ENV = AwsEnvironment(ACCOUNT, REGION)
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEY = KmsKeyRef(KEY_ARN)
BUCKET_NAME = "bb-data-science-datalake-demo-data-raw"
BUCKET = BucketRef(f"arn:aws:s3:::{BUCKET_NAME}")
# The defaults of cdktf.json.
PREFIX = ("dynamodb_data/!{partitionKeyFromQuery:tableName}/cdc_data/"
          "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/")
ERROR_PREFIX = "dynamodb_data/cdc_error/"
QUERY = "{tableName:.tableName}"
FIREHOSE_ROLE = "bb-apps-devstg-firehose-role"
FIREHOSE_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{FIREHOSE_ROLE}"


# --- helpers -----------------------------------------------------------------------------------------------------

# `Testing.app()` makes a new temporary folder per app unless given one; `Testing.synth` writes nothing there,
# so all apps share one folder, removed when the test process ends.
_OUTDIR = tempfile.TemporaryDirectory(prefix="cdktf-test-constructs-")


def new_stack() -> TerraformStack:
    """A stack in a fresh test app, so no test sees another's constructs."""
    return TerraformStack(CdktfTesting.app(outdir=_OUTDIR.name), "test")


def synth(stack: TerraformStack) -> dict:
    return json.loads(CdktfTesting.synth(stack))


def only(synthesized: dict, kind: str, resource_type: str) -> dict:
    """The one `resource`/`data` block of a type (fails if there are none or several)."""
    blocks = synthesized[kind][resource_type]
    assert len(blocks) == 1, f"expected one {resource_type}, got {sorted(blocks)}"
    return next(iter(blocks.values()))


def ref_name(reference: str) -> str:
    """`${data.aws_iam_policy_document.NAME.json}` -> NAME."""
    match = re.fullmatch(r"\$\{(?:data\.)?[a-z0-9_]+\.([A-Za-z0-9_]+)\.[a-z_]+\}", reference)
    assert match, reference
    return match.group(1)


def policy_statements(synthesized: dict, reference: str) -> list[dict]:
    return synthesized["data"]["aws_iam_policy_document"][ref_name(reference)]["statement"]


def role_named(synthesized: dict, name: str) -> tuple[str, dict]:
    [(logical_id, role)] = [(k, v) for k, v in synthesized["resource"]["aws_iam_role"].items() if v["name"] == name]
    return logical_id, role


def inline_policy_of(synthesized: dict, role_name: str) -> list[dict]:
    """The statements of the inline policy attached to the role called `role_name`."""
    logical_id, _ = role_named(synthesized, role_name)
    [policy] = [p for p in synthesized["resource"]["aws_iam_role_policy"].values()
                if p["role"] == f"${{aws_iam_role.{logical_id}.id}}"]
    assert policy["name"] == f"{role_name}-policy"
    return policy_statements(synthesized, policy["policy"])


def by_sid(statements: list[dict]) -> dict[str, dict]:
    return {statement["sid"]: statement for statement in statements}


def stream(stack: TerraformStack, **overrides) -> DataStream:
    props = dict(name="bb-apps-devstg-ddb-lakehouse-stream", env=ENV, encryption_key=KEY)
    props.update(overrides)
    return DataStream(stack, "Stream", DataStreamProps(**props))


def role(stack: TerraformStack, **overrides) -> ServiceRole:
    props = dict(name="bb-apps-devstg-consumer-role", service="firehose.amazonaws.com")
    props.update(overrides)
    return ServiceRole(stack, "Role", ServiceRoleProps(**props))


def delivery_props(stack: TerraformStack, **overrides) -> S3DeliveryStreamProps:
    props = dict(
        name="bb-apps-devstg-ddb-lakehouse-firehose",
        env=ENV,
        source=stream(stack),
        destination=BUCKET,
        role_name=FIREHOSE_ROLE,
        prefix=PREFIX,
        error_output_prefix=ERROR_PREFIX,
        buffering_size_mib=100,
        buffering_interval_seconds=100,
        dynamic_partitioning=DynamicPartitioning(QUERY),
        log_retention_days=30,
    )
    props.update(overrides)
    return S3DeliveryStreamProps(**props)


def assert_least_privilege(statements: list[dict]) -> None:
    for statement in statements:
        if statement["effect"] == "Deny":  # narrows what the others allow
            assert statement["actions"] and statement["resources"], statement
            continue
        assert statement["effect"] == "Allow"
        assert not any("*" in action for action in statement["actions"]), statement
        for resource in statement["resources"]:
            assert resource != "*" and not resource.endswith(":::*"), statement
            assert "*" not in resource or resource.endswith("/*") or resource.endswith(":log-stream:*") \
                or re.fullmatch(r"arn:[\w-]+:logs:[\w-]+:\d{12}:log-group:[^*]+:\*", resource), statement



def firehose_with(stack: TerraformStack, **overrides) -> None:
    KinesisToS3DeliveryStream(stack, "Delivery", delivery_props(stack, **overrides))


def unpartitioned_firehose_with(stack: TerraformStack, **overrides) -> None:
    firehose_with(stack, **{"dynamic_partitioning": None, "prefix": "raw/", "error_output_prefix": "errors/",
                            **overrides})


def log_group_with(stack: TerraformStack, **overrides) -> None:
    LogGroup(stack, "Logs", LogGroupProps(**{"name": "/aws/kinesisfirehose/lakehouse", **overrides}))


def crawler_with(stack: TerraformStack, name: str) -> None:
    database = CatalogDatabase(stack, "Database", "lakehouse_raw", ENV)
    S3Crawler(stack, "Crawler", CrawlerProps(name=name, role_name="crawler-role", env=ENV, database=database,
                                             bucket=BucketRef(BUCKET.arn, BUCKET_NAME), key_prefix="raw/"))


def alarm_topic_with(stack: TerraformStack, **overrides: object) -> AlarmTopic:
    return AlarmTopic(stack, "Alarms", AlarmTopicProps(**{"name": "bb-alarms", "env": ENV, **overrides}))


def metric_alarm_with(stack: TerraformStack, statistic: str = "Maximum", period_seconds: int = 300,
                      **overrides: object) -> MetricAlarm:
    metric = Metric("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", {"StreamName": "s"}, statistic, period_seconds)
    return MetricAlarm(stack, "Alarm", MetricAlarmProps(**{
        "name": "bb-iterator-age", "description": "d", "metric": metric, "comparison": "GreaterThanThreshold",
        "threshold": 60000.0, "topic": alarm_topic_with(stack), **overrides}))
