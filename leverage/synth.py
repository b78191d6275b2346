"""Stacks -> synthesized Terraform JSON, one configuration per layer, with what its folder's README says of it."""
from __future__ import annotations

import inspect
import json
from pathlib import Path

from bindings import App
from leverage.render.layer_folder import SynthesizedLayer
from leverage.stack import LeverageLayerStack


def synthesize(app: App, stacks: list[LeverageLayerStack], outdir: Path, app_root: Path) -> list[SynthesizedLayer]:
    for stack in stacks:
        stack.check_addresses()
    app.synth()
    layers = []
    for stack in stacks:
        config = json.loads((outdir / "stacks" / stack.node.id / "cdk.tf.json").read_text(encoding="utf-8"))
        module = Path(inspect.getfile(type(stack))).resolve()
        source = module.relative_to(app_root).as_posix() if app_root in module.parents else module.name
        layers.append(SynthesizedLayer(stack.address, config, inspect.getdoc(type(stack)) or "", source, stack.diagram))
    return layers
