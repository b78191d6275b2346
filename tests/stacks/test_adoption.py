"""Adoption: with `adoptExisting`, the layers take over live resources of the same names with `import` blocks.

The reference architecture names two resources differently from the generated layers: its Firehose role (after
the delivery stream) and its table (a label of its DynamoDB module). Adopting layers take the reference's names
for them, in every layer that derives them; layers that do not adopt keep the generated names.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import ProjectSpec, copy_example, run_cli
from tests.layers import layer_config, layer_folders, load_config_dir, main_json

DATALAKE = "apps-devstg/us-east-1/datalake"
LAKE = "data-science/us-east-1/datalake-demo"
TABLE = "apps-devstg/us-east-1/databases-dynamodb"
LAKE_ACCOUNT_ID = "777777777777"  # data-science, in the example and in ProjectSpec
EVERY_LAYER = "adoptExisting=databases-dynamodb,datalake,datalake-demo"
REFERENCE_ROLE = "bb-apps-devstg-ddb-lakehouse-firehose"  # fdmsantos/kinesis-firehose: the delivery stream's name
GENERATED_ROLE = "bb-apps-devstg-ddb-lakehouse-firehose-role"
ITEM_COUNT_ROLE = "bb-apps-devstg-lakehouse-item-count-role"  # the layer's own, never adopted
REFERENCE_TABLE = "bb-apps-devstg-bb-devstg-dynamodb"  # cloudposse label: bb, apps-devstg, bb-devstg-dynamodb


def imports(folder: Path) -> dict[str, str]:
    return {block["to"]: block["id"] for block in layer_config(folder).get("import", [])}


def role_arns_granted_by_the_lake(folder: Path) -> set[str]:
    """Every role of another account that the lake layer's policies (bucket and key policies) name."""
    arns = set(re.findall(r"arn:aws:iam::\d{12}:role/[\w+=,.@-]+", json.dumps(main_json(folder))))
    return {arn for arn in arns if not arn.startswith(f"arn:aws:iam::{LAKE_ACCOUNT_ID}:")}


def names(folder: Path, kind: str) -> set[str]:
    return {body["name"] for body in main_json(folder)["resource"].get(kind, {}).values()}


