"""Synthesized layers -> the files of their folders, with the apply-order graph they share (their READMEs show it)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leverage.write.content import FileContent
from leverage.project.graph import LayerGraph, build_graph
from leverage.project.model import Project
from leverage.project.scan import declared_outputs
from leverage.render.layer_folder import NamingArguments, SynthesizedLayer, render_layer, terraform_config


@dataclass(frozen=True)
class GeneratedLayers:
    graph: LayerGraph
    files: dict[str, FileContent]  # path relative to the Leverage root -> content
    configs: dict[str, dict[str, Any]]  # layer folder -> its whole configuration, as Terraform reads the folder


def generate(layers: list[SynthesizedLayer], project: Project,
             naming: NamingArguments | None = None) -> GeneratedLayers:
    """`naming`: what names each type's live resource (a ResourceLifecycle), for the READMEs' "AWS name" column."""
    graph = build_graph({layer.address: layer.config for layer in layers},
                        lambda address: declared_outputs(project.root, address.folder, hand_written_only=True))
    files: dict[str, FileContent] = {}
    for layer in layers:
        for name, content in render_layer(layer, graph, project, naming).items():
            files[f"{layer.address.folder}/{name}"] = content
    return GeneratedLayers(graph, files, {layer.address.folder: terraform_config(layer) for layer in layers})
