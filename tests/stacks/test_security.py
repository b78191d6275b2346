"""The security review's findings, each fixed in the generated layers: keys, logs, grants, replication."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.conftest import ProjectSpec, run_cli
from tests.layers import config_tf, main_json

LAKE = "data-science/us-east-1/datalake-demo"
DATALAKE = "apps-devstg/us-east-1/datalake"
SOURCE_ID, LAKE_ID = "555555555555", "777777777777"
FIREHOSE_ROLE_ARN = f"arn:aws:iam::{SOURCE_ID}:role/bb-apps-devstg-ddb-lakehouse-firehose-role"
RAW, PROCESSED = "${aws_s3_bucket.raw_bucket.arn}", "${aws_s3_bucket.processed_bucket.arn}"
TABLE = "${data.terraform_remote_state.databases_dynamodb.outputs.dynamodb_table_name}"  # as both layers read it


@pytest.fixture(scope="module")
def lake(synthesized_example: Path) -> dict[str, Any]:
    return main_json(synthesized_example / LAKE)


@pytest.fixture(scope="module")
def datalake(synthesized_example: Path) -> dict[str, Any]:
    return main_json(synthesized_example / DATALAKE)


def resource(layer: dict[str, Any], address: str) -> dict[str, Any]:
    kind, name = address.split(".")
    return layer["resource"][kind][name]


def key_policy(layer: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    """A key's policy by statement id (the JSON with Terraform's `${...}` references left in)."""
    policy = json.loads(resource(layer, f"aws_kms_key.{key}")["policy"])
    assert all(statement["Resource"] == "*" for statement in policy["Statement"])  # "*" is this key
    return {statement["Sid"]: statement for statement in policy["Statement"]}


def document(layer: dict[str, Any], reference: str) -> dict[str, dict[str, Any]]:
    name = reference.removeprefix("${data.aws_iam_policy_document.").removesuffix(".json}")
    return {s["sid"]: s for s in layer["data"]["aws_iam_policy_document"][name]["statement"]}


def role_policy(layer: dict[str, Any], role: str) -> dict[str, dict[str, Any]]:
    return document(layer, resource(layer, f"aws_iam_role_policy.{role}")["policy"])


def test_lake_buckets_are_encrypted_with_the_lake_key_rotated_with_bucket_keys(lake: dict[str, Any]) -> None:
    key = resource(lake, "aws_kms_key.data_key")
    assert key["enable_key_rotation"] is True and key["deletion_window_in_days"] == 30
    for bucket in ("raw_bucket", "processed_bucket"):
        [rule] = resource(lake, f"aws_s3_bucket_server_side_encryption_configuration.{bucket}")["rule"]
        assert rule["apply_server_side_encryption_by_default"] == {
            "sse_algorithm": "aws:kms", "kms_master_key_id": "${aws_kms_key.data_key.arn}"}
        assert rule["bucket_key_enabled"] is True
    assert lake["output"]["s3_bucket_data_kms_key_arn"]["value"] == "${aws_kms_key.data_key.arn}"


def test_key_policy_names_the_firehose_role_by_arn_and_only_its_tables_folders(lake: dict[str, Any]) -> None:
    statements = key_policy(lake, "data_key")
    firehose = statements["FirehoseWritesRawBucket"]
    # The same pattern as the bucket policy: the source account as principal, the role pinned by its ARN.
    assert firehose["Principal"] == {"AWS": f"arn:aws:iam::{SOURCE_ID}:root"}
    assert firehose["Condition"]["ArnEquals"] == {"aws:PrincipalArn": FIREHOSE_ROLE_ARN}
    assert firehose["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-east-1.amazonaws.com",
                                                     "kms:CallerAccount": SOURCE_ID}
    assert firehose["Condition"]["StringLike"] == {"kms:EncryptionContext:aws:s3:arn": [
        RAW, f"{RAW}/dynamodb_data/{TABLE}/cdc_data/*", f"{RAW}/dynamodb_data/cdc_error/apps-devstg/*"]}
    assert sorted(firehose["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    crawler = statements["CrawlerReadsBucket"]
    assert crawler["Action"] == "kms:Decrypt"
    assert crawler["Condition"]["ArnEquals"] == {
        "aws:PrincipalArn": f"arn:aws:iam::{LAKE_ID}:role/{resource(lake, 'aws_iam_role.cdc_crawler_role')['name']}"}
    # The key policy delegates to IAM for the crawler: its role's policy carries the other half.
    crawler_grant = role_policy(lake, "cdc_crawler_role")["CrawlerReadsBucket"]
    assert crawler_grant["actions"] == ["kms:Decrypt"] and crawler_grant["resources"] == ["${aws_kms_key.data_key.arn}"]
    assert {"test": "StringLike", "variable": "kms:EncryptionContext:aws:s3:arn",
            "values": crawler["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"]} in crawler_grant["condition"]
    # The account may manage the key but uses it only through S3, for the lake's buckets.
    assert not any(action in statements["AccountAdministersKey"]["Action"]
                   for action in ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"))
    assert statements["AccountUsesKeyThroughS3"]["Condition"]["StringEquals"]["kms:ViaService"] == (
        "s3.us-east-1.amazonaws.com")
    # S3 encrypts with data keys (GenerateDataKey, Decrypt); only replication into the replicas calls kms:Encrypt.
    assert sorted(statements["AccountUsesKeyThroughS3"]["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert "kms:Encrypt" in key_policy(lake, "data_key_replica")["AccountUsesKeyThroughS3"]["Action"]


def test_firehose_writes_with_the_lake_key_it_reads_from_the_lake_layer(datalake: dict[str, Any],
                                                                       lake: dict[str, Any]) -> None:
    key_arn = "${data.terraform_remote_state.datalake_demo.outputs.s3_bucket_data_kms_key_arn}"
    assert "s3_bucket_data_kms_key_arn" in lake["output"]
    s3 = resource(datalake, "aws_kinesis_firehose_delivery_stream.delivery")["extended_s3_configuration"]
    assert s3["kms_key_arn"] == key_arn
    grant = role_policy(datalake, "delivery_role")["EncryptDeliveredObjects"]
    bucket = "${data.terraform_remote_state.datalake_demo.outputs.s3_bucket_data_raw_arn}"
    assert grant["resources"] == [key_arn]
    assert grant["actions"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert {"test": "StringEquals", "variable": "kms:ViaService", "values": ["s3.us-east-1.amazonaws.com"]} in grant["condition"]
    assert {"test": "StringLike", "variable": "kms:EncryptionContext:aws:s3:arn", "values": [
        bucket, f"{bucket}/dynamodb_data/{TABLE}/cdc_data/*", f"{bucket}/dynamodb_data/cdc_error/apps-devstg/*"]} \
        in grant["condition"]


def test_lake_buckets_log_access_to_a_private_sse_s3_log_bucket_with_a_lifecycle(lake: dict[str, Any]) -> None:
    for bucket in ("raw_bucket", "processed_bucket"):
        logging = resource(lake, f"aws_s3_bucket_logging.{bucket}")
        assert logging["target_bucket"] == "${aws_s3_bucket.access_log_bucket.id}"
        assert logging["target_prefix"] == resource(lake, f"aws_s3_bucket.{bucket}")["bucket"] + "/"
    assert "access_log_bucket" not in lake["resource"]["aws_s3_bucket_logging"]  # no logs of writing logs
    [rule] = resource(lake, "aws_s3_bucket_server_side_encryption_configuration.access_log_bucket")["rule"]
    assert rule["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}
    assert all(resource(lake, "aws_s3_bucket_public_access_block.access_log_bucket")[setting] is True for setting in (
        "block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    [lifecycle] = resource(lake, "aws_s3_bucket_lifecycle_configuration.access_log_bucket")["rule"]
    assert lifecycle["expiration"] == [{"days": 365}]
    delivery = document(lake, resource(lake, "aws_s3_bucket_policy.access_log_bucket")["policy"])[
        "S3ServerAccessLogDelivery"]
    assert delivery["principals"] == [{"type": "Service", "identifiers": ["logging.s3.amazonaws.com"]}]
    assert delivery["actions"] == ["s3:PutObject"]
    assert delivery["condition"] == [
        {"test": "StringEquals", "variable": "aws:SourceAccount", "values": [LAKE_ID]},
        {"test": "ArnLike", "variable": "aws:SourceArn", "values": [RAW, PROCESSED]}]
    assert set(lake["resource"]["aws_s3_bucket_notification"]) == set(lake["resource"]["aws_s3_bucket"])
    assert all(notification["eventbridge"] is True for notification in lake["resource"]["aws_s3_bucket_notification"].values())


def test_crawler_encrypts_with_a_security_configuration_and_logs_where_glue_writes(lake: dict[str, Any]) -> None:
    crawler = resource(lake, "aws_glue_crawler.cdc_crawler")
    assert crawler["security_configuration"] == "${aws_glue_security_configuration.cdc_crawler_security.name}"
    configuration = resource(lake, "aws_glue_security_configuration.cdc_crawler_security")
    encryption = configuration["encryption_configuration"]
    key = "${aws_kms_key.data_key.arn}"
    assert encryption["cloudwatch_encryption"] == {"cloudwatch_encryption_mode": "SSE-KMS", "kms_key_arn": key}
    assert encryption["s3_encryption"] == {"s3_encryption_mode": "SSE-KMS", "kms_key_arn": key}
    assert encryption["job_bookmarks_encryption"] == {"job_bookmarks_encryption_mode": "CSE-KMS", "kms_key_arn": key}
    # With a security configuration Glue logs to /aws-glue/crawlers-role/<role>-<configuration>, one stream per crawler.
    role = resource(lake, "aws_iam_role.cdc_crawler_role")["name"]
    group = f"/aws-glue/crawlers-role/{role}-{configuration['name']}"
    log_group = resource(lake, "aws_cloudwatch_log_group.cdc_crawler_logs")
    assert log_group == {"name": group, "retention_in_days": 365, "kms_key_id": key}
    group_arn = f"arn:aws:logs:us-east-1:{LAKE_ID}:log-group:{group}"
    grants = role_policy(lake, "cdc_crawler_role")
    assert grants["CreateCrawlerLogGroup"]["resources"] == [group_arn, f"{group_arn}:*"]
    assert grants["CreateCrawlerLogGroup"]["actions"] == ["logs:AssociateKmsKey", "logs:CreateLogGroup"]
    assert grants["WriteCrawlerLogs"]["resources"] == [f"{group_arn}:log-stream:{crawler['name']}"]
    # As AWS documents it: the group's ARN as encryption context, no aws:SourceAccount (Logs sends none).
    assert key_policy(lake, "data_key")["EncryptLogGroup"]["Condition"] == {
        "StringEquals": {"kms:EncryptionContext:aws:logs:arn": group_arn}}
    # Writing its encrypted logs, the role uses the key through CloudWatch Logs: both halves.
    writing = key_policy(lake, "data_key")["WriteEncryptedLogs"]
    assert writing["Condition"]["StringEquals"]["kms:ViaService"] == "logs.us-east-1.amazonaws.com"
    assert writing["Condition"]["ArnEquals"] == {"aws:PrincipalArn": f"arn:aws:iam::{LAKE_ID}:role/{role}"}
    assert {"test": "StringEquals", "variable": "kms:EncryptionContext:aws:logs:arn", "values": [group_arn]} \
        in grants["WriteEncryptedLogs"]["condition"]
    [trust] = document(lake, resource(lake, "aws_iam_role.cdc_crawler_role")["assume_role_policy"]).values()
    assert trust["condition"] == [{"test": "StringEquals", "variable": "aws:SourceAccount", "values": [LAKE_ID]}]


def test_firehose_error_log_group_is_encrypted_with_a_key_of_its_layer_and_kept_a_year(datalake: dict[str, Any]) -> None:
    group = resource(datalake, "aws_cloudwatch_log_group.delivery_logs")
    assert group["kms_key_id"] == "${aws_kms_key.delivery_logs_key.arn}"
    assert group["retention_in_days"] == 365
    assert resource(datalake, "aws_kms_key.delivery_logs_key")["enable_key_rotation"] is True
    statement = key_policy(datalake, "delivery_logs_key")["EncryptLogGroup"]
    assert statement["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["kms:EncryptionContext:aws:logs:arn"] == (
        f"arn:aws:logs:us-east-1:{SOURCE_ID}:log-group:{group['name']}")


def test_listing_is_limited_to_the_prefixes_each_service_uses(lake: dict[str, Any], datalake: dict[str, Any]) -> None:
    # Firehose only writes new keys: it lists its own folders and nothing else (no prefix-less listing).
    firehose = {"test": "StringLike", "variable": "s3:prefix",
                "values": [f"dynamodb_data/{TABLE}/cdc_data/*", "dynamodb_data/cdc_error/apps-devstg/*"]}
    for statement in (role_policy(datalake, "delivery_role")["ListBucketPrefixes"],
                      document(lake, resource(lake, "aws_s3_bucket_policy.raw_bucket")["policy"])["FirehoseDeliveryListing"]):
        assert statement["actions"] == ["s3:ListBucket"] and firehose in statement["condition"]
    # The crawler reads: a missing key must answer 404, whose check carries no prefix.
    crawler = {"test": "StringLikeIfExists", "variable": "s3:prefix", "values": ["dynamodb_data", "dynamodb_data/*"]}
    assert role_policy(lake, "cdc_crawler_role")["ListBucket"]["condition"] == [crawler]
    every_statement = [*role_policy(datalake, "delivery_role").values(), *role_policy(lake, "cdc_crawler_role").values()]
    assert all("s3:ListBucket" not in s["actions"] or s.get("condition") in ([firehose], [crawler])
               for s in every_statement)


def test_lake_replicates_to_the_other_region_by_default(synthesized_example: Path, lake: dict[str, Any]) -> None:
    providers = config_tf(synthesized_example / LAKE)["provider"]
    replica = [p["aws"] for p in providers if p["aws"].get("alias") == "replica"]
    assert [p["region"] for p in replica] == ["${var.region_secondary}"]
    for bucket in ("raw_bucket", "processed_bucket", "access_log_bucket"):
        assert resource(lake, f"aws_s3_bucket.{bucket}_replica")["provider"] == "aws.replica"
        [rule] = resource(lake, f"aws_s3_bucket_replication_configuration.{bucket}")["rule"]
        assert rule["status"] == "Enabled"
        assert rule["destination"]["bucket"] == f"${{aws_s3_bucket.{bucket}_replica.arn}}"
    [rule] = resource(lake, "aws_s3_bucket_replication_configuration.raw_bucket")["rule"]
    assert rule["destination"]["encryption_configuration"] == {"replica_kms_key_id": "${aws_kms_key.data_key_replica.arn}"}
    assert resource(lake, "aws_kms_key.data_key_replica")["provider"] == "aws.replica"
    replication = role_policy(lake, "replication_role")
    secondary = hcl2.loads((synthesized_example / "config/common.tfvars").read_text())["region_secondary"]
    assert replication["EncryptReplicas"]["condition"][0]["values"] == [f"s3.{secondary}.amazonaws.com"]
    assert replication["DecryptSourceObjects"]["condition"][0]["values"] == ["s3.us-east-1.amazonaws.com"]


def test_a_failing_replication_pages(lake: dict[str, Any]) -> None:
    """S3 publishes a rule's failed replications only with its metrics on; each replicated bucket has its alarm, on
    the lake's own encrypted topic."""
    topic = resource(lake, "aws_sns_topic.alarms")
    assert topic["kms_master_key_id"] == "${aws_kms_key.alarms_key.arn}"
    for bucket in ("raw_bucket", "processed_bucket", "access_log_bucket"):
        [rule] = resource(lake, f"aws_s3_bucket_replication_configuration.{bucket}")["rule"]
        assert rule["destination"]["metrics"] == {"status": "Enabled"}
        name = resource(lake, f"aws_s3_bucket.{bucket}")["bucket"]
        alarm = resource(lake, f"aws_cloudwatch_metric_alarm.{bucket}_replication_failed_alarm")
        assert {key: alarm[key] for key in ("namespace", "metric_name", "dimensions", "statistic", "threshold",
                                            "comparison_operator", "alarm_actions")} == {
            "namespace": "AWS/S3", "metric_name": "OperationsFailedReplication", "statistic": "Sum",
            "dimensions": {"SourceBucket": name, "DestinationBucket": f"{name}-replica", "RuleId": rule["id"]},
            "threshold": 0, "comparison_operator": "GreaterThanThreshold",
            "alarm_actions": ["${aws_sns_topic.alarms.arn}"]}
        assert alarm["alarm_name"] == f"{name}-replication-failed"


