"""What the AWS provider does to the resource types these constructs create, for reviewing a change before it is
applied: which types hold data (destroying them loses it), and which arguments it cannot change in place.

`STATEFUL_TYPES` maps a type to the argument that names the live resource in AWS (`name`, `bucket`; `description`
for KMS keys, which have no name), so that one resource leaving an address and appearing at another is recognised
as the same live resource. `REPLACING_ARGUMENTS` lists the provider's ForceNew arguments of each type: a resource
one of them references (a role's ARN in a Firehose's `kinesis_source_configuration`) is replaced with it.
`impossible_change` names a change the provider plans as an update that AWS then refuses, such as the type of a
DynamoDB key attribute.
"""
from __future__ import annotations

from collections.abc import Mapping, Set as AbstractSet
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

# Resource type -> the argument that names the live resource in AWS (None: nothing unique to match by).
STATEFUL_TYPES: Mapping[str, str | None] = MappingProxyType({
    "aws_dynamodb_table": "name",
    "aws_kinesis_stream": "name",
    "aws_s3_bucket": "bucket",
    "aws_kms_key": "description",
    "aws_glue_catalog_database": "name",
    "aws_cloudwatch_log_group": "name",
    "aws_kinesis_firehose_delivery_stream": "name",
    # Holds no data, but while it is destroyed and recreated the table's changes reach no stream: the lake misses
    # them for good. Its table (a reference to a layer's output) identifies it within its layer.
    "aws_dynamodb_kinesis_streaming_destination": "table_name",
    "aws_sqs_queue": "name",  # its messages
})

# Top-level arguments whose change makes the AWS provider replace the resource (ForceNew).
_BUCKET_CHILD = frozenset({"bucket", "expected_bucket_owner"})
REPLACING_ARGUMENTS: Mapping[str, AbstractSet[str]] = MappingProxyType({
    "aws_dynamodb_table": {"name", "hash_key", "range_key"},
    "aws_kinesis_stream": {"name"},
    "aws_s3_bucket": {"bucket", "bucket_prefix", "object_lock_enabled"},
    "aws_kms_key": {"customer_master_key_spec", "key_usage", "multi_region", "custom_key_store_id"},
    "aws_glue_catalog_database": {"name", "catalog_id"},
    "aws_glue_crawler": {"name"},
    "aws_cloudwatch_log_group": {"name", "name_prefix", "log_group_class"},
    "aws_cloudwatch_log_stream": {"name", "log_group_name"},
    "aws_kinesis_firehose_delivery_stream": {"name", "destination", "kinesis_source_configuration",
                                             "msk_source_configuration"},
    "aws_iam_role": {"name", "name_prefix", "path"},
    "aws_sqs_queue": {"name", "name_prefix", "fifo_queue"},
    "aws_iam_role_policy": {"name", "name_prefix", "role"},
    "aws_dynamodb_kinesis_streaming_destination": {"stream_arn", "table_name"},
    "aws_s3_bucket_versioning": _BUCKET_CHILD,
    "aws_s3_bucket_server_side_encryption_configuration": _BUCKET_CHILD,
    "aws_s3_bucket_public_access_block": _BUCKET_CHILD,
    "aws_s3_bucket_ownership_controls": _BUCKET_CHILD,
    "aws_s3_bucket_lifecycle_configuration": _BUCKET_CHILD,
    "aws_s3_bucket_policy": _BUCKET_CHILD,
})




def _key_attribute_types(table: dict[str, Any]) -> dict[str, str]:
    """Key attribute name -> type (S, N, B) of an `aws_dynamodb_table`."""
    keys = {table.get("hash_key"), table.get("range_key")}
    attributes = table.get("attribute", [])
    return {item["name"]: item.get("type") for item in attributes if isinstance(attributes, list)
            and isinstance(item, dict) and item.get("name") in keys}


def _dynamodb_key_type_change(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    before, after = _key_attribute_types(old), _key_attribute_types(new)
    for name in sorted(set(before) & set(after)):
        if before[name] != after[name]:
            return (f"the type of key attribute {name} changes ({before[name]} -> {after[name]}): DynamoDB cannot "
                    "change a key attribute's type and the provider does not plan it as a replacement, so the "
                    "apply would fail")
    return None


# Resource type -> a check of a change (committed arguments, new arguments) the provider cannot apply at all.
_IMPOSSIBLE_CHANGES = MappingProxyType({"aws_dynamodb_table": _dynamodb_key_type_change})


@dataclass(frozen=True)
class ProviderLifecycle:
    stateful_types: Mapping[str, str | None]
    replacing_arguments: Mapping[str, AbstractSet[str]]

    def impossible_change(self, kind: str, old: dict[str, Any], new: dict[str, Any]) -> str | None:
        """Why the provider cannot apply this in-place change of a `kind` resource, or None."""
        check = _IMPOSSIBLE_CHANGES.get(kind)
        return check(old, new) if check is not None else None


AWS_PROVIDER = ProviderLifecycle(STATEFUL_TYPES, REPLACING_ARGUMENTS)
