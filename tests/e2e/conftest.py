"""Fixtures of the end-to-end suite (`make e2e`): every module here is marked `e2e`.

Scheduling under pytest-xdist (`make test` runs `-n <workers> --dist loadgroup --no-loadscope-reorder`): each
end-to-end scenario is one `xdist_group` (a project applied once and read by several tests), and starts first, each
on a worker of its own, since most of its time is the provider waiting; the fast tests fill the other workers. So
that a module's fixtures are built once rather than on every worker, a test without a group gets its module's. This
hook sees every collected test (pytest gives `pytest_collection_modifyitems` all items whatever the conftest's
folder); it changes only the order and the grouping, never what runs.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import lifecycles
from tests.e2e.toolchain import Toolchain, require_toolchain

E2E = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: applies generated layers for real against moto (make e2e)")


@pytest.hookimpl(tryfirst=True)  # before xdist appends each group's name to its tests' ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))

    def longest_first(item: pytest.Item) -> int:
        """End-to-end scenarios first (the slowest first), then everything else in collection order."""
        if E2E not in Path(str(item.path)).parents:
            return len(SCENARIO_ORDER) + 1
        group = item.get_closest_marker("xdist_group").args[0]
        return SCENARIO_ORDER.index(group) if group in SCENARIO_ORDER else len(SCENARIO_ORDER)

    items.sort(key=longest_first)  # stable


# The scenarios' groups, slowest first (measured: README, "End-to-end").
SCENARIO_ORDER = ["e2e-example", "e2e-pipelines", "e2e-moves", "e2e-adopt", "e2e-second"]


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    return require_toolchain()


@pytest.fixture(scope="session")
def example_lifecycle(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> lifecycles.Lifecycle:
    """The example project applied once, read by tests/e2e/test_apply.py and tests/e2e/test_security_apply.py."""
    return lifecycles.example_lifecycle(toolchain, tmp_path_factory)


@pytest.fixture(scope="session")
def second_lifecycle(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> lifecycles.Lifecycle:
    return lifecycles.second_lifecycle(toolchain, tmp_path_factory)
