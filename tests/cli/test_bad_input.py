"""Input that is almost right: every bad value is one `error:` line, exit 2, and an unchanged tree, for
`synth` and for `check` (where exit 1 would mean drift)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import pytest

import main as app_main
from tests.conftest import assert_refused, run_cli
from tests.layers import load_config_dir


def replace_in(relative: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        path = root / relative
        text = path.read_text()
        assert old in text, (relative, old)
        path.write_text(text.replace(old, new))
    return edit


def cdktf_json(content: str) -> Callable[[Path], None]:
    """cdktf.json lives in the app, not the project: each case writes its own beside the project."""
    def write(root: Path) -> None:
        (root.parent / "cdktf.json").write_text(content)
    return write


def unchanged(root: Path) -> None:
    pass


def project_name(name: str) -> Callable[[Path], None]:
    """The same (bad) short name in common.tfvars and build.env."""
    def rename(root: Path) -> None:
        replace_in("config/common.tfvars", 'project      = "bb"', f'project = "{name}"')(root)
        (root / "build.env").write_text(f"PROJECT={name}\n")
    return rename


# case -> (how to break the project, -c settings, what the message names)
BAD_INPUT: dict[str, tuple[Callable[[Path], None], tuple[str, ...], str]] = {
    "superscript digit": (unchanged, ("streamRetentionHours=²",), "streamRetentionHours='²' is not a whole number"),
    "5000-digit number": (unchanged, ("streamRetentionHours=" + "9" * 5000,), "is not a whole number"),
    "number with spaces inside": (unchanged, ("firehoseBufferingSizeMib=1 28",), "is not a whole number"),
    "number with a trailing newline": (unchanged, ("streamRetentionHours=48\n",),
                                       "setting streamRetentionHours='48\\n' is not a whole number"),
    "number with a tab and a newline": (unchanged, ("firehoseBufferingSizeMib=\t64\n",),
                                        "setting firehoseBufferingSizeMib='\\t64\\n' is not a whole number"),
    "misspelt setting": (unchanged, ("streamRetentionHour=48",),
                         "unknown setting 'streamRetentionHour' given with -c; did you mean streamRetentionHours? "
                         "known settings: "),
    "empty keysLayer": (unchanged, ("keysLayer=",), "setting keysLayer='' is not a valid folder name"),
    "empty datalakeLayer": (unchanged, ("datalakeLayer=",), "datalakeLayer='' is not a valid folder name"),
    "layer name with a space": (unchanged, ("datalakeLayer=data lake",), "is not a valid folder name"),
    "layer name with a newline": (unchanged, ("lakeLayer=datalake-demo\n",), "is not a valid folder name"),
    "layer name with a slash": (unchanged, ("dynamodbLayer=../../x",), "is not a valid folder name"),
    "layer name in capitals": (unchanged, ("datalakeLayer=DataLake",), "is not a valid folder name"),
    "skipped layer with a space": (unchanged, ("skipLayers=datalake demo",), "skipLayers[0]"),
    "account with a newline": (unchanged, ("sourceAccount=apps-devstg\n",), "sourceAccount='apps-devstg\\n'"),
    "account with a space": (unchanged, ("lakeAccount=data science",), "is not a valid folder name"),
    "region with a newline": (unchanged, ("region=us-east-1\n",), "is not an AWS region"),
    "region with a space": (unchanged, ("region=us-east-1 ",), "is not an AWS region"),
    "region the project does not declare": (unchanged, ("region=us-west-2",),
                                            "'us-west-2' is not a region the project declares (us-east-1, us-east-2)"),
    "provider version not a constraint": (unchanged, ("awsProviderVersion=latest",),
                                          "setting awsProviderVersion='latest' is not a Terraform version constraint"),
    "prefix with a line break": (unchanged, ("firehosePrefix=cdc/\n!{partitionKeyFromQuery:tableName}/",),
                                 "contains the control character '\\n'"),
    "account id with a trailing newline": (
        replace_in("config/common.tfvars", '"555555555555"', '"555555555555\\n"'),
        (), "accounts.apps-devstg.id is '555555555555\\n', not a 12-digit AWS account id"),
    "account id of 13 digits": (replace_in("config/common.tfvars", '"555555555555"', '"5555555555555"'),
                                (), "not a 12-digit AWS account id"),
    "account id in other digits": (replace_in("config/common.tfvars", '"555555555555"', '"５５５５５５５５５５５５"'),
                                   (), "not a 12-digit AWS account id"),
    "backend region with a trailing newline": (
        replace_in("apps-devstg/config/backend.tfvars", 'region = "us-east-1"', 'region = "us-east-1\\n"'),
        (), "region in example/apps-devstg/config/backend.tfvars: 'us-east-1\\n' is not an AWS region"),
    "backend region not a region": (
        replace_in("data-science/config/backend.tfvars", 'region = "us-east-1"', 'region = "moon-1"'),
        (), "region in example/data-science/config/backend.tfvars: 'moon-1' is not an AWS region"),
    "primary region with a newline": (replace_in("config/common.tfvars", 'region_primary   = "us-east-1"',
                                                 'region_primary = "us-east-1\\n"'), (), "region_primary"),
    "regions_allowed not a list": (replace_in("config/common.tfvars", "# AWS SSO", 'regions_allowed = "us-east-1"\n'),
                                   (), "regions_allowed in example/config/common.tfvars is not a list"),
    "project name in capitals": (project_name("BB"),
                                 (), "no valid project short name"),
    "project name with a dash": (project_name("b-b"),
                                 (), "no valid project short name"),
    "project name with a newline": (replace_in("config/common.tfvars", 'project      = "bb"', 'project = "bb\\n"'),
                                    (), "project = 'bb\\n' in example/config/common.tfvars"),
    "backend profile with template syntax": (
        replace_in("data-science/config/backend.tfvars", 'profile = "bb-data-science-devops"',
                   'profile = "bb-data-science-${var.x}"'),
        (), "profile = 'bb-data-science-${var.x}' is not a plain name"),
    "backend bucket with a space": (
        replace_in("data-science/config/backend.tfvars", 'bucket = "bb-data-science-terraform-backend"',
                   'bucket = "bb-data-science-terraform backend"'), (), "is not a plain name"),
    "cdktf.json not JSON": (cdktf_json('{"context": {'), (), "cdktf.json is not valid JSON (line 1)"),
    "cdktf.json a list": (cdktf_json('[1, 2]'), (), "cdktf.json is a JSON list, not an object"),
    "cdktf.json context null": (cdktf_json('{"context": null}'), (), "`context` is null, not an object"),
    "cdktf.json context a list": (cdktf_json('{"context": ["a"]}'), (), '`context` is ["a"], not an object'),
    "cdktf.json 5000-digit number": (cdktf_json('{"context": {"streamRetentionHours": ' + "9" * 5000 + "}}"), (),
                                     "cdktf.json cannot be read"),
    "cdktf.json huge number": (cdktf_json('{"context": {"streamRetentionHours": ' + "9" * 100 + "}}"), (),
                               "streamRetentionHours=<a very large number> is not a whole number"),
    "cdktf.json layer name with a newline": (cdktf_json('{"context": {"keysLayer": "keys\\n"}}'), (),
                                             "keysLayer='keys\\n' is not a valid folder name"),
    "cdktf.json number as text with a space": (cdktf_json('{"context": {"streamRetentionHours": "48 "}}'), (),
                                               "setting streamRetentionHours='48 ' is not a whole number"),
    "cdktf.json misspelt setting": (cdktf_json('{"context": {"lakeAcount": "x"}}'), (),
                                    "unknown setting 'lakeAcount' in cdktf.json's context; did you mean lakeAccount? "
                                    "known settings: "),
    "cdktf.json unknown setting": (cdktf_json('{"context": {"retention": 48}}'), (),
                                   "unknown setting 'retention' in cdktf.json's context; known settings: "),
    "cdktf.json a folder": (lambda root: (root.parent / "cdktf.json").mkdir(), (),
                            "cdktf.json is a folder, not a file"),
    "cdktf.json a FIFO": (lambda root: os.mkfifo(root.parent / "cdktf.json"), (), "cdktf.json is not a regular file"),
    "cdktf.json not UTF-8": (lambda root: (root.parent / "cdktf.json").write_bytes(b'{"context": "\xff"}'), (),
                             "cdktf.json is not UTF-8 text"),
    # Input that once gave a traceback or a message pointing elsewhere.
    "pipelines nested too deeply": (unchanged, ("pipelines=" + "[" * 100_000 + "]" * 100_000,),
                                    "setting pipelines nests lists or objects too deeply"),
    "pipelines nested deeply but parsed": (unchanged, ("pipelines=[" + "[" * 900 + "]" * 900 + "]",),
                                           "setting pipelines[0] is [[[["),
    "cdktf.json nested too deeply": (cdktf_json('{"context": {"pipelines": ' + "[" * 100_000 + "]" * 100_000 + "}}"),
                                     (), "cdktf.json nests lists or objects too deeply"),
    # The app's folder is cdktf.json's (here the project's parent, where the test writes cdktf.json).
    "leverageRoot the app's folder": (unchanged, ("leverageRoot=.",), "setting leverageRoot='.' is "),
    "leverageRoot the filesystem's root": (unchanged, ("leverageRoot=/",),
                                           "setting leverageRoot='/' is /, this app's folder or one above it"),
    "empty leverageRoot": (unchanged, ("leverageRoot=",), "setting leverageRoot is empty"),
    "cdktf.json leverageRoot empty": (cdktf_json('{"context": {"leverageRoot": ""}}'), ("leverageRoot=",),
                                      "setting leverageRoot is empty"),
    "cdktf.json skipLayers a number": (cdktf_json('{"context": {"skipLayers": 5}}'), (),
                                       "setting skipLayers has the wrong type (a number, 5); give it like its "
                                       "default, []"),
    "cdktf.json region a number": (cdktf_json('{"context": {"region": 5}}'), (),
                                   "setting region has the wrong type (a number, 5); give it like its default, a text"),
    "leverageRoot with a trailing newline": (unchanged, ("leverageRoot=example\n",),
                                             "setting leverageRoot='example\\n' contains the control character"),
    "cdktf.json with a byte-order mark": (
        lambda root: (root.parent / "cdktf.json").write_bytes(b'\xef\xbb\xbf{"context": {}}'), (),
        "cdktf.json starts with a UTF-8 byte-order mark"),
    "config.tf that is a folder": (lambda root: (root / "apps-devstg/us-east-1/notes/config.tf").mkdir(parents=True),
                                   (), "example/apps-devstg/us-east-1/notes/config.tf is a folder, not a file"),
    "config.tf that is a FIFO": (lambda root: ((root / "apps-devstg/us-east-1/notes").mkdir(parents=True),
                                               os.mkfifo(root / "apps-devstg/us-east-1/notes/config.tf")),
                                 (), "example/apps-devstg/us-east-1/notes/config.tf is not a regular file"),
    "hand-written layer on a generated layer's state key": (
        lambda root: _layer(root, "apps-devstg/us-east-1/security-keys", "apps-devstg/datalake/terraform.tfstate"),
        (), "layer apps-devstg/us-east-1/datalake would keep its state at apps-devstg/datalake/terraform.tfstate, "
            "which apps-devstg/us-east-1/security-keys already uses"),
    "read table renamed from its own name": (
        unchanged, ('pipelines=[{"sourceAccount": "apps-devstg", "tables": [{"layer": "databases-legacy", "output": '
                    '"t", "name": "legacy", "renamedFrom": "Legacy"}]}]',),
        "setting pipelines[0].tables[0].renamedFrom='Legacy' is the name its addresses have now"),
    "read table renamed from another table's name": (
        unchanged, ('pipelines=[{"sourceAccount": "apps-devstg", "tables": [{"name": "orders"}, {"layer": '
                    '"databases-legacy", "output": "t", "name": "legacy", "renamedFrom": "orders"}]}]',),
        "setting pipelines[0].tables[1].renamedFrom='orders' is the name of pipelines[0].tables[0] (table 'orders'), "
        "whose addresses those are now: Terraform refuses to move what is still declared; remove renamedFrom once"),
    "two read tables renamed from one name": (
        unchanged, ('pipelines=[{"sourceAccount": "apps-devstg", "tables": [{"layer": "databases-legacy", "output": '
                    '"t", "name": "a", "renamedFrom": "legacy"}, {"layer": "databases-legacy", "output": "u", "name": '
                    '"b", "renamedFrom": "Legacy"}]}]',),
        "setting pipelines[0].tables[1].renamedFrom='Legacy' is also pipelines[0].tables[0]'s: one table's addresses "
        "can move to one table only"),
    "two accounts with one id": (replace_in("config/common.tfvars", '"777777777777"', '"555555555555"'), (),
                                 "accounts apps-devstg and data-science have the same id 555555555555"),
    "layer folder a symlink out of the project": (
        lambda root: _link_out(root, "apps-devstg/us-east-1/datalake"), (),
        "apps-devstg/us-east-1/datalake in the Leverage project is a symbolic link to"),
    "account folder a symlink out of the project": (
        lambda root: _link_out(root, "apps-devstg", keep=True), (),
        "apps-devstg in the Leverage project is a symbolic link to"),
}


def _layer(root: Path, folder: str, key: str) -> None:
    (root / folder).mkdir(parents=True)
    (root / folder / "config.tf").write_text(
        f'terraform {{\n  backend "s3" {{\n    key = "{key}"\n  }}\n}}\noutput "aws_kms_key_arn" {{ value = "x" }}\n')


def _link_out(root: Path, folder: str, keep: bool = False) -> None:
    """`folder` becomes a link to a folder beside the project (holding what it held, with `keep`)."""
    outside = root.parent / "outside"
    if keep:
        (root / folder).rename(outside)
    else:
        outside.mkdir()
    (root / folder).parent.mkdir(parents=True, exist_ok=True)
    (root / folder).symlink_to(outside)


# case -> (command line, what the message names): a flag another command would ignore is refused.
FLAG_MISUSE = {
    "synth --json": (("synth", "--json"), "--json applies to `check` only, not to `synth`"),
    "list --format dot": (("list", "--format", "dot"), "--format applies to `graph` only, not to `list`"),
    "check --allow-destroy": (("check", "--allow-destroy"), "--allow-destroy applies to `synth` only"),
}


@pytest.mark.parametrize("case", sorted(FLAG_MISUSE))
def test_a_flag_of_another_command_is_refused(capsys: pytest.CaptureFixture[str], project_copy: Path, case: str) -> None:
    from tests.conftest import tree_digest

    argv, message = FLAG_MISUSE[case]
    before = tree_digest(project_copy.parent)
    result = run_cli(capsys, *argv, "-c", f"leverageRoot={project_copy}")
    assert (result.code, result.out) == (2, "") and result.err.count("\n") == 1, result.err
    assert result.err.startswith("error: ") and message in result.err, result.err
    assert tree_digest(project_copy.parent) == before


@pytest.mark.parametrize("value, message", [
    ("null", 'setting leverageRoot has the wrong type (null); give it like its default, "example"'),
    ('""', "setting leverageRoot is empty"),
    ("5", 'setting leverageRoot has the wrong type (a number, 5); give it like its default, "example"')])
def test_leverage_root_of_the_wrong_type_in_cdktf_json_is_named_in_json_terms(
        tmp_path: Path, value: str, message: str) -> None:
    """The -c leverageRoot every other case passes would hide cdktf.json's own value."""
    from leverage.errors import UserError
    from stacks.settings.model import load_settings

    (tmp_path / "cdktf.json").write_text('{"context": {"leverageRoot": %s}}' % value)
    with pytest.raises(UserError) as refused:
        load_settings(tmp_path / "cdktf.json", [])
    assert message in str(refused.value) and "Posix" not in str(refused.value) and "NoneType" not in str(refused.value)


