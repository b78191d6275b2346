"""Testing a layer with cdktf's Testing API, without a synth of the whole app.

    from leverage.testing import Testing, synth_layer

    synthesized = synth_layer(MyLayer, MyLayer.Settings(), leverage_root="example", account="data-science")
    assert Testing.to_have_resource_with_properties(synthesized, "aws_sqs_queue", {"name": "bb-data-science-q"})

`synth_layer` reads the Leverage project at `leverage_root` (as `synth` does: the layer's account, and any other
account its code reads), builds the layer for `<account>/<region>/<layer>` and returns cdktf's synthesized JSON of
it (a string), which the `Testing` assertions take.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from bindings import Testing
from leverage.project.model import load_project
from leverage.stack import LeverageLayerStack

__all__ = ["Testing", "synth_layer", "build_layer"]


def build_layer(cls: type[LeverageLayerStack], settings: Any, *, leverage_root: str | Path, account: str,
                layer: str = "test-layer", region: str | None = None) -> LeverageLayerStack:
    """The layer's stack, built in a test app for `<account>/<region or region_primary>/<layer>`."""
    project = load_project(Path(leverage_root).resolve(), [(account, "account")])
    address = project.address(account, region or project.region_primary, layer)
    stack = cls(Testing.app(), project, address)
    stack.build(settings)
    return stack


def synth_layer(cls: type[LeverageLayerStack], settings: Any, *, leverage_root: str | Path, account: str,
                layer: str = "test-layer", region: str | None = None) -> str:
    """cdktf's synthesized JSON of the layer (Testing.synth), for the Testing assertions."""
    return Testing.synth(build_layer(cls, settings, leverage_root=leverage_root, account=account, layer=layer,
                                     region=region))
