"""How `make test` spreads the tests over pytest-xdist workers: `pytest -p tests.e2e.scheduling -n <workers> tests`.

pytest-xdist's `--dist loadgroup` does not group anything under pytest 9 (xdist 3.8.0 tags each test by renaming the
item's `_nodeid`, which pytest 9 no longer reads: every test becomes a unit of its own, and every worker that runs one
test of a scenario applies that scenario's project again). So this plugin gives xdist a scheduler of its own, through
xdist's `pytest_xdist_make_scheduler` hook, which groups by node id:

- each end-to-end scenario (`SCENARIOS`) is one unit, and the worker that runs it takes nothing else until it is
  done: the tests reading one project's apply share it (a session fixture, so one worker), and the scenarios run
  side by side, each with its own emulator, most of their time the provider's own waiting;
- every other test goes with the rest of its module (a module's fixtures are built once, on one worker), on the
  workers the scenarios leave free, and on theirs once the scenarios are done;
- the scenarios start first, the slowest first (tests/e2e/conftest.py puts their tests first in the collection, and
  units are handed out in collection order).

Without `-n` this plugin does nothing, and no test depends on it: it only decides where and when tests run.
"""
from __future__ import annotations

from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

# Scenario -> its tests, as (module path suffix, test id suffix) pairs; the slowest scenario first (measured: README,
# "End-to-end"). `example` is read by test_apply.py's `[example]` tests and all of test_security_apply.py. A scenario
# of one test comes with a quick module that runs after it: an xdist worker runs the last test it holds only once it
# knows the next one (or is told to stop), and the module is that next one.
SCENARIOS: dict[str, tuple[tuple[str, str], ...]] = {
    "e2e-pipelines": (("e2e/test_apply_pipelines.py", ""),),
    # Not end-to-end, but as long as a scenario (Spark sessions): started early too.
    "spark-lakehouse": (("glue_jobs/test_cdc_merge_spark.py", ""), ("glue_jobs/test_lakehouse_local.py", "")),
    "e2e-moves": (("e2e/test_moves.py", ""), ("e2e/test_toolchain.py", "")),
    "e2e-example": (("e2e/test_apply.py", "[example]"), ("e2e/test_security_apply.py", "")),
    "e2e-adopt": (("e2e/test_adopt.py", ""), ("e2e/test_emulator.py", "")),
    "e2e-second": (("e2e/test_apply.py", "[second]"),),
}


def scenario_of(nodeid: str) -> str | None:
    module = nodeid.split("::", 1)[0]
    for scenario, tests in SCENARIOS.items():
        if any(module.endswith(path) and nodeid.endswith(suffix) for path, suffix in tests):
            return scenario
    return None


def rank(nodeid: str) -> int:
    """Where a test goes in the collection: the scenarios' tests first, in `SCENARIOS` order, then the rest."""
    scenario = scenario_of(nodeid)
    return list(SCENARIOS).index(scenario) if scenario else len(SCENARIOS)


class ScenarioScheduling(LoadScopeScheduling):
    """xdist's module-at-a-time scheduling, with each scenario one unit that keeps its worker to itself."""

    def _split_scope(self, nodeid: str) -> str:
        return scenario_of(nodeid) or nodeid.split("::", 1)[0]

    def schedule(self) -> None:
        self.config.option.loadscopereorder = False  # units in collection order: the scenarios first
        super().schedule()

    def _reschedule(self, node: Any) -> None:
        """A scenario's worker takes more work only once the scenario is down to its last test (which its worker
        runs only once it knows the next one, see `SCENARIOS`)."""
        running = self.assigned_work.get(node, {})
        if self._pending_of(running) > 1 and any(scope in SCENARIOS and not all(done.values())
                                                 for scope, done in running.items()):
            return
        super()._reschedule(node)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadScopeScheduling | None:
    if config.getvalue("dist") in ("load", "loadscope", "loadgroup"):
        return ScenarioScheduling(config, log)
    return None
