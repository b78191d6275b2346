"""Which hashicorp/aws releases carry what a layer sets (aws_constructs/provider_versions.py): the lowest release a
range allows, the arguments the oldest proven release lacks (nested and dynamic blocks, data sources, the provider,
whole resource types), and the record read back as written."""
from __future__ import annotations

import gzip

import pytest

from aws_constructs import provider_versions
from aws_constructs.provider_versions import (OLDEST_PROVEN_VERSION, RecordedArguments, UncarriedArgument,
                                              arguments_of_schema, lowest_allowed, record, uncarried_arguments)

BINDINGS = "6.25.0"


@pytest.mark.parametrize("constraint,lowest", [
    (">= 5.100, < 7.0", (5, 100, 0)), ("~> 6.25", (6, 25, 0)), ("6.69.1", (6, 69, 1)), ("= 6.0.0", (6, 0, 0)),
    ("> 6.25.0", (6, 25, 1)), ("> 6.25", (6, 25, 1)), ("< 7.0", (0, 0, 0)), (">= 5.100, >= 6.2, != 6.3", (6, 2, 0)),
    ("", (0, 0, 0)),
])
def test_the_lowest_release_a_range_allows(constraint: str, lowest: tuple[int, int, int]) -> None:
    assert lowest_allowed(constraint) == (*lowest, 1)


def test_a_pre_release_is_installed_only_when_named_exactly() -> None:
    assert lowest_allowed("6.69.1-rc1") == lowest_allowed("= 6.69.1-rc1") == (6, 69, 1, 0) < lowest_allowed("6.69.1")
    for bound in (">= 6.69.1-rc1", "~> 6.69.1-rc1", "> 6.69.1-rc1"):  # then the release is the lowest installed
        assert lowest_allowed(bound) == (6, 69, 1, 1), bound


def layer(declared: str = ">= 5.100, < 7.0", **sections: dict) -> dict:
    return {"terraform": {"required_providers": {"aws": {"source": "aws", "version": declared}}}, **sections}


QUEUE = {"name": "q", "message_retention_seconds": 60, "tags": {"anything": "goes"}, "//": {"metadata": {}},
         "depends_on": ["aws_kms_key.k"], "lifecycle": {"prevent_destroy": True}}
LIFECYCLE = {"bucket": "b", "rule": [{"id": "r", "status": "Enabled", "filter": {"prefix": "raw/"},
                                      "transition": [{"days": 30, "storage_class": "GLACIER"}]}]}


def test_what_the_oldest_release_carries_passes() -> None:
    config = layer(resource={"aws_sqs_queue": {"q": QUEUE}, "aws_s3_bucket_lifecycle_configuration": {"l": LIFECYCLE}},
                   data={"aws_iam_policy_document": {"p": {"statement": [{"actions": ["s3:GetObject"]}]}},
                         "terraform_remote_state": {"lake": {"backend": "s3", "config": {"key": "k"}}}},
                   provider={"aws": [{"region": "us-east-1", "default_tags": [{"tags": {"A": "b"}}]},
                                     {"alias": "dr", "region": "us-west-2"}]})
    assert uncarried_arguments(config, BINDINGS) == []


def test_what_only_newer_releases_carry_is_found_wherever_it_is_set() -> None:
    """6.0's per-resource `region`, in a resource, a data source and a nested block; a made-up argument in a
    `dynamic` block's content; a resource type 5.100 does not have."""
    lifecycle = {**LIFECYCLE, "rule": [{**LIFECYCLE["rule"][0], "filter": {"prefix": "raw/", "region": "x"}}],
                 "dynamic": {"rule": {"for_each": "${var.rules}", "content": {"id": "d", "newer": 1}}}}
    config = layer(resource={"aws_sqs_queue": {"q": {**QUEUE, "region": "us-west-2"}},
                             "aws_s3_bucket_lifecycle_configuration": {"l": lifecycle},
                             "aws_no_such_service_thing": {"t": {"name": "t"}}},
                   data={"aws_iam_policy_document": {"p": {"region": "us-west-2"}}},
                   provider={"aws": {"region": "us-east-1", "newer_setting": True}})
    assert uncarried_arguments(config, BINDINGS) == [
        UncarriedArgument("aws_sqs_queue.q", "region"),
        UncarriedArgument("aws_s3_bucket_lifecycle_configuration.l", "rule.filter.region"),
        UncarriedArgument("aws_s3_bucket_lifecycle_configuration.l", "rule.newer"),
        UncarriedArgument("aws_no_such_service_thing.t", ""),
        UncarriedArgument("data.aws_iam_policy_document.p", "region"),
        UncarriedArgument("provider.aws", "newer_setting"),
    ]


