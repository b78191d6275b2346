"""Two source accounts, three tables, one lake, applied for real: what the pipelines project (tests/e2e/lifecycles.py)
shows beyond what every project shows (tests/e2e/test_apply.py: list order, empty plans, accounts apart, the lake's
grant, the lakehouse, destroy).

core-prd streams two tables its generated table layer creates; legacy-prd streams one table a hand-written layer
of its own keeps (read through remote state, like every other read). Both Firehoses deliver into lake-prd's raw
bucket, whose policy grants each of their roles.
"""
from __future__ import annotations

import pytest

from tests.e2e.lifecycles import LEGACY_LAYER, PIPELINES_LAKE as LAKE, PIPELINES_REGION as REGION, Lifecycle

pytestmark = pytest.mark.e2e

SOURCES = ("core-prd", "legacy-prd")


@pytest.fixture
def lifecycle(pipelines_lifecycle: Lifecycle) -> Lifecycle:
    pipelines_lifecycle.check()
    return pipelines_lifecycle


def test_two_sources_and_three_tables_apply_in_list_order(lifecycle: Lifecycle) -> None:
    assert lifecycle.applied == lifecycle.layers
    assert LEGACY_LAYER in lifecycle.applied
    assert sorted(lifecycle.generated) == sorted([f"core-prd/{REGION}/databases-dynamodb",
                                                  f"core-prd/{REGION}/datalake", f"legacy-prd/{REGION}/datalake",
                                                  f"{LAKE}/{REGION}/datalake-demo", f"{LAKE}/{REGION}/lakehouse-demo",
                                                  f"{LAKE}/{REGION}/change-events-queue"])  # the example's own


def test_every_table_streams_into_its_accounts_stream_and_both_roles_reach_the_lake(lifecycle: Lifecycle) -> None:
    seen = lifecycle.seen
    assert seen["core-prd"]["tables"] == ["acme-core-prd-customers", "acme-core-prd-orders"]
    assert seen["legacy-prd"]["tables"] == ["acme-legacy-prd-users"]
    for account in SOURCES:
        assert seen[account]["streams"] == [f"acme-{account}-ddb-lakehouse-stream"]
        assert seen[account]["delivery streams"] == [f"acme-{account}-ddb-lakehouse-firehose"]
    assert not seen[LAKE]["tables"] and not seen[LAKE]["streams"]
    # The lake account's alarms: the lakehouse's runs, each table's freshness and data quality, and each replicated
    # bucket's failed replications.
    replicated = [f"data-lake-demo-data-{kind}-bucket" for kind in ("raw", "processed")] + [
        "data-lake-demo-access-logs", "lakehouse-artifacts", "lakehouse-athena-results", "lakehouse-access-logs"]
    assert sorted(seen[LAKE]["alarms"]) == sorted(
        [f"acme-{LAKE}-lakehouse-no-successful-run"]
        + [f"acme-{LAKE}-lakehouse-{table}-{kind}" for table in ("orders", "customers", "users")
           for kind in ("quality", "stale")]
        + [f"acme-{LAKE}-{bucket}-replication-failed" for bucket in replicated])
    roles = {lifecycle.outputs[f"{account}/{REGION}/datalake"]["kinesis_firehose_role_arn"] for account in SOURCES}
    granted = {statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]
               for statement in seen["raw bucket policy"]["Statement"] if statement["Effect"] == "Allow"}
    assert granted == roles
    names = lifecycle.outputs[f"core-prd/{REGION}/databases-dynamodb"]["dynamodb_table_names"]
    assert names == {"orders": "acme-core-prd-orders", "customers": "acme-core-prd-customers"}


def test_each_source_has_its_alarms_and_topic(lifecycle: Lifecycle) -> None:
    for account, tables in (("core-prd", ("orders", "customers")), ("legacy-prd", ("users",))):
        alarms = lifecycle.seen[account]["alarms"]
        assert len(alarms) == 5 + 3 * len(tables)
        assert all(any(alarm.startswith(f"acme-{account}-{table}-cdc-") for alarm in alarms) for table in tables)
        topic = lifecycle.outputs[f"{account}/{REGION}/datalake"]["alarm_topic_arn"]
        assert lifecycle.seen[account]["topics"] == [topic]
