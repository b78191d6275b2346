"""The layer graph as a picture: Mermaid (GitHub renders it in Markdown) and Graphviz DOT.

An arrow goes from a layer to each layer that reads its state: the direction of the apply order. Layers are
grouped by account; states read but not generated here are dashed.
"""
from __future__ import annotations

from dataclasses import dataclass

from leverage.project.graph import LayerGraph
from leverage.project.layer import LayerAddress


@dataclass(frozen=True)
class _Syntax:
    """How one diagram language writes the parts of the graph ({id}, {label}, {source}, {reader} filled in)."""

    header: tuple[str, ...]
    group: tuple[str, ...]  # opening lines of an account's group; {number}, {label}
    group_end: str
    node: str
    external: str
    edge: str
    footer: tuple[str, ...]


MERMAID = _Syntax(header=("flowchart LR",), group=('  subgraph account{number}["{label}"]',), group_end="  end",
                  node='    {id}["{label}"]', external='  {id}["{label}"]:::external', edge="  {source} --> {reader}",
                  footer=("  classDef external stroke-dasharray: 5 5",))
DOT = _Syntax(header=("digraph layers {", "  rankdir=LR;", "  node [shape=box];"),
              group=("  subgraph cluster{number} {{", '    label="{label}";'), group_end="  }}",
              node='    {id} [label="{label}"];', external='  {id} [label="{label}", style=dashed];',
              edge="  {source} -> {reader};", footer=("}}",))


def mermaid(graph: LayerGraph, current: LayerAddress | None = None) -> str:
    """A Mermaid flowchart; `current` (a layer's own README) is highlighted."""
    highlight = () if current is None else (
        "  classDef current stroke-width:3px", f"  class {_ids(graph)[current.backend_key]} current")
    return _render(graph, MERMAID) + "".join(line + "\n" for line in highlight)


def dot(graph: LayerGraph) -> str:
    """A Graphviz digraph (`dot -Tsvg`)."""
    return _render(graph, DOT)


def _render(graph: LayerGraph, syntax: _Syntax) -> str:
    ids = _ids(graph)
    lines = list(syntax.header)
    for number, (account, layers) in enumerate(_by_account(graph).items()):
        lines += [line.format(number=number, label=account) for line in syntax.group]
        lines += [syntax.node.format(id=ids[layer.backend_key], label=f"{layer.region}/{layer.layer}")
                  for layer in layers]
        lines.append(syntax.group_end.format())
    lines += [syntax.external.format(id=ids[key], label=label) for key, label in _external(graph).items()]
    lines += [syntax.edge.format(source=ids[source], reader=ids[reader]) for source, reader in _edges(graph)]
    lines += [line.format() for line in syntax.footer]
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
    return {key: f"{key} (not generated)" for key in graph.external_states()}


def _edges(graph: LayerGraph) -> list[tuple[str, str]]:
    """(state key read, state key of the reader), once each, in apply order."""
    edges: list[tuple[str, str]] = []
    for reader in graph.order:
        for read in graph.reads[reader]:
            if (read.key, reader.backend_key) not in edges:
                edges.append((read.key, reader.backend_key))
    return edges
