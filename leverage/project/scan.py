"""Every layer folder of a Leverage project, read the way the Leverage CLI reads them: the backend key in
`config.tf` (python-hcl2), the outputs declared in the folder's `.tf` files."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leverage.errors import UserError
from leverage.project.layer import STATE_FILE, LayerAddress, state_name
from leverage.project.tfvars import blocks, read_hcl
from leverage.write.content import GENERATED_FILE_NAMES

CONFIG = "config.tf"


@dataclass(frozen=True)
class LayerFolder:
    folder: str  # relative to the project root: <account>/<region or global>/<layer>[/<sub-layer>...]
    key: str  # the backend key config.tf declares, or the one the Leverage CLI writes in when it declares none
    declared: bool  # config.tf declares the key
    config: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # config.tf, parsed


def scan_layers(root: Path) -> tuple[LayerFolder, ...]:
    """Every folder below `<account>/<region>/` that holds a config.tf, in every account folder."""
    found = []
    for account in sorted(path for path in root.iterdir() if (path / "config").is_dir()):
        for config in sorted(account.glob(f"*/*/**/{CONFIG}")):
            relative = config.parent.relative_to(root)
            # Not the account's config/ folder, nor Terraform's or git's own (.terraform/modules/...).
            if relative.parts[1] != "config" and not any(part.startswith(".") for part in relative.parts):
                found.append(_read_layer(root, config))
    return tuple(found)


def _read_layer(root: Path, config: Path) -> LayerFolder:
    relative = config.parent.relative_to(root)
    parsed = read_hcl(config, root)
    key = _declared_key(parsed)
    if key is not None:
        return LayerFolder(relative.as_posix(), key, True, parsed)
    account, _region, layer, *below = relative.parts
    return LayerFolder(relative.as_posix(), "/".join([account, state_name(layer), *below, STATE_FILE]), False, parsed)


def _declared_key(config: dict[str, Any]) -> str | None:
    for terraform in blocks(config, "terraform"):
        for backend in blocks(terraform, "backend"):
            s3 = backend.get("s3")
            if isinstance(s3, dict) and isinstance(s3.get("key"), str):
                return s3["key"]
    return None


OVERRIDE_FILE = re.compile(r"(.*_)?override\.tf(\.json)?")


def declared_outputs(root: Path, folder: str, *, hand_written_only: bool = False) -> set[str]:
    """The outputs a layer folder declares, in its `.tf` (python-hcl2) and `.tf.json` files; `hand_written_only`:
    in the files of other names than the generator writes only (those it leaves as they are in a generated layer's
    folder)."""
    names: set[str] = set()
    if hand_written_only and not (root / folder).is_dir():
        return names
    for path in sorted((root / folder).iterdir()):
        if not path.is_file() or (hand_written_only and path.name in GENERATED_FILE_NAMES):
            continue  # (a file of yours under a generated file's name is refused when the layer is written)
        if OVERRIDE_FILE.fullmatch(path.name):
            continue  # Terraform merges it into a declaration elsewhere; it declares nothing itself
        if path.name.endswith(".tf.json"):
            try:
                document = json.loads(path.read_bytes())
            except ValueError:
                raise UserError(f"{folder}/{path.name} is not valid JSON",
                                fix="fix it: Terraform cannot load that layer either") from None
            outputs = document.get("output", {}) if isinstance(document, dict) else {}
            names.update(outputs if isinstance(outputs, dict) else ())
        elif path.suffix == ".tf":
            for block in blocks(read_hcl(path, root), "output"):
                names.update(block)
    return names


def check_state_keys(layers: tuple[LayerFolder, ...], generated: dict[str, LayerAddress],
                     rename_settings: dict[str, str]) -> None:
    """Refuse a generated layer whose backend key another folder of the project already declares: two layers
    on one state key destroy each other's resources. `rename_settings`: layer name -> the setting naming it."""
    for key, address in sorted(generated.items()):
        for other in layers:
            if other.key == key and other.folder != address.folder:
                setting = rename_settings.get(address.layer, "the layer's setting")
                rename = f"(`{setting}` in cdktf.json)" if "[" in setting else f"with -c {setting}=<another name>"
                how = "declares it in its config.tf" if other.declared else "gets it from Leverage (its config.tf has none)"
                raise UserError(
                    f"layer {address.folder} would keep its state at {key}, which {other.folder} already uses "
                    f"({how}); two layers on one state key destroy each other's resources",
                    fix=f"rename the generated layer {rename}, or hand that layer's resources "
                        "over and remove it (docs/addresses.md: migrating from the reference's layers); nothing was written")


def check_reads(root: Path, layers: tuple[LayerFolder, ...], reads: list[tuple[str, str, tuple[str, ...]]], *,
                used: bool = True) -> list[str]:
    """The states generated layers read but no generated layer writes, as (reading folder, key, outputs read); `used`:
    whether the layers use the values read (else the plan passes, but the name is a mistake all the same).

    An output declared nowhere in the folder that keeps its state at that key is an error naming the layer that
    reads it; a key no folder of the project keeps is a warning, returned (that layer may live elsewhere).
    """
    consequence = "so the plan would fail" if used else "so its first use would fail at plan"
    missing_states: dict[str, list[str]] = {}
    declared: dict[str, set[str]] = {}
    for reader, key, outputs in reads:
        folders = [layer.folder for layer in layers if layer.key == key]
        if not folders:
            missing_states.setdefault(key, []).append(reader)
            continue
        for folder in folders:
            if folder not in declared:
                declared[folder] = declared_outputs(root, folder)
            missing = sorted(set(outputs) - declared[folder])
            if missing:
                raise UserError(
                    f"reads output {missing[0]!r} of {folder} (state {key}), which declares no such output in its "
                    f".tf files, {consequence}",
                    fix=f"add `output \"{missing[0]}\"` to {folder}, or name another layer in the settings "
                        "(keysLayer, dynamodbLayer, lakeLayer, a pipelines table's layer)",
                    layer=reader, details={"reads": folder, "key": key, "output": missing[0]})
    return [f"no layer folder of this project keeps the state at {key} (read by {', '.join(readers)}); "
            "make sure that layer is applied (it may live elsewhere)" for key, readers in sorted(missing_states.items())]
