"""The generated layers against the project's other layer folders: state keys and the layers they read.

The test project mimics the reference architecture, which keeps `datalake--`, `databases-dynamodb--` and
`datalake-demo--` folders declaring exactly the keys the generated layers use by default.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ProjectSpec, run_cli, tree_digest
from tests.layers import config_tf

REFERENCE_FOLDERS = {
    "apps-devstg/us-east-1/datalake--": ("apps-devstg/datalake/terraform.tfstate",
                                         ("kinesis_stream_arn", "kinesis_firehose_role_arn")),
    "apps-devstg/us-east-1/databases-dynamodb--": ("apps-devstg/databases-dynamodb/terraform.tfstate",
                                                   ("dynamodb_table_name", "dynamodb_table_arn")),
    "data-science/us-east-1/datalake-demo--": ("data-science/datalake-demo/terraform.tfstate",
                                               ("s3_bucket_data_raw_arn",)),
    "apps-devstg/us-east-1/security-keys": ("apps-devstg/security-keys/terraform.tfstate", ("aws_kms_key_arn",)),
}
RENAMED = ("-c", "datalakeLayer=datalake-cdc", "-c", "dynamodbLayer=databases-table", "-c", "lakeLayer=datalake-lake")


def hand_written_layer(root: Path, folder: str, key: str | None, outputs: tuple[str, ...]) -> None:
    path = root / folder
    path.mkdir(parents=True)
    backend = f'    key = "{key}"\n' if key else ""
    (path / "config.tf").write_text(
        'provider "aws" {\n  region  = var.region\n  profile = var.profile\n}\n\n'
        f'terraform {{\n  required_version = ">= 1.6.0"\n  backend "s3" {{\n{backend}  }}\n}}\n')
    (path / "outputs.tf").write_text("".join(f'output "{name}" {{\n  value = "x"\n}}\n' for name in outputs))


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    root = ProjectSpec().write(tmp_path / "reference")
    for folder, (key, outputs) in REFERENCE_FOLDERS.items():
        hand_written_layer(root, folder, key, outputs)
    return root


def synth(capsys: pytest.CaptureFixture[str], root: Path, *settings: str):
    return run_cli(capsys, "synth", "-c", f"leverageRoot={root}", *settings)


@pytest.mark.parametrize("command", ["synth", "check", "list"])
def test_a_generated_layer_on_a_key_another_folder_declares_is_refused(
        capsys: pytest.CaptureFixture[str], reference: Path, command: str) -> None:
    before = tree_digest(reference)
    result = run_cli(capsys, command, "-c", f"leverageRoot={reference}")
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert result.err.startswith(
        "error: layer apps-devstg/us-east-1/databases-dynamodb would keep its state at "
        "apps-devstg/databases-dynamodb/terraform.tfstate, which apps-devstg/us-east-1/databases-dynamodb-- already "
        "uses (declares it in its config.tf); two layers on one state key destroy each other's resources; rename "
        "the generated layer with -c dynamodbLayer=<another name>")
    assert tree_digest(reference) == before


def test_renamed_layers_apply_beside_the_reference_ones(capsys: pytest.CaptureFixture[str], reference: Path) -> None:
    result = synth(capsys, reference, *RENAMED)
    assert result.code == 0, result.err
    assert result.err == ""  # security-keys is in the tree and declares what is read
    readme = (reference / "apps-devstg/us-east-1/datalake-cdc/README.md").read_text()
    assert ("the `apps-devstg` layer whose state is `apps-devstg/security-keys/terraform.tfstate` "
            "(folder `apps-devstg/us-east-1/security-keys`)") in readme


@pytest.mark.parametrize("folder, key, message", [
    # Another region's folder, and one whose key Leverage derives (base- dropped) instead of declaring it.
    ("apps-devstg/us-west-2/cdc", "apps-devstg/datalake-cdc/terraform.tfstate",
     "which apps-devstg/us-west-2/cdc already uses (declares it in its config.tf)"),
    ("apps-devstg/us-east-1/base-datalake-cdc", None,
     "which apps-devstg/us-east-1/base-datalake-cdc already uses (gets it from Leverage (its config.tf has none))"),
    ("apps-devstg/global/nested/datalake-cdc", "apps-devstg/datalake-cdc/terraform.tfstate",
     "which apps-devstg/global/nested/datalake-cdc already uses"),
])
def test_every_folder_of_every_region_counts(capsys: pytest.CaptureFixture[str], reference: Path, folder: str,
                                             key: str | None, message: str) -> None:
    hand_written_layer(reference, folder, key, ())
    result = synth(capsys, reference, *RENAMED)
    assert result.code == 2 and message in result.err and "-c datalakeLayer=<another name>" in result.err


def test_a_hand_written_layer_named_instead_of_a_generated_one_is_read_at_its_declared_key(
        capsys: pytest.CaptureFixture[str], reference: Path) -> None:
    result = synth(capsys, reference, "-c", "dynamodbLayer=databases-dynamodb--", "-c", "skipLayers=databases-dynamodb--",
                   "-c", "datalakeLayer=datalake-cdc", "-c", "lakeLayer=datalake-lake")
    assert result.code == 0, result.err
    states = {name: body["config"]["key"] for block in config_tf(reference / "apps-devstg/us-east-1/datalake-cdc")["data"]
              for name, body in block["terraform_remote_state"].items()}
    assert states["databases_dynamodb__"] == "${var.environment}/databases-dynamodb/terraform.tfstate"
    assert states["security_keys"] == "${var.environment}/security-keys/terraform.tfstate"


@pytest.mark.parametrize("folder, settings, output", [
    ("apps-devstg/us-east-1/databases-dynamodb--",
     ("-c", "dynamodbLayer=databases-dynamodb--", "-c", "skipLayers=databases-dynamodb--"), "dynamodb_table_name"),
    ("apps-devstg/us-east-1/security-keys", (), "aws_kms_key_arn"),
])
def test_an_output_the_layer_does_not_declare_is_an_error(capsys: pytest.CaptureFixture[str], reference: Path,
                                                          folder: str, settings: tuple[str, ...], output: str) -> None:
    (reference / folder / "outputs.tf").write_text('output "something_else" {\n  value = 1\n}\n')
    before = tree_digest(reference)
    result = synth(capsys, reference, *RENAMED, *settings)
    assert result.code == 2 and result.err.count("\n") == 1
    assert f"reads output {output!r} of {folder} (state " in result.err
    assert "declares no such output in its .tf files" in result.err
    assert tree_digest(reference) == before
    # Declared in a .tf.json file counts too.
    (reference / folder / "more.tf.json").write_text('{"output": {"%s": {"value": "x"}}}' % output)
    assert synth(capsys, reference, *RENAMED, *settings).code == 0


@pytest.mark.parametrize("config", [
    "terraform = 1\n",  # attributes, not blocks: Terraform rejects them; here they declare nothing
    'terraform {\n  backend = "s3"\n}\n',
    'terraform {\n  backend "s3" {\n    key = 5\n  }\n}\n',
])
def test_a_config_tf_without_a_backend_block_declares_no_key(capsys: pytest.CaptureFixture[str], reference: Path,
                                                             config: str) -> None:
    """Such a folder is read at the key Leverage gives it, the same here, with no traceback whatever it holds."""
    (reference / "apps-devstg/us-east-1/security-keys/config.tf").write_text(config)
    result = synth(capsys, reference, *RENAMED)
    assert result.code == 0 and result.err == "", result.err


@pytest.mark.parametrize("outputs", ["output = 1\n", 'output = ["aws_kms_key_arn"]\n'])
def test_an_output_attribute_declares_no_output(capsys: pytest.CaptureFixture[str], reference: Path,
                                                outputs: str) -> None:
    (reference / "apps-devstg/us-east-1/security-keys/outputs.tf").write_text(outputs)
    result = synth(capsys, reference, *RENAMED)
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert "reads output 'aws_kms_key_arn' of apps-devstg/us-east-1/security-keys (state " in result.err


def test_a_layer_not_in_the_tree_is_a_warning_and_noted_in_the_readme(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = ProjectSpec().write(tmp_path / "p")
    result = synth(capsys, root)
    assert result.code == 0
    assert result.err == ("warning: no layer folder of this project keeps the state at "
                          "apps-devstg/security-keys/terraform.tfstate (read by apps-devstg/us-east-1/databases-dynamodb, "
                          "apps-devstg/us-east-1/datalake); make sure that layer is applied (it may live elsewhere)\n")
    readme = (root / "apps-devstg/us-east-1/datalake/README.md").read_text()
    assert ("the `apps-devstg` layer whose state is `apps-devstg/security-keys/terraform.tfstate`: "
            "not found in this project") in readme


def test_an_unreadable_config_tf_elsewhere_stops_the_run(capsys: pytest.CaptureFixture[str], reference: Path) -> None:
    (reference / "apps-devstg/us-east-1/security-keys/config.tf").write_text("terraform {\n")
    before = tree_digest(reference)
    result = synth(capsys, reference, *RENAMED)
    assert result.code == 2 and "cannot parse reference/apps-devstg/us-east-1/security-keys/config.tf" in result.err
    assert tree_digest(reference) == before


def test_terraform_caches_and_stray_files_are_not_layers(capsys: pytest.CaptureFixture[str], reference: Path) -> None:
    (reference / "apps-devstg/us-east-1/config.tf").write_text("not a layer {\n")
    hand_written_layer(reference, "apps-devstg/us-east-1/security-keys/.terraform/modules/x",
                       "apps-devstg/datalake-cdc/terraform.tfstate", ())
    assert synth(capsys, reference, *RENAMED).code == 0
