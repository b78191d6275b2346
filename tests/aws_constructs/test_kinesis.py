"""The Kinesis data stream construct and its grants."""
from __future__ import annotations

import json

import pytest

from aws_constructs.errors import ConstructPropsError
from bindings import Testing as CdktfTesting
from tests.aws_constructs.support import KEY_ARN, by_sid, inline_policy_of, new_stack, only, role, stream, synth


# --- Kinesis data stream -----------------------------------------------------------------------------------------

def test_data_stream_is_on_demand_and_encrypted_with_the_given_key():
    stack = new_stack()
    stream(stack, retention_hours=48)
    synthesized = CdktfTesting.synth(stack)
    assert CdktfTesting.to_have_resource_with_properties(synthesized, "aws_kinesis_stream", {
        "name": "bb-apps-devstg-ddb-lakehouse-stream",
        "stream_mode_details": {"stream_mode": "ON_DEMAND"},
        "encryption_type": "KMS",
        "kms_key_id": KEY_ARN,
        "retention_period": 48,
    })
    resource = only(json.loads(synthesized), "resource", "aws_kinesis_stream")
    assert "shard_count" not in resource  # on-demand streams must not set a shard count


def test_data_stream_without_key_uses_the_aws_managed_kinesis_key():
    stack = new_stack()
    stream(stack, encryption_key=None)
    resource = only(synth(stack), "resource", "aws_kinesis_stream")
    assert resource["encryption_type"] == "KMS"
    assert resource["kms_key_id"] == "alias/aws/kinesis"
    assert resource["retention_period"] == 24


@pytest.mark.parametrize("overrides, message", [
    ({"name": "s" * 129}, r"has 129 characters, AWS allows 1 to 128"),
    ({"name": "lakehouse stream!"}, r"not valid; AWS allows only letters, digits and _\.-"),
    ({"retention_hours": 23}, r"Kinesis retention is 23; .* from 24 to 8760"),
    ({"retention_hours": 8761}, r"Kinesis retention is 8761; .* from 24 to 8760"),
    # Typed props checked at run time too: a bool is an int to Python, not a number of hours.
    ({"on_demand": False, "shard_count": True},
     r"^Kinesis shard count is True; AWS accepts a whole number of shards from 1 to 100000$"),
    ({"retention_hours": 48.0}, r"^Kinesis retention is 48\.0; AWS accepts a whole number of hours from 24 to 8760$"),
], ids=["name-129-chars", "name-bad-characters", "retention-23h", "retention-8761h", "shards-bool",
        "retention-float"])
def test_data_stream_rejects_invalid_props(overrides, message):
    with pytest.raises(ConstructPropsError, match=message):
        stream(new_stack(), **overrides)


# --- grants on a data stream -------------------------------------------------------------------------------------

def granted_on_stream(grant: str) -> tuple[list[dict], str]:
    """The inline policy of a role after `stream.<grant>(role)`, and the stream's ARN reference."""
    stack = new_stack()
    data_stream = stream(stack)
    getattr(data_stream, grant)(role(stack))
    synthesized = synth(stack)
    stream_arn = "${aws_kinesis_stream.%s.arn}" % next(iter(synthesized["resource"]["aws_kinesis_stream"]))
    return inline_policy_of(synthesized, "bb-apps-devstg-consumer-role"), stream_arn


def test_grant_read_allows_reading_only_this_stream_and_decrypting_only_its_records():
    policy, stream_arn = granted_on_stream("grant_read")
    assert policy == [
        {
            "sid": "ReadKinesisStream",
            "effect": "Allow",
            "actions": ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                        "kinesis:GetShardIterator", "kinesis:ListShards"],
            "resources": [stream_arn],
        },
        {
            "sid": "DecryptKinesisRecords",
            "effect": "Allow",
            "actions": ["kms:Decrypt"],
            "resources": [KEY_ARN],
            "condition": [
                {"test": "StringEquals", "variable": "kms:ViaService", "values": ["kinesis.us-east-1.amazonaws.com"]},
                {"test": "StringEquals", "variable": "kms:EncryptionContext:aws:kinesis:arn", "values": [stream_arn]},
            ],
        },
    ]


def test_grant_write_allows_putting_records_and_encrypting_only_for_this_stream():
    policy, stream_arn = granted_on_stream("grant_write")
    statements = by_sid(policy)
    assert sorted(statements) == ["EncryptKinesisRecords", "WriteKinesisStream"]
    assert statements["WriteKinesisStream"]["actions"] == [
        "kinesis:DescribeStreamSummary", "kinesis:PutRecord", "kinesis:PutRecords"]
    assert statements["WriteKinesisStream"]["resources"] == [stream_arn]
    kms = statements["EncryptKinesisRecords"]
    assert kms["actions"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert kms["resources"] == [KEY_ARN]
    assert {c["variable"]: c["values"] for c in kms["condition"]} == {
        "kms:ViaService": ["kinesis.us-east-1.amazonaws.com"],
        "kms:EncryptionContext:aws:kinesis:arn": [stream_arn],
    }

def test_provisioned_data_stream_sets_its_shard_count():
    stack = new_stack()
    stream(stack, on_demand=False, shard_count=4)
    resource = only(synth(stack), "resource", "aws_kinesis_stream")
    assert resource["stream_mode_details"] == {"stream_mode": "PROVISIONED"} and resource["shard_count"] == 4


def test_on_demand_data_stream_ignores_the_shard_count():
    stack = new_stack()
    stream(stack, shard_count=0)  # not checked: on-demand streams have no shard count
    assert "shard_count" not in only(synth(stack), "resource", "aws_kinesis_stream")
