"""Terraform JSON values written as HCL (leverage/hcl.py), read back with python-hcl2, the parser the Leverage CLI
uses, and laid out as `terraform fmt` lays them out; and the small rules of rendering a layer (leverage/render.py)
that the example's layers do not exercise."""
from __future__ import annotations

import hcl2
import pytest

from leverage import hcl

VALUES = {
    "reference": "${var.region}",
    "indexed_reference": '${data.terraform_remote_state.keys.outputs["arn"]}',
    "template": "prefix-${var.project}",
    "escapes": 'a "quoted" \\ back\nslash\rreturn',
    "whole": 3,
    "fraction": 1.5,
    "yes": True,
    "no": False,
    "nothing": None,
    "list": ["x", 2, True, None],
    "map": {"plain_key": "v", "dashed-key": 1, "spaced key": "w", "1digit": "d"},
    "empty_map": {},
    "nested": {"outer": {"inner": ["a", "b"]}},
}


@pytest.mark.parametrize("name", VALUES)
def test_values_read_back_as_written(name: str) -> None:
    assert hcl2.loads("\n".join(hcl.body({name: VALUES[name]}, 0)) + "\n") == {name: VALUES[name]}


def test_a_body_is_laid_out_like_terraform_fmt() -> None:
    data = {"region": "${var.region}", "profile": "${var.profile}",
            "tags": {"Project": "bb", "Layer-Name": "datalake"},
            "max_retries": 3,
            "default_tags": [{"tags": {"a": "1"}}],
            "assume_role": [{"role_arn": "arn"}, {"role_arn": "other"}]}
    assert "\n".join(hcl.body(data, 1)) + "\n" == """\
  region  = var.region
  profile = var.profile
  tags = {
    Project    = "bb"
    Layer-Name = "datalake"
  }
  max_retries = 3
  default_tags {
    tags = {
      a = "1"
    }
  }
  assume_role {
    role_arn = "arn"
  }
  assume_role {
    role_arn = "other"
  }
"""


@pytest.mark.parametrize("data, written", [
    ("${var.region}", "var.region"),
    ("${var.region}-x", '"${var.region}-x"'),
    ("x${var.region}", '"x${var.region}"'),
    ("${a} ${b}", '"${a} ${b}"'),
    ([], "[]"),
    ([{"a": 1}], "[{\n  a = 1\n}]"),
])
def test_only_a_whole_single_reference_is_written_bare(data: object, written: str) -> None:
    assert hcl.value(data) == written


def test_strings_escape_backslashes_quotes_and_line_breaks() -> None:
    assert hcl.string('C:\\dir "x"\r\n') == '"C:\\\\dir \\"x\\"\\r\\n"'


def test_keys_that_are_not_identifiers_are_quoted() -> None:
    assert [hcl.key(name) for name in ("a", "_a", "a-b", "a_1", "1a", "a b", "a.b", "")] == [
        "a", "_a", "a-b", "a_1", '"1a"', '"a b"', '"a.b"', '""']


def test_values_terraform_cannot_hold_are_refused() -> None:
    with pytest.raises(TypeError, match="cannot write set as HCL"):
        hcl.value({1, 2})


def test_maps_nest_with_two_spaces_per_level() -> None:
    assert hcl.value({"a": {"b": {"c": 1}, "d": [{"e": 2}]}}, 1) == (
        "{\n    a = {\n      b = {\n        c = 1\n      }\n      d = [{\n        e = 2\n      }]\n    }\n  }")


@pytest.mark.parametrize("requirement, written", [
    ({"source": "aws", "version": "6.25.0"}, {"source": "hashicorp/aws", "version": "~> 6.25"}),
    ({"source": "hashicorp/aws", "version": "6.25.1"}, {"source": "hashicorp/aws", "version": "~> 6.25"}),
    ({"source": "example/thing", "version": ">= 1.2"}, {"source": "example/thing", "version": ">= 1.2"}),
    ({}, {"source": "", "version": ""}),
])
def test_provider_requirements_are_written_as_layers_pin_them(requirement: dict, written: dict) -> None:
    from leverage.render.layer_folder import _registry_requirement

    assert _registry_requirement(requirement) == written


@pytest.mark.parametrize("resource, kind, name", [
    ({"name": "bb-apps-devstg-stream"}, "aws_kinesis_stream", "bb-apps-devstg-stream"),
    ({"name": "${aws_iam_role.firehose.name}-policy"}, "aws_iam_role_policy", ""),
    ({"name": ["not", "a", "string"]}, "aws_iam_role", ""),
    # Buckets and keys are named by what names them in AWS (the lifecycle's identity arguments), not `name`.
    ({"bucket": "bb-raw", "name": "x"}, "aws_s3_bucket", "bb-raw"),
    ({"description": "Data lake buckets a and b"}, "aws_kms_key", "Data lake buckets a and b"),
    ({"alarm_name": "bb-freshness"}, "aws_cloudwatch_metric_alarm", "bb-freshness"),
    ({"bucket": "${aws_s3_bucket.raw.id}"}, "aws_s3_bucket_policy", ""),
])
def test_readme_lists_a_resource_name_only_when_it_is_literal(resource: dict, kind: str, name: str) -> None:
    from aws_constructs.lifecycle import AWS_PROVIDER
    from leverage.render.layer_folder import _literal_name

    assert _literal_name(resource, AWS_PROVIDER.identity_arguments(kind)) == name


def test_literal_text_escapes_terraform_template_sequences() -> None:
    assert hcl.literal("a ${b} %{c} $d %e {f}") == "a $${b} %%{c} $d %e {f}"
