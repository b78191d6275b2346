"""Adoption: live resources created the way the reference architecture's layers create them are imported.

The emulator first gets what the reference's `datalake--` and `datalake-demo--` layers leave behind, under the
same AWS names (created with boto3, through the same account roles the layers use): the raw and processed
buckets, the on-demand Kinesis stream, the table's streaming destination into it, the Firehose delivery stream
with its own role (named after the delivery stream, as the reference's Firehose module names it), log group and
log stream. Generated with `adoptExisting`, the plans import every one of them and create none of them; the
applies succeed and the next plans are empty.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import copy_example
from tests.e2e.harness import Emulator, LeverageProject, synthesize, write_security_keys_layer
from tests.e2e.toolchain import Toolchain

pytestmark = pytest.mark.e2e

TABLE_LAYER = "apps-devstg/us-east-1/databases-dynamodb"
LAKE_LAYER = "data-science/us-east-1/datalake-demo"
DATALAKE_LAYER = "apps-devstg/us-east-1/datalake"
PIPELINE = "bb-apps-devstg-ddb-lakehouse"
RAW_BUCKET = "bb-data-science-data-lake-demo-data-raw-bucket"
PROCESSED_BUCKET = "bb-data-science-data-lake-demo-data-processed-bucket"
LOG_GROUP = f"/aws/kinesisfirehose/{PIPELINE}-firehose"
ADOPTED = {
    LAKE_LAYER: {"aws_s3_bucket.raw_bucket", "aws_s3_bucket.processed_bucket"},
    DATALAKE_LAYER: {"aws_kinesis_stream.change_stream", "aws_kinesis_firehose_delivery_stream.delivery",
                     "aws_cloudwatch_log_group.delivery_logs",
                     "aws_cloudwatch_log_stream.delivery_logs_destination_errors",
                     "aws_dynamodb_kinesis_streaming_destination.app_data_changes"},
}
# The reference's Firehose runs under a role named after the delivery stream; the generated layer creates its own
# least-privilege role, and a delivery stream's Kinesis source (with its role) cannot change in place: the adopted
# Firehose is imported, then replaced (README, "Migrating from the reference's layers"). It holds no data.
FIREHOSE = "aws_kinesis_firehose_delivery_stream.delivery"


def create_what_the_reference_layers_created(project: LeverageProject, table_name: str) -> None:
    s3 = project.client("data-science", "s3")
    for bucket in (RAW_BUCKET, PROCESSED_BUCKET):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    kinesis = project.client("apps-devstg", "kinesis")
    kinesis.create_stream(StreamName=f"{PIPELINE}-stream", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    summary = kinesis.describe_stream_summary(StreamName=f"{PIPELINE}-stream")["StreamDescriptionSummary"]
    stream_arn = summary["StreamARN"]
    project.client("apps-devstg", "dynamodb").enable_kinesis_streaming_destination(
        TableName=table_name, StreamArn=stream_arn,
        EnableKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MICROSECOND"})
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "firehose.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role_arn = project.client("apps-devstg", "iam").create_role(
        RoleName=f"{PIPELINE}-firehose", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    logs = project.client("apps-devstg", "logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName="DestinationDelivery")
    project.client("apps-devstg", "firehose").create_delivery_stream(
        DeliveryStreamName=f"{PIPELINE}-firehose", DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": role_arn},
        ExtendedS3DestinationConfiguration={"RoleARN": role_arn, "BucketARN": f"arn:aws:s3:::{RAW_BUCKET}"})


def test_adopt_existing_imports_the_live_resources_instead_of_creating_them(
        tmp_path: Path, toolchain: Toolchain) -> None:
    root = copy_example(tmp_path / "example")
    with Emulator.start() as emulator:
        project = LeverageProject(root, toolchain, emulator, tmp_path / "scratch")
        project.bootstrap()
        project.apply(write_security_keys_layer(root, "apps-devstg", "us-east-1"))
        synthesize(root)
        project.apply(TABLE_LAYER)
        create_what_the_reference_layers_created(project, project.outputs(TABLE_LAYER)["dynamodb_table_name"])

        synthesize(root, "-c", "adoptExisting=datalake,datalake-demo")
        for layer, adopted in ADOPTED.items():  # the lake first: the datalake layer reads its state
            project.init(layer)
            plan = project.plan(layer)
            assert set(plan.imports) == adopted, layer
            created = {address for address, actions in plan.changes.items() if "create" in actions}
            assert created & adopted <= {FIREHOSE}, f"{layer}: adopted resources created: {created & adopted}"
            if FIREHOSE in adopted:
                assert plan.changes[FIREHOSE] == ["delete", "create"]
            # Nothing else is destroyed: whatever differs from the stack is updated in place.
            assert not [address for address, actions in plan.changes.items()
                        if "delete" in actions and address != FIREHOSE], plan.changes
            project.apply(layer)
            after = project.plan(layer)
            assert after.code == 0, f"{layer} is not settled after adoption:\n{after.text[-3000:]}"
            assert adopted <= set(project.state_addresses(layer))

