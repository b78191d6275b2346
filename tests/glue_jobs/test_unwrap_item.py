"""unwrap_item, the job's DynamoDB-JSON to plain-JSON conversion, without Spark."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from cdc_merge import KeyAttribute, TableSpec, parse_arguments, sanitized_table_name, unwrap_item, \
    validate_table_specs


def test_numbers_keep_their_exact_digits_as_json_numbers() -> None:
    text = unwrap_item('{"amount": {"N": "12345678901234567890.123456789"}, "tiny": {"N": "-0.000000001"},'
                       ' "big": {"N": "99999999999999999999999999999999999999"}}')
    assert text == ('{"amount":12345678901234567890.123456789,"big":99999999999999999999999999999999999999,'
                    '"tiny":-0.000000001}')
    parsed = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    assert parsed["amount"] == Decimal("12345678901234567890.123456789")


def test_every_type_is_unwrapped() -> None:
    image = {"s": {"S": "ñandú \"q\""}, "b": {"B": "AAEC"}, "bool": {"BOOL": False}, "nothing": {"NULL": True},
             "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.50"]}, "bs": {"BS": ["AA==", "AQ=="]},
             "m": {"M": {"inner": {"L": [{"N": "1"}, {"S": "x"}, {"M": {}}, {"L": []}]}}}}
    assert json.loads(unwrap_item(json.dumps(image)), parse_float=Decimal) == {
        "s": "ñandú \"q\"", "b": "AAEC", "bool": False, "nothing": None, "ss": ["a", "b"],
        "ns": [1, Decimal("2.50")], "bs": ["AA==", "AQ=="], "m": {"inner": [1, "x", {}, []]}}


def test_names_differing_only_by_case_both_survive() -> None:
    assert json.loads(unwrap_item('{"Status": {"S": "OPEN"}, "status": {"S": "open"}}')) == {
        "Status": "OPEN", "status": "open"}


def test_attribute_order_does_not_change_the_text() -> None:
    assert unwrap_item('{"b": {"N": "1"}, "a": {"S": "x"}}') == unwrap_item('{"a": {"S": "x"}, "b": {"N": "1"}}')


def test_number_forms_json_does_not_allow_keep_their_value() -> None:
    assert unwrap_item('{"n": {"NS": [".5", "+7", "007"]}}') == '{"n":[0.5,7,7]}'


@pytest.mark.parametrize("image", ['{"n": {"N": "NaN"}}', '{"n": {"N": "abc"}}', '{"x": {"Q": "1"}}',
                                   '{"x": {"S": "a", "N": "1"}}'])
def test_what_is_not_dynamodb_json_is_refused(image: str) -> None:
    with pytest.raises(ValueError):
        unwrap_item(image)


def test_a_missing_image_stays_missing() -> None:
    assert unwrap_item(None) is None


def test_target_names_are_sanitized_lowercase() -> None:
    assert sanitized_table_name("app.Sessions-v2") == "app_sessions_v2"
    assert sanitized_table_name("Orders") == "orders"


def test_glue_arguments_are_ignored_and_tables_parsed() -> None:
    arguments = parse_arguments(["--JOB_NAME", "x", "--raw-path", "s3://raw/dynamodb_data/", "--warehouse", "s3://w/",
                                 "--database", "db", "--TempDir", "s3://t/", "--tables",
                                 '[{"source": "Orders", "keys": [{"name": "pk", "type": "S"}]}]'])
    assert arguments.raw_path == "s3://raw/dynamodb_data" and arguments.catalog_type == "glue"
    assert arguments.tables == (TableSpec("Orders", "orders", (KeyAttribute("pk", "S"),)),)


@pytest.mark.parametrize("specs", [
    (TableSpec("a-b", "a_b"), TableSpec("a.b", "a_b")),
    (TableSpec("x", "x__deletes"),), (TableSpec("x", "cdc_merge_state"),),
    (TableSpec("x", "x", (KeyAttribute("item", "S"),)),), (TableSpec("x", "x", (KeyAttribute("k", "BOOL"),)),),
])
def test_colliding_or_reserved_names_are_refused(specs: tuple[TableSpec, ...]) -> None:
    with pytest.raises(ValueError):
        validate_table_specs(specs)
