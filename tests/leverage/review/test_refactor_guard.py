"""The refactor guard: `check` classifies every resource change by consequence; `synth` refuses to lose data."""
from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import run_cli, tree_digest
from tests.layers import layer_config
from aws_constructs.lifecycle import AWS_PROVIDER
from leverage.review import guard_report, refactor_guard
from leverage.write.content import marker

DATALAKE = "apps-devstg/us-east-1/datalake"
STREAM_NAME = "bb-apps-devstg-ddb-lakehouse-stream"


def compare_configs(layers: dict) -> list[refactor_guard.ResourceChange]:
    return refactor_guard.compare_configs(layers, AWS_PROVIDER)


def layer(resources: dict[str, dict], moved: dict[str, str] | None = None, imports: tuple[str, ...] = ()) -> dict:
    config: dict = {"resource": {}}
    for address, body in resources.items():
        kind, name = address.split(".")
        config["resource"].setdefault(kind, {})[name] = body
    if moved:
        config["moved"] = [{"from": old, "to": new} for old, new in moved.items()]
    if imports:
        config["import"] = [{"to": address, "id": "x"} for address in imports]
    return config


def actions(old: dict, new: dict) -> dict[str, tuple[str, bool]]:
    return {f"{change.action} {change.address}": (change.consequence, change.destructive)
            for change in compare_configs({"a/r/l": (old, new)})}


STREAM = {"name": STREAM_NAME, "retention_period": 24}
ROLE = {"name": "bb-role", "assume_role_policy": "{}"}


def test_an_undeclared_move_of_a_stateful_resource_is_destroy_and_recreate() -> None:
    old = layer({"aws_kinesis_stream.change_stream": STREAM})
    new = layer({"aws_kinesis_stream.stream": STREAM})
    [destroy, create] = compare_configs({"a/r/l": (old, new)})
    assert (destroy.action, destroy.address, destroy.destructive, destroy.undeclared_move) == (
        "destroy", "aws_kinesis_stream.change_stream", True, True)
    assert destroy.detail == (f"would destroy and recreate aws_kinesis_stream {STREAM_NAME}: it leaves "
                              "aws_kinesis_stream.change_stream and appears at aws_kinesis_stream.stream "
                              "without a moved block, so it is recreated empty")
    assert destroy.to_address == "aws_kinesis_stream.stream" and destroy.name == STREAM_NAME
    assert (create.action, create.address, create.consequence) == ("create", "aws_kinesis_stream.stream", "create")


def test_a_declared_move_is_state_only_and_references_follow_it() -> None:
    old = layer({"aws_kinesis_stream.change_stream": STREAM,
                 "aws_iam_role_policy.reader": {"policy": "${aws_kinesis_stream.change_stream.arn}"}})
    new = layer({"aws_kinesis_stream.stream": STREAM,
                 "aws_iam_role_policy.reader": {"policy": "${aws_kinesis_stream.stream.arn}"}},
                moved={"aws_kinesis_stream.change_stream": "aws_kinesis_stream.stream"})
    assert actions(old, new) == {"move aws_kinesis_stream.stream": ("none, state only", False)}


def test_chained_moves_are_followed() -> None:
    old = layer({"aws_kinesis_stream.a": STREAM})
    new = layer({"aws_kinesis_stream.c": STREAM}, moved={"aws_kinesis_stream.a": "aws_kinesis_stream.b",
                                                       "aws_kinesis_stream.b": "aws_kinesis_stream.c"})
    assert actions(old, new) == {"move aws_kinesis_stream.c": ("none, state only", False)}


def test_arguments_decide_between_update_in_place_and_replace() -> None:
    old = layer({"aws_kinesis_stream.s": STREAM, "aws_iam_role.r": ROLE})
    new = layer({"aws_kinesis_stream.s": {**STREAM, "retention_period": 48},
                 "aws_iam_role.r": {**ROLE, "name": "bb-other-role"}})
    assert actions(old, new) == {"update aws_kinesis_stream.s": ("update in place", False),
                                 "replace aws_iam_role.r": ("destroy/replace", False)}
    renamed = layer({"aws_kinesis_stream.s": {**STREAM, "name": "bb-other-stream"}})
    [change] = compare_configs({"a/r/l": (layer({"aws_kinesis_stream.s": STREAM}), renamed)})
    assert (change.action, change.destructive) == ("replace", True)
    assert change.detail == "name changes, which the provider cannot change in place"
    # An argument on one side only changes too: a sort key added to a table replaces it; a dropped one updates.
    table = {"name": "bb-table", "hash_key": "id"}
    [added] = compare_configs({"a/r/l": (layer({"aws_dynamodb_table.t": table}),
                                         layer({"aws_dynamodb_table.t": {**table, "range_key": "at"}}))})
    assert (added.action, added.destructive, added.detail) == (
        "replace", True, "range_key changes, which the provider cannot change in place")
    index = [{"name": "by_at", "range_key": "at", "projection_type": "ALL"}]
    [indexed] = compare_configs({"a/r/l": (layer({"aws_dynamodb_table.t": table}),
                                           layer({"aws_dynamodb_table.t": {**table, "local_secondary_index": index}}))})
    assert (indexed.action, indexed.destructive) == ("replace", True)  # a local secondary index: at creation only
    assert actions(layer({"aws_kinesis_stream.s": STREAM}), layer({"aws_kinesis_stream.s": {"name": STREAM_NAME}})) == {
        "update aws_kinesis_stream.s": ("update in place", False)}


@pytest.mark.parametrize("kind, argument", [
    ("aws_sns_topic", "name"), ("aws_cloudwatch_event_rule", "name"), ("aws_cloudwatch_metric_alarm", "alarm_name"),
    ("aws_athena_workgroup", "name"), ("aws_glue_job", "name"), ("aws_s3_object", "key")])
def test_renaming_what_the_layers_declare_is_a_replacement_whatever_the_type(kind: str, argument: str) -> None:
    assert actions(layer({f"{kind}.x": {argument: "bb-one"}}), layer({f"{kind}.x": {argument: "bb-two"}})) == {
        f"replace {kind}.x": ("destroy/replace", False)}


