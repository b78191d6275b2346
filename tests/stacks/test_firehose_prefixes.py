"""Firehose prefix pairs: the crawler's path and exclusions, and the write grants, for every valid pair."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ProjectSpec, run_cli, tree_digest
from tests.layers import main_json

TABLE = "!{partitionKeyFromQuery:tableName}"
ERROR_TYPE = "!{firehose:error-output-type}"


def statements(config: dict[str, Any]) -> dict[str, list[str]]:
    """sid -> resources, over every policy document of a layer."""
    found: dict[str, list[str]] = {}
    for document in config["data"]["aws_iam_policy_document"].values():
        for statement in document["statement"]:
            found[statement["sid"]] = statement.get("resources", [])
    return found


def object_suffixes(resources: list[str]) -> list[str]:
    return sorted(resource.split("}", 1)[1] for resource in resources)


# The table's name, as both layers read it from the table layer's state.
NAME = "${data.terraform_remote_state.databases_dynamodb.outputs.dynamodb_table_name}"


# The source may write its table's folder and an error folder of its own (named after its account), nothing else.
@pytest.mark.parametrize("prefix, error_prefix, grants, crawled, excluded", [
    # Error folder inside the data folder.
    (f"cdc/{TABLE}/", f"cdc/errors/{ERROR_TYPE}/", ["/cdc/errors/apps-devstg/*", f"/cdc/{NAME}/*"], "cdc/",
     ["errors/**"]),
    # Sibling folders whose names share characters: the common prefix would be the whole bucket.
    (f"cdc/{TABLE}/", f"cdc-errors/{ERROR_TYPE}/", ["/cdc-errors/apps-devstg/*", f"/cdc/{NAME}/*"], "cdc/", None),
    (f"data/{TABLE}/year=!{{timestamp:yyyy}}/", "errors/", [f"/data/{NAME}/*", "/errors/apps-devstg/*"], "data/",
     None),
    # The data folder inside the error folder.
    (f"lake/cdc/{TABLE}/", f"lake/{ERROR_TYPE}/", ["/lake/apps-devstg/*", f"/lake/cdc/{NAME}/*"], "lake/cdc/", None),
    # No static folder for the data: the table's folder at the top of the bucket.
    (f"{TABLE}/", f"errors/{ERROR_TYPE}/", [f"/{NAME}/*", "/errors/apps-devstg/*"], "", ["errors/**"]),
    # The table's name after another expression: one source may write the whole static folder (several may not).
    (f"cdc/!{{timestamp:yyyy}}/{TABLE}/", f"cdc/errors/{ERROR_TYPE}/", ["/cdc/*"], "cdc/", ["errors/**"]),
])
def test_crawler_and_grants_follow_the_prefixes(capsys: pytest.CaptureFixture[str], tmp_path: Path, prefix: str,
                                                error_prefix: str, grants: list[str], crawled: str,
                                                excluded: list[str] | None) -> None:
    root = ProjectSpec().write(tmp_path / "p")
    # The lakehouse job reads only the default layout (<folder>/<table>/cdc_data/): tested apart, below.
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", f"firehosePrefix={prefix}",
                     "-c", f"firehoseErrorPrefix={error_prefix}", "-c", "skipLayers=lakehouse-demo")
    assert result.code == 0, result.err
    lake = main_json(root / "data-science/us-east-1/datalake-demo")
    crawler = next(iter(lake["resource"]["aws_glue_crawler"].values()))["s3_target"][0]
    assert crawler["path"].split("}", 1)[1] == f"/{crawled}"  # after the bucket's name
    assert crawler.get("exclusions") == excluded
    assert object_suffixes(statements(lake)["ReadBucketObjects"]) == [f"/{crawled}*"]
    assert object_suffixes(statements(lake)["FirehoseDeliveryObjects"]) == sorted(grants)
    datalake = main_json(root / "apps-devstg/us-east-1/datalake")
    assert object_suffixes(statements(datalake)["WriteBucketObjects"]) == sorted(grants)


@pytest.mark.parametrize("error_prefix", [f"cdc/{ERROR_TYPE}/!{{timestamp:yyyy}}/", "cdc/"])
def test_a_pair_that_shares_its_whole_static_folder_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                               error_prefix: str) -> None:
    root = ProjectSpec().write(tmp_path / "p")
    before = tree_digest(root)
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}",
                     "-c", f"firehosePrefix=cdc/{TABLE}/year=!{{timestamp:yyyy}}/", "-c", f"firehoseErrorPrefix={error_prefix}")
    assert result.code == 2 and result.err.count("\n") == 1
    assert "share their whole static folder 'cdc/', so failed records cannot be told from data" in result.err
    assert tree_digest(root) == before


@pytest.mark.parametrize("prefix, raw_path, granted", [
    (f"{TABLE}/cdc_data/year=!{{timestamp:yyyy}}/", "/", "/${"),
    (f"lake/cdc/{TABLE}/cdc_data/", "/lake/cdc/", "/lake/cdc/${"),
])
def test_the_lakehouse_job_reads_the_tables_folders_below_the_prefix(capsys: pytest.CaptureFixture[str],
                                                                      tmp_path: Path, prefix: str, raw_path: str,
                                                                      granted: str) -> None:
    root = ProjectSpec().write(tmp_path / "p")
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", f"firehosePrefix={prefix}")
    assert result.code == 0, result.err
    lakehouse = main_json(root / "data-science/us-east-1/lakehouse-demo")
    job = next(iter(lakehouse["resource"]["aws_glue_job"].values()))
    assert job["default_arguments"]["--raw-path"] == f"s3://bb-data-science-data-lake-demo-data-raw-bucket{raw_path}"
    role_policy = lakehouse["data"]["aws_iam_policy_document"]["cdc_merge_job_role_policy"]["statement"]
    reads = next(statement["resources"] for statement in role_policy if statement["sid"] == "ReadBucketObjects")
    reads = [resource.split("}", 1)[1] for resource in reads]
    assert reads == [f"{granted}data.terraform_remote_state.databases_dynamodb.outputs.dynamodb_table_name}}/cdc_data/*"]


@pytest.mark.parametrize("prefix", [f"cdc/{TABLE}/", f"data/{TABLE}/year=!{{timestamp:yyyy}}/",
                                    f"cdc/!{{timestamp:yyyy}}/{TABLE}/cdc_data/"])
def test_a_prefix_the_lakehouse_job_cannot_read_is_refused_unless_the_layer_is_skipped(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, prefix: str) -> None:
    root = ProjectSpec().write(tmp_path / "p")
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", f"firehosePrefix={prefix}")
    assert result.code == 2 and result.err.count("\n") == 1
    assert f"lakehouse-demo: the lakehouse job reads <folder>/<table>/cdc_data/..., and firehosePrefix {prefix!r}" \
        in result.err and "skipLayers" in result.err
    skipped = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", f"firehosePrefix={prefix}",
                      "-c", "skipLayers=lakehouse-demo")
    assert skipped.code == 0, skipped.err
