"""Reporting drift between the committed layer folders and what the stacks generate."""
from __future__ import annotations

import json

from leverage.write.files import Plan, current_content, unified_diff


def findings(result: Plan, desired: dict) -> dict[str, list]:
    modified = []
    for relative in sorted(set(result.changed) | set(result.conflicts)):
        old = current_content(result.root / relative)
        diff = unified_diff(relative, old, desired[relative]) if old is not None else ""
        modified.append({"path": relative, "generated": relative in result.changed, "diff": diff})
    return {
        "modified": modified,
        "missing": sorted(result.missing),
        "stale": sorted(result.stale),
        "leftover": sorted(result.leftovers),
    }


def as_text(found: dict[str, list]) -> str:
    out = []
    for item in found["modified"]:
        note = "" if item["generated"] else " (a file without the generated marker stands where a generated one goes)"
        out.append(f"modified: {item['path']}{note}\n{item['diff']}")
    out += [f"missing: {path} (the stacks generate it; run `make synth`)\n" for path in found["missing"]]
    out += [f"stale: {path} (generated earlier; no stack produces it now)\n" for path in found["stale"]]
    out += [f"leftover: {path} (an interrupted synth left it; `make synth` rolls that run back and removes it)\n"
            for path in found["leftover"]]
    return "".join(out)


def as_json(found: dict[str, list]) -> str:
    return json.dumps({"drift": any(found.values()), **found}, indent=2) + "\n"
