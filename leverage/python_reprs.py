"""A Python object's text in a synthesized layer: a token formatted with `str()` or an f-string (an iterator's
`value`, an attribute the bindings return as a proxy) becomes `<cdktf._LazyBaseProxy object at 0x7f...>`, which
Terraform takes as a literal name and which changes on every run."""
from __future__ import annotations

import re
from typing import Any

PYTHON_REPR = re.compile(r"<[A-Za-z_][\w.]* object at 0x[0-9a-fA-F]+>")


def first_python_repr(node: Any, path: str = "") -> tuple[str, str] | None:
    """(where, the object's text) of the first string holding one, in the configuration's order; None if none."""
    if isinstance(node, str):
        found = PYTHON_REPR.search(node)
        return (path, found.group(0)) if found else None
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        if key == "//":  # cdktf's metadata
            continue
        found = first_python_repr(child, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None