def test_ephemeral_resources_are_checked_as_resources_are() -> None:
    """5.100 has a few ephemeral resource types (aws_ssm_parameter), without 6.0's `region`; CDK Terrain's bindings
    have more types."""
    config = layer(ephemeral={"aws_ssm_parameter": {"p": {"arn": "arn:aws:ssm:::parameter/p", "region": "x"}},
                              "aws_bedrockruntime_apply_guardrail": {"g": {}}})
    assert uncarried_arguments(config, BINDINGS) == [UncarriedArgument("ephemeral.aws_ssm_parameter.p", "region"),
                                                     UncarriedArgument("ephemeral.aws_bedrockruntime_apply_guardrail.g", "")]
    assert uncarried_arguments(layer(ephemeral={"aws_ssm_parameter": {"p": {"arn": "a"}}}), BINDINGS) == []


@pytest.mark.parametrize("declared,checked", [
    (">= 5.100, < 7.0", True), ("~> 6.0", True), (">= 6.25, < 7.0", False), ("~> 6.25", False), ("6.30.0", False),
    ("< 7.0", True), ("> 6.24.9", True), ("> 6.24", True), ("6.25.0-beta1", True), (">= 6.25.0-beta1", False),
])
def test_a_range_starting_at_the_bindings_release_carries_what_the_bindings_offer(declared: str, checked: bool) -> None:
    config = layer(declared, resource={"aws_sqs_queue": {"q": {**QUEUE, "region": "us-west-2"}}})
    assert bool(uncarried_arguments(config, BINDINGS)) is checked


def test_a_range_above_the_release_before_the_bindings_carries_what_they_offer() -> None:
    config = layer("> 6.25.0", resource={"aws_sqs_queue": {"q": {**QUEUE, "region": "us-west-2"}}})
    assert uncarried_arguments(config, "6.25.1") == []  # its lowest release is 6.25.1


def test_the_record_is_read_back_as_written_and_keeps_arguments_not_read_only_attributes() -> None:
    schema = {"provider_schemas": {"registry.terraform.io/hashicorp/aws": {
        "provider": {"block": {"attributes": {"region": {"optional": True}}}},
        "resource_schemas": {"aws_thing": {"block": {
            "attributes": {"name": {"required": True}, "arn": {"computed": True}, "tags": {"optional": True,
                                                                                          "computed": True}},
            "block_types": {"rule": {"block": {"attributes": {"days": {"optional": True}}}}}}}},
        "data_source_schemas": {"aws_thing": {"block": {"attributes": {"name": {"required": True}}}}},
        "ephemeral_resource_schemas": {"aws_secret": {"block": {"attributes": {"arn": {"required": True}}}}}}}}
    arguments = arguments_of_schema(schema)
    assert arguments["resource"]["aws_thing"] == {"name": 0, "tags": 0, "rule": {"days": 0}}
    written = record(arguments)
    assert record(arguments) == written  # the same record, the same bytes
    recorded = RecordedArguments(gzip.decompress(written))
    assert recorded.of("resource", "aws_thing") == arguments["resource"]["aws_thing"]
    assert recorded.of("data", "aws_thing") == {"name": 0} and recorded.of("provider", "aws") == {"region": 0}
    assert recorded.of("resource", "aws_other") is None and recorded.of("ephemeral", "aws_secret") == {"arn": 0}


def test_the_shipped_record_is_the_oldest_proven_release_s() -> None:
    """Against the provider's own schema: tests/stacks/test_terraform_validate.py."""
    assert OLDEST_PROVEN_VERSION in provider_versions.ARGUMENTS_FILE.name
    recorded = provider_versions.recorded_arguments()
    assert "region" not in recorded.of("resource", "aws_sqs_queue") and "rule" in \
        recorded.of("resource", "aws_s3_bucket_lifecycle_configuration")
