"""The job's pure parts without Spark: DynamoDB JSON to plain JSON and to the facts typed columns are cast from,
and the job's arguments and names."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from cdc_identity import KeyAttribute
from cdc_items import item_facts, number_fact, stored_item_facts, unwrap_item
from cdc_settings import JobInputError, TableSpec, parse_arguments, sanitized_table_name, validate_table_specs


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


def test_sets_are_in_their_members_order_whatever_order_the_stream_gave() -> None:
    """Strings by code point, numbers by value (not by text), binary by its bytes (not by its base64 text), nested
    sets too: the same set is the same `item` text and the same typed value."""
    members = {"SS": ["b", "B", "a"], "NS": ["10", "9", "-1.5"], "BS": ["/w==", "AQ==", "gA=="]}  # ff, 01, 80
    ordered = {"SS": ["B", "a", "b"], "NS": ["-1.5", "9", "10"], "BS": ["AQ==", "gA==", "/w=="]}
    for order in (lambda values: values, lambda values: values[::-1]):
        image = {kind: {kind: order(values)} for kind, values in members.items()}
        image["m"] = {"M": {"inner": {"SS": order(members["SS"])}}}
        item, _, facts = item_facts(json.dumps(image))
        assert item == unwrap_item(json.dumps(image)) == (
            '{"BS":["AQ==","gA==","/w=="],"NS":[-1.5,9,10],"SS":["B","a","b"],"m":{"inner":["B","a","b"]}}')
        assert facts["NS"] == ("NS_DEC", "[-1.5,9,10]")
        assert {kind: json.loads(facts[kind][1]) for kind in ("SS", "BS")} == {
            kind: ordered[kind] for kind in ("SS", "BS")}
        assert stored_item_facts(item, {"SS": "SS", "NS": "NS", "BS": "BS", "m": "M"}) == facts


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
    assert arguments.tables[0].max_columns == 200


@pytest.mark.parametrize("specs", [
    (TableSpec("a-b", "a_b"), TableSpec("a.b", "a_b")),
    (TableSpec("x", "x__deletes"),), (TableSpec("x", "cdc_merge_runs"),), (TableSpec("x", "x__v2"),),
    (TableSpec("x", "x", (KeyAttribute("item", "S"),)),), (TableSpec("x", "x", (KeyAttribute("k", "BOOL"),)),),
    (TableSpec("x", "x", (KeyAttribute("cdc_k", "S"),)),),
    (TableSpec("x", "x", (KeyAttribute("k", "S"),), (("a", "float"),)),),
    (TableSpec("x", "x", (KeyAttribute("k", "S"),), (("k", "string"),)),),
    (TableSpec("x", "x", (), (("a", "string"), ("b", "bigint")), max_columns=1),),
    (TableSpec("x", "x", max_columns=1001),),
])
def test_colliding_reserved_or_unknown_names_and_types_are_refused(specs: tuple[TableSpec, ...]) -> None:
    with pytest.raises(JobInputError):
        validate_table_specs(specs)


@pytest.mark.parametrize("digits, kind, text", [
    ("42", "N_INT", "42"), ("-0", "N_INT", "0"), ("1.0", "N_INT", "1"), ("9223372036854775807", "N_INT", None),
    ("9223372036854775808", "N_DEC", None), ("-9223372036854775809", "N_DEC", None),
    ("12345678901234567890.123456789", "N_DEC", None), ("-0.000000001", "N_DEC", None),
    ("1E+25", "N_DEC", "1" + "0" * 25),
    ("0.0000000001", "N_WIDE", None), ("99999999999999999999999999999999999999", "N_WIDE", None),
    ("1e130", "N_WIDE", None), ("17.250", "N_DEC", "17.250"),
    # 38 digits, the most a decimal(38, 9) holds: exact, although Python's default context rounds at 28.
    ("99999999999999999999999999999.5", "N_DEC", None), ("-99999999999999999999999999999.999999999", "N_DEC", None),
    ("100000000000000000000000000000", "N_WIDE", None),
])
def test_numbers_are_classed_by_the_exact_type_that_holds_them(digits: str, kind: str, text: str | None) -> None:
    assert number_fact(digits) == (kind, text or digits)


def test_facts_of_every_type_and_the_same_facts_from_the_stored_item() -> None:
    image = {"s": {"S": "ñ \"q\""}, "n": {"N": "2.50"}, "b": {"B": "AAEC"}, "bool": {"BOOL": True},
             "nothing": {"NULL": True}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]},
             "wide": {"NS": ["1", "1E+40"]}, "bs": {"BS": ["AA=="]}, "l": {"L": [{"N": "1.5"}, {"S": "x"}]},
             "m": {"M": {"z": {"N": "1"}, "a": {"NULL": True}}},
             "tiny": {"L": [{"N": "0.0000001"}, {"M": {"x": {"N": "0.000000001"}}}]}}
    item, types, facts = item_facts(json.dumps(image))
    assert item == unwrap_item(json.dumps(image))
    assert types == {name: next(iter(typed)) for name, typed in image.items()}
    assert facts == {"s": ("S", "ñ \"q\""), "n": ("N_DEC", "2.50"), "b": ("B", "AAEC"), "bool": ("BOOL", "true"),
                     "nothing": ("NULL", None), "ss": ("SS", '["a","b"]'), "ns": ("NS_INT", "[1,2]"),
                     "wide": ("NS_WIDE", "[1,1E+40]"), "bs": ("BS", '["AA=="]'), "l": ("L", '[1.5,"x"]'),
                     "m": ("M", '{"a":null,"z":1}'), "tiny": ("L", '[0.0000001,{"x":0.000000001}]')}
    assert stored_item_facts(item, types) == facts
    # Rows stored without their types (before typed columns): B reads as S, sets as lists.
    untyped = stored_item_facts(item, None)
    assert untyped["b"] == ("S", "AAEC") and untyped["ss"] == ("L", '["a","b"]') and untyped["n"] == facts["n"]
    assert item_facts(None) is None and stored_item_facts(None, None) is None
