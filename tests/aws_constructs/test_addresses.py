"""Terraform addresses: readable, chosen by the constructs, unique, and moved (never lost) when they change."""
from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ProjectSpec, run_cli
from tests.layers import layer_config, layer_folders, main_json

import bindings  # noqa: F401  (registers the fast provider import first)
from bindings import S3Bucket, TerraformStack, Testing as CdktfTesting
from aws_constructs.errors import ConstructPropsError
from aws_constructs.addresses import AddressError, HASH_SUFFIX, NamedConstruct, check_unique_addresses, snake_case
from aws_constructs.s3 import SecureBucket, SecureBucketProps
from leverage.write import files
from stacks import legacy_addresses

LEGACY_LAYERS = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_layers"
LEGACY_BY_LAYER = {"databases-dynamodb": legacy_addresses.DYNAMODB_LAYER, "datalake": legacy_addresses.DATALAKE_LAYER,
                   "datalake-demo": legacy_addresses.LAKE_LAYER}
SNAKE = re.compile(r"^[a-z_][a-z0-9_]*$")


def addresses(config: dict) -> list[str]:
    found = [f"{kind}.{name}" for kind, items in config.get("resource", {}).items() for name in items]
    found += [f"data.{kind}.{name}" for kind, items in config.get("data", {}).items() for name in items]
    return found


def all_addresses(folder: Path) -> list[str]:
    """Resources and data sources of main.tf.json, and the remote-state data sources of config.tf."""
    found = addresses(main_json(folder))
    found += [f"data.terraform_remote_state.{name}"
              for name in re.findall(r'^data "terraform_remote_state" "([^"]+)"', (folder / "config.tf").read_text(), re.M)]
    return found


def moves(config: dict) -> dict[str, str]:
    return {block["from"]: block["to"] for block in config.get("moved", [])}


def test_every_address_in_every_generated_layer_is_snake_case_without_a_hash(synthesized_example: Path) -> None:
    folders = layer_folders(synthesized_example)
    assert len(folders) == 5  # the lakehouse and the example's own layer too
    for folder in folders:
        found = all_addresses(folder)
        assert found
        for address in found:
            name = address.split(".")[-1]
            assert not HASH_SUFFIX.search(name), f"{folder.name}: {address} carries a hash suffix"
            assert SNAKE.match(name), f"{folder.name}: {address} is not snake_case"


def test_addresses_read_like_the_reference_hcl(synthesized_example: Path) -> None:
    datalake = layer_config(synthesized_example / "apps-devstg/us-east-1/datalake")
    assert {"aws_kinesis_stream.change_stream", "aws_kinesis_firehose_delivery_stream.delivery",
            "aws_iam_role.delivery_role", "aws_iam_role_policy.delivery_role",
            "aws_cloudwatch_log_group.delivery_logs",
            "aws_dynamodb_kinesis_streaming_destination.app_data_changes"} <= set(addresses(datalake))
    # The one destination of layers before many tables: its state moves to the first table's.
    assert {"from": "aws_dynamodb_kinesis_streaming_destination.table_changes",
            "to": "aws_dynamodb_kinesis_streaming_destination.app_data_changes"} in datalake["moved"]
    assert "data.terraform_remote_state.security_keys" in all_addresses(synthesized_example / "apps-devstg/us-east-1/datalake")
    lake = main_json(synthesized_example / "data-science/us-east-1/datalake-demo")
    # A bucket and its configuration resources share one name, as hand-written HCL does.
    assert {kind for kind, items in lake["resource"].items() if "raw_bucket" in items} >= {
        "aws_s3_bucket", "aws_s3_bucket_policy", "aws_s3_bucket_versioning", "aws_s3_bucket_public_access_block"}


