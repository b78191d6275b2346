"""Fixtures of the end-to-end suite (`make e2e`): every module here is marked `e2e`."""
from __future__ import annotations

import pytest

from tests.e2e.toolchain import Toolchain, require_toolchain


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    return require_toolchain()
