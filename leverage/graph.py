"""Which layer reads which, from the remote-state data sources in the synthesized configuration."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any

from leverage.errors import UserError
from leverage.layer import LayerAddress

OUTPUT_REFERENCE = re.compile(r"data\.terraform_remote_state\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class RemoteRead:
    data_source: str
    key: str  # the backend key, with ${var.environment} resolved to the reading layer's account
    outputs: tuple[str, ...]  # the outputs the reading layer uses

    @property
    def layer_name(self) -> str:
        return "/".join(self.key.split("/")[1:-1])

    @property
    def account(self) -> str:
        return self.key.split("/")[0]


def remote_reads(address: LayerAddress, config: dict[str, Any]) -> list[RemoteRead]:
    sources = config.get("data", {}).get("terraform_remote_state", {})
    used: dict[str, set[str]] = {name: set() for name in sources}
    for name, output in OUTPUT_REFERENCE.findall(_without(config, "data")):
        used.setdefault(name, set()).add(output)
    reads = []
    for name, source in sources.items():
        key = source["config"]["key"].replace("${var.environment}", address.account)
        reads.append(RemoteRead(name, key, tuple(sorted(used[name]))))
    return reads


def _without(config: dict[str, Any], section: str) -> str:
    return json.dumps({name: part for name, part in config.items() if name != section})


@dataclass(frozen=True)
class LayerGraph:
    order: tuple[LayerAddress, ...]  # each layer after every generated layer it reads
    reads: dict[LayerAddress, tuple[RemoteRead, ...]]
    generated_by_key: dict[str, LayerAddress]

    def dependencies(self, address: LayerAddress) -> list[LayerAddress]:
        return [self.generated_by_key[read.key] for read in self.reads[address] if read.key in self.generated_by_key]

    def external_reads(self, address: LayerAddress) -> list[RemoteRead]:
        return [read for read in self.reads[address] if read.key not in self.generated_by_key]

    def prerequisites(self, address: LayerAddress) -> list[LayerAddress]:
        """Every generated layer that must be applied before this one, in apply order."""
        needed: set[LayerAddress] = set()
        pending = self.dependencies(address)
        while pending:
            layer = pending.pop()
            if layer not in needed:
                needed.add(layer)
                pending.extend(self.dependencies(layer))
        return [layer for layer in self.order if layer in needed]


def build_graph(configs: dict[LayerAddress, dict[str, Any]]) -> LayerGraph:
    by_key: dict[str, LayerAddress] = {}
    for address in configs:
        if address.backend_key in by_key:
            raise UserError(
                f"layers {by_key[address.backend_key].folder} and {address.folder} would share the state key "
                f"{address.backend_key}",
                fix="give them different layer names in the settings")
        by_key[address.backend_key] = address
    reads = {address: tuple(remote_reads(address, config)) for address, config in configs.items()}
    sorter: TopologicalSorter[LayerAddress] = TopologicalSorter()
    for address in sorted(configs):
        sorter.add(address, *sorted(by_key[read.key] for read in reads[address] if read.key in by_key))
    try:
        order = tuple(_stable_order(sorter))
    except CycleError as exc:
        cycle = " -> ".join(layer.folder for layer in exc.args[1])
        raise UserError(
            f"the generated layers read each other's state in a cycle ({cycle}), so no apply order exists",
            fix="change the layer settings (e.g. keysLayer, lakeLayer) so that no layer reads one that reads it",
        ) from None
    return LayerGraph(order, reads, by_key)


def _stable_order(sorter: TopologicalSorter[LayerAddress]) -> list[LayerAddress]:
    sorter.prepare()
    order: list[LayerAddress] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return order
