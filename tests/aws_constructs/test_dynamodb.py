"""DynamoDB tables and their Kinesis change streams."""
from __future__ import annotations

import json

import pytest

from aws_constructs.dynamodb import ChangeStreamProps, KeyAttribute, KinesisChangeStream, Table, TableProps
from aws_constructs.errors import ConstructPropsError
from bindings import Testing as CdktfTesting
from tests.aws_constructs.support import KEY, KEY_ARN, new_stack, only, stream, synth


# --- DynamoDB ----------------------------------------------------------------------------------------------------

def test_table_is_on_demand_recoverable_encrypted_and_protected():
    stack = new_stack()
    Table(stack, "Table", TableProps(name="bb-apps-devstg-lakehouse", partition_key=KeyAttribute("pk"),
                                     sort_key=KeyAttribute("sk", "N"), encryption_key=KEY))
    synthesized = CdktfTesting.synth(stack)
    assert CdktfTesting.to_have_resource_with_properties(synthesized, "aws_dynamodb_table", {
        "name": "bb-apps-devstg-lakehouse",
        "billing_mode": "PAY_PER_REQUEST",
        "hash_key": "pk",
        "range_key": "sk",
        "attribute": [{"name": "pk", "type": "S"}, {"name": "sk", "type": "N"}],
        "point_in_time_recovery": {"enabled": True},
        "server_side_encryption": {"enabled": True, "kms_key_arn": KEY_ARN},
        "deletion_protection_enabled": True,
    })
    table = only(json.loads(synthesized), "resource", "aws_dynamodb_table")
    assert "read_capacity" not in table and "write_capacity" not in table


@pytest.mark.parametrize("build, message", [
    (lambda: KeyAttribute("pk", "X"), r"has type 'X'; key attributes must be S \(string\), N \(number\) or B"),
    (lambda: TableProps(name="orders", partition_key=KeyAttribute("id"), sort_key=KeyAttribute("id")),
     r"the sort key must differ from the partition key \('id'\)"),
    (lambda: TableProps(name="ab", partition_key=KeyAttribute("id")), r"has 2 characters, AWS allows 3 to 255"),
], ids=["key-type-X", "sort-equals-partition", "name-2-chars"])
def test_table_rejects_invalid_keys_and_names(build, message):
    with pytest.raises(ConstructPropsError, match=message):
        props = build()
        Table(new_stack(), "Table", props)


def test_change_stream_defaults_to_microsecond_precision():
    stack = new_stack()
    KinesisChangeStream(stack, "Changes", ChangeStreamProps(table_name="bb-apps-devstg-lakehouse", stream=stream(stack)))
    synthesized = synth(stack)
    stream_id = next(iter(synthesized["resource"]["aws_kinesis_stream"]))
    assert only(synthesized, "resource", "aws_dynamodb_kinesis_streaming_destination") == {
        "table_name": "bb-apps-devstg-lakehouse",
        "stream_arn": f"${{aws_kinesis_stream.{stream_id}.arn}}",
        "approximate_creation_date_time_precision": "MICROSECOND",
    }


def test_change_stream_rejects_an_unknown_precision():
    stack = new_stack()
    with pytest.raises(ConstructPropsError, match=r"'SECOND' must be MILLISECOND or MICROSECOND"):
        KinesisChangeStream(stack, "Changes", ChangeStreamProps(
            table_name="bb-apps-devstg-lakehouse", stream=stream(stack), creation_time_precision="SECOND"))

def test_table_options_and_the_aws_managed_key():
    stack = new_stack()
    Table(stack, "Table", TableProps(name="orders", partition_key=KeyAttribute("id", "B"),
                                     point_in_time_recovery=False, deletion_protection=False))
    table = only(synth(stack), "resource", "aws_dynamodb_table")
    assert table["attribute"] == [{"name": "id", "type": "B"}] and "range_key" not in table
    assert table["point_in_time_recovery"] == {"enabled": False}
    assert table["deletion_protection_enabled"] is False
    assert table["server_side_encryption"] == {"enabled": True}  # the AWS-managed key aws/dynamodb