def test_stateless_removals_are_reported_but_not_destructive_and_a_same_name_move_of_any_type_is() -> None:
    old = layer({"aws_iam_role.old": ROLE, "aws_iam_role.other": {**ROLE, "name": "bb-other"},
                 "aws_kinesis_stream.gone": STREAM})
    new = layer({"aws_iam_role.new": {**ROLE, "name": "bb-renamed"}, "aws_iam_role.same": ROLE})
    # A role whose name changes is another role; one that keeps its name at another address is destroyed and
    # created in one apply, and the destroy can delete what the create made: flagged whatever the type.
    assert actions(old, new) == {"destroy aws_iam_role.other": ("destroy/replace", False),
                                 "create aws_iam_role.new": ("create", False),
                                 "destroy aws_iam_role.old": ("destroy/replace", True),
                                 "create aws_iam_role.same": ("create", False),
                                 "destroy aws_kinesis_stream.gone": ("destroy/replace", True)}


def test_a_stateful_resource_moving_to_another_layer_is_an_undeclared_move_across_state_files() -> None:
    changes = compare_configs({
        "acct/r/one": (layer({"aws_s3_bucket.raw": {"bucket": "bb-raw"}}), layer({})),
        "acct/r/two": (layer({}), layer({"aws_s3_bucket.raw": {"bucket": "bb-raw"}})),
    })
    [destroy, create] = changes
    assert destroy.undeclared_move and destroy.destructive and destroy.layer == "acct/r/one"
    assert "appears in layer acct/r/two at aws_s3_bucket.raw" in destroy.detail
    assert "a moved block cannot cross layers" in destroy.detail
    assert (create.layer, create.action) == ("acct/r/two", "create")


def test_an_imported_resource_is_adopted_not_created() -> None:
    new = layer({"aws_kinesis_stream.s": STREAM}, imports=("aws_kinesis_stream.s",))
    assert actions({}, new) == {"import aws_kinesis_stream.s": ("create (import)", False)}


def delivery(bucket: str, prefix: str) -> dict:
    return {"name": "bb-delivery", "destination": "extended_s3", "extended_s3_configuration": [
        {"bucket_arn": bucket, "prefix": prefix, "buffering_interval": 100}]}


@pytest.mark.parametrize("bucket, prefix, moves", [
    ("${aws_s3_bucket.raw.arn}", "cdc/!{partitionKeyFromQuery:tableName}/cdc_data/", "delivers below 'cdc/' instead of "
                                                                                    "'dynamodb_data/'"),
    ("${aws_s3_bucket.other.arn}", "dynamodb_data/!{partitionKeyFromQuery:tableName}/cdc_data/", "delivers into "
                                                                                               "another bucket"),
    ("${aws_s3_bucket.raw.arn}", "dynamodb_data/!{partitionKeyFromQuery:tableName}/cdc_data/!{timestamp:yyyy}/", None),
])
def test_a_delivery_to_another_bucket_or_folder_repoints_and_a_partition_below_the_folder_does_not(
        bucket: str, prefix: str, moves: str | None) -> None:
    old = layer({"aws_kinesis_firehose_delivery_stream.d": delivery(
        "${aws_s3_bucket.raw.arn}", "dynamodb_data/!{partitionKeyFromQuery:tableName}/cdc_data/")})
    [change] = compare_configs({"a/r/l": (old, layer({"aws_kinesis_firehose_delivery_stream.d": delivery(bucket, prefix)}))})
    assert (change.action, change.repointing) == (("repoint", True) if moves else ("update", False))
    assert moves is None or change.detail.startswith(moves), change.detail


def test_a_remote_state_or_provider_that_moves_is_reported_with_what_refers_to_it() -> None:
    def config(key: str, region: str) -> dict:
        return {**layer({"aws_kinesis_firehose_delivery_stream.d": delivery(
                    "${data.terraform_remote_state.lake.outputs.raw_arn}", "cdc/"),
                    "aws_s3_bucket.copy": {"bucket": "bb-copy", "provider": "aws.replica"}}),
                "provider": {"aws": [{"region": "${var.region}"}, {"alias": "replica", "region": region}]},
                "data": {"terraform_remote_state": {"lake": {"backend": "s3", "config": {"key": key}}}}}
    before = config("data-science/datalake-demo/terraform.tfstate", "${var.region_secondary}")
    after = config("apps-prd/datalake-demo/terraform.tfstate", "eu-central-1")
    around = refactor_guard.Surroundings(variables=lambda folder, name: {"region": "us-east-1",
                                                                         "region_secondary": "us-east-2"}[name])
    changes = refactor_guard.compare_configs({"a/r/l": (before, after)}, AWS_PROVIDER, around)
    by_address = {change.address: change for change in changes}
    assert by_address["data.terraform_remote_state.lake"].detail.startswith(
        "would read the state of apps-prd/datalake-demo/terraform.tfstate instead of "
        "data-science/datalake-demo/terraform.tfstate: what refers to it (aws_kinesis_firehose_delivery_stream.d)")
    assert by_address["provider aws.replica"].detail.startswith("region us-east-2 -> eu-central-1")
    assert by_address["aws_s3_bucket.copy"].detail == ("created anew in eu-central-1 (provider aws.replica); the one in "
                                                       "us-east-2 stays behind, outside the state")
    assert by_address["aws_kinesis_firehose_delivery_stream.d"].action == "repoint"  # its bucket is another one now
    # The remote state and the provider come first: what makes the rest move.
    assert [change.root_cause for change in guard_report.refused(changes)][:2] == [True, True]
    # The same region written another way moves nothing.
    same = config("data-science/datalake-demo/terraform.tfstate", "us-east-2")
    assert refactor_guard.compare_configs({"a/r/l": (before, same)}, AWS_PROVIDER, around) == []


QUEUE = {"name": "${each.value}"}


