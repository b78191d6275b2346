"""The end-to-end harness's order: each layer after the layers it reads, the others side by side (no emulator)."""
from __future__ import annotations

import threading
import time

import pytest

from tests.e2e.harness import dependencies, run_in_dependency_order

SK = "apps-devstg/us-east-1/security-keys"
TABLES = "apps-devstg/us-east-1/databases-dynamodb"
LAKE = "data-science/us-east-1/datalake-demo"
SOURCE = "apps-devstg/us-east-1/datalake"
LAYERS = [SK, TABLES, LAKE, SOURCE]
READS = {  # as `main.py list` names them
    TABLES: ("state apps-devstg/security-keys/terraform.tfstate (not generated)",),
    LAKE: (),
    SOURCE: (TABLES, LAKE, "state apps-devstg/security-keys/terraform.tfstate (not generated)",
             "state elsewhere/unknown/terraform.tfstate (not generated)"),
}


def test_dependencies_are_the_folders_and_state_keys_list_names() -> None:
    assert dependencies(LAYERS, READS) == {SK: set(), TABLES: {SK}, LAKE: set(), SOURCE: {TABLES, LAKE, SK}}


def test_a_layer_starts_only_after_what_it_reads_and_independent_layers_run_side_by_side() -> None:
    started: dict[str, float] = {}
    finished: dict[str, float] = {}
    side_by_side = threading.Barrier(2, timeout=10)  # broken unless SK and LAKE run at the same time

    def work(layer: str) -> str:
        started[layer] = time.monotonic()
        if layer in (SK, LAKE):
            side_by_side.wait()
        time.sleep(0.05)
        finished[layer] = time.monotonic()
        return layer.upper()

    results = run_in_dependency_order(LAYERS, dependencies(LAYERS, READS), work)
    assert results == {layer: layer.upper() for layer in LAYERS}
    for layer, needed in dependencies(LAYERS, READS).items():
        assert all(finished[other] <= started[layer] for other in needed)


def test_a_failed_layer_stops_the_layers_reading_it_and_is_raised() -> None:
    ran: list[str] = []

    def work(layer: str) -> None:
        ran.append(layer)
        if layer == TABLES:
            raise RuntimeError("apply failed")

    with pytest.raises(RuntimeError, match="apply failed"):
        run_in_dependency_order(LAYERS, dependencies(LAYERS, READS), work)
    assert SOURCE not in ran and sorted(ran) == sorted([SK, TABLES, LAKE])
