"""Fixtures of the end-to-end suite (`make e2e`): every module here is marked `e2e`."""
from __future__ import annotations

import pytest

from tests.e2e import lifecycles
from tests.e2e.scheduling import rank
from tests.e2e.toolchain import Toolchain, require_toolchain


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The end-to-end scenarios' tests first, the slowest scenario first (tests/e2e/scheduling.py), the rest in
    collection order: under pytest-xdist the scenarios start first, each on a worker of its own. Only the order
    changes. (pytest gives this hook every collected test, whatever folder this conftest is in.)"""
    items.sort(key=lambda item: rank(item.nodeid))  # stable


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    return require_toolchain()


@pytest.fixture(scope="session")
def example_lifecycle(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> lifecycles.Lifecycle:
    """The example project applied once, read by tests/e2e/test_apply.py and tests/e2e/test_security_apply.py."""
    return lifecycles.example_lifecycle(toolchain, tmp_path_factory)


@pytest.fixture(scope="session")
def pipelines_lifecycle(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> lifecycles.Lifecycle:
    """The pipelines project applied once, read by tests/e2e/test_apply.py and tests/e2e/test_apply_pipelines.py."""
    return lifecycles.pipelines_lifecycle(toolchain, tmp_path_factory)
