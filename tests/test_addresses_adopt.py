"""Adoption: with `adoptExisting`, the layers take over live resources of the same names with `import` blocks."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.layers import layer_config, layer_folders, load_config_dir, main_json

DATALAKE = "apps-devstg/us-east-1/datalake"
LAKE = "data-science/us-east-1/datalake-demo"
TABLE = "apps-devstg/us-east-1/databases-dynamodb"


def imports(folder: Path) -> dict[str, str]:
    return {block["to"]: block["id"] for block in layer_config(folder).get("import", [])}


def test_without_the_setting_no_layer_imports_anything(synthesized_example: Path) -> None:
    assert all(not imports(folder) for folder in layer_folders(synthesized_example))


def test_adopted_layers_import_every_resource_the_reference_creates_under_the_same_name(
        capsys: pytest.CaptureFixture[str], synthesized_example: Path, tmp_path: Path) -> None:
    root = Path(shutil.copytree(synthesized_example, tmp_path / "example", symlinks=True))
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", "adoptExisting=datalake,datalake-demo")
    assert result.code == 0, result.err
    stream_arn = "arn:aws:kinesis:us-east-1:555555555555:stream/bb-apps-devstg-ddb-lakehouse-stream"
    assert imports(root / DATALAKE) == {
        "aws_kinesis_stream.change_stream": "bb-apps-devstg-ddb-lakehouse-stream",
        "aws_kinesis_firehose_delivery_stream.delivery":
            "arn:aws:firehose:us-east-1:555555555555:deliverystream/bb-apps-devstg-ddb-lakehouse-firehose",
        "aws_cloudwatch_log_group.delivery_logs": "/aws/kinesisfirehose/bb-apps-devstg-ddb-lakehouse-firehose",
        "aws_cloudwatch_log_stream.delivery_logs_destination_errors":
            "/aws/kinesisfirehose/bb-apps-devstg-ddb-lakehouse-firehose:DestinationDelivery",
        "aws_dynamodb_kinesis_streaming_destination.app_data_changes":
            "${data.terraform_remote_state.databases_dynamodb.outputs.dynamodb_table_name}," + stream_arn,
    }
    assert imports(root / LAKE) == {
        "aws_s3_bucket.raw_bucket": "bb-data-science-data-lake-demo-data-raw-bucket",
        "aws_s3_bucket.processed_bucket": "bb-data-science-data-lake-demo-data-processed-bucket",
    }
    assert not imports(root / TABLE)  # not listed: its table is created
    # Every import block targets a resource the layer declares, and Terraform's own loader accepts them.
    for folder in (root / DATALAKE, root / LAKE):
        declared = {f"{kind}.{name}" for kind, items in main_json(folder)["resource"].items() for name in items}
        assert set(imports(folder)) <= declared
        _module, diagnostics = load_config_dir(folder)
        assert not diagnostics, diagnostics


def test_check_shows_adopted_resources_as_imports(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  synthesized_example: Path) -> None:
    from tests.conftest import ProjectSpec

    root = ProjectSpec().write(tmp_path / "fresh")  # nothing generated yet: every resource is new
    found = json.loads(run_cli(capsys, "check", "--json", "-c", f"leverageRoot={root}",
                               "-c", "adoptExisting=datalake-demo").out)
    actions = {(item["layer"], item["address"]): item["action"] for item in found["resources"]}
    assert actions[(LAKE, "aws_s3_bucket.raw_bucket")] == "import"
    assert actions[(LAKE, "aws_s3_bucket_policy.raw_bucket")] == "create"
    assert actions[(DATALAKE, "aws_kinesis_stream.change_stream")] == "create"


def test_adopting_a_layer_this_app_does_not_generate_is_a_one_line_error(
        capsys: pytest.CaptureFixture[str], synthesized_example: Path) -> None:
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={synthesized_example}", "-c", "adoptExisting=datalake--")
    assert result.code == 2
    assert result.err == ("error: setting adoptExisting names 'datalake--', which this app does not generate; "
                          "use any of: databases-dynamodb, datalake-demo, datalake\n")
