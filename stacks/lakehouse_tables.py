"""The Iceberg table of each streamed DynamoDB table, checked before anything is generated.

The lakehouse job (glue_jobs/cdc_settings.py, text the app ships and never imports) refuses a run whose tables map
to one Iceberg table, or whose table ends like the job's own tables: it refuses the whole run, every table, at
every schedule. The settings refuse them first, with the setting to change; a test keeps these rules the job's.
"""
from __future__ import annotations

import re

from leverage.errors import UserError

TOMBSTONE_SUFFIX = "__deletes"
HISTORY_SUFFIX = "__history"
ARCHIVE_NAME = re.compile(r".*__v[0-9]+")
JOB_TABLES = ("cdc_merge_runs", "cdc_check_results", "cdc_merge_state")


def lakehouse_table_name(dynamodb_table: str) -> str:
    """The job's rule: lowercase, every character but a-z, 0-9 and _ becomes _."""
    return re.sub(r"[^a-z0-9_]", "_", dynamodb_table.lower())


def check_lakehouse_table_names(tables: list[tuple[str, str]]) -> None:
    """`tables`: (DynamoDB table name, the setting it comes from) of every streamed table whose name is known."""
    taken: dict[str, tuple[str, str]] = {}
    for dynamodb_table, setting in tables:
        target = lakehouse_table_name(dynamodb_table)
        if target in JOB_TABLES or target.endswith((TOMBSTONE_SUFFIX, HISTORY_SUFFIX)) or ARCHIVE_NAME.fullmatch(target):
            raise UserError(
                f"setting {setting}: DynamoDB table {dynamodb_table!r} would be lakehouse table {target!r}, which "
                f"ends like the lakehouse job's own tables ({TOMBSTONE_SUFFIX}, {HISTORY_SUFFIX}, __v<n>) or is one "
                "of them; the job would refuse every run", fix="give the table another name")
        if target in taken:
            other_table, other_setting = taken[target]
            raise UserError(
                f"settings {other_setting} and {setting}: DynamoDB tables {other_table!r} and {dynamodb_table!r} "
                f"would both be lakehouse table {target!r}; the job would refuse every run",
                fix="rename one of the tables")
        taken[target] = (dynamodb_table, setting)
