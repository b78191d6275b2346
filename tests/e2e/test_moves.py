"""Nothing lost for anyone who applied the layers with cdktf's hashed addresses: regenerating moves state only.

The layers exactly as committed before construct-chosen addresses (tests/fixtures/legacy_layers) are applied to
the emulator; then the current stacks regenerate them in place. Every plan shows the legacy addresses moving to
the new ones, nothing destroyed or replaced, and creates only of resources added since (which had no hashed address);
after the apply the next plan is empty.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from leverage.hcl import DEFAULT_AWS_PROVIDER_VERSION
from stacks import legacy_addresses
from tests.conftest import copy_example
from tests.layers import layer_config
from tests.e2e.harness import (Emulator, LeverageProject, dependencies, run_in_dependency_order, synthesize,
                               write_security_keys_layer)
from tests.e2e.toolchain import Toolchain

pytestmark = pytest.mark.e2e

LEGACY_LAYERS = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_layers"
APPLY_ORDER = {
    "apps-devstg/us-east-1/databases-dynamodb": legacy_addresses.DYNAMODB_LAYER,
    "data-science/us-east-1/datalake-demo": legacy_addresses.LAKE_LAYER,
    "apps-devstg/us-east-1/datalake": legacy_addresses.DATALAKE_LAYER,
}


# The layers of APPLY_ORDER each reads (remote state; the security-keys layer is applied before them all), which
# `list` confirms after regeneration: the others run side by side.
DEPENDS_ON = {
    "apps-devstg/us-east-1/databases-dynamodb": set(),
    # Only the regenerated lake reads the table layer (for each source's own folders); the legacy one applies
    # after it all the same.
    "data-science/us-east-1/datalake-demo": {"apps-devstg/us-east-1/databases-dynamodb"},
    "apps-devstg/us-east-1/datalake": {"apps-devstg/us-east-1/databases-dynamodb",
                                       "data-science/us-east-1/datalake-demo"},
}


def legacy_addresses_of(layer: str) -> list[str]:
    return list(APPLY_ORDER[layer])


def moved_to(root: Path, layer: str) -> dict[str, str]:
    """Each legacy address -> where the regenerated layer's `moved` blocks take it, chains followed."""
    moves = {block["from"]: block["to"] for block in layer_config(root / layer).get("moved", [])}
    targets = {}
    for old in APPLY_ORDER[layer]:
        new = old
        while new in moves:
            new = moves[new]
        targets[old] = new
    return targets


def added_since(root: Path, layer: str) -> list[str]:
    """The regenerated layer's resources that had no hashed address (the keys, log buckets and alarms added since,
    ...): created, never moved."""
    config = json.loads((root / layer / "main.tf.json").read_text(encoding="utf-8"))
    moved = set(moved_to(root, layer).values())
    return [address for kind, items in config["resource"].items() for name in items
            if (address := f"{kind}.{name}") not in moved]


def install_legacy_layers(root: Path) -> None:
    for config in sorted(LEGACY_LAYERS.glob("*/*/*/config.tf")):
        folder = root / config.parent.relative_to(LEGACY_LAYERS)
        folder.mkdir(parents=True)
        shutil.copy(config.parent / "main.tf.json", folder / "main.tf.json")
        # Committed when layers declared `~> 6.25`; the mirror carries 5.100, within the range layers declare now.
        (folder / "config.tf").write_text(config.read_text().replace('"~> 6.25"', f'"{DEFAULT_AWS_PROVIDER_VERSION}"'))
        (folder / "common-variables.tf").symlink_to("../../../config/common-variables.tf")


def test_layers_applied_with_hashed_addresses_move_to_the_new_ones_without_destroy_or_replace(
        tmp_path: Path, toolchain: Toolchain) -> None:
    root = copy_example(tmp_path / "example")
    install_legacy_layers(root)
    with Emulator.start() as emulator:
        project = LeverageProject(root, toolchain, emulator, tmp_path / "scratch")
        project.bootstrap()
        project.apply(write_security_keys_layer(root, "apps-devstg", "us-east-1"))
        layers = list(APPLY_ORDER)

        def apply_legacy(layer: str) -> None:
            project.apply(layer)
            resources = [address for address in project.state_addresses(layer) if not address.startswith("data.")]
            assert sorted(resources) == sorted(legacy_addresses_of(layer))

        run_in_dependency_order(layers, DEPENDS_ON, apply_legacy)

        # Regenerate in place: the refactor guard sees moves only, so synth needs no --allow-destroy.
        listed = synthesize(root)
        assert dependencies(layers, listed.reads) == DEPENDS_ON

        # Each layer after what it reads, as a user applies them in `list` order: a layer may read outputs the
        # layers before it gain on their apply.
        def move(layer: str) -> None:
            plan = project.plan(layer)
            destroyed = {address: actions for address, actions in plan.changes.items() if "delete" in actions}
            assert not destroyed, f"{layer}: {destroyed}"
            created = {address for address, actions in plan.changes.items() if "create" in actions}
            assert created <= set(added_since(root, layer)), f"{layer}: {created - set(added_since(root, layer))}"
            assert plan.moves == {new: old for old, new in moved_to(root, layer).items()}, layer
            project.apply(layer, plan)  # the plan checked above, as saved
            after = project.plan(layer)
            assert after.code == 0, f"{layer} is not settled after the move:\n{after.text[-3000:]}"
            resources = [address for address in project.state_addresses(layer) if not address.startswith("data.")]
            assert sorted(resources) == sorted([*moved_to(root, layer).values(), *added_since(root, layer)])

        run_in_dependency_order(layers, DEPENDS_ON, move)