@pytest.mark.parametrize("query, accepted", [
    ("{tableName:.tableName}", True), ('{ "tableName" : .tableName, event: .eventName }', True),
    ("{event:.eventName,tableName:.tableName}", True), ("{tableName}", True), ("{tableName, event: .eventName}", True),
    ("{tableName:.TableName}", False),  # null in every record: each would go to the error prefix
    ("{tableName:.eventName}", False), ("{tableName:.tableNameX}", False), ("{table:.tableName}", False)])
def test_a_partition_query_must_name_each_table_as_its_folders_do(tmp_path: Path, query: str, accepted: bool) -> None:
    """The prefix's `!{partitionKeyFromQuery:tableName}` folders are what the lake grants and the lakehouse job reads:
    a query giving tableName anything but the record's tableName would deliver every record to the error prefix."""
    from leverage.errors import UserError
    from stacks.settings.model import load_settings

    (tmp_path / "cdktf.json").write_text("{}")
    if accepted:
        assert load_settings(tmp_path / "cdktf.json", [f"firehosePartitionQuery={query}"]).firehose.partition_query == query
        return
    with pytest.raises(UserError) as refused:
        load_settings(tmp_path / "cdktf.json", [f"firehosePartitionQuery={query}"])
    assert "does not set tableName to .tableName" in str(refused.value)
    # A prefix without table folders takes any query.
    assert load_settings(tmp_path / "cdktf.json", [f"firehosePartitionQuery={query}",
                                                   "firehosePrefix=cdc/!{timestamp:yyyy}/"]).firehose.prefix


