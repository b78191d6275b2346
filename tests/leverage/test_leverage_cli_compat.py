"""The generated layers as the Leverage CLI and Terraform's own loader see them."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.layers import (backend_key, config_tf, layer_folders, leverage_expected_keys, load_config_dir, main_json,
                          profile_values)

EXPECTED_LAYERS = [
    "apps-devstg/us-east-1/databases-dynamodb",
    "apps-devstg/us-east-1/datalake",
    "data-science/us-east-1/change-events-queue",
    "data-science/us-east-1/datalake-demo",
    "data-science/us-east-1/lakehouse-demo",
]


def test_synth_writes_every_layer_with_its_files(synthesized_example: Path) -> None:
    folders = [folder.relative_to(synthesized_example).as_posix() for folder in layer_folders(synthesized_example)]
    assert folders == EXPECTED_LAYERS
    for folder in layer_folders(synthesized_example):
        # addresses.tf only where there are moves or imports: not in the new lakehouse or the example's own layer
        assert sorted(path.name for path in folder.iterdir() if path.name != "addresses.tf") == [
            "README.md", "common-variables.tf", "config.tf", "main.tf.json"]
        assert (folder / "addresses.tf").exists() == (folder.name not in ("change-events-queue", "lakehouse-demo"))
        link = folder / "common-variables.tf"
        assert link.is_symlink() and os.readlink(link) == "../../../config/common-variables.tf"
        assert link.resolve() == (synthesized_example / "config" / "common-variables.tf").resolve()


@pytest.mark.parametrize("layer", EXPECTED_LAYERS)
def test_backend_key_is_what_leverage_validate_layout_expects(synthesized_example: Path, layer: str) -> None:
    folder = synthesized_example / layer
    assert backend_key(folder) in leverage_expected_keys(synthesized_example, folder)
    assert backend_key(folder) == f"{layer.split('/')[0]}/{layer.split('/')[2]}/terraform.tfstate"
    # Partial backend: everything else comes from backend.tfvars at `leverage tf init`.
    assert config_tf(folder)["terraform"][0]["backend"][0]["s3"] == {"key": backend_key(folder)}


@pytest.mark.parametrize("layer", EXPECTED_LAYERS)
def test_provider_is_fully_qualified_with_a_range(synthesized_example: Path, layer: str) -> None:
    terraform = config_tf(synthesized_example / layer)["terraform"][0]
    assert terraform["required_providers"][0]["aws"] == {"source": "hashicorp/aws", "version": ">= 5.100, < 7.0"}
    assert terraform["required_version"].startswith(">=")
    provider = config_tf(synthesized_example / layer)["provider"][0]["aws"]
    assert provider["region"] == "${var.region}" and provider["profile"] == "${var.profile}"


def test_sso_profiles_are_visible_to_leverage(synthesized_example: Path) -> None:
    datalake = config_tf(synthesized_example / "apps-devstg/us-east-1/datalake")
    profiles = set(profile_values(datalake))
    # The layer's own account, and the lake account's profile as a literal Leverage can resolve.
    assert profiles == {"${var.profile}", "bb-data-science-devops"}
    project = (synthesized_example / "build.env").read_text().split("PROJECT=")[1].split()[0]
    for profile in profiles - {"${var.profile}"}:
        assert sso_account_of(profile, project) == "data-science"


def sso_account_of(raw_profile: str, project: str) -> str:
    """How the Leverage CLI turns a profile into the account it fetches SSO credentials for: project and role
    are the first and last `-` parts, the account is what lies between (it then looks up `<project>-sso-<account>`)."""
    first, *account, _role = raw_profile.replace("${var.project}", project).split("-")
    assert first == project
    return "-".join(account)


def test_remote_state_is_written_leverage_style(synthesized_example: Path) -> None:
    states = {name: body for block in config_tf(synthesized_example / "apps-devstg/us-east-1/datalake")["data"]
              for name, body in block["terraform_remote_state"].items()}
    assert states["databases_dynamodb"] == {"backend": "s3", "config": {
        "bucket": "${var.bucket}", "key": "${var.environment}/databases-dynamodb/terraform.tfstate",
        "profile": "${var.profile}", "region": "${var.region}"}}
    assert states["security_keys"]["config"]["key"] == "${var.environment}/security-keys/terraform.tfstate"
    assert states["datalake_demo"]["config"] == {
        "bucket": "bb-data-science-terraform-backend", "key": "data-science/datalake-demo/terraform.tfstate",
        "profile": "bb-data-science-devops", "region": "us-east-1"}


@pytest.mark.parametrize("layer", EXPECTED_LAYERS)
def test_terraform_loads_the_layer_without_errors(synthesized_example: Path, layer: str) -> None:
    module, diagnostics = load_config_dir(synthesized_example / layer)
    assert not diagnostics, diagnostics
    assert module["Backend"]["Type"] == "s3"
    assert "region" in module["Variables"]  # from the linked common-variables.tf, declared once
    assert module["ManagedResources"]


@pytest.mark.parametrize("layer", EXPECTED_LAYERS)
def test_every_generated_file_carries_the_marker(synthesized_example: Path, layer: str) -> None:
    folder = synthesized_example / layer
    for name in ("config.tf", "main.tf.json", "README.md"):
        assert "Generated by leverage-cdktf" in (folder / name).read_text()[:300]


def test_layer_declares_no_common_variable(synthesized_example: Path) -> None:
    for folder in layer_folders(synthesized_example):
        assert "variable" not in main_json(folder)
        assert "variable" not in config_tf(folder)
