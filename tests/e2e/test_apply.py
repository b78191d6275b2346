"""`leverage tf apply` for real: every generated layer of two projects applies against moto with the real hashicorp/aws
provider, in `list` order (each layer after the layers it reads, the others side by side) and Leverage's command
shape, plans empty once every layer is applied, and destroys in reverse order. `example` is the example project;
`pipelines` has other names, account ids and region, and two source accounts (tests/e2e/lifecycles.py).

Each project is applied once per test process (tests/e2e/lifecycles.py) with its own emulator; under pytest-xdist
(`make test`, tests/e2e/scheduling.py) the two run at the same time on two workers, beside the other scenarios.
"""
from __future__ import annotations

import pytest

from tests.e2e.lifecycles import Lifecycle

pytestmark = pytest.mark.e2e

PROJECTS = ["example", "pipelines"]  # each one scenario (tests/e2e/scheduling.py): its tests share its one apply
# The pipeline layers (each source's datalake layer, the table layer of the source whose tables are generated, the
# lake's layer), the lakehouse, and the example's own (cdktf.json `layers`); the tables the lakehouse merges.
GENERATED = {"example": 5, "pipelines": 6}
TABLES = {"example": 1, "pipelines": 3}


@pytest.fixture
def lifecycles(request: pytest.FixtureRequest, name: str) -> dict[str, Lifecycle]:
    """The project's run (a session fixture, `example_lifecycle` or `pipelines_lifecycle`), by name."""
    return {name: request.getfixturevalue(f"{name}_lifecycle")}


@pytest.mark.parametrize("name", PROJECTS)
def test_every_generated_layer_applies_in_list_order(lifecycles: dict[str, Lifecycle], name: str) -> None:
    lifecycle = lifecycles[name]
    lifecycle.check()
    source = lifecycle.source
    assert len(lifecycle.generated) == GENERATED[name]
    assert {f"{account}/{source.region}/datalake" for account in source.source_accounts} <= set(lifecycle.generated)
    assert f"{source.lake_account}/{source.region}/change-events-queue" in lifecycle.generated
    assert lifecycle.applied == lifecycle.layers
    assert lifecycle.layers[0] == f"{source.source_accounts[0]}/{source.region}/security-keys"


@pytest.mark.parametrize("name", PROJECTS)
def test_a_plan_after_every_apply_is_empty(lifecycles: dict[str, Lifecycle], name: str) -> None:
    lifecycle = lifecycles[name]
    lifecycle.check()
    changed = {layer: plan.changes or plan.text[-3000:] for layer, plan in lifecycle.plans.items() if plan.code != 0}
    assert changed == {}
    assert set(lifecycle.plans) == set(lifecycle.layers)


@pytest.mark.parametrize("name", PROJECTS)
def test_accounts_are_distinct_and_the_lake_grant_crosses_them(lifecycles: dict[str, Lifecycle], name: str) -> None:
    lifecycle = lifecycles[name]
    lifecycle.check()
    sources, lake, region = lifecycle.source.source_accounts, lifecycle.source.lake_account, lifecycle.source.region
    ids = lifecycle.ids
    seen = lifecycle.seen
    lake_outputs = next(outputs for layer, outputs in lifecycle.outputs.items() if layer.endswith("/datalake-demo"))
    raw_bucket = lake_outputs["s3_bucket_data_raw_arn"].split(":::")[1]

    # Each account holds its own resources, and only those.
    assert raw_bucket in seen[lake]["buckets"]
    assert not seen[lake]["streams"] and not seen[lake]["delivery streams"] and not seen[lake]["tables"]
    roles = {}
    for source in sources:
        datalake = lifecycle.outputs[f"{source}/{region}/datalake"]
        assert raw_bucket not in seen[source]["buckets"]
        assert seen[source]["streams"] and seen[source]["delivery streams"] and seen[source]["tables"]
        role = datalake["kinesis_firehose_role_arn"]
        assert role.startswith(f"arn:aws:iam::{ids[source]}:role/") and role in seen[source]["roles"]
        assert not any(arn.startswith(f"arn:aws:iam::{ids[source]}:") for arn in seen[lake]["roles"])
        assert datalake["kinesis_stream_arn"].startswith(f"arn:aws:kinesis:{region}:{ids[source]}:")
        roles[f"arn:aws:iam::{ids[source]}:root"] = role

    # The lake account's bucket grants each source account's delivery role, read through remote state across
    # accounts.
    grants = [statement for statement in seen["raw bucket policy"]["Statement"] if statement["Effect"] == "Allow"]
    assert grants
    for statement in grants:
        [(key, principal)] = statement["Principal"].items()
        assert key == "AWS" and statement["Condition"]["ArnEquals"]["aws:PrincipalArn"] == roles[principal]
    assert {statement["Principal"]["AWS"] for statement in grants} == set(roles)
    assert len({ids[account] for account in (*sources, lake)}) == len(sources) + 1


