"""The end-to-end harness's bookkeeping (no emulator): each layer after the layers it reads, the others side by
side; the state read back as Terraform lists it."""
from __future__ import annotations

import threading
import time

import pytest

from tests.e2e.harness import dependencies, run_in_dependency_order, state_addresses

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


@pytest.mark.parametrize("failing, extra, expected", [
    (TABLES, {}, [SK, TABLES, LAKE]),  # SOURCE reads TABLES: not run
    (SK, {SOURCE: {TABLES}}, [SK, LAKE]),  # TABLES reads SK: not run, so neither is SOURCE, which reads only TABLES
], ids=["direct", "through another layer"])
def test_a_failed_layer_stops_the_layers_depending_on_it_and_is_raised(failing: str, extra: dict[str, set[str]],
                                                                       expected: list[str]) -> None:
    ran: list[str] = []

    def work(layer: str) -> None:
        ran.append(layer)
        if layer == failing:
            raise RuntimeError("apply failed")

    with pytest.raises(RuntimeError, match="apply failed"):
        run_in_dependency_order(LAYERS, dependencies(LAYERS, READS) | extra, work)
    assert sorted(ran) == sorted(expected)


def test_state_addresses_are_written_as_terraform_state_list_writes_them() -> None:
    state = {"resources": [
        {"mode": "managed", "type": "aws_s3_bucket", "name": "raw", "instances": [{}]},
        {"mode": "data", "type": "aws_iam_policy_document", "name": "policy", "instances": [{}]},
        {"mode": "managed", "type": "aws_sqs_queue", "name": "q", "instances": [{"index_key": 0}, {"index_key": 1}]},
        {"mode": "managed", "type": "aws_kms_key", "name": "k", "instances": [{"index_key": "a b"}]},
        {"module": "module.net", "mode": "managed", "type": "aws_vpc", "name": "main", "instances": [{}]},
    ]}
    assert state_addresses(state) == ['aws_kms_key.k["a b"]', "aws_s3_bucket.raw", "aws_sqs_queue.q[0]",
                                       "aws_sqs_queue.q[1]", "data.aws_iam_policy_document.policy",
                                       "module.net.aws_vpc.main"]
    assert state_addresses({}) == []