@pytest.mark.parametrize("before, after, destroyed, created", [
    ({"for_each": '${toset(["billing", "search"])}'}, {"for_each": '${toset(["search", "shipping"])}'},
     ['["billing"]'], ['["shipping"]']),
    ({"for_each": {"billing": "a", "search": "b"}}, {"for_each": {"search": "b"}}, ['["billing"]'], []),
    ({"for_each": '${toset(toset(["a"]))}'}, {"for_each": '${toset(toset(["a", "b"]))}'}, [], ['["b"]']),
    ({"count": 3}, {"count": 1}, ["[1]", "[2]"], []),
    ({"count": 1}, {"count": 2}, [], ["[1]"]),
    ({}, {"for_each": {"billing": "a"}}, [""], ['["billing"]']),  # Terraform moves no instance to a key
    ({"for_each": {"billing": "a"}}, {}, ['["billing"]'], [""]),
    ({}, {"count": 2}, [], ["[1]"]),  # ... but the one instance to [0] when a count appears, and back
    ({"count": 1}, {}, [], []),
])
def test_instances_whose_count_or_for_each_key_is_gone_are_destroyed(before: dict, after: dict, destroyed: list[str],
                                                                     created: list[str]) -> None:
    """Terraform destroys each instance whose key the new `count` or `for_each` lacks: a stateful one is destructive
    (what synth refuses without --allow-destroy), not an update of the resource's `for_each`."""
    changes = compare_configs({"a/r/l": (layer({"aws_sqs_queue.q": {**QUEUE, **before}}),
                                         layer({"aws_sqs_queue.q": {**QUEUE, **after}}))})
    assert [(change.action, change.address, change.destructive) for change in changes] == sorted(
        [("destroy", f"aws_sqs_queue.q{key}", True) for key in destroyed]
        + [("create", f"aws_sqs_queue.q{key}", False) for key in created], key=lambda item: (item[1], item[0]))


def test_locals_and_variable_defaults_are_compared_by_their_values() -> None:
    """A local's value or a variable's default that changes changes what reads it: a queue named from a local is
    replaced, a count from a variable drops an instance; Leverage's variables (no default here) are names."""
    def config(name: str, shards: int) -> dict:
        return {**layer({"aws_sqs_queue.q": {"name": "${local.queue_name}"},
                         "aws_sqs_queue.s": {"name": "bb-s-${count.index}", "count": "${var.shards}"},
                         "aws_sqs_queue.r": {"name": "bb-r", "tags": {"region": "${var.region}"}}}),
                "locals": {"queue_name": name}, "variable": {"shards": {"default": shards}}}
    assert compare_configs({"a/r/l": (config("bb-q", 2), config("bb-q", 2))}) == []
    changes = {change.address: change for change in compare_configs({"a/r/l": (config("bb-q", 2),
                                                                                config("bb-q2", 1))})}
    assert (changes["aws_sqs_queue.q"].action, changes["aws_sqs_queue.q"].destructive) == ("replace", True)
    assert changes["aws_sqs_queue.s[1]"].action == "destroy" and "aws_sqs_queue.r" not in changes
    # A count, or any value, wrapped in an unchanged local or variable: nothing changes.
    literal = layer({"aws_sqs_queue.q": {"name": "bb-q"}, "aws_sqs_queue.s": {"name": "bb-s-${count.index}", "count": 2}})
    wrapped = {**layer({"aws_sqs_queue.q": {"name": "${local.queue_name}"},
                        "aws_sqs_queue.s": {"name": "bb-s-${count.index}", "count": "${var.shards}"}}),
               "locals": {"queue_name": "${local.queue_name_itself}", "queue_name_itself": "bb-q"},
               "variable": {"shards": {"default": 2}}}
    assert compare_configs({"a/r/l": (literal, wrapped)}) == []
    looping = {**json.loads(json.dumps(literal)), "locals": {"a": "${local.b}", "b": "${local.a}"}}
    looping["resource"]["aws_sqs_queue"]["q"] = {"name": "${local.a}"}
    [loop] = compare_configs({"a/r/l": (literal, looping)})  # locals naming each other: compared, not followed forever
    assert (loop.action, loop.address) == ("replace", "aws_sqs_queue.q")


def test_a_remote_state_read_through_a_local_or_a_data_source_is_followed() -> None:
    def config(state: str) -> dict:
        reads = f"${{data.terraform_remote_state.{state}.outputs.key_arn}}"
        return {**layer({"aws_sqs_queue.q": {"name": "bb-q", "kms_master_key_id": "${local.key}"},
                         "aws_sqs_queue.p": {"name": "bb-p", "policy": "${data.aws_iam_policy_document.p.json}"}}),
                "locals": {"key": reads},
                "data": {"aws_iam_policy_document": {"p": {"statement": [{"resources": [reads]}]}},
                         "terraform_remote_state": {state: {"backend": "s3",
                                                            "config": {"key": f"a/{state}/terraform.tfstate"}}}}}
    changes = compare_configs({"a/r/l": (config("security_keys"), config("kms"))})
    assert {(change.action, change.address) for change in changes} == {("repoint", "aws_sqs_queue.q"),
                                                                       ("repoint", "aws_sqs_queue.p")}


def test_a_moved_block_between_instances_moves_them() -> None:
    """From `count` to `for_each` (or no key to a key), declared with `moved` blocks of instances: state only."""
    before = layer({"aws_sqs_queue.q": {"name": "bb-q-${count.index}", "count": 2}})
    after = layer({"aws_sqs_queue.q": {"name": "bb-q-${each.value}", "for_each": {"billing": "0", "search": "5"}}},
                  moved={"aws_sqs_queue.q[0]": 'aws_sqs_queue.q["billing"]'})
    changes = compare_configs({"a/r/l": (before, after)})
    # The moved instance keeps its name (bb-q-0, written either way): only the move.
    assert {(change.action, change.from_address, change.address) for change in changes} == {
        ("create", None, 'aws_sqs_queue.q["search"]'), ("destroy", None, "aws_sqs_queue.q[1]"),
        ("move", "aws_sqs_queue.q[0]", 'aws_sqs_queue.q["billing"]')} and len(changes) == 3
    renamed = layer({"aws_sqs_queue.q": {"name": "bb-q-${each.key}", "for_each": {"billing": "0"}}},
                    moved={"aws_sqs_queue.q[0]": 'aws_sqs_queue.q["billing"]'})
    replaced = [change for change in compare_configs({"a/r/l": (before, renamed)}) if change.action == "replace"]
    assert [(change.address, change.detail) for change in replaced] == [
        ('aws_sqs_queue.q["billing"]', "name changes, which the provider cannot change in place")]
    unkeyed = layer({"aws_sqs_queue.q": {"name": "bb-q-${each.key}", "for_each": {"billing": "a"}}},
                    moved={"aws_sqs_queue.q": 'aws_sqs_queue.q["billing"]'})
    [move] = compare_configs({"a/r/l": (layer({"aws_sqs_queue.q": {"name": "bb-q-billing"}}), unkeyed)})
    assert (move.action, move.from_address, move.address) == ("move", "aws_sqs_queue.q", 'aws_sqs_queue.q["billing"]')
    # A key of any script, as the moved block names it.
    accented = layer({"aws_sqs_queue.q": {"name": "bb-q-${each.key}", "for_each": {"ä": "a"}}},
                     moved={"aws_sqs_queue.q": 'aws_sqs_queue.q["ä"]'})
    [move] = compare_configs({"a/r/l": (layer({"aws_sqs_queue.q": {"name": "bb-q-ä"}}), accented)})
    assert (move.action, move.address) == ("move", 'aws_sqs_queue.q["ä"]')


