"""The security review's fixes applied for real: against moto with the real aws provider, the lake's key
encrypts its buckets and is used across accounts, access logs, the crawler's security configuration, encrypted
log groups and replication are in place; a second plan is empty; everything destroys.

The example project's layers are applied once for this module and tests/e2e/test_apply.py (`example_lifecycle`,
tests/e2e/lifecycles.py: `inspect_security` reads what is checked here, with every layer applied).
moto stores key policies and bucket policies but evaluates neither, so what is checked is what AWS is told.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.harness import Emulator
from tests.e2e.lifecycles import Lifecycle

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def applied(example_lifecycle: Lifecycle) -> dict[str, Any]:
    example_lifecycle.check()
    seen = dict(example_lifecycle.inspected)
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


def test_plans_are_empty_and_everything_but_the_protected_table_destroys(applied: dict[str, Any]) -> None:
    assert applied["plans"] == {layer: 0 for layer in applied["plans"]}
    failed = [layer for layer, code in applied["destroyed"].items() if code != 0]
    assert [layer.split("/")[-1] for layer in failed] == ["databases-dynamodb"]  # deletion protection, on purpose
    assert {layer for layer, left in applied["left"].items() if left} == set(failed)


def test_emulator_accepts_log_delivery_beside_a_tls_only_deny() -> None:
    """The emulator shim: moto 5.2 fails PutBucketLogging (HTTP 500) when the target's policy has a statement with
    `"Principal": "*"`; with the shim the check reads the policy as AWS does and still refuses a target without a
    log-delivery grant."""
    from botocore.exceptions import ClientError

    from tests.e2e.test_emulator import client

    with Emulator.start() as emulator:
        s3 = client(emulator, "s3")
        for bucket in ("e2e-source", "e2e-logs", "e2e-no-grant"):
            s3.create_bucket(Bucket=bucket)
        deny = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": ["arn:aws:s3:::e2e-logs", "arn:aws:s3:::e2e-logs/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
        delivery = {"Sid": "Delivery", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
                    "Action": "s3:PutObject", "Resource": "arn:aws:s3:::e2e-logs/*"}
        s3.put_bucket_policy(Bucket="e2e-logs", Policy=json.dumps({"Version": "2012-10-17",
                                                                   "Statement": [deny, delivery]}))
        s3.put_bucket_policy(Bucket="e2e-no-grant", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {**deny, "Resource": "arn:aws:s3:::e2e-no-grant/*"}]}))
        s3.put_bucket_logging(Bucket="e2e-source", BucketLoggingStatus={
            "LoggingEnabled": {"TargetBucket": "e2e-logs", "TargetPrefix": "e2e-source/"}})
        assert s3.get_bucket_logging(Bucket="e2e-source")["LoggingEnabled"]["TargetBucket"] == "e2e-logs"
        with pytest.raises(ClientError, match="InvalidTargetBucketForLogging"):
            s3.put_bucket_logging(Bucket="e2e-source", BucketLoggingStatus={
                "LoggingEnabled": {"TargetBucket": "e2e-no-grant", "TargetPrefix": "e2e-source/"}})


def test_emulator_returns_what_notification_and_replication_stored() -> None:
    """The emulator shims: moto 5.2 drops EventBridgeConfiguration from GetBucketNotificationConfiguration, and
    reports delete-marker replication Disabled and no SourceSelectionCriteria from GetBucketReplication."""
    from tests.e2e.test_emulator import client

    with Emulator.start() as emulator:
        s3 = client(emulator, "s3")
        for bucket in ("e2e-replicated", "e2e-replica"):
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_notification_configuration(Bucket="e2e-replicated",
                                                 NotificationConfiguration={"EventBridgeConfiguration": {}})
        assert "EventBridgeConfiguration" in s3.get_bucket_notification_configuration(Bucket="e2e-replicated")
        assert "EventBridgeConfiguration" not in s3.get_bucket_notification_configuration(Bucket="e2e-replica")
        rule = {"ID": "everything", "Priority": 0, "Status": "Enabled", "Filter": {"Prefix": ""},
                "DeleteMarkerReplication": {"Status": "Enabled"},
                "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
                "Destination": {"Bucket": "arn:aws:s3:::e2e-replica"}}
        s3.put_bucket_replication(Bucket="e2e-replicated", ReplicationConfiguration={
            "Role": "arn:aws:iam::111111111111:role/replication", "Rules": [rule]})
        [returned] = s3.get_bucket_replication(Bucket="e2e-replicated")["ReplicationConfiguration"]["Rules"]
        assert returned["DeleteMarkerReplication"] == {"Status": "Enabled"}
        assert returned["SourceSelectionCriteria"] == rule["SourceSelectionCriteria"]


def test_emulator_lets_object_calls_through_a_tls_only_deny_and_no_other() -> None:
    """The emulator shim: moto checks object calls against the bucket policy without its conditions, so a TLS-only
    `Deny` would deny them all; every emulator call stands for a TLS call, so only that statement is left out."""
    from botocore.exceptions import ClientError

    from tests.e2e.test_emulator import client

    with Emulator.start() as emulator:
        s3 = client(emulator, "s3")
        s3.create_bucket(Bucket="e2e-tls-only")
        deny = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": ["arn:aws:s3:::e2e-tls-only", "arn:aws:s3:::e2e-tls-only/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
        s3.put_bucket_policy(Bucket="e2e-tls-only", Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]}))
        s3.put_object(Bucket="e2e-tls-only", Key="object", Body=b"{}")
        s3.delete_object(Bucket="e2e-tls-only", Key="object")
        other = {**deny, "Sid": "DenyAll", "Condition": {"StringEquals": {"aws:SourceAccount": "111111111111"}}}
        s3.put_bucket_policy(Bucket="e2e-tls-only", Policy=json.dumps({"Version": "2012-10-17", "Statement": [other]}))
        with pytest.raises(ClientError):
            s3.put_object(Bucket="e2e-tls-only", Key="object", Body=b"{}")