def test_the_legacy_moves_cover_every_resource_the_layers_had_before(synthesized_example: Path) -> None:
    """Each stack ships a `moved` block for every hashed address of the layers committed before the renaming,
    and each lands on a resource of the same type that the layer has now (following chained moves)."""
    legacy_folders = layer_folders(LEGACY_LAYERS)
    assert len(legacy_folders) == 3
    for legacy_folder in legacy_folders:
        folder = synthesized_example / legacy_folder.relative_to(LEGACY_LAYERS)
        old, new = main_json(legacy_folder), layer_config(folder)
        old_resources = {a for a in addresses(old) if not a.startswith("data.")}
        assert old_resources == set(LEGACY_BY_LAYER[folder.name])
        declared, current = moves(new), set(addresses(new))
        for address in old_resources:
            target = address
            while target in declared:
                target = declared[target]
            assert target in current, f"{folder.name}: {address} moves to {target}, which the layer lacks"
            assert target.split(".")[0] == address.split(".")[0]
        # No two legacy addresses land on one resource (resources added since, such as keys, have none).
        targets = [declared[address] for address in old_resources]
        assert len(targets) == len(set(targets))


def test_moved_blocks_are_hcl_beside_main_tf_json_which_keeps_none(synthesized_example: Path) -> None:
    """In addresses.tf, as Terraform writes them by hand; main.tf.json keeps no state block (scanners reading
    Terraform JSON cannot parse them and would skip the file)."""
    folder = synthesized_example / "apps-devstg/us-east-1/datalake"
    text = (folder / "addresses.tf").read_text()
    assert "moved {\n  from = aws_kinesis_stream.ChangeStream_FBB59D54\n  to   = aws_kinesis_stream.change_stream\n}\n" in text
    config = layer_config(folder)
    assert {"from": "aws_iam_role.Delivery_Role_959799AB", "to": "aws_iam_role.delivery_role"} in config["moved"]
    assert all(set(block) == {"from", "to"} for block in config["moved"])
    for folder in layer_folders(synthesized_example):
        assert not {"moved", "import"} & set(main_json(folder)), folder


# --- the naming mechanism, on constructs in a plain stack ------------------------------------------------------

def new_stack() -> TerraformStack:
    return TerraformStack(CdktfTesting.app(), "test")


@pytest.mark.parametrize("construct_id, name", [
    ("ChangeStream", "change_stream"), ("CdcCrawler", "cdc_crawler"), ("KMSKey", "kms_key"),
    ("raw-bucket", "raw_bucket"), ("Bucket2", "bucket2"), ("2Buckets", "_2_buckets"),
])
def test_snake_case(construct_id: str, name: str) -> None:
    assert snake_case(construct_id) == name


def test_grouping_constructs_do_not_change_a_name_but_an_owning_construct_prefixes_it() -> None:
    from bindings import Construct

    stack = new_stack()
    group = Construct(stack, "Storage")  # a plain grouping construct: not part of any name
    SecureBucket(group, "RawBucket", SecureBucketProps(name="bb-raw-bucket-for-tests"))
    config = json.loads(CdktfTesting.synth(stack))
    assert "raw_bucket" in config["resource"]["aws_s3_bucket"]
    assert "raw_bucket_policy_document" in config["data"]["aws_iam_policy_document"]


# Checked on the synthesized configuration (as synth does: one call into jsii), or on the construct tree.
BY_CONFIGURATION = pytest.mark.parametrize("synthesized", [True, False], ids=["configuration", "tree"])


@BY_CONFIGURATION
def test_two_constructs_with_one_address_are_refused_with_both_paths(synthesized: bool) -> None:
    stack = new_stack()
    SecureBucket(stack, "RawBucket", SecureBucketProps(name="bb-raw-bucket-one"))
    SecureBucket(stack, "raw_bucket", SecureBucketProps(name="bb-raw-bucket-two"))
    config = json.loads(CdktfTesting.synth(stack)) if synthesized else None
    assert config is None or len(config["resource"]["aws_s3_bucket"]) == 1  # what cdktf does: one merged into one
    with pytest.raises(ConstructPropsError, match=r"^layer layer: test/RawBucket/\w+ and test/raw_bucket/\w+ both get "
                                                  r"the Terraform address aws_s3_bucket\.raw_bucket; give one of the "
                                                  r"constructs another id$"):
        check_unique_addresses(stack, "layer", config)


