"""The three layers agree by construction and apply in one order from an empty account."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ProjectSpec, run_cli, tree_digest
from tests.layers import backend_key, layer_folders, load_config_dir, main_json, outputs_read, remote_states

SECOND_PROJECT = ProjectSpec(name="acme", region="eu-west-1",
                             accounts={"prod-apps": "123456789012", "analytics": "210987654321"})

# The pipeline layers alone: the example's own layer (cdktf.json `layers`) is tested in tests/stacks/test_own_layers.py.
pytestmark = pytest.mark.usefixtures("pipeline_layers_only")


@pytest.fixture(scope="module")
def second_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import app_main

    root = SECOND_PROJECT.write(tmp_path_factory.mktemp("second") / "acme")
    code = app_main.main(["synth", "-c", f"leverageRoot={root}", "-c", "layers=[]", "-c", "sourceAccount=prod-apps",
                          "-c", "lakeAccount=analytics"])
    assert code == 0
    return root


def resolved_key(folder: Path, root: Path, key: str) -> str:
    return key.replace("${var.environment}", folder.relative_to(root).parts[0])


def generated_by_key(root: Path) -> dict[str, Path]:
    return {backend_key(folder): folder for folder in layer_folders(root)}


def check_pipeline(root: Path, source: str, source_id: str, lake: str, region: str, dr: str = "") -> None:
    """Every layer loads; every read of a generated layer is its backend key and uses outputs it has; the lake
    trusts exactly the datalake layer's role. `dr` is "-dr" for layers outside the primary region."""
    folders = [folder for folder in layer_folders(root) if folder.parent.name == region
               and folder.name != "change-events-queue"]  # the example's own layer: tests/stacks/test_own_layers.py
    assert len(folders) == 4
    by_key = generated_by_key(root)
    for folder in folders:
        module, diagnostics = load_config_dir(folder)
        assert not diagnostics, (folder, diagnostics)
        used = outputs_read(folder)
        generated_names = {path.name + dr for path in folders}
        for state, config in remote_states(folder).items():
            key = resolved_key(folder, root, config["key"])
            if key.split("/")[1] in generated_names:  # it names a generated layer: exactly its backend key
                assert key in by_key, (folder, key)
                assert used[state] <= set(main_json(by_key[key])["output"]), (folder, state)
    datalake = root / source / region / "datalake"
    reads = {resolved_key(datalake, root, c["key"]) for c in remote_states(datalake).values()}
    assert f"{source}/databases-dynamodb{dr}/terraform.tfstate" in reads
    assert f"{lake}/datalake-demo{dr}/terraform.tfstate" in reads
    # The lakehouse reads the lake's buckets and key, and the table names where the datalake layer reads them.
    lakehouse = root / lake / region / "lakehouse-demo"
    assert {resolved_key(lakehouse, root, c["key"]) for c in remote_states(lakehouse).values()} == {
        f"{source}/databases-dynamodb{dr}/terraform.tfstate", f"{lake}/datalake-demo{dr}/terraform.tfstate"}

    # The lake's bucket policy trusts exactly the role the datalake layer creates, by ARN.
    role_name = next(iter(main_json(datalake)["resource"]["aws_iam_role"].values()))["name"]
    role_arn = f"arn:aws:iam::{source_id}:role/{role_name}"
    lake_folder = root / lake / region / "datalake-demo"
    documents = main_json(lake_folder)["data"]["aws_iam_policy_document"]
    grants = [statement for document in documents.values() for statement in document["statement"]
              if statement.get("sid", "").startswith("FirehoseDelivery")]
    assert grants and all({"test": "ArnEquals", "variable": "aws:PrincipalArn", "values": [role_arn]}
                          in statement["condition"] for statement in grants)
    assert all(statement["principals"] == [{"type": "AWS", "identifiers": [f"arn:aws:iam::{source_id}:root"]}]
               for statement in grants)
    # The lake reads the table names (each source may write only its tables' folders), never the datalake layer's
    # state: that layer reads the lake's, and the two would form a cycle.
    assert {resolved_key(lake_folder, root, c["key"]) for c in remote_states(lake_folder).values()} == {
        f"{source}/databases-dynamodb{dr}/terraform.tfstate"}


def test_example_pipeline_agrees_by_construction(synthesized_example: Path) -> None:
    check_pipeline(synthesized_example, "apps-devstg", "555555555555", "data-science", "us-east-1")


