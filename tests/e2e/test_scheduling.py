"""The xdist scheduler `make test` uses (tests/e2e/scheduling.py), with stand-in workers: fast, no Terraform."""
from __future__ import annotations

from types import SimpleNamespace

from tests.e2e.scheduling import ScenarioScheduling, rank, scenario_of

COLLECTION = [  # as tests/e2e/conftest.py orders it: the scenarios first
    "tests/e2e/test_apply_pipelines.py::test_one",
    "tests/e2e/test_apply.py::test_applies[pipelines]",
    "tests/e2e/test_apply.py::test_destroys[pipelines]",
    "tests/e2e/test_moves.py::test_moves",
    "tests/e2e/test_toolchain.py::test_quick",
    "tests/e2e/test_apply.py::test_applies[example]",
    "tests/e2e/test_security_apply.py::test_key",
    "tests/e2e/test_adopt.py::test_adopt",
    "tests/e2e/test_emulator.py::test_shim",
    "tests/test_cli.py::test_a",
    "tests/test_cli.py::test_b",
    "tests/test_hcl.py::test_c",
    "tests/test_hcl.py::test_d",
]


class Worker:
    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.shutting_down = False
        self.sent: list[str] = []

    def send_runtest_some(self, indexes: list[int]) -> None:
        self.sent += [COLLECTION[index] for index in indexes]

    def shutdown(self) -> None:
        self.shutting_down = True


def test_tests_that_read_one_project_are_one_scenario_and_the_rest_go_by_module() -> None:
    assert scenario_of("tests/e2e/test_apply.py::test_applies[example]") == "e2e-example"
    assert scenario_of("tests/e2e/test_security_apply.py::test_key") == "e2e-example"
    assert scenario_of("tests/e2e/test_apply.py::test_applies[pipelines]") == "e2e-pipelines"
    assert scenario_of("tests/e2e/test_apply_pipelines.py::test_one") == "e2e-pipelines"
    assert scenario_of("tests/test_cli.py::test_a") is None
    assert sorted(COLLECTION, key=rank) == COLLECTION


class Config:
    """What xdist's scheduler reads of pytest's configuration: five workers (`-n 5`), its default reordering on."""

    def __init__(self) -> None:
        self.option = SimpleNamespace(loadscopereorder=True)

    def getvalue(self, name: str) -> object:
        return {"tx": ["5*popen"]}[name]


def test_each_scenario_starts_on_a_worker_of_its_own_and_keeps_it() -> None:
    scheduler = ScenarioScheduling(Config())  # type: ignore[arg-type]
    workers = [Worker(f"gw{index}") for index in range(5)]
    for worker in workers:
        scheduler.add_node(worker)
        scheduler.add_node_collection(worker, COLLECTION)
    scheduler.schedule()
    firsts = [worker.sent[0] for worker in workers]
    assert [scenario_of(test) for test in firsts] == ["e2e-pipelines", "e2e-moves", "e2e-example", "e2e-adopt", None]
    # A scenario's worker holds its scenario's tests only (a one-test scenario comes with its quick module).
    for worker in workers[:4]:
        assert {scenario_of(test) for test in worker.sent} == {scenario_of(worker.sent[0])}, worker.sent
    assert workers[1].sent == ["tests/e2e/test_moves.py::test_moves", "tests/e2e/test_toolchain.py::test_quick"]
    # The fast modules go to the free worker, whole modules (it holds two units, as xdist gives every worker).
    assert workers[4].sent == ["tests/test_cli.py::test_a", "tests/test_cli.py::test_b",
                               "tests/test_hcl.py::test_c", "tests/test_hcl.py::test_d"]
