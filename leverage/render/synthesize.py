"""Synthesized stacks -> layer folders: the last steps of settings -> project -> stacks -> JSON -> folders."""
from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path

from bindings import App
from leverage.write.content import FileContent
from leverage.project.graph import LayerGraph, build_graph
from leverage.project.model import Project
from leverage.render.layer_folder import SynthesizedLayer, render_layer
from leverage.stack import LeverageLayerStack


@dataclass(frozen=True)
class GeneratedLayers:
    graph: LayerGraph
    files: dict[str, FileContent]  # path relative to the Leverage root -> content


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


def generate(layers: list[SynthesizedLayer], project: Project) -> GeneratedLayers:
    graph = build_graph({layer.address: layer.config for layer in layers})
    files: dict[str, FileContent] = {}
    for layer in layers:
        for name, content in render_layer(layer, graph, project).items():
            files[f"{layer.address.folder}/{name}"] = content
    return GeneratedLayers(graph, files)