def test_sections_that_are_null_or_not_objects_are_read_as_empty() -> None:
    queue = layer({"aws_sqs_queue.q": {"name": "bb-q", "kms_master_key_id": "${local.key}"}})
    odd = {**queue, "locals": None, "variable": [], "provider": "aws"}
    assert [change.action for change in compare_configs({"a/r/l": (odd, queue)})] == []


def test_a_for_each_value_an_argument_reads_replaces_or_updates_that_instance() -> None:
    def queue(values: dict, **arguments: str) -> dict:
        return layer({"aws_sqs_queue.q": {"for_each": values, **arguments}})
    named = {"name": "bb-${each.value}"}
    [replaced] = compare_configs({"a/r/l": (queue({"billing": "a", "search": "b"}, **named),
                                            queue({"billing": "a2", "search": "b"}, **named))})
    assert (replaced.action, replaced.address, replaced.destructive) == ("replace", 'aws_sqs_queue.q["billing"]', True)
    assert replaced.detail == "name changes, which the provider cannot change in place"
    tagged = {"name": "bb-${each.key}", "tags": {"v": "${each.value}"}}
    [updated] = compare_configs({"a/r/l": (queue({"billing": "a"}, **tagged), queue({"billing": "a2"}, **tagged))})
    assert (updated.action, updated.address) == ("update", 'aws_sqs_queue.q["billing"]')
    nested = {"name": "bb-${each.value.name}"}  # read inside a longer expression: the same
    [inside] = compare_configs({"a/r/l": (queue({"a": {"name": "x"}}, **nested), queue({"a": {"name": "y"}}, **nested))})
    assert (inside.action, inside.address) == ("replace", 'aws_sqs_queue.q["a"]')
    keyed = {"name": "bb-${each.key}"}
    assert compare_configs({"a/r/l": (queue({"billing": "a"}, **keyed), queue({"billing": "a2"}, **keyed))}) == []


def test_a_count_or_for_each_decided_by_an_expression_is_a_replacement_until_the_plan_says_more() -> None:
    [change] = compare_configs({"a/r/l": (layer({"aws_sqs_queue.q": {**QUEUE, "for_each": "${var.queues}"}}),
                                          layer({"aws_sqs_queue.q": {**QUEUE, "for_each": "${var.other}"}}))})
    assert (change.action, change.destructive) == ("replace", True)
    assert change.detail.startswith('{"for_each": "${var.queues}"} becomes {"for_each": "${var.other}"}: the '
                                    "instances whose keys are gone would be destroyed")


def test_a_dynamic_block_forces_what_its_block_forces() -> None:
    def table(indexes: list[str]) -> dict:
        return layer({"aws_dynamodb_table.t": {"name": "bb-t", "dynamic": {"local_secondary_index": {
            "for_each": indexes, "content": {"name": "${local_secondary_index.value}"}}}}})
    [change] = compare_configs({"a/r/l": (table(["a"]), table(["a", "b"]))})
    assert (change.action, change.destructive) == ("replace", True)
    assert change.detail.startswith("local_secondary_index changes")


def test_a_replacement_that_also_points_elsewhere_is_refused_as_the_replacement() -> None:
    """--allow-repoint must not let a destroy through: a name read from another layer's state is a forcing argument."""
    def config(state: str) -> dict:
        return {**layer({"aws_sqs_queue.q": {"name": f"${{data.terraform_remote_state.{state}.outputs.queue_name}}"}}),
                "data": {"terraform_remote_state": {state: {"backend": "s3",
                                                            "config": {"key": f"a/{state}/terraform.tfstate"}}}}}
    changes = compare_configs({"a/r/l": (config("naming"), config("naming_v2"))})
    queue, = [change for change in changes if change.address == "aws_sqs_queue.q"]
    assert (queue.action, queue.destructive) == ("replace", True)


def with_providers(resources: dict[str, dict], **regions: str) -> dict:
    return {**layer(resources), "provider": {"aws": [{"region": "us-east-1"}] + [
        {"alias": alias, "region": region} for alias, region in regions.items()]}}


