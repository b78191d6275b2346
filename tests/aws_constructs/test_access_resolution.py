"""How the access proof reads layers: Terraform's templates and expressions, AWS's computed attributes, policy
documents as the provider renders them, remote state followed to the other layer, and refusals that name what
cannot be resolved (no simulator needed here)."""
from __future__ import annotations

import json
import re

import pytest

from aws_constructs.access.expressions import Unresolved, evaluate_template
from aws_constructs.access.layers import Layers, TerraformLayer, terraform_json
from aws_constructs.access.policies import resource_policy, role_policies

PROVIDER = {"aws": [{"region": "${var.region}"}, {"alias": "replica", "region": "us-west-2"}]}


def layers() -> Layers:
    tables = TerraformLayer("apps/us-east-1/tables", "555555555555", terraform_json([{
        "provider": PROVIDER,
        "resource": {"aws_dynamodb_table": {"orders": {"name": "${var.project}-${var.environment}-orders"}}},
        "output": {"names": {"value": {"orders": "${aws_dynamodb_table.orders.name}"}},
                   "name": {"value": "${aws_dynamodb_table.orders.name}"}},
    }]), {"project": "bb", "environment": "apps", "region": "us-east-1"})
    lake = TerraformLayer("lake/us-east-1/lake", "777777777777", terraform_json([{
        "provider": PROVIDER,
        "data": {"terraform_remote_state": {"tables": {"config": {"key": "apps/tables/terraform.tfstate"}}},
                 "aws_iam_policy_document": {"bucket": {"statement": [
                     {"sid": "Write", "effect": "Allow", "actions": ["s3:PutObject"],
                      "principals": [{"type": "AWS", "identifiers": ["arn:aws:iam::555555555555:root"]}],
                      "resources": ["${aws_s3_bucket.raw.arn}/${lookup(data.terraform_remote_state.tables.outputs.names, "
                                    "\"orders\")}/*"],
                      "condition": [{"test": "StringLike", "variable": "s3:prefix", "values": ["a/*", "b/*"]}]}]},
                     "role": {"statement": [{"sid": "Read", "actions": ["s3:GetObject"],
                                             "resources": ["${aws_s3_bucket.raw.arn}/*"]}]}}},
        "resource": {"aws_s3_bucket": {"raw": {"bucket": "raw-bucket"},
                                       "copy": {"bucket": "raw-bucket-copy", "provider": "aws.replica"}},
                     "aws_s3_bucket_policy": {"raw": {"bucket": "${aws_s3_bucket.raw.id}",
                                                      "policy": "${data.aws_iam_policy_document.bucket.json}"}},
                     "aws_kms_key": {"key": {"description": "k"}},
                     "aws_iam_role": {"reader": {"name": "reader", "assume_role_policy": "{}"}},
                     "aws_iam_role_policy": {"reader": {"role": "${aws_iam_role.reader.id}", "name": "p",
                                                        "policy": "${data.aws_iam_policy_document.role.json}"}}},
        "output": {"table": {"value": "${data.terraform_remote_state.tables.outputs.name}"},
                   "missing": {"value": "${data.terraform_remote_state.nowhere.outputs.x}"}},
    }]), {"region": "us-east-1"}, {"tables": "apps/us-east-1/tables"})
    return Layers([tables, lake])


def test_templates_evaluate_references_functions_and_escapes() -> None:
    class Scope:
        def reference(self, path, expression):
            value = {("var", "names"): {"a": "A-b"}, ("var", "x"): "X"}[path[:2]]
            for step in path[2:]:
                value = value[step]
            return value

    scope = Scope()
    assert evaluate_template("${var.x}-$${literal}-%%{directive}", scope) == "X-${literal}-%{directive}"
    assert evaluate_template('${replace(lower(var.names["a"]), "/[^a-z0-9_]/", "_")}', scope) == "a_b"
    assert evaluate_template('${jsonencode([{"b" = var.x, "a" = 1}])}', scope) == '[{"a":1,"b":"X"}]'
    assert evaluate_template("${var.names}", scope) == {"a": "A-b"}  # a lone interpolation keeps its type