@BY_CONFIGURATION
def test_a_resource_left_with_cdktfs_hashed_name_is_refused(synthesized: bool) -> None:
    from bindings import Construct

    stack = new_stack()
    S3Bucket(Construct(stack, "Group"), "Bucket", bucket="bb-plain-bucket")
    with pytest.raises(ConstructPropsError, match=r"^layer layer: test/Group/Bucket has cdktf's hashed address "
                                                  r"aws_s3_bucket\.Group_Bucket_[0-9A-F]{8}; create the resource inside "
                                                  r"an L2 construct \(aws_constructs\.addresses\.NamedConstruct\) or "
                                                  r"call override_logical_id on it$"):
        check_unique_addresses(stack, "layer", json.loads(CdktfTesting.synth(stack)) if synthesized else None)


def add_bucket(stack: TerraformStack, construct_id: str) -> None:
    S3Bucket(stack, construct_id, bucket="bb-plain-bucket")


def add_output(stack: TerraformStack, construct_id: str) -> None:
    from bindings import TerraformOutput

    TerraformOutput(stack, construct_id, value="x")


@BY_CONFIGURATION
@pytest.mark.parametrize("add, construct_id, message", [
    (add_bucket, "9lives", "test/9lives gets the Terraform name aws_s3_bucket.9lives, which Terraform refuses"),
    (add_bucket, "bad-name!", "test/bad-name!: cdktf would shorten the id 'bad-name!' to the Terraform name "
                              "aws_s3_bucket.bad-name"),
    (add_output, "9x", "test/9x gets the Terraform name output.9x, which Terraform refuses"),
    (add_output, "bad name", "test/bad name: cdktf would shorten the id 'bad name' to the Terraform name output.badname"),
], ids=["resource starting with a digit", "resource id cdktf shortens", "output starting with a digit",
        "output id cdktf shortens"])
def test_a_name_terraform_refuses_or_cdktf_shortens_is_refused(synthesized: bool, add: Callable[[TerraformStack, str], None],
                                                               construct_id: str, message: str) -> None:
    stack = new_stack()
    add(stack, construct_id)
    with pytest.raises(AddressError, match="^layer layer: " + re.escape(message + "; name it with a letter or `_` "
                                                                        "first, then only letters, digits, `_` and `-`")
                       + "$"):
        # As synth writes it, with each element's construct path (Testing.synth leaves the paths out).
        check_unique_addresses(stack, "layer", stack.to_terraform() if synthesized else None)


def test_a_name_terraform_refuses_in_a_configuration_without_paths_is_refused_naming_the_construct() -> None:
    stack = new_stack()
    add_bucket(stack, "9lives")
    with pytest.raises(AddressError, match=r"^layer layer: test/9lives gets the Terraform name aws_s3_bucket\.9lives"):
        check_unique_addresses(stack, "layer", json.loads(CdktfTesting.synth(stack)))


def test_names_with_dashes_underscores_and_letters_of_any_script_pass() -> None:
    stack = new_stack()
    for construct_id in ("raw-bucket", "_raw", "Größe"):
        S3Bucket(stack, f"bucket_{construct_id}", bucket="bb-plain-bucket").override_logical_id(construct_id)
    add_output(stack, "queue-arn")
    check_unique_addresses(stack, "layer", json.loads(CdktfTesting.synth(stack)))
    check_unique_addresses(stack, "layer")


def test_distinct_addresses_pass_also_beside_remote_state() -> None:
    from bindings import DataTerraformRemoteStateS3

    stack = new_stack()
    SecureBucket(stack, "RawBucket", SecureBucketProps(name="bb-raw-bucket-one"))
    DataTerraformRemoteStateS3(stack, "lake", bucket="b", key="k", region="us-east-1")
    config = json.loads(CdktfTesting.synth(stack))
    assert "terraform_remote_state" in config["data"]
    check_unique_addresses(stack, "layer", config)