def test_a_resource_moved_to_a_provider_configured_elsewhere_is_created_anew_there() -> None:
    queue = {"name": "bb-dead-letters"}
    before = with_providers({"aws_sqs_queue.q": queue}, west="us-east-2", twin="us-east-1")
    [change] = compare_configs({"a/r/l": (before, with_providers({"aws_sqs_queue.q": {**queue, "provider": "aws.west"}},
                                                                   west="us-east-2", twin="us-east-1"))})
    assert (change.action, change.repointing) == ("repoint", True)
    assert change.detail == ("managed by provider aws.west (region us-east-2) instead of aws (region us-east-1): "
                             "created anew where aws.west points, and the one aws manages is left behind, outside the "
                             "state, with what it holds")
    # Another alias configured alike finds the same queue: only the argument changes.
    [same] = compare_configs({"a/r/l": (before, with_providers({"aws_sqs_queue.q": {**queue, "provider": "aws.twin"}},
                                                                 west="us-east-2", twin="us-east-1"))})
    assert (same.action, same.detail) == ("update", "changes provider")
    # The alias itself given another role to assume: its resources are another account's.
    assumed = with_providers({"aws_sqs_queue.q": {**queue, "provider": "aws.west"}}, west="us-east-2")
    elsewhere = json.loads(json.dumps(assumed))
    assumed["provider"]["aws"][1]["assume_role"] = [{"role_arn": "arn:aws:iam::777777777777:role/x"}]
    elsewhere["provider"]["aws"][1]["assume_role"] = [{"role_arn": "arn:aws:iam::555555555555:role/x"}]
    by_address = {change.address: change for change in compare_configs({"a/r/l": (assumed, elsewhere)})}
    assert by_address["provider aws.west"].detail.startswith("assume_role changes: every resource it manages")
    assert by_address["aws_sqs_queue.q"].action == "repoint"
    retagged_only = json.loads(json.dumps(assumed))
    retagged_only["provider"]["aws"][1]["default_tags"] = [{"tags": {"team": "data"}}]
    retagged_only["provider"]["aws"][1]["max_retries"] = 10  # nor how it calls AWS
    assert compare_configs({"a/r/l": (assumed, retagged_only)}) == []
    # Another alias differing in its default tags only: the same queue.
    tagged = {**with_providers({"aws_sqs_queue.q": {**queue, "provider": "aws.tagged"}}, tagged="us-east-1")}
    tagged["provider"]["aws"][1]["default_tags"] = [{"tags": {"team": "data"}}]
    [retagged] = compare_configs({"a/r/l": (before, tagged)})
    assert retagged.action == "update"
    # The alias renamed, configured as before: the same queue too.
    before_renamed = with_providers({"aws_sqs_queue.q": {**queue, "provider": "aws.west"}}, west="us-east-2")
    [renamed] = compare_configs({"a/r/l": (before_renamed, with_providers(
        {"aws_sqs_queue.q": {**queue, "provider": "aws.ohio"}}, ohio="us-east-2"))})
    assert (renamed.action, renamed.detail) == ("update", "changes provider")


def test_a_renamed_remote_state_reading_another_layer_not_generated_here_repoints_what_reads_it() -> None:
    def config(state: str, key: str) -> dict:
        return {**layer({"aws_kinesis_stream.s": {**STREAM, "kms_key_id":
                                                  f"${{data.terraform_remote_state.{state}.outputs.key_arn}}"}}),
                "data": {"terraform_remote_state": {state: {"backend": "s3", "config": {"key": key}}}}}
    before = config("security_keys", "apps-devstg/security-keys/terraform.tfstate")
    [change] = compare_configs({"a/r/l": (before, config("kms", "apps-devstg/kms/terraform.tfstate"))})
    assert (change.action, change.address) == ("repoint", "aws_kinesis_stream.s")
    assert change.detail.startswith("would read the state of apps-devstg/kms/terraform.tfstate instead of "
                                    "apps-devstg/security-keys/terraform.tfstate (remote state kms instead of "
                                    "security_keys)")
    # Renamed, reading the same state: nothing moves.
    assert compare_configs({"a/r/l": (before, config("keys", "apps-devstg/security-keys/terraform.tfstate"))}) == []


def test_remote_states_that_only_swap_names_move_nothing_but_what_reads_another_layer_through_them() -> None:
    """Reordered sources: the layer reads the same two states under swapped names. The data sources' change alone
    repoints nothing; a resource whose arguments read another layer through a swapped name does."""
    def config(first: str, second: str, reader: dict) -> dict:
        return {**layer({"aws_kinesis_stream.s": STREAM, "aws_sqs_queue.q": reader}),
                "data": {"terraform_remote_state": {
                    "sources": {"backend": "s3", "config": {"key": f"{first}/databases-dynamodb/terraform.tfstate"}},
                    "second_sources": {"backend": "s3",
                                       "config": {"key": f"{second}/databases-dynamodb/terraform.tfstate"}}}}}
    plain = {"name": "bb-q"}
    assert compare_configs({"a/r/l": (config("apps-devstg", "apps-prd", plain),
                                      config("apps-prd", "apps-devstg", plain))}) == []
    reader = {"name": "bb-q", "tags": {"table": "${data.terraform_remote_state.sources.outputs.table_name}"}}
    [change] = compare_configs({"a/r/l": (config("apps-devstg", "apps-prd", reader),
                                          config("apps-prd", "apps-devstg", reader))})
    assert (change.action, change.address) == ("repoint", "aws_sqs_queue.q")
    assert change.detail == ("reads apps-prd/databases-dynamodb/terraform.tfstate instead of "
                             "apps-devstg/databases-dynamodb/terraform.tfstate through "
                             "data.terraform_remote_state.sources, whose name reads another layer now")
    # Reading both, in the other order now: the same two layers, an update.
    both = {"name": "bb-q", "tags": {"tables": "${data.terraform_remote_state.sources.outputs.table_name},"
                                               "${data.terraform_remote_state.second_sources.outputs.table_name}"}}
    [update] = compare_configs({"a/r/l": (config("apps-devstg", "apps-prd", both),
                                          config("apps-prd", "apps-devstg", both))})
    assert (update.action, update.detail) == ("update", "changes tags")


