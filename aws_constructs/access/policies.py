"""The policies AWS evaluates for a request, read from the layers: the principal's identity policies (a role's
inline and attached policies) and the resource's policy (a bucket's, a key's, a topic's, a queue's).

A KMS key created without a policy gets AWS's default key policy; every other resource without a policy of the
layers has none. A resource no layer creates, or a policy kind the proof does not model, raises `Unresolved`.
"""
from __future__ import annotations

import json
from typing import Any

from aws_constructs.access.expressions import Unresolved
from aws_constructs.access.layers import Layers, TerraformLayer

# https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
DEFAULT_KEY_POLICY_URL = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html"
# Resource policies of services the layers could hold but the proof does not read: refusing beats ignoring them.
UNMODELLED_RESOURCE_POLICIES = ("aws_kinesis_resource_policy", "aws_glue_resource_policy",
                                "aws_cloudwatch_log_resource_policy", "aws_dynamodb_resource_policy",
                                "aws_iam_role_policy_attachment_exclusive")


def default_key_policy(account_id: str, partition: str) -> dict[str, Any]:
    """The policy KMS gives a key created without one: the account's IAM policies decide."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"}, "Action": "kms:*", "Resource": "*"}]}


def role_policies(layers: Layers, role_arn: str) -> list[dict[str, Any]]:
    """The identity policies of a role the layers create: its inline policies and the managed ones attached."""
    layer, name, _ = layers.find("aws_iam_role", "arn", role_arn)
    role_name = layers.attribute(layer, "aws_iam_role", name, "name")
    policies = []
    for _, policy_name, body in _in_layer(layers, layer, "aws_iam_role_policy"):
        if layers.argument(layer, "aws_iam_role_policy", policy_name, "role") == role_name:
            policies.append(_document(layers.value(layer, body["policy"]), f"aws_iam_role_policy.{policy_name}"))
    for _, attachment, body in _in_layer(layers, layer, "aws_iam_role_policy_attachment"):
        if layers.argument(layer, "aws_iam_role_policy_attachment", attachment, "role") == role_name:
            policies.append(managed_policy(layers, layers.value(layer, body["policy_arn"])))
    for key in ("inline_policy", "managed_policy_arns"):
        if key in layer.blocks("resource", "aws_iam_role")[name]:
            raise Unresolved(f"aws_iam_role.{name}.{key}", "not read by the proof")
    return policies


def managed_policy(layers: Layers, policy_arn: str) -> dict[str, Any]:
    """A customer-managed policy of the layers, by ARN."""
    layer, name, body = layers.find("aws_iam_policy", "arn", policy_arn)
    return _document(layers.value(layer, body["policy"]), f"aws_iam_policy.{name}")


def resource_policy(layers: Layers, resource_arn: str) -> tuple[dict[str, Any] | None, str]:
    """The policy of the resource a request names, and the resource's account."""
    for block_type in UNMODELLED_RESOURCE_POLICIES:
        if any(True for _ in layers.resources(block_type)):
            raise Unresolved(block_type, "the layers hold such a policy, which the proof does not read")
    parts = resource_arn.split(":", 5)
    if len(parts) < 6:
        raise Unresolved(resource_arn, "not an ARN")
    _, partition, service, _region, account, resource = parts
    if service == "s3":
        return _bucket_policy(layers, resource.split("/", 1)[0])
    if service == "kms":
        layer, name, body = layers.find("aws_kms_key", "arn", resource_arn)
        if "policy" not in body:
            return default_key_policy(layer.account_id, partition), account
        return _document(layers.argument(layer, "aws_kms_key", name, "policy"), f"aws_kms_key.{name}"), account
    if service == "sns":
        layer, _, _ = layers.find("aws_sns_topic", "arn", resource_arn)
        return _attached(layers, layer, "aws_sns_topic_policy", "arn", resource_arn), account
    if service == "sqs":
        layer, name, _ = layers.find("aws_sqs_queue", "arn", resource_arn)
        url = layers.attribute(layer, "aws_sqs_queue", name, "url")
        return _attached(layers, layer, "aws_sqs_queue_policy", "queue_url", url), account
    return None, account


def _bucket_policy(layers: Layers, bucket: str) -> tuple[dict[str, Any] | None, str]:
    layer, _, _ = layers.find("aws_s3_bucket", "bucket", bucket)
    return _attached(layers, layer, "aws_s3_bucket_policy", "bucket", bucket), layer.account_id


def _attached(layers: Layers, layer: TerraformLayer, block_type: str, argument: str,
              value: str) -> dict[str, Any] | None:
    """The policy resource of `layer` attached to the resource `value` names (a bucket's name, a topic's ARN)."""
    found = [name for _, name, _ in _in_layer(layers, layer, block_type)
             if layers.argument(layer, block_type, name, argument) == value]
    if len(found) > 1:
        raise Unresolved(value, f"{len(found)} {block_type} of {layer.name} apply to it")
    if not found:
        return None
    return _document(layers.argument(layer, block_type, found[0], "policy"), f"{block_type}.{found[0]}")


def _in_layer(layers: Layers, layer: TerraformLayer, block_type: str):
    return ((owner, name, body) for owner, name, body in layers.resources(block_type) if owner is layer)


def _document(policy: Any, where: str) -> dict[str, Any]:
    if isinstance(policy, dict):
        return policy
    try:
        document = json.loads(policy)
    except (TypeError, ValueError):
        raise Unresolved(where, "its policy is not JSON once resolved") from None
    if not isinstance(document, dict):
        raise Unresolved(where, "its policy is not a JSON object")
    return document