@pytest.mark.parametrize("name", PROJECTS)
def test_the_lakehouse_layer_applies_with_its_outputs(lifecycles: dict[str, Lifecycle], name: str) -> None:
    """Glue job, trigger, security configuration, log groups, failure rule, Athena workgroup, buckets and the script
    object applied in the lake account; its outputs name them (the layer's own tests check their arguments)."""
    lifecycle = lifecycles[name]
    lifecycle.check()
    lake = lifecycle.source.lake_account
    lake_id, region = lifecycle.ids[lake], lifecycle.source.region
    layer = f"{lake}/{region}/lakehouse-demo"
    assert layer in lifecycle.applied and lifecycle.plans[layer].code == 0
    outputs = lifecycle.outputs[layer]
    prefix = outputs["glue_job_name"].removesuffix("-lakehouse-cdc-merge")
    assert outputs["glue_job_name"] == f"{prefix}-lakehouse-cdc-merge"
    assert outputs["glue_job_arn"] == f"arn:aws:glue:{region}:{lake_id}:job/{prefix}-lakehouse-cdc-merge"
    assert outputs["glue_job_role_arn"] == f"arn:aws:iam::{lake_id}:role/{prefix}-lakehouse-cdc-merge-role"
    assert outputs["athena_workgroup_name"] == f"{prefix}-lakehouse"
    assert outputs["lakehouse_database_name"] == f"{prefix}-lakehouse".replace("-", "_")
    assert outputs["athena_results_bucket_arn"] == f"arn:aws:s3:::{prefix}-lakehouse-athena-results"
    assert outputs["lakehouse_kms_key_arn"].startswith(f"arn:aws:kms:{region}:{lake_id}:key/")
    assert outputs["lakehouse_reader_policy_arn"] == f"arn:aws:iam::{lake_id}:policy/{prefix}-lakehouse-reader"
    assert outputs["lakehouse_warehouse_uri"].endswith("-data-lake-demo-data-processed-bucket/lakehouse/")
    tables = outputs["lakehouse_table_names"]
    assert len(tables) == TABLES[name]
    assert all(target == source.lower().replace("-", "_") for source, target in tables.items())
    buckets = lifecycle.seen[lake]["buckets"]
    assert {f"{prefix}-lakehouse-artifacts", f"{prefix}-lakehouse-athena-results"} <= set(buckets)
    assert outputs["glue_job_role_arn"] in lifecycle.seen[lake]["roles"]


@pytest.mark.parametrize("name", PROJECTS)
def test_destroy_in_reverse_order_stops_only_at_the_protected_tables(lifecycles: dict[str, Lifecycle],
                                                                     name: str) -> None:
    """Every layer destroys but the generated table layer, whose tables' deletion protection stops it (a
    hand-written table layer without that protection destroys)."""
    lifecycle = lifecycles[name]
    lifecycle.check()
    assert list(lifecycle.destroyed) == list(reversed(lifecycle.layers))
    failed = {layer: run for layer, run in lifecycle.destroyed.items() if run.code != 0}
    [dynamodb] = [layer for layer in lifecycle.generated if layer.endswith("/databases-dynamodb")]
    assert list(failed) == [dynamodb]
    assert "DeletionProtectionEnabled" in failed[dynamodb].text
    left = {layer: addresses for layer, addresses in lifecycle.left.items() if addresses}
    assert list(left) == [dynamodb] and left[dynamodb]
    assert all(address.startswith("aws_dynamodb_table.") for address in left[dynamodb])
    after = lifecycle.seen["after destroy"]
    nothing = {"buckets": [], "streams": [], "delivery streams": [], "roles": [], "tables": [], "alarms": [],
               "topics": []}
    for account in (*lifecycle.source.source_accounts, lifecycle.source.lake_account):
        protected = lifecycle.seen[account]["tables"] if dynamodb.startswith(f"{account}/") else []
        assert after[account] == nothing | {"tables": protected}, account  # the protected tables survive


@pytest.mark.parametrize("name", PROJECTS)
def test_the_registered_layer_applies_in_the_lake_account_reading_the_lake_layer(
        lifecycles: dict[str, Lifecycle], name: str) -> None:
    """The example's own layer (example/layers/, registered in cdktf.json) applied like a built-in one."""
    lifecycle = lifecycles[name]
    lifecycle.check()
    lake, region = lifecycle.source.lake_account, lifecycle.source.region
    queue = lifecycle.outputs[f"{lake}/{region}/change-events-queue"]
    assert queue["queue_arn"].startswith(f"arn:aws:sqs:{region}:{lifecycle.ids[lake]}:")
    assert queue["dead_letter_queue_arn"].endswith("-change-events-dlq")