def test_second_project_pipeline_agrees_by_construction(second_project: Path) -> None:
    check_pipeline(second_project, "prod-apps", "123456789012", "analytics", "eu-west-1")
    stream = main_json(second_project / "prod-apps/eu-west-1/datalake")["resource"]["aws_kinesis_stream"]
    assert next(iter(stream.values()))["name"] == "acme-prod-apps-ddb-lakehouse-stream"


def apply_order(capsys: pytest.CaptureFixture[str], root: Path, *settings: str) -> list[tuple[str, list[str]]]:
    """`list`: each layer folder in apply order with what it reads (generated folders, or `state KEY (...)`)."""
    result = run_cli(capsys, "list", "-c", f"leverageRoot={root}", *settings)
    assert result.code == 0, result.err
    order = []
    for line in result.out.splitlines():
        folder, key, reads = line.split("\t")
        assert key == backend_key(root / folder)
        listed = reads.removeprefix("reads: ")
        order.append((folder, [] if listed == "-" else listed.split(", ")))
    return order


@pytest.mark.parametrize("root_name", ["example", "second"])
def test_apply_order_lists_what_each_layer_reads_and_puts_it_after_them(
        capsys: pytest.CaptureFixture[str], synthesized_example: Path, second_project: Path, root_name: str) -> None:
    root, source, lake = ((synthesized_example, "apps-devstg", "data-science") if root_name == "example" else
                          (second_project, "prod-apps", "analytics"))
    region = "us-east-1" if root_name == "example" else "eu-west-1"
    order = apply_order(capsys, root, "-c", f"sourceAccount={source}", "-c", f"lakeAccount={lake}")
    folders = [folder for folder, _ in order]
    assert sorted(folders) == sorted(f"{account}/{region}/{layer}" for account, layer in (
        (source, "databases-dynamodb"), (lake, "datalake-demo"), (source, "datalake"), (lake, "lakehouse-demo")))
    # What `list` says each layer reads is what its remote-state data sources read, generated layers by folder.
    by_key = generated_by_key(root)
    for index, (folder, reads) in enumerate(order):
        keys = {resolved_key(root / folder, root, config["key"]) for config in remote_states(root / folder).values()}
        assert sorted(reads) == sorted([by_key[key].relative_to(root).as_posix() for key in keys if key in by_key]
                                       + [f"state {key} (not generated)" for key in keys if key not in by_key])
        for read in reads:
            if read in folders:
                assert folders.index(read) < index, (folder, read)
    reads = dict(order)
    assert reads[f"{source}/{region}/datalake"][:2] == [f"{source}/{region}/databases-dynamodb",
                                                        f"{lake}/{region}/datalake-demo"]
    assert reads[f"{source}/{region}/databases-dynamodb"] == [
        f"state {source}/security-keys/terraform.tfstate (not generated)"]
    assert reads[f"{lake}/{region}/datalake-demo"] == [f"{source}/{region}/databases-dynamodb"]
    assert sorted(reads[f"{lake}/{region}/lakehouse-demo"]) == sorted([f"{source}/{region}/databases-dynamodb",
                                                                       f"{lake}/{region}/datalake-demo"])
    assert sorted(folders[-2:]) == sorted([f"{source}/{region}/datalake", f"{lake}/{region}/lakehouse-demo"])