@pytest.mark.parametrize("setting", ["firehosePrefix=dynamodb_data/!{partitionKeyFromQuery:tableName}/cdc_data/ ",
                                     "firehoseErrorPrefix= errors/"])
def test_a_prefix_with_whitespace_around_it_is_refused(tmp_path: Path, setting: str) -> None:
    """S3 would keep it in every object's key: a folder named " " below the one the lake grants and the job reads."""
    from leverage.errors import UserError
    from stacks.settings.model import load_settings

    (tmp_path / "cdktf.json").write_text("{}")
    with pytest.raises(UserError, match="begins or ends with whitespace"):
        load_settings(tmp_path / "cdktf.json", [setting])


def test_the_engines_own_context_keys_and_comments_are_not_settings(tmp_path: Path) -> None:
    """cdktf and CDK Terrain read their keys and feature flags from the same context: they are left alone, as are
    comments (`//` keys: JSON has no comments)."""
    from stacks.settings.model import load_settings

    engine_keys = {"cdktfVersion": "0.21.0", "cdktfRelativeModules": ["modules"],
                   "@cdktf/disable_stack_trace_in_metadata": True, "excludeStackIdFromLogicalIds": "true",
                   "allowSepCharsInLogicalIds": "true",
                   "failOnConstructsOutsideOfStacks": "true", "canonicalAssetHashes": "true", "targetVersions": {},
                   "//": "a comment", "// lakeAccount": "why it is data-science"}
    (tmp_path / "cdktf.json").write_text(json.dumps({"context": {**engine_keys, "streamRetentionHours": 48}}))
    assert load_settings(tmp_path / "cdktf.json", []).stream_retention_hours == 48


