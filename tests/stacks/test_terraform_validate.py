"""`terraform validate` of every generated layer against the real hashicorp/aws schema (init without a backend), in
the fast suite: a wrong attribute or a dangling reference fails in seconds, not at the first apply.

Runs on a copy of the session's synthesized example, unchanged: Terraform takes hashicorp/aws from the mirror
(tests/e2e/toolchain.py) within the range the layers declare. Skips with the reason when no terraform or provider can be had; fails under CI=true.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from aws_constructs.provider_versions import ARGUMENTS_FILE, OLDEST_PROVEN_VERSION, arguments_of_schema, record_text
from tests.e2e.provider_process import one_provider_process
from tests.e2e.toolchain import Toolchain, require_toolchain

pytestmark = pytest.mark.slow

DANGLING = "aws_kinesis_firehose_delivery_stream.no_such.arn"


def terraform_env(cli_config: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TF_")}
    env.update({"TF_CLI_CONFIG_FILE": str(cli_config), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"})
    return env


def validate(toolchain: Toolchain, layer: Path, cli_config: Path) -> dict[str, Any]:
    env = terraform_env(cli_config)
    init = subprocess.run([*toolchain.command, "init", "-backend=false", "-input=false", "-no-color"], cwd=layer,
                          env=env, capture_output=True, text=True)
    assert init.returncode == 0, f"{layer}: terraform init failed:\n{init.stdout}{init.stderr}"
    # One provider process for the whole command (tests/e2e/provider_process.py), whatever the layer's provider
    # configurations: validation configures none of them.
    with one_provider_process(layer, env) as reattached:
        done = subprocess.run([*toolchain.command, "validate", "-json", "-no-color"], cwd=layer, env=reattached,
                              capture_output=True, text=True)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def validated(synthesized_example: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every generated layer of a copy, validated, plus the datalake layer with a dangling output added; and how
    to run Terraform again in them (they stay initialized)."""
    toolchain = require_toolchain()
    tmp_path = tmp_path_factory.mktemp("validate")
    root = tmp_path / "example"
    shutil.copytree(synthesized_example, root, symlinks=True)
    layers = {path.parent.relative_to(root).as_posix(): path.parent for path in sorted(root.glob("*/*/*/main.tf.json"))}
    datalake = next(folder for name, folder in layers.items() if name.endswith("/datalake"))
    broken = datalake.with_name("datalake-broken")
    shutil.copytree(datalake, broken, symlinks=True)
    main = json.loads((broken / "main.tf.json").read_text(encoding="utf-8"))
    main["output"]["dangling"] = {"value": "${" + DANGLING + "}"}
    (broken / "main.tf.json").write_text(json.dumps(main), encoding="utf-8")
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text(toolchain.cli_config(), encoding="utf-8")
    targets = {**layers, "dangling": broken}
    with ThreadPoolExecutor(max_workers=2) as pool:  # each validate waits mostly on the provider's schema
        results = pool.map(lambda folder: validate(toolchain, folder, cli_config), targets.values())
        return {"results": dict(zip(targets, results)), "folders": targets, "toolchain": toolchain,
                "cli_config": cli_config}


def test_every_generated_layer_validates_against_the_provider_schema(validated: dict[str, Any]) -> None:
    layers = {name: result for name, result in validated["results"].items() if name != "dangling"}
    assert sorted(layers) == ["apps-devstg/us-east-1/databases-dynamodb", "apps-devstg/us-east-1/datalake",
                              "data-science/us-east-1/change-events-queue", "data-science/us-east-1/datalake-demo",
                              "data-science/us-east-1/lakehouse-demo"]
    problems = {name: result["diagnostics"] for name, result in layers.items()
                if not result["valid"] or result["warning_count"]}
    assert problems == {}


def test_a_dangling_reference_fails_validation(validated: dict[str, Any]) -> None:
    result = validated["results"]["dangling"]
    assert not result["valid"]
    assert any("undeclared resource" in diagnostic["summary"] and '"no_such"' in diagnostic["detail"]
               for diagnostic in result["diagnostics"]), result["diagnostics"]



def test_the_recorded_arguments_are_those_of_the_provider_the_layers_are_proven_with(
        validated: dict[str, Any], tmp_path: Path) -> None:
    """aws_constructs/provider_versions.py checks what layers set against a record of hashicorp/aws 5.100's
    arguments: it is what that provider's own schema says (tools/record_provider_arguments.py writes it). The schema
    is read in a folder that requires exactly that release, with the provider a validated layer installed."""
    (tmp_path / "main.tf").write_text('terraform {\n  required_providers {\n    aws = {\n      source  = "hashicorp/aws"'
                                      f'\n      version = "= {OLDEST_PROVEN_VERSION}"\n    }}\n  }}\n}}\n')
    installed = validated["folders"]["data-science/us-east-1/change-events-queue"]
    shutil.copytree(installed / ".terraform" / "providers", tmp_path / ".terraform" / "providers", symlinks=True)
    shutil.copy(installed / ".terraform.lock.hcl", tmp_path / ".terraform.lock.hcl")
    schema = subprocess.run([*validated["toolchain"].command, "providers", "schema", "-json"], cwd=tmp_path,
                            env=terraform_env(validated["cli_config"]), capture_output=True, text=True)
    assert schema.returncode == 0, schema.stderr
    assert record_text(arguments_of_schema(json.loads(schema.stdout))) == gzip.decompress(ARGUMENTS_FILE.read_bytes())
