"""The settings refuse the table names the job would refuse (stacks/lakehouse_tables.py mirrors the job's rules: the
app never imports the job), so a project never deploys a job that fails every run."""
from __future__ import annotations

import pytest

from cdc_settings import (ARCHIVE_NAME, CHECKS_TABLE, HISTORY_SUFFIX, LEGACY_STATE_TABLE, RUNS_TABLE, TOMBSTONE_SUFFIX,
                          JobInputError, TableSpec, sanitized_table_name, validate_table_specs)
from cdc_identity import KeyAttribute
from leverage.errors import UserError
from stacks import lakehouse_tables

NAMES = ("bb-apps-devstg-orders", "bb-apps-devstg-Orders.v2", "bb-apps-devstg-orders__history",
         "bb-apps-devstg-orders--v12", "bb-apps-devstg-orders-_deletes", "cdc_merge_runs", "bb-x__v", "bb-x__vx")


def test_the_settings_hold_the_jobs_names_of_its_own_tables() -> None:
    assert (lakehouse_tables.TOMBSTONE_SUFFIX, lakehouse_tables.HISTORY_SUFFIX) == (TOMBSTONE_SUFFIX, HISTORY_SUFFIX)
    assert lakehouse_tables.ARCHIVE_NAME.pattern == ARCHIVE_NAME.pattern
    assert set(lakehouse_tables.JOB_TABLES) == {RUNS_TABLE, CHECKS_TABLE, LEGACY_STATE_TABLE}


@pytest.mark.parametrize("name", NAMES)
def test_the_settings_refuse_a_table_name_exactly_when_the_job_does(name: str) -> None:
    assert lakehouse_tables.lakehouse_table_name(name) == sanitized_table_name(name)
    spec = TableSpec(name, sanitized_table_name(name), (KeyAttribute("id", "S"),))
    try:
        validate_table_specs((spec,))
        job_refuses = False
    except JobInputError:
        job_refuses = True
    try:
        lakehouse_tables.check_lakehouse_table_names([(name, "pipelines[0].tables[0].name")])
        settings_refuse = False
    except UserError:
        settings_refuse = True
    assert settings_refuse == job_refuses


def test_two_accounts_tables_that_become_one_lakehouse_table_are_refused_naming_both_settings() -> None:
    with pytest.raises(UserError, match=r"^settings pipelines\[0\]\.tables\[0\]\.name and pipelines\[1\]\.tables\[0\]"
                                        r"\.name: DynamoDB tables 'bb-apps-devstg-x' and 'bb-apps-devstg-x' would both "
                                        r"be lakehouse table 'bb_apps_devstg_x'"):
        lakehouse_tables.check_lakehouse_table_names([("bb-apps-devstg-x", "pipelines[0].tables[0].name"),
                                                      ("bb-apps-devstg-x", "pipelines[1].tables[0].name")])
