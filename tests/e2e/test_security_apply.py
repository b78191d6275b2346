"""The security review's fixes applied for real (issue 9): against moto with the real aws provider, the lake's key
encrypts its buckets and is used across accounts, access logs, the crawler's security configuration, encrypted
log groups and replication are in place; a second plan is empty; everything destroys.

moto stores key policies and bucket policies but evaluates neither, so what is checked is what AWS is told.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import copy_example
from tests.e2e.harness import Emulator, LeverageProject, synthesize, write_security_keys_layer
from tests.e2e.toolchain import Toolchain

pytestmark = pytest.mark.e2e

SOURCE, LAKE, REGION = "apps-devstg", "data-science", "us-east-1"
PROBE = "dynamodb_data/e2e_probe/record.json"


def empty_bucket(s3: Any, bucket: str) -> None:
    """Versioned: every version and delete marker, so that the layer can destroy the bucket."""
    listed = s3.list_object_versions(Bucket=bucket)
    for entry in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
        s3.delete_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])


@pytest.fixture(scope="module")
def applied(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = copy_example(tmp_path_factory.mktemp("e2e-security") / "example")
    listed = synthesize(root)
    seen: dict[str, Any] = {}
    with Emulator.start() as emulator:
        project = LeverageProject(root, toolchain, emulator, tmp_path_factory.mktemp("e2e-security-aws"))
        project.bootstrap()
        layers = [write_security_keys_layer(root, account, REGION) for account in listed.security_keys_accounts]
        layers += listed.layers
        for layer in layers:
            project.init(layer)
            project.apply(layer)
        outputs = {layer.split("/")[-1]: project.outputs(layer) for layer in layers}
        lake_outputs, datalake_outputs = outputs["datalake-demo"], outputs["datalake"]
        key_arn = lake_outputs["s3_bucket_data_kms_key_arn"]
        raw = lake_outputs["s3_bucket_data_raw_arn"].split(":::")[1]
        lake_s3, lake_kms = project.client(LAKE, "s3"), project.client(LAKE, "kms")
        seen["key arn"] = key_arn
        seen["rotation"] = lake_kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"]
        seen["key policy"] = json.loads(lake_kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
        seen["encryption"] = lake_s3.get_bucket_encryption(Bucket=raw)["ServerSideEncryptionConfiguration"]["Rules"]
        seen["logging"] = lake_s3.get_bucket_logging(Bucket=raw).get("LoggingEnabled")
        seen["replication"] = lake_s3.get_bucket_replication(Bucket=raw)["ReplicationConfiguration"]["Rules"]
        seen["firehose role"] = datalake_outputs["kinesis_firehose_role_arn"]
        delivery = project.client(SOURCE, "firehose").describe_delivery_stream(
            DeliveryStreamName=datalake_outputs["kinesis_firehose_arn"].split("/")[-1])["DeliveryStreamDescription"]
        seen["delivery"] = delivery["Destinations"][0]["ExtendedS3DestinationDescription"]
        seen["delivery logs"] = project.client(SOURCE, "logs").describe_log_groups(
            logGroupNamePrefix="/aws/kinesisfirehose/")["logGroups"]
        glue = project.client(LAKE, "glue")
        crawler = glue.get_crawler(Name=next(iter(glue.get_crawlers()["Crawlers"]))["Name"])["Crawler"]
        seen["crawler"] = crawler
        seen["security configuration"] = glue.get_security_configuration(
            Name=crawler["CrawlerSecurityConfiguration"])["SecurityConfiguration"]
        seen["crawler logs"] = project.client(LAKE, "logs").describe_log_groups(
            logGroupNamePrefix="/aws-glue/crawlers-role/")["logGroups"]
        # Cross-account key use, as Firehose writes: the source account puts an object into the lake's raw bucket,
        # encrypted with the lake account's key.
        project.client(SOURCE, "s3").put_object(Bucket=raw, Key=PROBE, Body=b'{"tableName": "probe"}',
                                                ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
        seen["probe"] = lake_s3.head_object(Bucket=raw, Key=PROBE)
        empty_bucket(lake_s3, raw)
        seen["plans"] = {layer: project.plan(layer).code for layer in layers}
        seen["destroyed"] = {layer: project.destroy(layer).code for layer in reversed(layers)}
        seen["left"] = {layer: [a for a in project.state_addresses(layer) if not a.startswith("data.")]
                        for layer in layers}
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