def test_an_output_that_names_another_resource_while_the_first_stays_repoints_its_readers() -> None:
    tables = {"aws_dynamodb_table.orders": {"name": "bb-orders"}, "aws_dynamodb_table.users": {"name": "bb-users"}}

    def config(first: str) -> dict:
        return {**layer(tables), "output": {"table_name": {"value": f"${{aws_dynamodb_table.{first}.name}}"}}}
    [change] = compare_configs({"a/r/l": (config("orders"), config("users"))})
    assert (change.action, change.address, change.repointing) == ("repoint", "output.table_name", True)
    assert change.detail == ("would name aws_dynamodb_table.users instead of aws_dynamodb_table.orders: what reads this "
                             "output from outside the generated layers then points at another resource")
    # A map's entries swapped, an instance of another key: readers of one entry follow another resource.
    def outputs(value: object) -> dict:
        return {**layer(tables), "output": {"tables": {"value": value}}}
    swapped = compare_configs({"a/r/l": (outputs({"main": "${aws_dynamodb_table.orders.arn}",
                                                   "other": "${aws_dynamodb_table.users.arn}"}),
                                          outputs({"main": "${aws_dynamodb_table.users.arn}",
                                                   "other": "${aws_dynamodb_table.orders.arn}"}))})
    [change] = swapped
    assert change.detail.startswith('["main"] would name aws_dynamodb_table.users instead of aws_dynamodb_table.orders; '
                                    '["other"] would name aws_dynamodb_table.orders instead of aws_dynamodb_table.users')
    # A list is read as a whole: an entry added in front moves no reader.
    assert compare_configs({"a/r/l": (outputs(["${aws_dynamodb_table.orders.arn}"]),
                                      outputs(["${aws_dynamodb_table.users.arn}", "${aws_dynamodb_table.orders.arn}"]))}
                           ) == []
    [keyed] = compare_configs({"a/r/l": (outputs('${aws_dynamodb_table.orders["a"].arn}'),
                                         outputs('${aws_dynamodb_table.orders["b"].arn}'))})
    assert keyed.detail.startswith('would name aws_dynamodb_table.orders["b"] instead of aws_dynamodb_table.orders["a"]')
    # The resource it named destroyed: that destroy is the change to see.
    gone = {**layer({"aws_dynamodb_table.users": tables["aws_dynamodb_table.users"]}),
            "output": {"table_name": {"value": "${aws_dynamodb_table.users.name}"}}}
    assert [change.action for change in compare_configs({"a/r/l": (config("orders"), gone)})] == ["destroy"]


@pytest.mark.parametrize("note, moves", [
    ('# Regions when generated: var.region = "us-east-1", var.region_secondary = "us-east-2"\n', True),
    ("", False),  # a config.tf written without the note: the var-files' value now is all there is
])
def test_a_provider_region_written_with_a_variable_is_the_one_config_tf_notes(tmp_path: Path, note: str,
                                                                                moves: bool) -> None:
    replica = {"aws_s3_bucket.copy": {"bucket": "bb-copy", "provider": "aws.replica"}}
    folder = tmp_path / "a/r/l"
    folder.mkdir(parents=True)
    (folder / "main.tf.json").write_text(json.dumps({"//": marker("stacks/x.py"), **layer(replica)}))
    (folder / "config.tf").write_text(f"# {marker('stacks/x.py')}\n{note}"
                                      'provider "aws" {\n  region = var.region\n}\n'
                                      'provider "aws" {\n  alias  = "replica"\n  region = var.region_secondary\n}\n')
    new = {**layer(replica), "provider": {"aws": [{"region": "${var.region}"},
                                                  {"alias": "replica", "region": "${var.region_secondary}"}]}}
    # common.tfvars says us-west-2 now.
    around = refactor_guard.Surroundings(variables=lambda folder, name: {"region": "us-east-1",
                                                                         "region_secondary": "us-west-2"}[name])
    changes = refactor_guard.compare_configs({"a/r/l": (refactor_guard.committed_config(folder), new)}, AWS_PROVIDER,
                                             around)
    assert [change.detail.split(":")[0] for change in changes if change.root_cause] == \
        (["region us-east-2 -> us-west-2"] if moves else [])


# --- through the command line, on a synthesized copy of the example -------------------------------------------

@pytest.fixture
def applied(synthesized_example: Path, tmp_path: Path) -> Path:
    """A copy of the synthesized example: the layers as last generated (and applied)."""
    return Path(shutil.copytree(synthesized_example, tmp_path / "example", symlinks=True))


