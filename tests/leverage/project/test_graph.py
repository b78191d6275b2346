"""Layer addresses and the apply-order graph on their own: shapes the three generated layers never take (chains,
cycles, shared keys), checked without synthesizing anything."""
from __future__ import annotations

import re

import pytest

from leverage.errors import UserError
from leverage.project.graph import build_graph, remote_reads
from leverage.project.layer import LayerAddress


def address(layer: str, account: str = "apps-devstg", *, dr: bool = False) -> LayerAddress:
    return LayerAddress(account, "us-east-1", layer, disaster_recovery=dr)


@pytest.mark.parametrize("layer", ["datalake", "1keys", "a", "base_network-2"])
def test_layer_names_that_are_folder_names_are_accepted(layer: str) -> None:
    assert address(layer).folder == f"apps-devstg/us-east-1/{layer}"


@pytest.mark.parametrize("layer", ["", "-x", "_x", "Datalake", "data/lake", "data lake"])
def test_layer_names_that_are_not_folder_names_are_refused(layer: str) -> None:
    with pytest.raises(UserError, match=rf"^layer name {re.escape(repr(layer))} is not a valid folder name; use lowercase "
                                        r"letters, digits, '-' and '_'$"):
        address(layer)


@pytest.mark.parametrize("layer, dr, key", [
    ("datalake", False, "apps-devstg/datalake/terraform.tfstate"),
    ("datalake", True, "apps-devstg/datalake-dr/terraform.tfstate"),
    ("base-network", False, "apps-devstg/network/terraform.tfstate"),
    ("tools-vpn-server", True, "apps-devstg/vpn-server-dr/terraform.tfstate"),
    ("base-tools-x", False, "apps-devstg/tools-x/terraform.tfstate"),  # one prefix only
    ("database-base", False, "apps-devstg/database-base/terraform.tfstate"),
])
def test_backend_key_drops_the_region_and_a_base_or_tools_prefix(layer: str, dr: bool, key: str) -> None:
    assert address(layer, dr=dr).backend_key == key


def reading(*keys: str, outputs: dict[str, str] | None = None) -> dict:
    """A synthesized layer configuration that reads the given state keys and declares the given outputs; each
    remote state's output `out` is used by a resource."""
    sources = {f"s{index}": {"config": {"key": key}} for index, key in enumerate(keys)}
    used = {name: {"value": f"${{data.terraform_remote_state.{name}.outputs.out}}"} for name in sources}
    return {"data": {"terraform_remote_state": sources}, "resource": {"null_resource": used},
            "output": {name: {"value": value} for name, value in (outputs or {}).items()}}


def test_remote_reads_resolve_the_environment_and_list_the_outputs_used_outside_data() -> None:
    config = {
        "data": {"terraform_remote_state": {
            "keys": {"config": {"key": "${var.environment}/security-keys/terraform.tfstate"}},
            "lake": {"config": {"key": "data-science/datalake-demo/terraform.tfstate"}},
        }},
        "resource": {"aws_kinesis_stream": {"s": {
            "kms_key_id": "${data.terraform_remote_state.keys.outputs.aws_kms_key_arn}",
            "tags": {"b": "${data.terraform_remote_state.lake.outputs.bucket_b}",
                     "a": "${data.terraform_remote_state.lake.outputs.bucket_a}"}}}},
    }
    reads = {read.data_source: read for read in remote_reads(address("datalake"), config)}
    assert reads["keys"].key == "apps-devstg/security-keys/terraform.tfstate"
    assert reads["keys"].outputs == ("aws_kms_key_arn",)
    assert reads["keys"].account == "apps-devstg"
    assert reads["lake"].outputs == ("bucket_a", "bucket_b")
    assert reads["lake"].account == "data-science"


def test_an_output_read_only_by_another_data_source_is_a_read_and_must_exist() -> None:
    """A policy document naming another layer's key reads that output as much as a resource does: it is listed,
    and a generated layer without it is refused before anything is written (Terraform would fail at plan)."""
    config = reading(address("a").backend_key)
    config["data"]["aws_iam_policy_document"] = {"policy": {"statement": [
        {"resources": ["${data.terraform_remote_state.s0.outputs.key_arn}"]}]}}
    assert remote_reads(address("b"), config)[0].outputs == ("key_arn", "out")
    with pytest.raises(UserError, match="reads output 'key_arn' of apps-devstg/us-east-1/a, which does not have it"):
        build_graph({address("b"): config, address("a"): reading(outputs={"out": "x"})})


def test_order_puts_a_chain_after_what_it_reads_and_prerequisites_are_transitive() -> None:
    a, b, c, d = address("a"), address("b"), address("c"), address("d")
    graph = build_graph({
        c: reading(b.backend_key, outputs={}),
        b: reading(a.backend_key, outputs={"out": "x"}),
        a: reading("apps-devstg/security-keys/terraform.tfstate", outputs={"out": "x"}),
        d: reading(outputs={}),
    })
    assert graph.order == (a, d, b, c)  # ready layers sorted, each after what it reads
    assert graph.dependencies(c) == [b]
    assert graph.prerequisites(c) == [a, b]
    assert graph.prerequisites(a) == []
    assert graph.describe(graph.reads[c][0]) == "apps-devstg/us-east-1/b"
    [external] = graph.external_reads(a)
    assert graph.describe(external) == "state apps-devstg/security-keys/terraform.tfstate (not generated)"
    assert graph.external_reads(c) == []


def test_a_cycle_is_refused_naming_its_layers() -> None:
    a, b = address("a"), address("b")
    with pytest.raises(UserError, match=r"^the generated layers read each other's state in a cycle "
                                        r"\(apps-devstg/us-east-1/[ab] -> apps-devstg/us-east-1/[ab] -> "
                                        r"apps-devstg/us-east-1/[ab]\), so no apply order exists; change the layer "
                                        r"settings \(e\.g\. keysLayer, lakeLayer\) so that no layer reads one that reads it$"):
        build_graph({a: reading(b.backend_key, outputs={"out": "x"}), b: reading(a.backend_key, outputs={"out": "x"})})


def test_two_layers_with_one_state_key_are_refused() -> None:
    with pytest.raises(UserError, match=r"^layers apps-devstg/us-east-1/base-network and apps-devstg/us-east-1/network "
                                        r"would share the state key apps-devstg/network/terraform\.tfstate; give them "
                                        r"different layer names in the settings$"):
        build_graph({address("base-network"): reading(), address("network"): reading()})


def test_reading_an_output_a_generated_layer_lacks_is_refused() -> None:
    a, b = address("a"), address("b")
    with pytest.raises(UserError, match=r"^layer apps-devstg/us-east-1/b: reads output 'out' of apps-devstg/us-east-1/a, "
                                        r"which does not have it; check the layer settings \(keysLayer, dynamodbLayer, "
                                        r"lakeLayer\): they name the wrong layer$"):
        build_graph({a: reading(outputs={"other": "x"}), b: reading(a.backend_key)})