@pytest.fixture(scope="module")
def adopted_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project generated for the first time with every layer adopting (the migration's first synth)."""
    import main as app_main

    root = copy_example(tmp_path_factory.mktemp("adopted") / "example")
    assert app_main.main(["synth", "-c", f"leverageRoot={root}", "-c", EVERY_LAYER]) == 0
    return root


def test_without_the_setting_no_layer_imports_anything_and_names_stay_generated(synthesized_example: Path) -> None:
    assert all(not imports(folder) for folder in layer_folders(synthesized_example))
    assert names(synthesized_example / TABLE, "aws_dynamodb_table") == {"bb-apps-devstg-app-data"}
    assert names(synthesized_example / DATALAKE, "aws_iam_role") == {GENERATED_ROLE, ITEM_COUNT_ROLE}
    assert role_arns_granted_by_the_lake(synthesized_example / LAKE) == {
        f"arn:aws:iam::555555555555:role/{GENERATED_ROLE}"}


def test_adopted_layers_import_every_resource_the_reference_creates(adopted_project: Path) -> None:
    stream_arn = "arn:aws:kinesis:us-east-1:555555555555:stream/bb-apps-devstg-ddb-lakehouse-stream"
    assert imports(adopted_project / DATALAKE) == {
        "aws_kinesis_stream.change_stream": "bb-apps-devstg-ddb-lakehouse-stream",
        "aws_kinesis_firehose_delivery_stream.delivery":
            "arn:aws:firehose:us-east-1:555555555555:deliverystream/bb-apps-devstg-ddb-lakehouse-firehose",
        "aws_iam_role.delivery_role": REFERENCE_ROLE,
        "aws_cloudwatch_log_group.delivery_logs": "/aws/kinesisfirehose/bb-apps-devstg-ddb-lakehouse-firehose",
        "aws_cloudwatch_log_stream.delivery_logs_destination_errors":
            "/aws/kinesisfirehose/bb-apps-devstg-ddb-lakehouse-firehose:DestinationDelivery",
        "aws_dynamodb_kinesis_streaming_destination.app_data_changes":
            "${data.terraform_remote_state.databases_dynamodb.outputs.dynamodb_table_name}," + stream_arn,
    }
    assert imports(adopted_project / LAKE) == {
        "aws_s3_bucket.raw_bucket": "bb-data-science-data-lake-demo-data-raw-bucket",
        "aws_s3_bucket.processed_bucket": "bb-data-science-data-lake-demo-data-processed-bucket",
    }
    assert imports(adopted_project / TABLE) == {"aws_dynamodb_table.app_data": REFERENCE_TABLE}
    # Every import block targets a resource the layer declares, and Terraform's own loader accepts them.
    for layer in (DATALAKE, LAKE, TABLE):
        folder = adopted_project / layer
        declared = {f"{kind}.{name}" for kind, items in main_json(folder)["resource"].items() for name in items}
        assert set(imports(folder)) <= declared
        _module, diagnostics = load_config_dir(folder)
        assert not diagnostics, diagnostics


def test_adopted_layers_use_the_reference_names_for_the_role_and_the_table_everywhere(adopted_project: Path) -> None:
    assert names(adopted_project / TABLE, "aws_dynamodb_table") == {REFERENCE_TABLE}
    assert names(adopted_project / DATALAKE, "aws_iam_role") == {REFERENCE_ROLE, ITEM_COUNT_ROLE}
    # The lake's bucket and key policies grant the role the datalake layer adopts, by its ARN; nothing else.
    assert role_arns_granted_by_the_lake(adopted_project / LAKE) == {f"arn:aws:iam::555555555555:role/{REFERENCE_ROLE}"}
    # Addresses do not change: only the AWS names.
    assert "app_data" in main_json(adopted_project / TABLE)["resource"]["aws_dynamodb_table"]


def test_the_lake_grants_the_adopted_role_even_when_the_lake_layer_creates_its_buckets(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = copy_example(tmp_path / "example")
    assert run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", "adoptExisting=datalake").code == 0
    assert not imports(root / LAKE)
    assert role_arns_granted_by_the_lake(root / LAKE) == {f"arn:aws:iam::555555555555:role/{REFERENCE_ROLE}"}
    assert names(root / TABLE, "aws_dynamodb_table") == {"bb-apps-devstg-app-data"}  # its layer is not adopted


def test_only_the_default_table_takes_the_reference_name(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The reference has one table; a table named in `pipelines` is adopted under its own generated name."""
    root = ProjectSpec(accounts={"apps-devstg": "555555555555", "apps-prd": "666666666666",
                                 "data-science": "777777777777"}).write(tmp_path / "project")
    pipelines = json.dumps([{"sourceAccount": "apps-devstg", "tables": [{"partitionKey": "id:S"}, {"name": "orders"}]},
                            {"sourceAccount": "apps-prd", "tables": [{}]}])
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", f"pipelines={pipelines}", "-c", EVERY_LAYER)
    assert result.code == 0, result.err
    assert imports(root / TABLE) == {"aws_dynamodb_table.app_data": REFERENCE_TABLE,
                                     "aws_dynamodb_table.orders": "bb-apps-devstg-orders"}
    assert imports(root / "apps-prd/us-east-1/databases-dynamodb") == {
        "aws_dynamodb_table.app_data": "bb-apps-prd-bb-prd-dynamodb"}
    # Each source account's role is named after its own delivery stream, and the lake grants both.
    assert imports(root / "apps-prd/us-east-1/datalake")["aws_iam_role.delivery_role"] == \
        "bb-apps-prd-ddb-lakehouse-firehose"
    assert role_arns_granted_by_the_lake(root / LAKE) == {
        f"arn:aws:iam::555555555555:role/{REFERENCE_ROLE}",
        "arn:aws:iam::666666666666:role/bb-apps-prd-ddb-lakehouse-firehose"}


def test_leaving_adoption_after_it_took_the_reference_names_is_refused(
        capsys: pytest.CaptureFixture[str], adopted_project: Path, tmp_path: Path) -> None:
    """Without the setting the table would get the generated name: DynamoDB cannot rename a table, so the
    refactor guard refuses (and names the table) instead of letting the next apply replace it."""
    root = Path(shutil.copytree(adopted_project, tmp_path / "example", symlinks=True))
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", "adoptExisting=datalake,datalake-demo")
    assert result.code == 2
    assert result.err.startswith(f"error: layer {TABLE}: replace of aws_dynamodb_table.app_data: name changes")
    checked = json.loads(run_cli(capsys, "check", "--json", "-c", f"leverageRoot={root}").out)
    actions = {(item["layer"], item["address"]): item["action"] for item in checked["resources"]}
    assert actions[(TABLE, "aws_dynamodb_table.app_data")] == "replace"
    assert actions[(DATALAKE, "aws_iam_role.delivery_role")] == "replace"


def test_check_shows_adopted_resources_as_imports(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
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
    assert result.err == ("error: setting adoptExisting names 'datalake--', which this app does not generate or "
                          "cannot adopt; use any of: databases-dynamodb, datalake-demo, datalake\n")


def test_the_lakehouse_layer_has_nothing_to_adopt(capsys: pytest.CaptureFixture[str], synthesized_example: Path) -> None:
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={synthesized_example}", "-c", "adoptExisting=lakehouse-demo")
    assert result.code == 2 and result.err.startswith("error: setting adoptExisting names 'lakehouse-demo', which this "
                                                      "app does not generate or cannot adopt;")
