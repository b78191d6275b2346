"""Writing Terraform JSON values as HCL native syntax (the subset a layer's config.tf needs)."""
from __future__ import annotations

import json
import re
from typing import Any

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")  # fullmatch, as every pattern here
# A string that is one whole interpolation of a plain reference, such as "${var.region}".
SINGLE_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.\[\]\"-]*)\}")


def value(data: Any, indent: int = 0) -> str:
    if isinstance(data, bool):
        return "true" if data else "false"
    if data is None:
        return "null"
    if isinstance(data, (int, float)):
        return json.dumps(data)
    if isinstance(data, str):
        reference = SINGLE_REFERENCE.fullmatch(data)
        return reference.group(1) if reference else string(data)
    if isinstance(data, list):
        return "[" + ", ".join(value(item, indent) for item in data) + "]"
    if isinstance(data, dict):
        if not data:
            return "{}"
        pad = "  " * (indent + 1)
        lines = _aligned([(key, value(item, indent + 1)) for key, item in data.items()], pad)
        return "{\n" + "\n".join(lines) + "\n" + "  " * indent + "}"
    raise TypeError(f"cannot write {type(data).__name__} as HCL")


def single_variable(data: Any) -> str | None:
    """`region` of "${var.region}": the variable a value is, whole; None for anything else."""
    reference = SINGLE_REFERENCE.fullmatch(data) if isinstance(data, str) else None
    name = reference.group(1).removeprefix("var.") if reference and reference.group(1).startswith("var.") else None
    return name if name and name.replace("_", "").isalnum() else None


def literal(text: str) -> str:
    """User text as a Terraform string that means exactly that text: every string in Terraform (HCL or JSON)
    is a template, so `${` and `%{` would start an interpolation or a directive."""
    return text.replace("${", "$${").replace("%{", "%%{")


def string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def key(name: str) -> str:
    return name if IDENTIFIER.fullmatch(name) else string(name)


def body(data: dict[str, Any], indent: int) -> list[str]:
    """Attributes, then nested blocks (Terraform JSON writes a nested block as a list of objects)."""
    pad = "  " * indent
    attributes = [(name, value(item, indent)) for name, item in data.items() if not _is_block_list(item)]
    lines = _aligned(attributes, pad)
    for name, item in data.items():
        if _is_block_list(item):
            for block in item:
                lines.append(f"{pad}{key(name)} {{")
                lines.extend(body(block, indent + 1))
                lines.append(f"{pad}}}")
    return lines


def _is_block_list(item: Any) -> bool:
    return isinstance(item, list) and bool(item) and all(isinstance(entry, dict) for entry in item)


def _aligned(pairs: list[tuple[str, str]], pad: str) -> list[str]:
    """`terraform fmt` style: the `=` of consecutive one-line attributes line up."""
    lines: list[str] = []
    group: list[tuple[str, str]] = []

    def flush() -> None:
        width = max((len(key(name)) for name, _ in group), default=0)
        lines.extend(f"{pad}{key(name).ljust(width)} = {text}" for name, text in group)
        group.clear()

    for name, text in pairs:
        if "\n" in text:
            flush()
            lines.append(f"{pad}{key(name)} = {text}")
        else:
            group.append((name, text))
    flush()
    return lines


# The hashicorp/aws versions every layer declares unless setting awsProviderVersion narrows them: the end-to-end
# suite validates and applies the layers with 5.100 (the oldest release they are proven with); the provider
# bindings are generated for 6.25.
DEFAULT_AWS_PROVIDER_VERSION = ">= 5.100, < 7.0"
_VERSION_CONSTRAINT = re.compile(r"(?:=|!=|>=|<=|>|<|~>)?\s*[0-9]+(?:\.[0-9]+){0,2}(?:-[0-9A-Za-z.-]+)?")


def is_version_constraint(text: str) -> bool:
    """A Terraform version constraint: comma-separated `<operator> <version>` parts, e.g. `>= 5.100, < 7.0`."""
    return all(_VERSION_CONSTRAINT.fullmatch(part.strip()) for part in text.split(","))
