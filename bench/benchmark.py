"""Wall time and peak memory of the generator against the naive floor, on each engine (docs/engines.md).

    .venv/bin/python bench/benchmark.py [--runs N] [--venv .venv --venv .venv-cdktn]

Each command runs as its own process (every process pays for loading jsii), once per round, interleaved (both
engines' commands in every round), so a slow moment of the (shared) machine hits all of them alike. Absolute
figures are the best and the median wall time of the rounds; every target is a median of per-round ratios (a
paired comparison, within one engine) or a peak. Memory is the peak of the whole process tree (Python plus the jsii
Node.js processes), sampled every 10 ms from /proc.

The commands, per engine (each venv's `bindings` says which engine it holds): the naive floor (bench/naive_floor.py:
the engine and its provider package imported the usual way, one trivial stack); the app's fixed cost
(bench/empty_app.py: the bindings loaded as a synth loads them, one empty stack); `synth` and `check` as users run
them, with the trimmed provider assembly cached (bindings/provider_cache.py); and the first run on a fresh clone (an
empty cache folder: the trimmed assembly is built during the run).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGET_RATIO = 0.10  # full synth / naive floor
TARGET_PEAK_MIB = 200
TARGET_CHECK_OVER_SYNTH = 1.0
TARGET_ALL_OVER_ONE_PEAK = 1.10  # more layers must not bring the whole provider back (it weighs ~600 MiB)
# First run (building the cache) / naive floor: cdktf's full synth's ratio before trimming. cdktf's floor imports all
# of the provider's Python modules; CDK Terrain's imports them when used, so its floor is about 2.5 times lower while
# the first run reads the same kind of assembly: its ratio is reported, not held to this target.
TARGET_FIRST_RUN_RATIO = {"cdktf": 0.24}


def tree_rss_kib(pid: int) -> tuple[int, int]:
    """Resident memory of a process and all its descendants, and how many Node.js processes are among them."""
    total, nodes, pending = 0, 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
            nodes += os.path.basename(os.readlink(f"/proc/{current}/exe")) == "node"
            with open(f"/proc/{current}/task/{current}/children") as children:
                pending.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, StopIteration, ProcessLookupError, PermissionError):
            continue
    return total, nodes


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = most_nodes = 0
    while process.poll() is None:
        rss, nodes = tree_rss_kib(process.pid)
        peak, most_nodes = max(peak, rss), max(most_nodes, nodes)
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    stderr = process.stderr.read().decode()
    if process.returncode not in (0, 1) or "note:" in stderr:  # failed, or provider_cache rebuilt or fell back
        raise SystemExit(f"{' '.join(command)} failed or did not load as it should: {stderr}")
    return elapsed, peak / 1024, most_nodes


Command = tuple[list[str], object, dict[str, str]]  # argv, setup before each run, extra environment


def interleaved(commands: dict[str, Command], runs: int, env: dict[str, str]) -> dict[str, dict]:
    """Run every command once per round, so that a slower moment of the machine hits all of them alike."""
    samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (command, setup, extra) in commands.items():
            if setup:
                setup()
            samples[name].append(measure(command, {**env, **extra}))
    results = {}
    for name, values in samples.items():
        walls = [v[0] for v in values]
        results[name] = {"wall_s": min(walls), "median_s": statistics.median(walls), "walls": walls,
                         "peak_mib": max(v[1] for v in values), "node_processes": max(v[2] for v in values)}
        print(f"{name:<56} {results[name]['wall_s']:6.2f} s  {results[name]['median_s']:6.2f} s"
              f"  {results[name]['peak_mib']:6.0f} MiB  {results[name]['node_processes']}", flush=True)
    return results


def paired_ratio(numerator: dict, denominator: dict) -> float:
    """Median of the per-round ratios: both ran in the same round, so a slow moment of the machine cancels out."""
    return statistics.median(a / b for a, b in zip(numerator["walls"], denominator["walls"]))


# What a venv holds: its engine (from its `bindings`, which also builds the trimmed assembly's cache entry) and the
# Node.js its jsii runs on, for the naive floor too.
PROBE = ("import json, os, sys; sys.path.insert(0, os.getcwd()); import bindings; "
         "print(json.dumps({'engine': bindings.ENGINE.name, 'core': bindings.ENGINE.core, "
         "'provider': bindings.ENGINE.provider, 'node': os.environ.get('JSII_NODE', '')}))")


def engine_of(python: str, env: dict[str, str]) -> dict[str, str]:
    probe = subprocess.run([python, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True)
    if probe.returncode != 0:
        raise SystemExit(f"{python}: cannot load the bindings: {probe.stderr[-2000:]}")
    return json.loads(probe.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--venv", action="append", help="a venv holding one engine (default: .venv and .venv-cdktn)")
    args = parser.parse_args()
    venvs = [REPO / venv for venv in (args.venv or [".venv", ".venv-cdktn"])]
    env = {key: value for key, value in os.environ.items() if key not in ("JSII_NODE", "CDKTF_OUTDIR")}
    scratch = Path(tempfile.mkdtemp(prefix="leverage-bench-"))
    empty_cache = str(scratch / "cache")
    engines = {}
    for venv in venvs:
        python = str(venv / "bin" / "python")
        found = engine_of(python, env)
        engines[found["engine"]] = {**found, "python": python}

    def fresh_project(project: Path) -> None:
        shutil.rmtree(project, ignore_errors=True)
        shutil.copytree(REPO / "example", project, symlinks=True,
                        ignore=lambda folder, names: [n for n in names if n not in ("config",)]
                        if Path(folder).parent == REPO / "example" and Path(folder).name != "config" else [])

    commands: dict[str, Command] = {}
    for name, engine in engines.items():
        python, project, checked = engine["python"], scratch / name / "example", scratch / name / "checked"
        root = ["-c", f"leverageRoot={project}"]
        only_datalake = ["-c", "skipLayers=databases-dynamodb,datalake-demo,lakehouse-demo,change-events-queue"]
        floor_env = {"JSII_NODE": engine["node"], "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1"}

        def synthesized_copy(python: str = python, project: Path = project, checked: Path = checked) -> None:
            if not checked.exists():
                fresh_project(project)
                subprocess.run([python, "main.py", "synth", "-c", f"leverageRoot={project}"], cwd=REPO, env=env,
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                shutil.copytree(project, checked, symlinks=True)

        def fresh_project_and_cache(project: Path = project) -> None:
            fresh_project(project)
            shutil.rmtree(empty_cache, ignore_errors=True)

        commands.update({
            f"{name}: naive floor (usual import, 1 trivial stack)":
                ([python, "bench/naive_floor.py", engine["core"], engine["provider"]], None, floor_env),
            f"{name}: fixed cost (bindings loaded, 1 empty stack)": ([python, "bench/empty_app.py"], None, {}),
            f"{name}: synth, all layers": ([python, "main.py", "synth", *root], lambda p=project: fresh_project(p), {}),
            f"{name}: synth, datalake layer only":
                ([python, "main.py", "synth", *root, *only_datalake], lambda p=project: fresh_project(p), {}),
            f"{name}: check, all layers (no drift)":
                ([python, "main.py", "check", "-c", f"leverageRoot={checked}"], synthesized_copy, {}),
            f"{name}: synth, all layers, first run (empty cache)":
                ([python, "main.py", "synth", *root], fresh_project_and_cache, {"XDG_CACHE_HOME": empty_cache}),
        })

    print(f"{'command':<56} {'best':>8}  {'median':>8}  {'peak':>10}  node processes   ({args.runs} rounds)")
    results = interleaved(commands, args.runs, env)
    shutil.rmtree(scratch)

    from bindings import provider_cache

    print(f"trimmed provider assembly: the {len(provider_cache.imported_submodules(REPO / 'bindings' / '__init__.py'))} "
          "submodules bindings/__init__.py imports, and those of the example's own layer (of ~2,200)")
    verdicts = []
    for name in engines:
        naive, fixed, full, one, check, first = (results[key] for key in commands if key.startswith(f"{name}: "))
        ratio, first_ratio = paired_ratio(full, naive), paired_ratio(first, naive)
        # Informational: what any synth pays before its first construct, against the same floor.
        print(f"{name}: fixed cost / naive floor = {paired_ratio(fixed, naive):.3f}")
        check_ratio, all_over_one = paired_ratio(check, full), paired_ratio(full, one)
        all_over_one_peak = full["peak_mib"] / one["peak_mib"]
        # Informational: both load the same trimmed assembly; the difference is the other stacks' own work.
        print(f"{name}: all layers / datalake only, wall time = {all_over_one:.2f}")
        verdicts += [
            (f"{name}: synth / naive floor = {ratio:.3f} (target <= {TARGET_RATIO})", ratio <= TARGET_RATIO),
            (f"{name}: synth peak memory = {full['peak_mib']:.0f} MiB (target <= {TARGET_PEAK_MIB})",
             full["peak_mib"] <= TARGET_PEAK_MIB),
            (f"{name}: check / synth = {check_ratio:.2f} (target <= {TARGET_CHECK_OVER_SYNTH})",
             check_ratio <= TARGET_CHECK_OVER_SYNTH),
            (f"{name}: all layers / datalake only, peak memory = {all_over_one_peak:.2f} "
             f"(target <= {TARGET_ALL_OVER_ONE_PEAK})", all_over_one_peak <= TARGET_ALL_OVER_ONE_PEAK),
        ]
        if name in TARGET_FIRST_RUN_RATIO:
            verdicts.append((f"{name}: first run / naive floor = {first_ratio:.3f} (target <= "
                             f"{TARGET_FIRST_RUN_RATIO[name]})", first_ratio <= TARGET_FIRST_RUN_RATIO[name]))
        else:
            print(f"{name}: first run / naive floor = {first_ratio:.3f}")
    for text, ok in verdicts:
        print(("ok   " if ok else "MISS ") + text)
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
