"""The typed columns' rules (cdc_columns.py), without Spark: names, inferred and declared types, widening, the cap,
conflicts, and when stored rows must be read again. The Spark scenario checks the same rules on real tables."""
from __future__ import annotations

import pytest

from cdc_columns import (COLUMN_TYPES, TypedColumn, base_name, column_comment, columns_from_json, columns_to_json,
                         plan_columns)
from cdc_settings import MAX_COLUMNS_LIMIT
from stacks.settings.values import MAX_TYPED_COLUMNS, TYPED_COLUMN_TYPES

RESERVED = {"pk", "sk", "item", "cdc_event_name"}


def plan(profile, existing=(), **options):
    return plan_columns(tuple(existing), profile, reserved=RESERVED, **options)


@pytest.mark.parametrize("attribute, name", [
    ("status", "status"), ("createdAt", "createdat"), ("order-total", "order_total"), ("a.b c", "a_b_c"),
    ("1st", "a_1st"), ("_id", "a__id"), ("cdc_note", "a_cdc_note"), ("Ñandú", "a__and_"), ("x" * 300, "x" * 120),
])
def test_names_are_lowercase_athena_safe_and_start_with_a_letter(attribute: str, name: str) -> None:
    assert base_name(attribute) == name


def test_colliding_names_take_the_smallest_free_suffix_exact_names_first() -> None:
    result = plan({"Status": {"S": 1}, "status": {"S": 1}, "STATUS": {"S": 1}, "Item": {"S": 1}, "PK": {"S": 1},
                   "status_2": {"S": 1}})
    names = {column.attribute: column.name for column in result.columns}
    assert names == {"status": "status", "status_2": "status_2", "STATUS": "status_3", "Status": "status_4",
                     "Item": "item_2", "PK": "pk_2"}
    later = plan({"Status_2": {"S": 1}}, result.columns)
    assert later.added[0].name == "status_2_2"  # names given before are kept, whatever comes later


@pytest.mark.parametrize("kinds, column_type", [
    ({"S": 2}, "string"), ({"N_INT": 3}, "bigint"), ({"N_INT": 3, "N_DEC": 1}, "decimal"),
    ({"N_INT": 1, "N_WIDE": 1}, "decimal"), ({"BOOL": 1}, "boolean"), ({"B": 1}, "binary"), ({"M": 1}, "json"),
    ({"L": 1}, "json"), ({"SS": 1}, "array<string>"), ({"NS_INT": 1}, "array<bigint>"),
    ({"NS_INT": 1, "NS_DEC": 1}, "array<decimal>"), ({"BS": 1}, "array<binary>"),
    ({"S": 1, "N_INT": 2}, "bigint"), ({"S": 2, "N_INT": 2}, "string"),  # most values win; ties: string first
    ({"NULL": 3, "BOOL": 1}, "boolean"),
])
def test_a_new_attribute_gets_the_type_most_of_its_values_ask_for(kinds: dict, column_type: str) -> None:
    assert plan({"a": kinds}).columns[0].type == column_type


def test_an_attribute_with_only_nulls_waits_for_a_value() -> None:
    assert plan({"a": {"NULL": 4}}).columns == ()


def test_values_a_column_cannot_hold_are_conflicts_never_failures() -> None:
    result = plan({"n": {"N_INT": 3, "S": 1, "N_WIDE": 1, "NULL": 2}, "s": {"S": 1, "M": 2}})
    assert {column.attribute: column.type for column in result.columns} == {"n": "decimal", "s": "json"}
    assert result.conflicts == {"n": 2, "s": 1}  # NULL is never a conflict; N_WIDE fits no decimal(38,9)


def test_a_bigint_column_widens_to_decimal_and_its_rows_are_read_again() -> None:
    first = plan({"price": {"N_INT": 2}, "tags": {"NS_INT": 1}})
    assert not first.backfill
    widened = plan({"price": {"N_DEC": 1}, "tags": {"NS_DEC": 1}}, first.columns)
    assert [(column.name, column.type) for column in widened.retyped] == [("price", "decimal"),
                                                                         ("tags", "array<decimal>")]
    assert widened.backfill and widened.conflicts == {}
    wide_only = plan({"price": {"N_WIDE": 1}}, first.columns)
    assert not wide_only.retyped and wide_only.conflicts == {"price": 1}  # decimal(38,9) would not hold it either


def test_declared_columns_win_exist_without_values_and_never_widen() -> None:
    declared = {"version": "decimal", "mixed": "json", "absent": "boolean", "n": "bigint"}
    result = plan({"version": {"N_INT": 2}, "mixed": {"N_INT": 1, "S": 1, "M": 1}, "n": {"N_DEC": 1}},
                  declared=declared)
    assert {column.attribute: (column.type, column.declared) for column in result.columns} == {
        "absent": ("boolean", True), "mixed": ("json", True), "n": ("bigint", True), "version": ("decimal", True)}
    assert result.conflicts == {"n": 1}  # a declared JSON column holds any value; a declared bigint does not widen
    inferred = plan({"version": {"N_INT": 1}})
    redeclared = plan({}, inferred.columns, declared={"version": "string"})
    assert redeclared.retyped[0].type == "string" and redeclared.backfill


def test_the_cap_keeps_the_attributes_with_most_values_and_remembers_the_rest() -> None:
    profile = {"a": {"S": 1}, "b": {"S": 5}, "c": {"S": 3}, "d": {"S": 3}}
    result = plan(profile, max_columns=2, declared={"z": "string"})
    assert [column.attribute for column in result.columns] == ["z", "b"] and result.untyped == ("a", "c", "d")
    assert not result.backfill
    raised = plan({"c": {"S": 1}}, result.columns, max_columns=5, untyped=result.untyped)
    assert raised.added[0].attribute == "c" and raised.backfill  # stored rows may hold c: they are read again
    assert raised.untyped == ("a", "d")
    legacy = plan({"a": {"S": 1}}, stored_rows_untyped=True)
    assert legacy.backfill


def test_the_plan_round_trips_through_its_table_property() -> None:
    columns = (TypedColumn("status_2", "Status", "string"), TypedColumn("v", "v", "decimal", declared=True))
    assert columns_from_json(columns_to_json(columns)) == columns and columns_from_json(None) == ()


def test_the_settings_offer_the_types_and_the_cap_the_job_knows() -> None:
    assert TYPED_COLUMN_TYPES == tuple(COLUMN_TYPES) and MAX_TYPED_COLUMNS == MAX_COLUMNS_LIMIT


def test_a_comment_is_the_attribute_name_unless_glue_cannot_hold_it() -> None:
    """Glue's catalog refuses a schema whose column comment is over 255 UTF-16 code units or holds a control
    character (tab aside): such a name is written escaped and cut, not left to fail every run."""
    assert column_comment("imageUrl") == "imageUrl"
    assert column_comment("tab\tand ñandú 🚀") == "tab\tand ñandú 🚀"
    assert column_comment("line\nbreak\x00") == "line\\u000abreak\\u0000"
    assert column_comment("x" * 255) == "x" * 255
    assert column_comment("x" * 300) == "x" * 252 + "..."
    cut = column_comment("🚀" * 200)  # two UTF-16 code units each
    assert cut == "🚀" * 126 + "..." and len(cut.encode("utf-16-le")) // 2 == 255
    assert column_comment("lone \ud800 surrogate") == "lone \\ud800 surrogate"
