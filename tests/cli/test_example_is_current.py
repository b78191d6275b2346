"""The committed example layers are exactly what the stacks generate (read-only: the example is not touched)."""
from __future__ import annotations

import pytest

from tests.conftest import EXAMPLE, run_cli, tree_digest


def test_committed_example_equals_a_fresh_synth(capsys: pytest.CaptureFixture[str]) -> None:
    before = tree_digest(EXAMPLE)
    result = run_cli(capsys, "check", "-c", f"leverageRoot={EXAMPLE}")
    assert result.code == 0, "the committed example is stale; run `make synth` and commit:\n" + result.out
    assert tree_digest(EXAMPLE) == before
