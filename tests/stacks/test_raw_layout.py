"""What each source account may write in the raw bucket: its tables' folders and an error folder of its own."""
from __future__ import annotations

import pytest

from aws_constructs.errors import ConstructPropsError
from stacks.raw_layout import source_error_prefix, source_folders, table_folders

TABLE = "!{partitionKeyFromQuery:tableName}"


@pytest.mark.parametrize("prefix, folders", [
    (f"dynamodb_data/{TABLE}/cdc_data/year=!{{timestamp:yyyy}}/", ("dynamodb_data/orders/cdc_data/",
                                                                  "dynamodb_data/users/cdc_data/")),
    (f"{TABLE}/", ("orders/", "users/")),
    (f"cdc/{TABLE}/!{{timestamp:yyyy}}/", ("cdc/orders/", "cdc/users/")),
    # Nothing keeps the tables apart: a timestamp before the table, the table not a folder of its own, no table.
    (f"cdc/!{{timestamp:yyyy}}/{TABLE}/", None),
    (f"cdc/{TABLE}-x/", None),
    ("cdc/!{timestamp:yyyy}/", None),
])
def test_a_tables_folder_is_the_prefix_up_to_the_first_expression_after_its_name(prefix, folders) -> None:
    assert table_folders(prefix, ("orders", "users")) == folders


@pytest.mark.parametrize("error_prefix, expected", [
    ("dynamodb_data/cdc_error/", "dynamodb_data/cdc_error/apps-prd/"),
    ("errors/!{firehose:error-output-type}/", "errors/apps-prd/!{firehose:error-output-type}/"),
    ("!{firehose:error-output-type}/", "apps-prd/!{firehose:error-output-type}/"),
    ("", ""),  # none stays none: Firehose refuses it with dynamic partitioning, and says so
])
def test_each_source_writes_its_errors_in_a_folder_named_after_its_account(error_prefix, expected) -> None:
    assert source_error_prefix(error_prefix, "apps-prd") == expected


def test_a_source_may_write_its_tables_and_its_error_folder_and_nothing_inside_another() -> None:
    prefix = f"dynamodb_data/{TABLE}/cdc_data/"
    assert source_folders(prefix, "dynamodb_data/cdc_error/", "apps-prd", ["users"], sources=2) == (
        "dynamodb_data/users/cdc_data/", "dynamodb_data/cdc_error/apps-prd/")
    # One source and a prefix that does not keep tables apart: its static folder (the error folder is inside it).
    assert source_folders("cdc/!{timestamp:yyyy}/", "cdc/errors/", "apps-prd", ["users"], sources=1) == ("cdc/",)


def test_several_sources_and_a_prefix_that_does_not_keep_tables_apart_are_refused() -> None:
    with pytest.raises(ConstructPropsError, match="cannot let each source account write only its own tables; put "
                                                  "the table's name before any other expression"):
        source_folders("cdc/!{timestamp:yyyy}/", "cdc/errors/", "apps-prd", ["users"], sources=2)
