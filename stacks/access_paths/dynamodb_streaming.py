"""DynamoDB streaming a table's changes into its Kinesis stream: its service-linked role, with the managed policy AWS
attaches to it, writes the stream and encrypts with the stream's key."""
from __future__ import annotations

from aws_constructs.access.layers import partition_of
from aws_constructs.access.requests import ALLOWED
from stacks.access_paths.aws_docs import DYNAMODB_STREAMING, KINESIS_KEY
from stacks.access_paths.builder import CatalogueBuilder

STREAMING_DESTINATION = "aws_dynamodb_kinesis_streaming_destination"
# AWS's managed policy of DynamoDB's service-linked role for Kinesis streaming, as AWS publishes it: the role is
# AWS's, so no layer holds its policy.
REPLICATION_ROLE_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": "*",
     "Condition": {"StringLike": {"kms:ViaService": "kinesis.*.amazonaws.com"}}},
    {"Effect": "Allow", "Action": ["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStream"],
     "Resource": "*"}]}
REPLICATION_ROLE = ("role/aws-service-role/kinesisreplication.dynamodb.amazonaws.com/"
                    "AWSServiceRoleForDynamoDBKinesisDataStreamsReplication")


def dynamodb_streaming(builder: CatalogueBuilder) -> None:
    for layer, name, _ in builder.layers.resources(STREAMING_DESTINATION):
        stream = builder.attribute(layer, STREAMING_DESTINATION, name, "stream_arn")
        region = builder.region(layer)
        role = f"arn:{partition_of(region)}:iam::{layer.account_id}:{REPLICATION_ROLE}"
        builder.add("DynamoDB streams a table's changes", role, "kinesis:PutRecords", stream, ALLOWED,
                    DYNAMODB_STREAMING, identity=(REPLICATION_ROLE_POLICY,))
        _, key = builder.kinesis_stream(stream)
        if key.startswith("arn:"):  # a key of the layers; `alias/aws/kinesis` is AWS's, its policy no layer's
            builder.key_use("DynamoDB encrypts the changes it streams with the stream's key", role,
                            "kms:GenerateDataKey", key, "kinesis", region, {"aws:kinesis:arn": stream}, ALLOWED,
                            KINESIS_KEY, identity=(REPLICATION_ROLE_POLICY,))