@pytest.fixture
def stream_renamed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refactor of the datalake stack: the stream construct gets another id, so another address."""
    from stacks import datalake

    original = datalake.DataStream
    monkeypatch.setattr(datalake, "DataStream", lambda scope, _id, props: original(scope, "Stream", props))


def test_synth_says_which_resources_holding_no_data_it_replaces(capsys: pytest.CaptureFixture[str],
                                                                 applied: Path) -> None:
    """A replacement that loses nothing is written without a flag, and said once, when written: an alarm e-mail
    subscription made for another address waits for its confirmation again."""
    first = run_cli(capsys, "synth", "-c", f"leverageRoot={applied}", "-c", "alarmEmail=oncall@example.com")
    assert first.code == 0 and "replace of" not in first.err
    again = run_cli(capsys, "synth", "-c", f"leverageRoot={applied}", "-c", "alarmEmail=data-oncall@example.com")
    assert again.code == 0
    said = [line for line in again.err.splitlines() if "replace of" in line]
    assert said and all(line.startswith("warning: layer ") and ": replace of aws_sns_topic_subscription." in line
                        and line.endswith("endpoint changes, which the provider cannot change in place; nothing it "
                                          "holds is lost, but the next apply destroys and recreates it")
                        for line in said), said
    unchanged = run_cli(capsys, "synth", "-c", f"leverageRoot={applied}", "-c", "alarmEmail=data-oncall@example.com")
    assert unchanged.code == 0 and "replace of" not in unchanged.err


def test_check_reports_an_undeclared_move_as_destructive_drift(
        capsys: pytest.CaptureFixture[str], applied: Path, stream_renamed: None) -> None:
    result = run_cli(capsys, "check", "-c", f"leverageRoot={applied}")
    assert result.code == 1
    assert f"    destroy  aws_kinesis_stream.change_stream [destroy/replace]: would destroy and recreate " \
           f"aws_kinesis_stream {STREAM_NAME}: it leaves aws_kinesis_stream.change_stream and appears at " \
           f"aws_kinesis_stream.stream without a moved block" in result.out
    assert "DESTRUCTIVE" in result.out
    # The stream's destroy, its create at the new address, and the streaming destination it replaces.
    flagged = result.out.count("  DESTRUCTIVE\n")
    assert flagged == 3 and f"\n{flagged} destructive change(s): a resource would be destroyed and recreated\n" \
        in result.out
    # ... and what synth would refuse, with the fix for whoever changed the stack's code.
    assert "`self.moved('aws_kinesis_stream.change_stream', 'aws_kinesis_stream.stream')` in the layer; or pass " \
        "--allow-destroy if that is intended\n" in result.out
    assert f"synth refuses: layer {DATALAKE}: would destroy and recreate aws_kinesis_stream" in result.out
    # What references the stream is updated in place (its policy names the stream's ARN by the new address).
    assert "update   aws_kinesis_firehose_delivery_stream.delivery [update in place]" not in result.out
    found = json.loads(run_cli(capsys, "check", "--json", "-c", f"leverageRoot={applied}").out)
    by_action = {(item["action"], item["address"]): item for item in found["resources"]}
    destroy = by_action[("destroy", "aws_kinesis_stream.change_stream")]
    assert destroy["destructive"] and destroy["undeclared_move"] and destroy["layer"] == DATALAKE
    assert by_action[("create", "aws_kinesis_stream.stream")]["consequence"] == "create"
    assert {item["consequence"] for item in found["resources"]} <= {
        "create", "create (import)", "update in place", "destroy/replace", "none, state only"}


def test_synth_refuses_an_undeclared_move_and_writes_nothing(
        capsys: pytest.CaptureFixture[str], applied: Path, stream_renamed: None) -> None:
    before = tree_digest(applied)
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={applied}")
    assert result.code == 2
    assert result.err.startswith(f"error: layer {DATALAKE}: would destroy and recreate aws_kinesis_stream "
                                 f"{STREAM_NAME}: ")
    assert result.err.rstrip().endswith("; nothing was written; declare the move: `.renamed_from('change_stream')` on "
                                        "the construct, or `self.moved('aws_kinesis_stream.change_stream', "
                                        "'aws_kinesis_stream.stream')` in the layer; or pass --allow-destroy if that "
                                        "is intended"), result.err
    assert len(result.err.strip().splitlines()) == 1
    assert tree_digest(applied) == before
    assert run_cli(capsys, "synth", "--allow-destroy", "-c", f"leverageRoot={applied}").code == 0
    assert '"change_stream"' not in (applied / DATALAKE / "main.tf.json").read_text()


def test_a_declared_move_passes_synth_and_check_shows_only_the_move(
        capsys: pytest.CaptureFixture[str], applied: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stacks import datalake

    original = datalake.DataStream

    def renamed_with_move(scope, _id, props):
        stream = original(scope, "Stream", props)
        stream.renamed_from("change_stream")
        return stream

    monkeypatch.setattr(datalake, "DataStream", renamed_with_move)
    result = run_cli(capsys, "check", "-c", f"leverageRoot={applied}")
    assert result.code == 1  # the layer file changes: drift, but not destructive
    assert "    move     aws_kinesis_stream.change_stream -> aws_kinesis_stream.stream [none, state only]" in result.out
    assert "DESTRUCTIVE" not in result.out and "destroy" not in result.out.split("resources (")[1]
    assert run_cli(capsys, "synth", "-c", f"leverageRoot={applied}").code == 0
    config = layer_config(applied / DATALAKE)
    assert {"from": "aws_kinesis_stream.change_stream", "to": "aws_kinesis_stream.stream"} in config["moved"]


def test_changing_a_setting_that_replaces_the_table_needs_allow_destroy(
        capsys: pytest.CaptureFixture[str], applied: Path) -> None:
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={applied}", "-c", "dynamodbPartitionKey=pk:S")
    assert result.code == 2
    assert "replace of aws_dynamodb_table.app_data: hash_key changes" in result.err
    assert run_cli(capsys, "synth", "--allow-destroy", "-c", f"leverageRoot={applied}",
                   "-c", "dynamodbPartitionKey=pk:S").code == 0


def test_a_replaced_resource_replaces_what_references_it_in_a_forcing_argument_transitively() -> None:
    role = {"name": "bb-firehose-role"}
    firehose = {"name": "bb-delivery", "destination": "extended_s3",
                "kinesis_source_configuration": [{"role_arn": "${aws_iam_role.firehose.arn}"}]}
    database = {"name": "bb_lake"}
    crawler = {"name": "${aws_glue_catalog_database.db.name}-crawler", "role": "x"}
    crawler_role = {"name": "${aws_glue_crawler.c.name}-role"}
    crawler_policy = {"role": "${aws_iam_role.crawler.id}", "policy": "{}"}
    old = layer({"aws_iam_role.firehose": role, "aws_kinesis_firehose_delivery_stream.delivery": firehose,
                 "aws_glue_catalog_database.db": database, "aws_glue_crawler.c": crawler,
                 "aws_iam_role.crawler": crawler_role, "aws_iam_role_policy.crawler": crawler_policy})
    new = json.loads(json.dumps(old))
    new["resource"]["aws_iam_role"]["firehose"]["name"] = "bb-reference-role"
    new["resource"]["aws_glue_catalog_database"]["db"]["name"] = "bb_lake_2"
    changes = {change.address: change for change in compare_configs({"a/r/l": (old, new)})}
    delivery = changes["aws_kinesis_firehose_delivery_stream.delivery"]
    assert (delivery.action, delivery.destructive, delivery.detail) == (
        "replace", True, "kinesis_source_configuration references aws_iam_role.firehose, which is replaced")
    assert {address: change.action for address, change in changes.items()} == {
        "aws_iam_role.firehose": "replace", "aws_kinesis_firehose_delivery_stream.delivery": "replace",
        "aws_glue_catalog_database.db": "replace", "aws_glue_crawler.c": "replace",
        "aws_iam_role.crawler": "replace", "aws_iam_role_policy.crawler": "replace"}
    # An argument that does not force replacement (a policy naming the role) is updated, not replaced.
    old = layer({"aws_iam_role.firehose": role, "aws_kinesis_stream.s": {**STREAM, "x": "${aws_iam_role.firehose.arn}"}})
    new = layer({"aws_iam_role.firehose": {"name": "other"},
                 "aws_kinesis_stream.s": {**STREAM, "x": "${aws_iam_role.firehose.arn}"}})
    assert actions(old, new) == {"replace aws_iam_role.firehose": ("destroy/replace", False)}


def test_an_attribute_the_replaced_resource_spells_out_unchanged_replaces_nothing_else() -> None:
    """Terraform plans a replaced resource's configured arguments as known: a log group named after a function
    switched to a container image stays. What references the function's computed ARN, or a value inside one of its
    blocks, is replaced with it, and so is what lives in the function (its permission: AWS deletes it with it)."""
    function = {"function_name": "bb-handler", "package_type": "Zip", "role": "x", "tracing_config": [{"mode": "Active"}]}
    logs = {"name": "/aws/lambda/${aws_lambda_function.fn.function_name}"}
    by_block = {"name": "/traces/${aws_lambda_function.fn.tracing_config[0].mode}"}
    permission = {"function_name": "${aws_lambda_function.fn.function_name}", "action": "lambda:InvokeFunction",
                  "principal": "events.amazonaws.com"}
    rule = {"name": "bb-rule"}
    target = {"rule": "${aws_cloudwatch_event_rule.r.name}", "arn": "${aws_lambda_function.fn.arn}"}
    resources = {"aws_lambda_function.fn": function, "aws_cloudwatch_log_group.logs": logs,
                 "aws_cloudwatch_log_group.by_block": by_block, "aws_lambda_permission.by_name": permission,
                 "aws_cloudwatch_event_rule.r": rule, "aws_cloudwatch_event_target.t": target}
    old = layer(resources)
    new = layer({**resources, "aws_lambda_function.fn": {**function, "package_type": "Image"}})
    assert {address for address in actions(old, new)} == {
        "replace aws_lambda_function.fn", "replace aws_cloudwatch_log_group.by_block",
        "replace aws_lambda_permission.by_name"}
    # A rule replaced for its event bus takes its targets along, which name it by its (unchanged) name.
    rebused = layer({**resources, "aws_cloudwatch_event_rule.r": {**rule, "event_bus_name": "other"}})
    assert "replace aws_cloudwatch_event_target.t" in actions(old, rebused)
    # Renamed, the function's name is a new value: what is named after it is replaced too.
    renamed = layer({**resources, "aws_lambda_function.fn": {**function, "function_name": "bb-other"}})
    assert "replace aws_cloudwatch_log_group.logs" in actions(old, renamed)


def test_dropping_adoption_is_refused_because_the_firehose_is_replaced_with_its_role(
        capsys: pytest.CaptureFixture[str], applied: Path) -> None:
    adopted = run_cli(capsys, "synth", "--allow-destroy", "-c", f"leverageRoot={applied}", "-c", "adoptExisting=datalake")
    assert adopted.code == 0, adopted.err
    before = tree_digest(applied)
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={applied}")
    assert result.code == 2 and result.err.count("\n") == 1
    assert (f"error: layer {DATALAKE}: replace of aws_kinesis_firehose_delivery_stream.delivery: "
            "kinesis_source_configuration references aws_iam_role.") in result.err, result.err
    assert tree_digest(applied) == before


def test_a_key_attribute_type_change_is_refused_and_allow_destroy_says_what_to_do_by_hand(
        capsys: pytest.CaptureFixture[str], applied: Path) -> None:
    tables = "apps-devstg/us-east-1/databases-dynamodb"
    before = tree_digest(applied)
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={applied}", "-c", "dynamodbPartitionKey=id:N")
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert result.err.startswith(f"error: layer {tables}: aws_dynamodb_table.app_data: the type of key attribute id "
                                 "changes (S -> N): DynamoDB cannot change a key attribute's type"), result.err
    assert "pass --allow-destroy to write it and then replace it by hand: " \
           "`leverage tf apply -replace=aws_dynamodb_table.app_data`" in result.err
    assert tree_digest(applied) == before
    check = run_cli(capsys, "check", "-c", f"leverageRoot={applied}", "-c", "dynamodbPartitionKey=id:N")
    assert "manual   aws_dynamodb_table.app_data [fails: replace it by hand]" in check.out
    allowed = run_cli(capsys, "synth", "--allow-destroy", "-c", f"leverageRoot={applied}",
                      "-c", "dynamodbPartitionKey=id:N")
    assert allowed.code == 0
    assert (f"warning: --allow-destroy: layer {tables}: manual of aws_dynamodb_table.app_data: the type of key "
            "attribute id changes (S -> N)") in allowed.err
    assert f"replace it by hand: `leverage tf apply -replace=aws_dynamodb_table.app_data` in {tables}" in allowed.err


def test_allow_destroy_prints_every_destructive_change_it_wrote(
        capsys: pytest.CaptureFixture[str], applied: Path, stream_renamed: None) -> None:
    result = run_cli(capsys, "synth", "--allow-destroy", "-c", f"leverageRoot={applied}", "-c", "dynamodbPartitionKey=pk:S")
    assert result.code == 0
    lines = [line for line in result.err.splitlines() if line.startswith("warning: --allow-destroy: ")]
    assert f"warning: --allow-destroy: layer apps-devstg/us-east-1/databases-dynamodb: replace of " \
           "aws_dynamodb_table.app_data: hash_key changes, which the provider cannot change in place" in lines
    assert any(line.startswith(f"warning: --allow-destroy: layer {DATALAKE}: would destroy and recreate "
                               f"aws_kinesis_stream {STREAM_NAME}") for line in lines), lines
    assert len(lines) >= 3  # the stream's destroy and create, the table's replace, and what they replace
    # Nothing destructive: nothing printed.
    again = run_cli(capsys, "synth", "--allow-destroy", "-c", f"leverageRoot={applied}", "-c", "dynamodbPartitionKey=pk:S")
    assert again.code == 0 and "--allow-destroy:" not in again.err


def test_a_fifo_where_the_layer_file_goes_is_no_committed_layer(tmp_path: Path) -> None:
    """Reading a FIFO waits for a writer that never comes; the write then refuses it as not a generated file."""
    fifo = tmp_path / refactor_guard.LAYER_FILE
    os.mkfifo(fifo)
    with ThreadPoolExecutor(1) as pool:
        committed = pool.submit(refactor_guard.committed_config, tmp_path)
        try:
            assert committed.result(timeout=10) == {}
        finally:
            if not committed.done():  # end the blocked read, so that the test fails instead of hanging
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
