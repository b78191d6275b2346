"""`leverage tf apply` for real: every generated layer of two projects applies against moto with the real hashicorp/aws
provider, in `list` order (each layer after the layers it reads, the others side by side) and Leverage's command
shape, re-plans empty, and destroys in reverse order.

Each project is applied once per test process (tests/e2e/lifecycles.py) with its own emulator; under pytest-xdist
(`make test`, tests/e2e/scheduling.py) the two run at the same time on two workers, beside the other scenarios.
"""
from __future__ import annotations

import pytest

from tests.e2e.lifecycles import Lifecycle

pytestmark = pytest.mark.e2e

PROJECTS = ["example", "second"]  # each one scenario (tests/e2e/scheduling.py): its tests share its one apply


@pytest.fixture
def lifecycles(request: pytest.FixtureRequest, name: str) -> dict[str, Lifecycle]:
    """The project's run (a session fixture, `example_lifecycle` or `second_lifecycle`), by name."""
    return {name: request.getfixturevalue(f"{name}_lifecycle")}


@pytest.mark.parametrize("name", PROJECTS)
def test_every_generated_layer_applies_in_list_order(lifecycles: dict[str, Lifecycle], name: str) -> None:
    lifecycle = lifecycles[name]
    lifecycle.check()
    generated = [layer for layer in lifecycle.layers if not layer.endswith("/security-keys")]
    assert len(generated) == 5  # the three pipeline layers, the lakehouse, and the example's own (cdktf.json `layers`)
    assert f"{lifecycle.source.lake_account}/{lifecycle.source.region}/change-events-queue" in generated
    assert lifecycle.applied == lifecycle.layers
    assert lifecycle.layers[0] == f"{lifecycle.source.source_account}/{lifecycle.source.region}/security-keys"


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
    source, lake = lifecycle.source.source_account, lifecycle.source.lake_account
    ids = lifecycle.ids
    seen = lifecycle.seen
    datalake = next(outputs for layer, outputs in lifecycle.outputs.items() if layer.endswith("/datalake"))
    lake_outputs = next(outputs for layer, outputs in lifecycle.outputs.items() if layer.endswith("/datalake-demo"))
    raw_bucket = lake_outputs["s3_bucket_data_raw_arn"].split(":::")[1]

    # Each account holds its own resources, and only those.
    assert raw_bucket in seen[lake]["buckets"] and raw_bucket not in seen[source]["buckets"]
    assert seen[source]["streams"] and not seen[lake]["streams"]
    assert seen[source]["delivery streams"] and not seen[lake]["delivery streams"]
    assert seen[source]["tables"] and not seen[lake]["tables"]
    role = datalake["kinesis_firehose_role_arn"]
    assert role.startswith(f"arn:aws:iam::{ids[source]}:role/") and role in seen[source]["roles"]
    assert not any(arn.startswith(f"arn:aws:iam::{ids[source]}:") for arn in seen[lake]["roles"])
    assert datalake["kinesis_stream_arn"].startswith(f"arn:aws:kinesis:{lifecycle.source.region}:{ids[source]}:")

    # The lake account's bucket grants the source account's delivery role, read through remote state across accounts.
    grants = [statement for statement in seen["raw bucket policy"]["Statement"] if statement["Effect"] == "Allow"]
    assert grants
    for statement in grants:
        assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ids[source]}:root"}
        assert statement["Condition"]["ArnEquals"]["aws:PrincipalArn"] == role
    assert ids[source] != ids[lake]


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
    assert len(tables) == 1 and all(target == source.lower().replace("-", "_") for source, target in tables.items())
    buckets = lifecycle.seen[lake]["buckets"]
    assert {f"{prefix}-lakehouse-artifacts", f"{prefix}-lakehouse-athena-results"} <= set(buckets)
    assert outputs["glue_job_role_arn"] in lifecycle.seen[lake]["roles"]


@pytest.mark.parametrize("name", PROJECTS)
def test_destroy_in_reverse_order_stops_only_at_the_protected_table(lifecycles: dict[str, Lifecycle],
                                                                    name: str) -> None:
    lifecycle = lifecycles[name]
    lifecycle.check()
    assert list(lifecycle.destroyed) == list(reversed(lifecycle.layers))
    failed = {layer: run for layer, run in lifecycle.destroyed.items() if run.code != 0}
    dynamodb = next(layer for layer in lifecycle.layers if layer.endswith("/databases-dynamodb"))
    assert list(failed) == [dynamodb]
    assert "DeletionProtectionEnabled" in failed[dynamodb].text
    left = {layer: addresses for layer, addresses in lifecycle.left.items() if addresses}
    assert list(left) == [dynamodb] and len(left[dynamodb]) == 1
    assert left[dynamodb][0].startswith("aws_dynamodb_table.")
    after = lifecycle.seen["after destroy"]
    source, lake = lifecycle.source.source_account, lifecycle.source.lake_account
    assert after[source]["tables"] == lifecycle.seen[source]["tables"]  # the protected table survives
    assert after[lake] == {"buckets": [], "streams": [], "delivery streams": [], "roles": [], "tables": []}
    assert after[source] | {"tables": []} == {"buckets": [], "streams": [], "delivery streams": [], "roles": [],
                                              "tables": []}


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

