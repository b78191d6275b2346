"""Rules every construct shares (names, statement ids) and the log group construct."""
from __future__ import annotations

import json

import pytest

from aws_constructs.dynamodb import KeyAttribute, Table, TableProps
from aws_constructs.errors import ConstructPropsError
from aws_constructs.kinesis import DataStream, DataStreamProps
from aws_constructs.kms import Key, KeyProps
from aws_constructs.logs import LogGroup, LogGroupProps, grant_encrypted_writing
from aws_constructs.s3 import SecureBucket, SecureBucketProps, Transition
from tests.aws_constructs.support import (BUCKET_NAME, ENV, crawler_with, firehose_with, inline_policy_of, log_group_with, new_stack, role, stream, synth)


# --- CloudWatch Logs ---------------------------------------------------------------------------------------------

def test_log_group_rejects_a_retention_cloudwatch_does_not_offer():
    with pytest.raises(ConstructPropsError, match=r"log retention 2 days is not one CloudWatch offers; use one of 1, 3, 5"):
        LogGroup(new_stack(), "Logs", LogGroupProps(name="/aws/kinesisfirehose/lakehouse", retention_days=2))


def test_two_grants_of_the_same_kind_get_distinct_statement_ids():
    stack = new_stack()
    consumer = role(stack)
    stream(stack).grant_read(consumer)
    DataStream(stack, "Other", DataStreamProps(name="other-stream", env=ENV)).grant_read(consumer)
    sids = [statement["sid"] for statement in inline_policy_of(synth(stack), "bb-apps-devstg-consumer-role")]
    assert sids == ["ReadKinesisStream", "DecryptKinesisRecords", "ReadKinesisStream2"]


def test_names_must_be_ascii():
    with pytest.raises(ConstructPropsError, match="IAM role name"):
        role(new_stack(), name="r\u00f4le-\u00f1")


def test_infrequent_access_transition_needs_30_days():
    with pytest.raises(ConstructPropsError, match="after 30 days at the earliest"):
        SecureBucket(new_stack(), "Bucket", SecureBucketProps(name=BUCKET_NAME, transitions=(Transition(10, "STANDARD_IA"),)))

@pytest.mark.parametrize("build", [
    lambda stack: stream(stack, name="Lakehouse-Stream.v2_1"),
    lambda stack: firehose_with(stack, name="Lakehouse-Firehose.v2_1"),
    lambda stack: Table(stack, "Table", TableProps(name="Orders-Table.v2_1", partition_key=KeyAttribute("Id"))),
    lambda stack: log_group_with(stack, name="/Aws/Lake_1#x.y-z"),
], ids=["kinesis", "firehose", "dynamodb", "log-group"])
def test_names_may_use_uppercase_letters_and_the_punctuation_aws_allows(build):
    build(new_stack())


@pytest.mark.parametrize("build, message", [
    (lambda stack: stream(stack, name="lake stream"), r"^Kinesis stream name 'lake stream' is not valid; AWS allows only "
                                                      r"letters, digits and _\.-$"),
    (lambda stack: firehose_with(stack, name="lake/firehose"), r"^Firehose delivery stream name 'lake/firehose' is not "
                                                               r"valid; AWS allows only letters, digits and _\.-$"),
    (lambda stack: Table(stack, "Table", TableProps(name="orders!", partition_key=KeyAttribute("id"))),
     r"^DynamoDB table name 'orders!' is not valid; AWS allows only letters, digits and _\.-$"),
    (lambda stack: log_group_with(stack, name="group name"),
     r"^CloudWatch log group name 'group name' is not valid; AWS allows only letters, digits and _-\./#$"),
    (lambda stack: LogGroup(stack, "Logs", LogGroupProps(name="group")).add_stream("Stream", "a:b"),
     r"^CloudWatch log stream name 'a:b' is not valid; AWS allows only any character but : and \*$"),
    (lambda stack: crawler_with(stack, "crawler\x01"),
     r"^Glue crawler name 'crawler\\x01' is not valid; AWS allows only printable characters$"),
    (lambda stack: role(stack, name="role name"),
     r"^IAM role name 'role name' is not valid; AWS allows only letters, digits and \+=,\.@_-$"),
], ids=["kinesis", "firehose", "dynamodb", "log-group", "log-stream", "crawler", "role"])
def test_names_with_characters_aws_refuses_are_refused(build, message):
    with pytest.raises(ConstructPropsError, match=message):
        build(new_stack())


def test_writers_of_encrypted_log_groups_get_both_halves_of_the_key_and_one_key_only():
    stack = new_stack()
    key, other = Key(stack, "Key", KeyProps(description="k", env=ENV)), Key(stack, "Other", KeyProps(description="o", env=ENV))
    first = LogGroup(stack, "First", LogGroupProps(name="/first", encryption_key=key))
    plain = LogGroup(stack, "Plain", LogGroupProps(name="/plain"))
    writer = role(stack, name="writer")
    grant_encrypted_writing([first, plain], writer, "arn:aws:iam::555555555555:role/writer", "WriteLogs")
    config = synth(stack)
    statements = {s["sid"]: s for s in inline_policy_of(config, "writer")}
    assert {"test": "StringEquals", "variable": "kms:EncryptionContext:aws:logs:arn",
            "values": ["arn:aws:logs:us-east-1:555555555555:log-group:/first"]} in statements["WriteLogs"]["condition"]
    policy = json.loads(config["resource"]["aws_kms_key"]["key"]["policy"])
    [logs] = [s for s in policy["Statement"] if s["Sid"] == "EncryptLogGroup"]
    assert logs["Condition"] == {"StringEquals": {
        "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:555555555555:log-group:/first"}}
    [half] = [s for s in policy["Statement"] if s["Sid"] == "WriteLogs"]
    assert half["Condition"]["ArnEquals"] == {"aws:PrincipalArn": "arn:aws:iam::555555555555:role/writer"}
    second = LogGroup(stack, "Second", LogGroupProps(name="/second", encryption_key=other))
    with pytest.raises(ConstructPropsError, match="give them one key"):
        grant_encrypted_writing([first, second], writer, "arn:aws:iam::555555555555:role/writer", "WriteLogs")
