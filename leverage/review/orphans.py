"""Layer folders an earlier synth generated that this run does not: they stay in the tree, and keep running.

Settings that stop generating a layer (a source account dropped from the pipelines, a layer renamed) leave its
folder as it was. Two ways that breaks what runs: a layer generated now declares a live resource under the same
name as the earlier folder (a renamed layer: the old folder still holds the resource's state), or the earlier
layer depends on what a layer generated now gives it (the caller knows which: `main.py` asks whether a dropped
source account still reads the lake, whose grants follow the settings).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leverage.errors import UserError
from leverage.project.layer import LAYER_NAME, LayerAddress
from leverage.project.scan import CONFIG, LayerFolder
from leverage.project.tfvars import blocks, read_hcl
from leverage.review.refactor_guard import LAYER_FILE, ResourceLifecycle, live_names
from leverage.write.files import is_generated
from leverage.write.content import FileContent


@dataclass(frozen=True)
class EarlierLayer:
    address: LayerAddress
    config: dict[str, Any]  # its main.tf.json
    reads: frozenset[str]  # the state keys its remote-state data sources (in its config.tf) read


def earlier_layers(root: Path, layers: tuple[LayerFolder, ...], desired: dict[str, FileContent]) -> list[EarlierLayer]:
    """Folders of the project holding a generated layer file that this run does not write."""
    written = {Path(relative).parent.as_posix() for relative in desired}
    found = []
    for layer in layers:
        parts = layer.folder.split("/")
        path = root / layer.folder / LAYER_FILE
        if layer.folder in written or len(parts) != 3 or not LAYER_NAME.fullmatch(parts[2]) or not is_generated(path):
            continue
        found.append(EarlierLayer(LayerAddress(*parts), json.loads(path.read_bytes()),
                                  _remote_state_keys(root, layer.folder, parts[0])))
    return found


def _remote_state_keys(root: Path, folder: str, account: str) -> frozenset[str]:
    keys = set()
    for data in blocks(read_hcl(root / folder / CONFIG, root), "data"):
        states = data.get("terraform_remote_state")
        for source in states.values() if isinstance(states, dict) else ():
            key = source.get("config", {}).get("key") if isinstance(source, dict) else None
            if isinstance(key, str):
                keys.add(key.replace("${var.environment}", account))
    return frozenset(keys)


def refuse_shared_names(earlier: list[EarlierLayer], desired: dict[str, FileContent],
                        lifecycle: ResourceLifecycle) -> None:
    """A live resource (by its name) declared by an earlier folder and by a layer generated now."""
    declared = {}
    for relative, content in sorted(desired.items()):
        if Path(relative).name == LAYER_FILE and isinstance(content, bytes):
            for identity in live_names(json.loads(content), lifecycle):
                declared.setdefault(identity, Path(relative).parent.as_posix())
    for layer in earlier:
        for identity in live_names(layer.config, lifecycle):
            if identity in declared:
                kind, name = identity
                raise UserError(
                    f"layer {declared[identity]} would declare {kind} {name}, which {layer.address.folder} (generated "
                    "earlier, no longer by these settings) still declares and keeps in its state: the apply would "
                    "fail on a name in use, or, once that folder is destroyed, create it empty",
                    fix=f"keep the layer's old name in the settings, or move the state of its resources into "
                        f"{declared[identity]} (docs/addresses.md) and remove {layer.address.folder}; "
                        "nothing was written")