def test_one_account_setup(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = ProjectSpec(accounts={"apps-devstg": "555555555555"}).write(tmp_path / "solo")
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", "lakeAccount=apps-devstg")
    assert result.code == 0, result.err
    datalake = root / "apps-devstg/us-east-1/datalake"
    lake_state = remote_states(datalake)["datalake_demo"]
    assert lake_state == {"bucket": "${var.bucket}", "key": "${var.environment}/datalake-demo/terraform.tfstate",
                          "profile": "${var.profile}", "region": "${var.region}"}
    check_pipeline(root, "apps-devstg", "555555555555", "apps-devstg", "us-east-1")


def test_dr_region_pipeline_agrees_and_passes_validate_layout(capsys: pytest.CaptureFixture[str],
                                                             tmp_path: Path) -> None:
    from tests.layers import leverage_expected_keys

    root = ProjectSpec(common_variables=False).write(tmp_path / "dr")  # region_secondary = "us-west-2"
    assert run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", "region=us-west-2").code == 0
    check_pipeline(root, "apps-devstg", "555555555555", "data-science", "us-west-2", dr="-dr")
    for folder in layer_folders(root):
        assert backend_key(folder).endswith("-dr/terraform.tfstate")
        assert backend_key(folder) in leverage_expected_keys(root, folder)


def test_crawler_skips_the_error_folder_whatever_its_expressions(capsys: pytest.CaptureFixture[str],
                                                               tmp_path: Path) -> None:
    root = ProjectSpec().write(tmp_path / "errors")
    error_prefix = "dynamodb_data/cdc_error/!{firehose:error-output-type}/!{timestamp:yyyy}/"
    assert run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", f"firehoseErrorPrefix={error_prefix}").code == 0
    crawler = next(iter(main_json(root / "data-science/us-east-1/datalake-demo")["resource"]["aws_glue_crawler"].values()))
    assert crawler["s3_target"][0]["exclusions"] == ["cdc_error/**"]


def test_layer_names_that_start_with_a_digit_still_load(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = ProjectSpec().write(tmp_path / "digits")
    assert run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", "keysLayer=1keys").code == 0
    folder = root / "apps-devstg/us-east-1/datalake"
    assert "layer_1keys" in remote_states(folder)
    assert not load_config_dir(folder)[1]


def test_skipped_layer_is_read_as_before(capsys: pytest.CaptureFixture[str], synthesized_example: Path,
                                         tmp_path: Path) -> None:
    root = ProjectSpec().write(tmp_path / "skip")
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", "skipLayers=datalake-demo,lakehouse-demo")
    assert result.code == 0, result.err
    assert not (root / "data-science").joinpath("us-east-1").exists()
    datalake = "apps-devstg/us-east-1/datalake"
    assert (root / datalake / "config.tf").read_text() == (synthesized_example / datalake / "config.tf").read_text()
    readme = (root / datalake / "README.md").read_text()
    assert "the `data-science` layer whose state is `data-science/datalake-demo/terraform.tfstate`" in readme
    assert "the `apps-devstg` layer whose state is `apps-devstg/security-keys/terraform.tfstate`" in readme


def test_datalake_readme_states_prerequisites_in_apply_order(synthesized_example: Path) -> None:
    readme = (synthesized_example / "apps-devstg/us-east-1/datalake/README.md").read_text()
    prerequisites = readme.split("Generated layers to apply first, in this order:")[1].split("\n\n")[0]
    assert prerequisites.strip().splitlines() == [
        "1. `apps-devstg/us-east-1/databases-dynamodb`", "2. `data-science/us-east-1/datalake-demo`"]
    assert "the `apps-devstg` layer whose state is `apps-devstg/security-keys/terraform.tfstate`" in readme


@pytest.mark.parametrize("settings, message", [
    (("-c", "keysLayer=datalake"), "cycle"),
    (("-c", "keysLayer=databases-dynamodb"), "cycle"),
    (("-c", "dynamodbPartitionKey=id:X"), "dynamodbPartitionKey"),
    (("-c", "dynamodbPartitionKey=:S"), "dynamodbPartitionKey"),
    (("-c", "dynamodbSortKey=id:S"), "sort key must differ"),
    (("-c", "skipLayers=security-keys"), "skipLayers"),
    (("-c", "dynamodbLayer=datalake"), "dynamodbLayer and datalakeLayer must be two different names"),
    (("-c", "lakeAccount=apps-devstg", "-c", "keysLayer=datalake-demo"), "cycle"),
])
def test_bad_layer_settings_write_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                          settings: tuple[str, ...], message: str) -> None:
    root = ProjectSpec().write(tmp_path / "bad")
    before = tree_digest(root)
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", *settings)
    assert result.code == 2
    assert result.err.startswith("error: ") and result.err.count("\n") == 1 and message in result.err
    assert tree_digest(root) == before


def test_bucket_name_over_63_characters_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = ProjectSpec(name="averylongproject",
                       accounts={"apps-devstg": "555555555555", "data-science-lake": "777777777777"}).write(tmp_path / "p")
    before = tree_digest(root)
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", "lakeAccount=data-science-lake")
    assert result.code == 2 and "S3 bucket name" in result.err and "63" in result.err
    assert tree_digest(root) == before


def test_bucket_name_that_is_not_dns_compliant_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = ProjectSpec(accounts={"apps-devstg": "555555555555", "data_lake": "777777777777"}).write(tmp_path / "p")
    before = tree_digest(root)
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", "lakeAccount=data_lake")
    assert result.code == 2 and "not DNS-compliant" in result.err and "bb-data_lake-data-lake-demo" in result.err
    assert tree_digest(root) == before
