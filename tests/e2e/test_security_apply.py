"""The security review's fixes applied for real: against moto with the real aws provider, the lake's key
encrypts its buckets and is used across accounts, access logs, the crawler's security configuration, encrypted
log groups and replication are in place; the plans after the cross-account write are empty; everything destroys.

The example project's layers are applied once for this module and tests/e2e/test_apply.py (`example_lifecycle`,
tests/e2e/lifecycles.py: `inspect_security` reads what is checked here, with every layer applied).
moto stores key policies and bucket policies but evaluates neither, so what is checked is what AWS is told. The
emulator's shims these rely on (log delivery beside a TLS-only deny, ...) are tested in tests/e2e/test_emulator.py.
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.lifecycles import Lifecycle

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def applied(example_lifecycle: Lifecycle) -> dict[str, Any]:
    example_lifecycle.check()
    seen = dict(example_lifecycle.inspected)
    seen["plans"] = {layer: plan.code for layer, plan in example_lifecycle.plans.items()}  # after the write above
    seen["destroyed"] = {layer: run.code for layer, run in example_lifecycle.destroyed.items()}
    seen["left"] = {layer: example_lifecycle.left[layer] for layer in example_lifecycle.layers}
    return seen


def test_the_lake_key_encrypts_the_buckets_rotates_and_trusts_the_firehose_role(applied: dict[str, Any]) -> None:
    assert applied["rotation"] is True
    [rule] = applied["encryption"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": applied["key arn"]}
    assert rule["BucketKeyEnabled"] is True
    statements = {statement["Sid"]: statement for statement in applied["key policy"]["Statement"]}
    firehose = statements["FirehoseWritesRawBucket"]
    assert firehose["Condition"]["ArnEquals"]["aws:PrincipalArn"] == applied["firehose role"]


def test_firehose_writes_with_the_lake_key_across_accounts(applied: dict[str, Any]) -> None:
    assert applied["delivery"]["EncryptionConfiguration"] == {"KMSEncryptionConfig": {"AWSKMSKeyARN": applied["key arn"]}}
    assert applied["probe"]["ServerSideEncryption"] == "aws:kms"
    assert applied["probe"]["SSEKMSKeyId"] == applied["key arn"]
    [group] = applied["delivery logs"]
    assert group["kmsKeyId"].startswith("arn:aws:kms:") and group["retentionInDays"] == 365


def test_access_logs_crawler_encryption_and_replication_are_in_place(applied: dict[str, Any]) -> None:
    assert applied["logging"]["TargetBucket"].endswith("-data-lake-demo-access-logs")
    encryption = applied["security configuration"]["EncryptionConfiguration"]
    assert encryption["CloudWatchEncryption"] == {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": applied["key arn"]}
    [group] = applied["crawler logs"]
    role = applied["crawler"]["Role"].split("/")[-1]
    assert group["logGroupName"] == f"/aws-glue/crawlers-role/{role}-{applied['crawler']['CrawlerSecurityConfiguration']}"
    assert group["kmsKeyId"] == applied["key arn"]
    [rule] = applied["replication"]
    assert rule["Status"] == "Enabled" and rule["Destination"]["Bucket"].endswith("-data-raw-bucket-replica")
    assert rule["Destination"]["Metrics"]["Status"] == "Enabled"  # what the replication-failed alarm watches


def test_plans_are_empty_and_everything_but_the_protected_table_destroys(applied: dict[str, Any]) -> None:
    assert applied["plans"] == {layer: 0 for layer in applied["plans"]}
    failed = [layer for layer, code in applied["destroyed"].items() if code != 0]
    assert [layer.split("/")[-1] for layer in failed] == ["databases-dynamodb"]  # deletion protection, on purpose
    assert {layer for layer, left in applied["left"].items() if left} == set(failed)