@pytest.mark.parametrize("command", ["synth", "check"])
@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_one_error_line_exit_2_and_changes_nothing(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, project_copy: Path,
        case: str, command: str) -> None:
    break_input, settings, message = BAD_INPUT[case]
    monkeypatch.setattr(app_main, "CDKTF_JSON", project_copy.parent / "cdktf.json")  # absent unless the case writes it
    break_input(project_copy)
    assert_refused(capsys, command, project_copy, settings, message)


def test_declared_regions_are_accepted(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from tests.conftest import ProjectSpec

    spec = ProjectSpec(regions_allowed=("us-east-1", "us-west-2", "eu-west-1"))
    for region in ("us-east-1", "us-west-2", "eu-west-1"):
        root = spec.write(tmp_path / region)
        result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", f"region={region}")
        assert result.code == 0, result.err
        assert (root / "apps-devstg" / region / "datalake" / "config.tf").is_file()
    refused = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", "region=eu-central-1")
    assert refused.code == 2 and "'eu-central-1' is not a region the project declares" in refused.err
    # Both non-primary regions keep their state under `<layer>-dr`: the second is refused, not written over.
    second = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", "region=us-west-2")
    assert second.code == 2 and "would keep its state at apps-devstg/databases-dynamodb-dr/terraform.tfstate, " \
        "which apps-devstg/eu-west-1/databases-dynamodb already uses" in second.err


def test_terraform_template_syntax_in_settings_is_taken_literally(capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path) -> None:
    import re

    from tests.conftest import ProjectSpec
    from tests.layers import layer_folders

    root = ProjectSpec().write(tmp_path / "p")
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}",
                     "-c", 'firehosePrefix=cdc/${file("/etc/passwd")}/!{partitionKeyFromQuery:tableName}/cdc_data/',
                     "-c", "firehoseErrorPrefix=errors/%{ if true }x%{ endif }/!{firehose:error-output-type}/",
                     "-c", "firehosePartitionQuery={tableName:.tableName, x: \"${var.profile}\"}",
                     "-c", "dynamodbPartitionKey=${path.cwd}:S", "-c", "dynamodbSortKey=%{ if true }y%{ endif }:S")
    assert result.code == 0, result.err
    texts = {folder.name: (folder / "main.tf.json").read_text() + (folder / "config.tf").read_text()
             for folder in layer_folders(root)}
    everything = "".join(texts.values())
    for user_text in ('{file("/etc/passwd")}', "{ if true }", "{ endif }", "{var.profile}", "{path.cwd}"):
        assert user_text.replace('"', '\\"') in everything
    # Every ${ and %{ the user wrote arrives doubled, which Terraform reads as the literal text.
    for match in re.finditer(r"[$%]\{(file|path\.cwd| if| endif|var\.profile\\)", everything):
        assert everything[match.start() - 1] == everything[match.start()], everything[match.start() - 20:match.end()]
    assert "cdc/$${file(\\\"/etc/passwd\\\")}/" in texts["datalake-demo"]  # the bucket grant and the crawler path
    assert '"hash_key": "$${path.cwd}"' in texts["databases-dynamodb"]
    # The lakehouse job's raw path and the key attribute names it is told.
    assert "s3://bb-data-science-data-lake-demo-data-raw-bucket/cdc/$${file(\\\"/etc/passwd\\\")}/" in texts["lakehouse-demo"]
    # (inside its jsonencode expression: `$${` and `%%{` once each, as everywhere else)
    assert '\\"name\\" = \\"$${path.cwd}\\"' in texts["lakehouse-demo"]
    assert '\\"name\\" = \\"%%{ if true }y%%{ endif }\\"' in texts["lakehouse-demo"]
    for folder in layer_folders(root):
        assert not load_config_dir(folder)[1]


@pytest.mark.parametrize("layer", ["", "Datalake", "data lake", "datalake\n", "-datalake", "data/lake", "datalake--\n"])
def test_a_layer_address_refuses_names_that_are_not_folder_names(layer: str) -> None:
    """The last line of defence, for names that do not come from the settings (scanned folders, stacks)."""
    from leverage.errors import UserError
    from leverage.project.layer import LayerAddress

    with pytest.raises(UserError, match="is not a valid folder name"):
        LayerAddress("apps-devstg", "us-east-1", layer)
    assert LayerAddress("apps-devstg", "us-east-1", "datalake--").folder == "apps-devstg/us-east-1/datalake--"


def test_the_checkouts_cdktf_json_is_read_whatever_stands_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder in its place is refused by the settings, not passed over for the working folder's (or for none:
    every default, the registered layers gone)."""
    monkeypatch.setattr(app_main, "APP_ROOT", tmp_path / "app")
    monkeypatch.chdir(tmp_path)
    assert app_main.settings_file() == tmp_path / "cdktf.json"  # installed as a dependency: the working folder's
    (tmp_path / "app" / "cdktf.json").mkdir(parents=True)
    assert app_main.settings_file() == tmp_path / "app" / "cdktf.json"