@pytest.mark.parametrize("template, reason", [
    ("${file(\"x\")}", "function file() is not evaluated"),
    ("${var.x + 1}", "binary op is not evaluated"),
    ("${[for item in var.x: item]}", "for tuple expr is not evaluated"),
    ("%{ if true }x%{ endif }", "template directives"),
])
def test_what_is_not_evaluated_is_refused_with_the_expression(template: str, reason: str) -> None:
    class Scope:
        def reference(self, path, expression):
            return "X"

    with pytest.raises(Unresolved, match=re.escape(reason)):
        evaluate_template(template, Scope())


def test_remote_state_is_followed_to_the_other_layers_output_and_its_variables() -> None:
    found = layers()
    assert found.output("lake/us-east-1/lake", "table") == "bb-apps-orders"


def test_aws_computes_arns_from_names_and_a_stable_stand_in_for_key_ids() -> None:
    found = layers()
    lake = found.layer("lake/us-east-1/lake")
    assert found.attribute(lake, "aws_s3_bucket", "raw", "arn") == "arn:aws:s3:::raw-bucket"
    assert found.attribute(lake, "aws_iam_role", "reader", "arn") == "arn:aws:iam::777777777777:role/reader"
    key = found.attribute(lake, "aws_kms_key", "key", "arn")
    assert key.startswith("arn:aws:kms:us-east-1:777777777777:key/") and key == found.attribute(
        layers().layer("lake/us-east-1/lake"), "aws_kms_key", "key", "arn")
    assert found.region(lake, "aws.replica") == "us-west-2"


def test_policies_are_rendered_as_the_provider_renders_them_and_found_by_resource() -> None:
    found = layers()
    policy, account = resource_policy(found, "arn:aws:s3:::raw-bucket/bb-apps-orders/x")
    assert account == "777777777777"
    assert policy == {"Version": "2012-10-17", "Statement": [{
        "Sid": "Write", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::555555555555:root"},
        "Action": "s3:PutObject", "Resource": "arn:aws:s3:::raw-bucket/bb-apps-orders/*",
        "Condition": {"StringLike": {"s3:prefix": ["a/*", "b/*"]}}}]}
    assert resource_policy(found, "arn:aws:s3:::raw-bucket-copy/x") == (None, "777777777777")
    [reader] = role_policies(found, "arn:aws:iam::777777777777:role/reader")
    assert reader["Statement"][0]["Resource"] == "arn:aws:s3:::raw-bucket/*"
    # A key without a policy has AWS's default one: the account's IAM decides.
    key_arn = found.attribute(found.layer("lake/us-east-1/lake"), "aws_kms_key", "key", "arn")
    key_policy, _ = resource_policy(found, key_arn)
    assert json.dumps(key_policy["Statement"][0]["Principal"]) == '{"AWS": "arn:aws:iam::777777777777:root"}'


@pytest.mark.parametrize("resolve, expression, reason", [
    (lambda found: found.output("lake/us-east-1/lake", "missing"), "data.terraform_remote_state.nowhere.outputs.x",
     "does not say which layer nowhere reads"),
    (lambda found: found.attribute(found.layer("lake/us-east-1/lake"), "aws_s3_bucket", "raw", "creation_date"),
     "aws_s3_bucket.raw.creation_date", "the proof does not derive it"),
    (lambda found: role_policies(found, "arn:aws:iam::777777777777:role/nobody"),
     "arn:aws:iam::777777777777:role/nobody", "0 aws_iam_role of the layers"),
    (lambda found: resource_policy(found, "arn:aws:s3:::someone-elses-bucket/x"), "someone-elses-bucket",
     "0 aws_s3_bucket of the layers"),
])
def test_a_value_nothing_determines_raises_with_the_expression(resolve, expression: str, reason: str) -> None:
    with pytest.raises(Unresolved) as raised:
        resolve(layers())
    assert raised.value.expression == expression and reason in raised.value.reason
