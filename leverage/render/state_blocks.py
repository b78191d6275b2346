"""A layer's `moved` and `import` blocks, written as HCL in their own file rather than in main.tf.json.

They are state operations, not configuration: a `moved` block renames an address in state (nothing is destroyed),
an `import` block takes over a live resource. Terraform reads them from any file of the layer. They live in HCL
because scanners that read Terraform JSON (checkov 3.3) cannot parse them there and then skip the whole file,
so a security review of main.tf.json would silently judge nothing.
"""
from __future__ import annotations

from typing import Any

from leverage.hcl import SINGLE_REFERENCE
from leverage.project import hcl_cache

SECTIONS = ("moved", "import")
# Arguments that are references to an address (bare in HCL, a plain string in Terraform JSON).
ADDRESS_ARGUMENTS = {"moved": ("from", "to"), "import": ("to", "provider")}


def split(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """(the configuration without state blocks, the state blocks by section)."""
    rest = {section: content for section, content in config.items() if section not in SECTIONS}
    blocks = {section: config[section] for section in SECTIONS if config.get(section)}
    return rest, blocks


def as_hcl_bodies(blocks: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Terraform JSON's address strings as `${...}` references, which the HCL writer writes bare."""
    return {section: [{name: f"${{{value}}}" if name in ADDRESS_ARGUMENTS[section] else value
                       for name, value in block.items()} for block in entries]
            for section, entries in blocks.items()}


def parse(text: str) -> dict[str, list[dict[str, Any]]]:
    """The state blocks of an addresses.tf, in Terraform JSON's shape (what `split` took out of the config)."""
    parsed = hcl_cache.loads(text)
    blocks: dict[str, list[dict[str, Any]]] = {}
    for section in SECTIONS:
        for block in parsed.get(section, []):
            blocks.setdefault(section, []).append({name: _address(value) if name in ADDRESS_ARGUMENTS[section] else value
                                                   for name, value in block.items()})
    return blocks


def _address(value: Any) -> Any:
    reference = SINGLE_REFERENCE.fullmatch(value) if isinstance(value, str) else None
    return reference.group(1) if reference else value
