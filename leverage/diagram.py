"""The layer graph as a picture: Mermaid (GitHub renders it in Markdown) and Graphviz DOT.

An arrow goes from a layer to each layer that reads its state: the direction of the apply order. Layers are
grouped by account; states read but not generated here are dashed.
"""
from __future__ import annotations

from leverage.graph import LayerGraph
from leverage.layer import LayerAddress


def mermaid(graph: LayerGraph, current: LayerAddress | None = None) -> str:
    """A Mermaid flowchart; `current` (a layer's own README) is highlighted."""
    ids = _ids(graph)
    lines = ["flowchart LR"]
    for number, (account, layers) in enumerate(_by_account(graph).items()):
        lines.append(f"  subgraph account{number}[\"{account}\"]")
        lines += [f"    {ids[layer.backend_key]}[\"{layer.region}/{layer.layer}\"]" for layer in layers]
        lines.append("  end")
    for key, label in _external(graph).items():
        lines.append(f"  {ids[key]}[\"{label}\"]:::external")
    for source, reader in _edges(graph):
        lines.append(f"  {ids[source]} --> {ids[reader]}")
    lines.append("  classDef external stroke-dasharray: 5 5")
    if current is not None:
        lines.append("  classDef current stroke-width:3px")
        lines.append(f"  class {ids[current.backend_key]} current")
    return "\n".join(lines) + "\n"


def dot(graph: LayerGraph) -> str:
    """A Graphviz digraph (`dot -Tsvg`)."""
    ids = _ids(graph)
    lines = ["digraph layers {", "  rankdir=LR;", "  node [shape=box];"]
    for number, (account, layers) in enumerate(_by_account(graph).items()):
        lines.append(f"  subgraph cluster{number} {{")
        lines.append(f"    label=\"{account}\";")
        lines += [f"    {ids[layer.backend_key]} [label=\"{layer.region}/{layer.layer}\"];" for layer in layers]
        lines.append("  }")
    for key, label in _external(graph).items():
        lines.append(f"  {ids[key]} [label=\"{label}\", style=dashed];")
    for source, reader in _edges(graph):
        lines.append(f"  {ids[source]} -> {ids[reader]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _ids(graph: LayerGraph) -> dict[str, str]:
    """State key -> node id: generated layers in apply order, then the states read but not generated."""
    ids = {layer.backend_key: f"layer{number}" for number, layer in enumerate(graph.order)}
    ids.update({key: f"state{number}" for number, key in enumerate(_external(graph))})
    return ids


def _by_account(graph: LayerGraph) -> dict[str, list[LayerAddress]]:
    grouped: dict[str, list[LayerAddress]] = {}
    for layer in graph.order:
        grouped.setdefault(layer.account, []).append(layer)
    return grouped


def _external(graph: LayerGraph) -> dict[str, str]:
    """State keys read but not generated, labelled as `list` describes them."""
    return {key: f"{key} (not generated)" for key in sorted(graph.external_states())}


def _edges(graph: LayerGraph) -> list[tuple[str, str]]:
    """(state key read, state key of the reader), once each, in apply order."""
    edges: list[tuple[str, str]] = []
    for reader in graph.order:
        for read in graph.reads[reader]:
            if (read.key, reader.backend_key) not in edges:
                edges.append((read.key, reader.backend_key))
    return edges
