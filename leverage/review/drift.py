"""Reporting drift between the committed layer folders and what the stacks generate."""
from __future__ import annotations

import json
import os

from leverage.write.files import Plan, current_content, unified_diff


def findings(result: Plan, desired: dict) -> dict[str, list]:
    modified = []
    for relative in sorted(set(result.changed) | set(result.conflicts)):
        old = current_content(result.root / relative)
        diff = unified_diff(relative, old, desired[relative]) if old is not None else ""
        generated = relative in result.changed
        modified.append({"path": relative, "generated": generated, "diff": diff,
                         **({} if generated else {"conflict": _standing(result.root / relative)})})
    return {
        "modified": modified,
        "missing": sorted(result.missing),
        "stale": sorted(result.stale),
        "leftover": sorted(result.leftovers),
    }


def _standing(path) -> str:
    """What stands where a generated file goes, in the words of the drift report."""
    if path.is_symlink():
        return f"a symbolic link (to {os.readlink(path)}) stands where a generated file goes"
    return "a file without the generated marker stands where a generated one goes"


def as_text(found: dict[str, list]) -> str:
    out = []
    for item in found["modified"]:
        note = "" if item["generated"] else f" ({item['conflict']})"
        out.append(f"modified: {item['path']}{note}\n{item['diff']}")
    out += [f"missing: {path} (the stacks generate it; run `make synth`)\n" for path in found["missing"]]
    out += [f"stale: {path} (generated earlier; no stack produces it now)\n" for path in found["stale"]]
    out += [f"leftover: {path} (an interrupted synth left it; `make synth` rolls that run back and removes it)\n"
            for path in found["leftover"]]
    return "".join(out)


def as_json(found: dict[str, list]) -> str:
    return json.dumps({"drift": any(found.values()), **found}, indent=2) + "\n"