@pytest.mark.parametrize("setting, region", [("off", None), ("eu-central-1", "eu-central-1")])
def test_replication_setting_turns_it_off_or_picks_the_region(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                            setting: str, region: str | None) -> None:
    root = ProjectSpec().write(tmp_path / "project")
    assert run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", f"lakeReplicaRegion={setting}").code == 0
    folder = root / LAKE
    replicas = [p["aws"]["region"] for p in config_tf(folder)["provider"] if p["aws"].get("alias") == "replica"]
    assert replicas == ([region] if region else [])
    assert ("aws_s3_bucket_replication_configuration" in main_json(folder)["resource"]) == bool(region)
    assert ("aws_sns_topic" in main_json(folder)["resource"]) == bool(region)  # the lake's alarms are replication's


def test_replicating_into_the_lake_region_itself_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = ProjectSpec().write(tmp_path / "project")
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", "lakeReplicaRegion=us-east-1")
    assert result.code == 2
    assert result.err.startswith("error: setting lakeReplicaRegion='us-east-1' is the lake's own region")
    assert not (root / LAKE).exists()


def test_an_access_log_bucket_refuses_a_kms_key_and_keeping_logs_forever() -> None:
    from bindings import TerraformStack, Testing
    from aws_constructs.errors import ConstructPropsError
    from aws_constructs.kms import KmsKeyRef
    from aws_constructs.s3 import SecureBucketProps, ServerAccessLogBucket

    stack = TerraformStack(Testing.app(), "test")
    with pytest.raises(ConstructPropsError, match=r"^bucket bb-logs: S3 server access log delivery supports only SSE-S3 "
                                                  r"on its target bucket; leave encryption_key unset$"):
        ServerAccessLogBucket(stack, "Logs", SecureBucketProps(
            name="bb-logs", expiration_days=365, encryption_key=KmsKeyRef("arn:aws:kms:us-east-1:1:key/x")), "1")
    with pytest.raises(ConstructPropsError,
                       match=r"^bucket bb-logs-2: set expiration_days, logs must not be kept forever$"):
        ServerAccessLogBucket(stack, "Logs2", SecureBucketProps(name="bb-logs-2"), "1")
    with pytest.raises(ConstructPropsError, match="expire after 90 days, which must be positive and after every"):
        ServerAccessLogBucket(stack, "Logs3", SecureBucketProps(name="bb-logs-3", expiration_days=90), "1")


def test_lake_buckets_never_move_objects_to_a_class_no_read_reaches(lake: dict[str, Any]) -> None:
    """Query engines and Iceberg read the lake's objects in place at any age (a rebuild reads the whole raw history;
    a table's data files stay live for years): no GLACIER or DEEP_ARCHIVE, in either region."""
    classes = {bucket: [transition["storage_class"] for rule in
                        resource(lake, f"aws_s3_bucket_lifecycle_configuration.{bucket}")["rule"]
                        for transition in rule.get("transition", [])]
               for bucket in ("raw_bucket", "processed_bucket", "raw_bucket_replica", "processed_bucket_replica")}
    assert classes == {"raw_bucket": ["STANDARD_IA", "GLACIER_IR"], "raw_bucket_replica": ["STANDARD_IA", "GLACIER_IR"],
                       "processed_bucket": ["STANDARD_IA"], "processed_bucket_replica": ["STANDARD_IA"]}