def test_renamed_from_moves_every_resource_of_the_construct_and_its_inner_constructs() -> None:
    from aws_constructs.iam import ServiceRole, ServiceRoleProps, PolicyStatement

    stack = new_stack()
    bucket = SecureBucket(stack, "Landing", SecureBucketProps(name="bb-landing-bucket"))
    bucket.renamed_from("raw_bucket")

    class Pipeline(NamedConstruct):
        def __init__(self, scope, construct_id):
            super().__init__(scope, construct_id)
            self.role = ServiceRole(self, "Role", ServiceRoleProps(name="bb-role", service="glue.amazonaws.com"))
            self.role.add_to_principal_policy(PolicyStatement(sid="Read", actions=("s3:GetObject",),
                                                              resources=("arn:aws:s3:::bb-landing-bucket/*",)))

    Pipeline(stack, "Ingest").renamed_from("delivery")
    config = json.loads(CdktfTesting.synth(stack))
    declared = moves(config)
    assert declared["aws_s3_bucket.raw_bucket"] == "aws_s3_bucket.landing"
    assert declared["aws_s3_bucket_policy.raw_bucket"] == "aws_s3_bucket_policy.landing"
    assert declared["aws_iam_role.delivery_role"] == "aws_iam_role.ingest_role"
    assert declared["aws_iam_role_policy.delivery_role"] == "aws_iam_role_policy.ingest_role"
    assert not any(address.startswith("data.") for address in declared)  # data sources hold no state
    assert len(declared) == 8 + 2  # the bucket's 8 resources (with its EventBridge notification), the role's 2


def test_a_move_between_types_or_twice_is_refused() -> None:
    from aws_constructs.addresses import declare_move

    stack = new_stack()
    with pytest.raises(ConstructPropsError, match="only between addresses of the same resource type"):
        declare_move(stack, "aws_s3_bucket.a", "aws_dynamodb_table.a")
    declare_move(stack, "aws_s3_bucket.a", "aws_s3_bucket.b")
    with pytest.raises(ConstructPropsError, match="moved twice"):
        declare_move(stack, "aws_s3_bucket.a", "aws_s3_bucket.c")
    with pytest.raises(ConstructPropsError, match="data sources hold no state"):
        declare_move(stack, "data.aws_iam_policy_document.a", "data.aws_iam_policy_document.b")
    for bad in ("data.a", "aws_s3_bucket", "aws_s3_bucket.a.b", "AWS_S3_BUCKET.a", "aws_s3_bucket.1a",
                "aws_s3_bucket.a[x]", "aws_s3_bucket.a[0][1]"):
        with pytest.raises(ConstructPropsError, match=re.escape(
                f"moved block {bad} -> aws_s3_bucket.z: {bad!r} is not a resource address `<type>.<name>`, or an "
                'instance of one, `<type>.<name>[0]` or `<type>.<name>["key"]` (data sources hold no state')):
            declare_move(stack, bad, "aws_s3_bucket.z")
    declare_move(stack, "aws_s3_bucket.q[0]", 'aws_s3_bucket.q["billing"]')  # count to for_each, instance by instance
    for source, target in (("aws_s3_bucket.q[1]", 'aws_s3_bucket.r["x"]'), ("aws_s3_bucket.q", 'aws_s3_bucket.r["x"]')):
        with pytest.raises(ConstructPropsError, match="an instance moves here only to another key of its own resource"):
            declare_move(stack, source, target)


