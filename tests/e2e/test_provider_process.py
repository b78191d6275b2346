"""One provider process for a whole Terraform command (tests/e2e/provider_process.py): which layers may use it, and
the process's life. Fast: the provider starts, nothing is applied."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.e2e.provider_process import (PROVIDER_DIR, aws_provider_configurations, one_process_serves,
                                        one_provider_process)
from tests.e2e.toolchain import Toolchain, os_arch, require_toolchain


def test_a_layer_with_a_second_provider_configuration_keeps_terraforms_own_processes(
        synthesized_example: Path, tmp_path: Path) -> None:
    lake = synthesized_example / "data-science/us-east-1/datalake-demo"
    source = synthesized_example / "apps-devstg/us-east-1/datalake"
    assert aws_provider_configurations(lake) == 2 and aws_provider_configurations(source) == 1
    assert not one_process_serves(lake, "plan") and one_process_serves(source, "plan")
    assert one_process_serves(source, "apply") and one_process_serves(source, "destroy")
    assert not one_process_serves(source, "init")
    (tmp_path / "main.tf.json").write_text(json.dumps({"provider": {"aws": [{"region": "us-east-1"},
                                                                              {"alias": "b", "region": "eu-west-1"}]}}))
    assert aws_provider_configurations(tmp_path) == 2


@pytest.mark.slow
def test_the_process_serves_with_terraforms_environment_and_stops_after(tmp_path: Path) -> None:
    toolchain: Toolchain = require_toolchain()
    if toolchain.mirror is None:  # a failure under CI (tests/conftest.py)
        pytest.skip("no filesystem mirror of hashicorp/aws to start the provider from")
    installed = tmp_path / PROVIDER_DIR / toolchain.provider_version / os_arch()
    installed.mkdir(parents=True)
    mirrored = toolchain.mirror / "registry.terraform.io/hashicorp/aws" / toolchain.provider_version / os_arch()
    for binary in mirrored.glob("terraform-provider-aws*"):
        (installed / binary.name).symlink_to(binary)
    with one_provider_process(tmp_path, {**os.environ, "GOGC": "1000"}) as env:
        [(address, reattach)] = json.loads(env["TF_REATTACH_PROVIDERS"]).items()
        assert address == "registry.terraform.io/hashicorp/aws"
        pid = reattach["Pid"]
        assert Path(f"/proc/{pid}/cwd").resolve() == tmp_path.resolve()
        assert b"GOGC=1000" in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert Path(reattach["Addr"]["String"]).exists()
    assert not Path(f"/proc/{pid}").exists()
