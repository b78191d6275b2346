"""Synthesized layers -> the files of their folders, with the apply-order graph they share (their READMEs show it)."""
from __future__ import annotations

from dataclasses import dataclass

from leverage.write.content import FileContent
from leverage.project.graph import LayerGraph, build_graph
from leverage.project.model import Project
from leverage.render.layer_folder import SynthesizedLayer, render_layer


@dataclass(frozen=True)
class GeneratedLayers:
    graph: LayerGraph
    files: dict[str, FileContent]  # path relative to the Leverage root -> content


def generate(layers: list[SynthesizedLayer], project: Project) -> GeneratedLayers:
    graph = build_graph({layer.address: layer.config for layer in layers})
    files: dict[str, FileContent] = {}
    for layer in layers:
        for name, content in render_layer(layer, graph, project).items():
            files[f"{layer.address.folder}/{name}"] = content
    return GeneratedLayers(graph, files)
