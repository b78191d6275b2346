"""The emulator's shims (tests/e2e/emulator.py) and the S3 proxy route the harness relies on."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.harness import S3_ENDPOINT, Emulator

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator.start() as running:
        yield running


def client(emulator: Emulator, service: str, account: str = "111111111111", **config: Any) -> Any:
    """A client acting in `account`, through a role assumed there (as the harness's profiles do)."""
    sts = boto3.client("sts", endpoint_url=emulator.endpoint, region_name="us-east-1",
                       aws_access_key_id="AKIAE2ETEST000000000", aws_secret_access_key="secret")
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/DevOps", RoleSessionName="test")["Credentials"]
    return boto3.client(service, region_name="us-east-1", aws_access_key_id=credentials["AccessKeyId"],
                        aws_secret_access_key=credentials["SecretAccessKey"],
                        aws_session_token=credentials["SessionToken"],
                        **({"endpoint_url": emulator.endpoint} | config))


def test_kinesis_create_stream_keeps_its_tags(emulator: Emulator) -> None:
    kinesis = client(emulator, "kinesis")
    kinesis.create_stream(StreamName="tagged", StreamModeDetails={"StreamMode": "ON_DEMAND"},
                          Tags={"Layer": "datalake", "Terraform": "true"})
    tags = kinesis.list_tags_for_stream(StreamName="tagged")["Tags"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == {"Layer": "datalake", "Terraform": "true"}


def test_log_group_key_is_associated_and_disassociated(emulator: Emulator) -> None:
    logs = client(emulator, "logs")
    logs.create_log_group(logGroupName="/adopted")
    key = "arn:aws:kms:us-east-1:555555555555:key/11111111-2222-3333-4444-555555555555"
    logs.associate_kms_key(logGroupName="/adopted", kmsKeyId=key)
    assert logs.describe_log_groups(logGroupNamePrefix="/adopted")["logGroups"][0]["kmsKeyId"] == key
    logs.disassociate_kms_key(logGroupName="/adopted")
    assert "kmsKeyId" not in logs.describe_log_groups(logGroupNamePrefix="/adopted")["logGroups"][0]
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.associate_kms_key(logGroupName="/missing", kmsKeyId=key)


def test_dynamodb_kinesis_streaming_destination_is_recorded(emulator: Emulator) -> None:
    dynamodb, kinesis = client(emulator, "dynamodb"), client(emulator, "kinesis")
    dynamodb.create_table(TableName="cdc", BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    kinesis.create_stream(StreamName="changes", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    stream = kinesis.describe_stream_summary(StreamName="changes")["StreamDescriptionSummary"]["StreamARN"]
    assert dynamodb.describe_kinesis_streaming_destination(TableName="cdc")["KinesisDataStreamDestinations"] == []

    enabled = dynamodb.enable_kinesis_streaming_destination(
        TableName="cdc", StreamArn=stream,
        EnableKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MICROSECOND"})
    assert enabled["DestinationStatus"] == "ACTIVE"
    described = dynamodb.describe_kinesis_streaming_destination(TableName="cdc")
    assert described["KinesisDataStreamDestinations"] == [
        {"StreamArn": stream, "DestinationStatus": "ACTIVE", "ApproximateCreationDateTimePrecision": "MICROSECOND"}]

    dynamodb.update_kinesis_streaming_destination(
        TableName="cdc", StreamArn=stream,
        UpdateKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MILLISECOND"})
    described = dynamodb.describe_kinesis_streaming_destination(TableName="cdc")
    assert described["KinesisDataStreamDestinations"][0]["ApproximateCreationDateTimePrecision"] == "MILLISECOND"

    dynamodb.disable_kinesis_streaming_destination(TableName="cdc", StreamArn=stream)
    described = dynamodb.describe_kinesis_streaming_destination(TableName="cdc")
    assert [each["DestinationStatus"] for each in described["KinesisDataStreamDestinations"]] == ["DISABLED"]
    # Another account's table of the same name has none.
    other = client(emulator, "dynamodb", account="222222222222")
    other.create_table(TableName="cdc", BillingMode="PAY_PER_REQUEST",
                       AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                       KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    assert other.describe_kinesis_streaming_destination(TableName="cdc")["KinesisDataStreamDestinations"] == []


def test_update_table_changes_the_key_and_reports_on_demand_capacity_as_aws_does(emulator: Emulator) -> None:
    dynamodb = client(emulator, "dynamodb")
    dynamodb.create_table(TableName="provisioned", BillingMode="PROVISIONED",
                          ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          SSESpecification={"Enabled": True, "SSEType": "KMS"})
    key = "arn:aws:kms:us-east-1:111111111111:key/11111111-2222-3333-4444-555555555555"
    updated = dynamodb.update_table(TableName="provisioned", BillingMode="PAY_PER_REQUEST",
                                    SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key})
    table = dynamodb.describe_table(TableName="provisioned")["Table"]
    assert updated["TableDescription"]["SSEDescription"] == table["SSEDescription"]
    assert table["SSEDescription"]["KMSMasterKeyArn"] == key
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    throughput = table["ProvisionedThroughput"]
    assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (0, 0)
    dynamodb.update_table(TableName="provisioned", SSESpecification={"Enabled": False})
    assert "SSEDescription" not in dynamodb.describe_table(TableName="provisioned")["Table"]


def test_update_crawler_records_the_fields_it_is_given(emulator: Emulator) -> None:
    glue = client(emulator, "glue")
    glue.create_database(DatabaseInput={"Name": "lake"})
    glue.create_crawler(Name="cdc", Role="arn:aws:iam::111111111111:role/crawler", DatabaseName="lake",
                        Targets={"S3Targets": [{"Path": "s3://raw/cdc/"}]}, Schedule="cron(0 * * * ? *)")
    glue.update_crawler(Name="cdc", CrawlerSecurityConfiguration="encrypted",
                        Targets={"S3Targets": [{"Path": "s3://raw/cdc/", "Exclusions": ["errors/**"]}]})
    crawler = glue.get_crawler(Name="cdc")["Crawler"]
    assert crawler["CrawlerSecurityConfiguration"] == "encrypted"
    assert crawler["Targets"]["S3Targets"] == [{"Path": "s3://raw/cdc/", "Exclusions": ["errors/**"]}]
    assert (crawler["Role"], crawler["Schedule"]["ScheduleExpression"], crawler["Version"]) == (
        "arn:aws:iam::111111111111:role/crawler", "cron(0 * * * ? *)", 2)
    with pytest.raises(ClientError) as raised:
        glue.update_crawler(Name="missing", Role="arn:aws:iam::111111111111:role/crawler")
    assert raised.value.response["Error"]["Code"] == "EntityNotFoundException"


def test_a_retried_state_lock_write_succeeds_and_another_runs_lock_still_fails(emulator: Emulator) -> None:
    dynamodb = client(emulator, "dynamodb")
    dynamodb.create_table(TableName="locks", BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])

    def lock(lock_id: str, path: str = "state/layer/terraform.tfstate") -> dict[str, Any]:
        return {"TableName": "locks", "ConditionExpression": "attribute_not_exists(LockID)",
                "Item": {"LockID": {"S": path}, "Info": {"S": json.dumps({"ID": lock_id, "Path": path})}}}

    dynamodb.put_item(**lock("first"))
    dynamodb.put_item(**lock("first"))  # the SDK's retry of a write whose answer was lost
    for another_run in (lock("second"), {**lock("first"), "Item": {**lock("first")["Item"], "Digest": {"S": "x"}}}):
        with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
            dynamodb.put_item(**another_run)
    stored = dynamodb.get_item(TableName="locks", Key={"LockID": {"S": "state/layer/terraform.tfstate"}})["Item"]
    assert json.loads(stored["Info"]["S"])["ID"] == "first"
    # Any other conditional write keeps AWS's answer, also when it repeats the stored item: another condition, or
    # another item (the state's digest, which Terraform writes beside the lock without a condition).
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(**{**lock("first"),
                             "ConditionExpression": "attribute_not_exists(LockID) AND attribute_not_exists(Info)"})
    digest = {"LockID": {"S": "state/layer/terraform.tfstate-md5"}, "Digest": {"S": "0123456789abcdef"}}
    dynamodb.put_item(TableName="locks", Item=digest)
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(TableName="locks", Item=digest, ConditionExpression="attribute_not_exists(LockID)")
    retried = dynamodb.put_item(**lock("first"), ReturnConsumedCapacity="TOTAL")
    assert retried["ConsumedCapacity"] == {"TableName": "locks", "CapacityUnits": 1.0}


def test_streaming_destination_of_a_missing_table_is_not_found(emulator: Emulator) -> None:
    with pytest.raises(ClientError) as raised:
        client(emulator, "dynamodb").enable_kinesis_streaming_destination(
            TableName="no-such-table", StreamArn="arn:aws:kinesis:us-east-1:111111111111:stream/x")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_buckets_addressed_by_virtual_host_reach_the_emulator_as_a_proxy(emulator: Emulator) -> None:
    """The route Terraform's S3 calls take: `<bucket>.s3.e2e.test`, never resolved, through the emulator as proxy."""
    proxied = client(emulator, "s3", account="333333333333", endpoint_url=S3_ENDPOINT,
                     config=Config(proxies={"http": emulator.endpoint}, s3={"addressing_style": "virtual"}))
    proxied.create_bucket(Bucket="e2e-proxied-bucket")
    proxied.put_object(Bucket="e2e-proxied-bucket", Key="state", Body=b"{}")
    direct = client(emulator, "s3", account="333333333333")
    assert direct.get_object(Bucket="e2e-proxied-bucket", Key="state")["Body"].read() == b"{}"
    assert "e2e-proxied-bucket" not in [bucket["Name"] for bucket in
                                        client(emulator, "s3", account="444444444444").list_buckets()["Buckets"]]


def test_a_queues_redrive_policy_is_compact_json_as_aws_returns_it(emulator: Emulator) -> None:
    sqs = client(emulator, "sqs")
    dead = sqs.create_queue(QueueName="redrive-dlq")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName="redrive", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 5})})["QueueUrl"]
    policy = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    assert policy == f'{{"deadLetterTargetArn":"{dead_arn}","maxReceiveCount":5}}'


def test_log_delivery_is_accepted_beside_a_tls_only_deny(emulator: Emulator) -> None:
    """The emulator shim: moto 5.2 fails PutBucketLogging (HTTP 500) when the target's policy has a statement with
    `"Principal": "*"`; with the shim the check reads the policy as AWS does and still refuses a target without a
    log-delivery grant."""
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


def test_notification_and_replication_return_what_was_stored(emulator: Emulator) -> None:
    """The emulator shims: moto 5.2 drops EventBridgeConfiguration from GetBucketNotificationConfiguration, and
    reports delete-marker replication Disabled and no SourceSelectionCriteria from GetBucketReplication."""
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


def test_object_calls_pass_a_tls_only_deny_and_no_other(emulator: Emulator) -> None:
    """The emulator shim: moto checks object calls against the bucket policy without its conditions, so a TLS-only
    `Deny` would deny them all; every emulator call stands for a TLS call, so only that statement is left out."""
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


def test_access_logs_are_written_at_once_until_held(emulator: Emulator) -> None:
    """moto writes a server access log object during each request to a logged bucket; while held (for the
    destroys, as AWS delivers them hours later), none."""
    s3 = client(emulator, "s3")
    for bucket in ("e2e-logged", "e2e-access-logs"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_acl(Bucket="e2e-access-logs", GrantWrite="uri=http://acs.amazonaws.com/groups/s3/LogDelivery",
                      GrantReadACP="uri=http://acs.amazonaws.com/groups/s3/LogDelivery")
    s3.put_bucket_logging(Bucket="e2e-logged", BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": "e2e-access-logs", "TargetPrefix": "logged/"}})

    def logs() -> int:
        return s3.list_objects_v2(Bucket="e2e-access-logs").get("KeyCount", 0)

    s3.get_bucket_location(Bucket="e2e-logged")
    written = logs()
    assert written >= 1
    emulator.hold_access_logs()
    try:
        s3.get_bucket_location(Bucket="e2e-logged")
        s3.put_object(Bucket="e2e-logged", Key="object", Body=b"{}")
        assert logs() == written
    finally:
        emulator.hold_access_logs(held=False)
    s3.get_bucket_location(Bucket="e2e-logged")
    assert logs() > written


def test_moto_lists_its_modules_once_and_the_same() -> None:
    """The emulator's one change for speed: moto's per-request listing of its own package folder, listed once."""
    from tests.e2e import emulator as shims

    assert shims.moto_modules() == tuple(shims._LIST_OF_MOTO_MODULES()) and "s3" in shims.moto_modules()
    assert shims.moto_modules() is shims.moto_modules()
