"""`leverage tf apply` for real: every generated layer of two projects applies against moto with the real hashicorp/aws
provider, in `list` order and Leverage's command shape, re-plans empty, and destroys in reverse order.

The two projects run at the same time (each with its own emulator): most of the wall time is the provider's own
waiting (S3 lifecycle and Kinesis stream waiters), not CPU.
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ProjectSpec, copy_example
from tests.e2e.harness import Emulator, LayerLifecycle, LeverageProject, Listed, synthesize, write_security_keys_layer
from tests.e2e.toolchain import Toolchain

pytestmark = pytest.mark.e2e

SECOND = ProjectSpec(name="acme", region="eu-west-1",
                     accounts={"core-prd": "210987654321", "lake-prd": "345678901234"})
SSO_SETTINGS = 'sso_enabled = true\nsso_start_url = "https://acme.awsapps.com/start"\nsso_region = "eu-west-1"\n'


@dataclass
class Source:
    """A project on disk, synthesized."""

    root: Path
    source_account: str
    lake_account: str
    region: str
    listed: Listed


@dataclass
class Lifecycle(LayerLifecycle):
    """One project's run, with the emulator's view of each account after apply and after destroy."""

    source: Source | None = None
    seen: dict[str, Any] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # account name -> id


def run_lifecycle(source: Source, toolchain: Toolchain, scratch: Path) -> Lifecycle:
    lifecycle = Lifecycle(name=source.root.name, source=source)
    with Emulator.start() as emulator:
        project = LeverageProject(source.root, toolchain, emulator, scratch)
        lifecycle.log = project.log
        lifecycle.ids = {name: account.id for name, account in project.accounts.items()}
        try:
            project.bootstrap()
            own = [write_security_keys_layer(source.root, account, source.region)
                   for account in source.listed.security_keys_accounts]
            lifecycle.layers = own + source.listed.layers
            lifecycle.apply_in_order(project)
            lifecycle.seen = observe(project, source)
            lifecycle.destroy_in_reverse(project)
            lifecycle.seen["after destroy"] = observe(project, source)
        except Exception as exc:  # recorded; the tests report it
            lifecycle.error = exc
    return lifecycle


def observe(project: LeverageProject, source: Source) -> dict[str, Any]:
    """Each account's resources as the emulator keeps them apart, through that account's own role."""
    seen: dict[str, Any] = {}
    for account in (source.source_account, source.lake_account):
        backend = project.accounts[account]  # the state bucket and lock table are not the layers'
        seen[account] = {
            "buckets": sorted(bucket["Name"] for bucket in project.client(account, "s3").list_buckets()["Buckets"]
                              if bucket["Name"] != backend.bucket),
            "streams": project.client(account, "kinesis").list_streams()["StreamNames"],
            "delivery streams": project.client(account, "firehose").list_delivery_streams()["DeliveryStreamNames"],
            "roles": sorted(role["Arn"] for role in project.client(account, "iam").list_roles()["Roles"]),
            "tables": [table for table in project.client(account, "dynamodb").list_tables()["TableNames"]
                       if table != backend.lock_table],
        }
    lake = project.client(source.lake_account, "s3")
    raw = [name for name in seen[source.lake_account]["buckets"] if name.endswith("-raw-bucket")]
    if raw:
        seen["raw bucket policy"] = json.loads(lake.get_bucket_policy(Bucket=raw[0])["Policy"])
    return seen


@pytest.fixture(scope="module")
def lifecycles(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Lifecycle]:
    example = copy_example(tmp_path_factory.mktemp("e2e-example") / "example")
    second_root = SECOND.write(tmp_path_factory.mktemp("e2e-second") / "acme")
    with (second_root / "config" / "common.tfvars").open("a", encoding="utf-8") as common:
        common.write(SSO_SETTINGS)
    second_context = ["-c", "sourceAccount=core-prd", "-c", "lakeAccount=lake-prd"]
    sources = {  # synthesized here, in the main thread
        "example": Source(example, "apps-devstg", "data-science", "us-east-1", synthesize(example)),
        "second": Source(second_root, "core-prd", "lake-prd", SECOND.region,
                         synthesize(second_root, *second_context)),
    }
    with ThreadPoolExecutor(max_workers=len(sources)) as pool:
        futures = {name: pool.submit(run_lifecycle, source, toolchain, tmp_path_factory.mktemp(f"e2e-{name}-aws"))
                   for name, source in sources.items()}
        return {name: future.result() for name, future in futures.items()}


PROJECTS = ["example", "second"]


@pytest.mark.parametrize("name", PROJECTS)
def test_every_generated_layer_applies_in_list_order(lifecycles: dict[str, Lifecycle], name: str) -> None:
    lifecycle = lifecycles[name]
    lifecycle.check()
    generated = [layer for layer in lifecycle.layers if not layer.endswith("/security-keys")]
    assert len(generated) == 4  # the three pipeline layers, and the example's own (cdktf.json `layers`)
    assert generated[-1] == f"{lifecycle.source.lake_account}/{lifecycle.source.region}/change-events-queue"
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

