"""Adoption: live resources created the way the reference architecture's layers create them are imported.

The emulator first gets what the reference's `databases-dynamodb--`, `datalake--` and `datalake-demo--` layers
leave behind, under the same AWS names and settings (created with boto3, through the same account roles the
layers use): the table (provisioned, with a DynamoDB stream and the AWS-managed key, as its DynamoDB module makes
it), the raw and processed buckets, the on-demand Kinesis stream, the table's streaming destination into it, the
Firehose delivery stream with its role (named after the delivery stream, as the reference's Firehose module names
it, with a managed policy attached), log group and log stream. Generated with `adoptExisting` for all three
layers, the plans import every one of them and create, destroy or replace none of them: what differs is updated
in place. The applies succeed and the next plans are empty.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import copy_example
from tests.e2e.harness import (Emulator, LeverageProject, dependencies, run_in_dependency_order, synthesize,
                               write_security_keys_layer)
from tests.e2e.toolchain import Toolchain

pytestmark = pytest.mark.e2e

TABLE_LAYER = "apps-devstg/us-east-1/databases-dynamodb"
LAKE_LAYER = "data-science/us-east-1/datalake-demo"
DATALAKE_LAYER = "apps-devstg/us-east-1/datalake"
PIPELINE = "bb-apps-devstg-ddb-lakehouse"
FIREHOSE = f"{PIPELINE}-firehose"  # the delivery stream, and the role the reference's Firehose module names after it
TABLE = "bb-apps-devstg-bb-devstg-dynamodb"  # the reference's DynamoDB module label: bb, apps-devstg, bb-devstg-dynamodb
RAW_BUCKET = "bb-data-science-data-lake-demo-data-raw-bucket"
PROCESSED_BUCKET = "bb-data-science-data-lake-demo-data-processed-bucket"
LOG_GROUP = f"/aws/kinesisfirehose/{FIREHOSE}"
ADOPTED = {  # in `list` order: the datalake layer reads the other two layers' state
    TABLE_LAYER: {"aws_dynamodb_table.app_data"},
    LAKE_LAYER: {"aws_s3_bucket.raw_bucket", "aws_s3_bucket.processed_bucket"},
    DATALAKE_LAYER: {"aws_kinesis_stream.change_stream", "aws_kinesis_firehose_delivery_stream.delivery",
                     "aws_iam_role.delivery_role", "aws_cloudwatch_log_group.delivery_logs",
                     "aws_cloudwatch_log_stream.delivery_logs_destination_errors",
                     "aws_dynamodb_kinesis_streaming_destination.app_data_changes"},
}


def create_what_the_reference_layers_created(project: LeverageProject, account_id: str) -> None:
    dynamodb = project.client("apps-devstg", "dynamodb")
    dynamodb.create_table(
        TableName=TABLE, BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        SSESpecification={"Enabled": True, "SSEType": "KMS"},
        Tags=[{"Key": "Name", "Value": "bb-devstg-dynamodb"}, {"Key": "Terraform", "Value": "true"}])
    dynamodb.update_continuous_backups(
        TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    s3 = project.client("data-science", "s3")
    for bucket in (RAW_BUCKET, PROCESSED_BUCKET):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    kinesis = project.client("apps-devstg", "kinesis")
    kinesis.create_stream(StreamName=f"{PIPELINE}-stream", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    summary = kinesis.describe_stream_summary(StreamName=f"{PIPELINE}-stream")["StreamDescriptionSummary"]
    stream_arn = summary["StreamARN"]
    dynamodb.enable_kinesis_streaming_destination(
        TableName=TABLE, StreamArn=stream_arn,
        EnableKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MICROSECOND"})
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "firehose.amazonaws.com"}, "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"sts:ExternalId": account_id}}}]}
    iam = project.client("apps-devstg", "iam")
    role_arn = iam.create_role(RoleName=FIREHOSE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    kinesis_policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": stream_arn, "Action": [
        "kinesis:DescribeStream", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"]}]}
    policy_arn = iam.create_policy(PolicyName=f"{FIREHOSE}-kinesis",
                                   PolicyDocument=json.dumps(kinesis_policy))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=FIREHOSE, PolicyArn=policy_arn)
    logs = project.client("apps-devstg", "logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName="DestinationDelivery")
    project.client("apps-devstg", "firehose").create_delivery_stream(
        DeliveryStreamName=FIREHOSE, DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": role_arn},
        ExtendedS3DestinationConfiguration={
            "RoleARN": role_arn, "BucketARN": f"arn:aws:s3:::{RAW_BUCKET}",
            "Prefix": "dynamodb_data/!{partitionKeyFromQuery:tableName}/cdc_data/year=!{timestamp:yyyy}/"
                      "month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/",
            "ErrorOutputPrefix": "dynamodb_data/cdc_error/",
            "BufferingHints": {"SizeInMBs": 100, "IntervalInSeconds": 100},
            "CompressionFormat": "UNCOMPRESSED",
            # Dynamic partitioning is chosen when a delivery stream is created: without it, Firehose is replaced.
            "DynamicPartitioningConfiguration": {"Enabled": True, "RetryOptions": {"DurationInSeconds": 300}},
            "ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "MetadataExtraction", "Parameters": [
                {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"},
                {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{tableName:.tableName}"}]}]},
            "CloudWatchLoggingOptions": {"Enabled": True, "LogGroupName": LOG_GROUP,
                                         "LogStreamName": "DestinationDelivery"}})


def test_adopt_existing_takes_over_the_reference_resources_without_creating_or_replacing_any(
        tmp_path: Path, toolchain: Toolchain) -> None:
    root = copy_example(tmp_path / "example")
    with Emulator.start() as emulator:
        project = LeverageProject(root, toolchain, emulator, tmp_path / "scratch")
        project.bootstrap()
        project.apply(write_security_keys_layer(root, "apps-devstg", "us-east-1"))
        create_what_the_reference_layers_created(project, project.accounts["apps-devstg"].id)

        listed = synthesize(root, "-c", "adoptExisting=databases-dynamodb,datalake,datalake-demo")

        def adopt(layer: str) -> None:
            adopted = ADOPTED[layer]
            project.init(layer)
            plan = project.plan(layer)
            assert set(plan.imports) == adopted, layer
            touched = {address: actions for address, actions in plan.changes.items()
                       if address in adopted and actions not in (["no-op"], ["update"])}
            assert not touched, f"{layer}: adopted resources created or replaced: {touched}"
            # Nothing at all is destroyed or replaced: what differs from the stack is updated in place.
            assert not [address for address, actions in plan.changes.items() if "delete" in actions], plan.changes
            project.apply(layer, plan)  # the plan checked above, as saved
            after = project.plan(layer)
            assert after.code == 0, f"{layer} is not settled after adoption:\n{after.text[-3000:]}"
            assert adopted <= set(project.state_addresses(layer))

        # Each layer after the layers it reads, the others side by side.
        depends_on = dependencies(list(ADOPTED), listed.reads)
        # The lake reads the table layers' state: each source may write only its own tables' folders.
        assert depends_on == {TABLE_LAYER: set(), LAKE_LAYER: {TABLE_LAYER}, DATALAKE_LAYER: {TABLE_LAYER, LAKE_LAYER}}
        run_in_dependency_order(list(ADOPTED), depends_on, adopt)
        # The adopted role keeps what was attached to it, and gains the generated layer's inline policy.
        iam = project.client("apps-devstg", "iam")
        assert [policy["PolicyName"] for policy in iam.list_attached_role_policies(RoleName=FIREHOSE)[
            "AttachedPolicies"]] == [f"{FIREHOSE}-kinesis"]
        assert iam.list_role_policies(RoleName=FIREHOSE)["PolicyNames"] == [f"{FIREHOSE}-policy"]
        table = project.client("apps-devstg", "dynamodb").describe_table(TableName=TABLE)["Table"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
