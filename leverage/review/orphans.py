"""Layer folders an earlier synth generated that this run does not: they stay in the tree, and keep running.

Settings that stop generating a layer (a source account dropped from the pipelines, a layer renamed, skipped or
generated for another region) leave its folder as it was: skipped and other configurations' layers are never
touched. Two ways that breaks what runs, whatever the layers are:

- a layer generated now declares a live resource under the same name as the earlier folder (a renamed layer: the
  old folder still holds the resource's state);
- a layer generated now stops naming a resource of the earlier folder that it named before: whatever it granted
  that resource is revoked while the earlier layer keeps running (the lake's bucket policy and key policy naming
  a dropped source account's Firehose role: that Firehose keeps delivering, into AccessDenied).

The caller adds what only the settings know (an own layer whose registration is gone) and the fix that applies to
what the user edited. A revoked grant is what re-pointing the pipelines elsewhere does to the layers it leaves
behind: `synth --allow-repoint` writes it, and says so (`revoked`).
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leverage.errors import UserError
from leverage.project.layer import LAYER_NAME, LayerAddress
from leverage.project.scan import LayerFolder
from leverage.review.refactor_guard import LAYER_FILE, ResourceLifecycle, committed_config, literal_names
from leverage.write.content import marker_prefix
from leverage.write.files import is_generated

NOTHING_WRITTEN = "nothing was written"
REVOKED = "revoked"  # in a refusal's details: a grant to an earlier layer's resource taken away


def revoked(error: UserError) -> bool:
    return bool(error.details.get(REVOKED))


@dataclass(frozen=True)
class EarlierLayer:
    address: LayerAddress
    config: dict[str, Any]  # its main.tf.json, with config.tf's providers and remote states
    source: str  # the module it was generated from, as its generated-file marker names it

    @property
    def folder(self) -> str:
        return self.address.folder


def earlier_layers(root: Path, layers: tuple[LayerFolder, ...], written: set[str]) -> list[EarlierLayer]:
    """Folders of the project holding a generated layer file that this run does not write (`written`: the folders
    of the layers generated now)."""
    found = []
    for layer in layers:
        parts = layer.folder.split("/")
        path = root / layer.folder / LAYER_FILE
        if layer.folder in written or len(parts) != 3 or not LAYER_NAME.fullmatch(parts[2]) or not is_generated(path):
            continue
        config = committed_config(root / layer.folder, layer.config)
        found.append(EarlierLayer(LayerAddress(*parts), config, _source(config)))
    return found


def _source(config: dict[str, Any]) -> str:
    marker = str(config.get("//", ""))
    return marker.removeprefix(marker_prefix()).split(". Do not edit")[0]


Advice = Callable[[EarlierLayer], "str | None"]


def refusals(earlier: list[EarlierLayer], generated: Mapping[str, tuple[dict[str, Any], dict[str, Any]]],
             lifecycle: ResourceLifecycle, advice: Advice | None = None) -> list[UserError]:
    """What breaks an earlier layer that stays in the tree. `generated`: folder -> (committed config, new config) of
    the layers generated now."""
    found: list[UserError] = []
    if not earlier:
        return found
    declared: dict[tuple[str, ...], str] = {}
    for folder, (_old, new) in generated.items():
        for identity in literal_names(new, lifecycle).values():
            declared.setdefault(identity, folder)
    for layer in earlier:
        keep = (advice(layer) if advice else None) or \
            f"keep generating {layer.folder} (the settings that made it), or first destroy it (`leverage tf destroy` " \
            "there) and remove its folder"
        names = literal_names(layer.config, lifecycle)
        for identity in sorted(set(names.values()) & set(declared)):
            kind, name, new_folder = identity[0], identity[-1], declared[identity]
            found.append(UserError(
                f"would declare {kind} {name}, which {layer.folder} (generated earlier, no longer by these "
                "settings) still declares and keeps in its state: the apply would fail on a name in use, or take the "
                "live one over and lose it when that folder is destroyed",
                fix=f"keep the layer's old name in the settings, or move the state of its resources into "
                    f"{new_folder} (docs/addresses.md) and remove {layer.folder}", layer=new_folder,
                details={"earlier": layer.folder, "name": name}))
        for folder, (old, new) in generated.items():
            before, after = json.dumps(old), json.dumps(new)
            for address, (kind, *_scope, name) in sorted(names.items()):
                if _scope:
                    continue  # named within another resource (a role's policy): not named alone elsewhere
                pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])")
                if pattern.search(before) and not pattern.search(after):
                    found.append(UserError(
                        f"would stop naming {kind} {name} ({address} of {layer.folder}, generated earlier and no "
                        f"longer by these settings, still in the tree): what {folder} grants it is revoked while "
                        f"{layer.folder} keeps running", fix=keep, layer=folder,
                        details={"earlier": layer.folder, "name": name, REVOKED: True}))
                    break
    return found