def test_a_move_from_an_address_still_declared_is_refused() -> None:
    from aws_constructs.addresses import _check_moves, declare_move
    from aws_constructs.iam import PolicyStatement, ServiceRole, ServiceRoleProps

    stacks = new_stack(), new_stack()
    for stack in stacks:
        ServiceRole(stack, "Queue", ServiceRoleProps(name="bb-role", service="glue.amazonaws.com")).add_to_principal_policy(
            PolicyStatement(sid="Read", actions=("s3:GetObject",), resources=("arn:aws:s3:::bb-bucket/*",)))
    declare_move(stacks[0], "aws_iam_role.queue", "aws_iam_role.other")
    with pytest.raises(AddressError, match=re.escape(
            "moved block aws_iam_role.queue -> aws_iam_role.other: aws_iam_role.queue is still declared (by ")):
        check_unique_addresses(stacks[0], "layer", json.loads(CdktfTesting.synth(stacks[0])))
    declare_move(stacks[1], "aws_iam_role.gone", "aws_iam_role.queue")  # a move into it: what renames are
    check_unique_addresses(stacks[1], "layer", json.loads(CdktfTesting.synth(stacks[1])))
    # Renamed twice with renamed_from both times: two moves into one address, which Terraform calls ambiguous.
    declare_move(stacks[1], "aws_iam_role.older", "aws_iam_role.queue")
    with pytest.raises(AddressError, match=re.escape(
            "moved blocks aws_iam_role.gone -> aws_iam_role.queue and aws_iam_role.older -> aws_iam_role.queue: "
            "Terraform refuses two moves into one address; for a construct renamed twice, chain them")):
        check_unique_addresses(stacks[1], "layer", json.loads(CdktfTesting.synth(stacks[1])))
    # One address moved to two (two read tables renamed from one name): as ambiguous to Terraform.
    moves = [{"from": "aws_iam_role.gone", "to": "aws_iam_role.a"}, {"from": "aws_iam_role.gone", "to": "aws_iam_role.b"}]
    with pytest.raises(AddressError, match=re.escape(
            "moved blocks aws_iam_role.gone -> aws_iam_role.a and aws_iam_role.gone -> aws_iam_role.b: Terraform "
            "refuses to move one address to two")):
        _check_moves("layer", moves, {})
    # The one instance of a resource moved to a key of its new for_each: Terraform plans it.
    _check_moves("layer", [{"from": "aws_iam_role.a", "to": 'aws_iam_role.a["x"]'}], {"aws_iam_role.a": "a"})


def test_duplicate_addresses_in_a_layer_are_a_one_line_user_error(capsys: pytest.CaptureFixture[str],
                                                                   tmp_path: Path, monkeypatch) -> None:
    from stacks import datalake_demo

    original = datalake_demo.SecureBucket

    def both_named_raw(scope, construct_id, props):
        renamed = {"ProcessedBucket": "RawBucket", "RawBucket": "raw_bucket"}
        return original(scope, renamed.get(construct_id, construct_id), props)

    monkeypatch.setattr(datalake_demo, "SecureBucket", both_named_raw)
    root = ProjectSpec().write(tmp_path / "project")
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}")
    assert result.code == 2
    assert result.err.startswith("error: layer data-science/us-east-1/datalake-demo: ")
    assert "both get the Terraform address aws_s3_bucket.raw_bucket" in result.err
    assert result.err.endswith("give one of the constructs another id; see docs/addresses.md\n")
    assert len(result.err.strip().splitlines()) == 1
    assert not list(root.glob("*/*/*/main.tf.json"))


def test_an_addresses_file_no_stack_writes_any_more_is_removed_but_never_a_users(
        tmp_path: Path, synthesized_example: Path) -> None:
    root = tmp_path / "bb"
    shutil.copytree(synthesized_example, root, symlinks=True)
    folder = root / "apps-devstg/us-east-1/databases-dynamodb"
    desired = {path.relative_to(root).as_posix(): files.Symlink(os.readlink(path)) if path.is_symlink()
               else path.read_bytes() for path in folder.iterdir() if path.name != "addresses.tf"}
    assert files.plan(root, desired).stale == ["apps-devstg/us-east-1/databases-dynamodb/addresses.tf"]
    text = (folder / "addresses.tf").read_text()
    (folder / "addresses.tf").write_text(text.split("\n", 1)[1])  # without the marker line: the user's file now
    assert files.plan(root, desired).stale == []
