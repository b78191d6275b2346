"""`make mutate`'s summary: the share of checked mutants killed per module and package, and the survivors by name
(`.venv/bin/mutmut show NAME` prints one's diff). After a partial run (`mutmut run NAME...`), mutants not checked
count in neither share, and a package's `estimate` weights each checked module's share by its number of mutants
(a sample that checks some modules more densely than others is then not skewed towards them). Exits 1 below the
90% the project aims for."""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

TARGET = 0.90
CAUGHT = {"killed", "timeout", "caught by type check"}


def main(mutants: Path = Path("mutants")) -> int:
    by_module: dict[str, Counter[str]] = {}
    survivors: list[str] = []
    for meta in sorted(mutants.glob("*/**/*.py.meta")):
        module = meta.relative_to(mutants).as_posix().removesuffix(".py.meta")
        statuses = Counter()
        for name, exit_code in json.loads(meta.read_text())["exit_code_by_key"].items():
            status = status_by_exit_code[exit_code]
            statuses[status] += 1
            if status not in CAUGHT | {"not checked"}:
                survivors.append(f"{name}  ({status})")
        if statuses:
            by_module[module] = statuses
    packages: dict[str, Counter[str]] = {}
    for module, statuses in by_module.items():
        packages.setdefault(module.split("/")[0], Counter()).update(statuses)
    print(f"{'module':32} {'killed':>7} {'checked':>8} {'of':>6} {'score':>7} {'estimate':>9}")
    for name, statuses in [*by_module.items(), *(("total " + p, s) for p, s in packages.items())]:
        caught, total = sum(statuses[s] for s in CAUGHT), sum(statuses.values())
        checked = total - statuses["not checked"]
        line = f"{name:32} {caught:7} {checked:8} {total:6} {caught / checked if checked else 0:7.1%}"
        if name.startswith("total "):
            line += f" {_weighted(name.removeprefix('total '), by_module):9.1%}"
        print(line)
    print("\nnot killed:" if survivors else "", *survivors, sep="\n")
    total = sum(packages.values(), Counter())
    return 0 if sum(total[s] for s in CAUGHT) >= TARGET * (sum(total.values()) - total["not checked"]) else 1


def _weighted(package: str, by_module: dict[str, Counter[str]]) -> float:
    """The package's share killed, each checked module's share weighted by its number of mutants."""
    weight = killed = 0.0
    for module, statuses in by_module.items():
        checked = sum(statuses.values()) - statuses["not checked"]
        if module.split("/")[0] == package and checked:
            weight += sum(statuses.values())
            killed += sum(statuses.values()) * sum(statuses[s] for s in CAUGHT) / checked
    return killed / weight if weight else 0.0


if __name__ == "__main__":
    sys.exit(main())
