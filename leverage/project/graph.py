"""Which layer reads which, from the remote-state data sources in the synthesized configuration."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any

from leverage.errors import UserError
from leverage.project.layer import LayerAddress

OUTPUT_REFERENCE = re.compile(r"data\.terraform_remote_state\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class RemoteRead:
    data_source: str
    key: str  # the backend key, with ${var.environment} resolved to the reading layer's account
    outputs: tuple[str, ...]  # the outputs the reading layer uses

    @property
    def account(self) -> str:
        return self.key.split("/")[0]


def remote_reads(address: LayerAddress, config: dict[str, Any]) -> list[RemoteRead]:
    sources = config.get("data", {}).get("terraform_remote_state", {})
    used: dict[str, set[str]] = {name: set() for name in sources}
    for name, output in OUTPUT_REFERENCE.findall(_without_remote_states(config)):
        used.setdefault(name, set()).add(output)
    reads = []
    for name, source in sources.items():
        key = source["config"]["key"].replace("${var.environment}", address.account)
        reads.append(RemoteRead(name, key, tuple(sorted(used[name]))))
    return reads


def _without_remote_states(config: dict[str, Any]) -> str:
    """The configuration as text, without the remote-state data sources themselves (every other data source,
    such as a policy document naming another layer's key, reads outputs like a resource does)."""
    data = {kind: sources for kind, sources in config.get("data", {}).items() if kind != "terraform_remote_state"}
    return json.dumps({**{name: part for name, part in config.items() if name != "data"}, "data": data})


@dataclass(frozen=True)
class LayerGraph:
    order: tuple[LayerAddress, ...]  # each layer after every generated layer it reads
    reads: dict[LayerAddress, tuple[RemoteRead, ...]]
    generated_by_key: dict[str, LayerAddress]

    def dependencies(self, address: LayerAddress) -> list[LayerAddress]:
        return [self.generated_by_key[read.key] for read in self.reads[address] if read.key in self.generated_by_key]

    def describe(self, read: RemoteRead) -> str:
        """A generated layer by its folder; another by its state key (its folder is not known here)."""
        if read.key in self.generated_by_key:
            return self.generated_by_key[read.key].folder
        return f"state {read.key} (not generated)"

    def external_reads(self, address: LayerAddress) -> list[RemoteRead]:
        return [read for read in self.reads[address] if read.key not in self.generated_by_key]

    def external_states(self) -> list[str]:
        """State keys read but not generated, sorted."""
        return sorted({read.key for address in self.order for read in self.external_reads(address)})

    def external_reads_by_layer(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """(reading folder, state key, outputs read) of every read of a state no generated layer keeps."""
        return [(address.folder, read.key, read.outputs) for address in self.order
                for read in self.external_reads(address)]

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


def build_graph(configs: dict[LayerAddress, dict[str, Any]],
                hand_written_outputs: Callable[[LayerAddress], set[str]] = lambda _address: set()) -> LayerGraph:
    """`hand_written_outputs`: the outputs a layer's folder declares in files of your own, beside the generated
    ones (asked only for an output its configuration lacks)."""
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
    _check_outputs_exist(configs, reads, by_key, hand_written_outputs)
    return LayerGraph(order, reads, by_key)


def _check_outputs_exist(configs: dict[LayerAddress, dict[str, Any]], reads: dict[LayerAddress, tuple[RemoteRead, ...]],
                         by_key: dict[str, LayerAddress], hand_written: Callable[[LayerAddress], set[str]]) -> None:
    """A generated layer asked for an output it does not have would fail only at plan time."""
    for address, layer_reads in reads.items():
        for read in (read for read in layer_reads if read.key in by_key):
            target = by_key[read.key]
            missing = sorted(set(read.outputs) - set(configs[target].get("output", {})))
            if missing:
                missing = sorted(set(missing) - hand_written(target))
            if missing:
                raise UserError(
                    f"reads output {missing[0]!r} of {target.folder}, which does not have it",
                    fix="check the layer settings (keysLayer, dynamodbLayer, lakeLayer): they name the wrong layer",
                    layer=address.folder, details={"reads": target.folder, "key": read.key, "output": missing[0]})


def _stable_order(sorter: TopologicalSorter[LayerAddress]) -> list[LayerAddress]:
    sorter.prepare()
    order: list[LayerAddress] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return order
