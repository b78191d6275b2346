"""What the AWS provider does to the resource types these constructs create, for reviewing a change before it is
applied: which types hold data (destroying them loses it), and which arguments it cannot change in place.

`STATEFUL_TYPES` maps a type to the argument that names the live resource in AWS (`name`, `bucket`; `description`
for KMS keys, which have no name), so that one resource leaving an address and appearing at another is recognised
as the same live resource. `REPLACING_ARGUMENTS` lists the provider's ForceNew arguments of each type.
"""
from __future__ import annotations

from collections.abc import Mapping, Set as AbstractSet
from dataclasses import dataclass
from types import MappingProxyType

# Resource type -> the argument that names the live resource in AWS (None: nothing unique to match by).
STATEFUL_TYPES: Mapping[str, str | None] = MappingProxyType({
    "aws_dynamodb_table": "name",
    "aws_kinesis_stream": "name",
    "aws_s3_bucket": "bucket",
    "aws_kms_key": "description",
    "aws_glue_catalog_database": "name",
    "aws_cloudwatch_log_group": "name",
    "aws_kinesis_firehose_delivery_stream": "name",
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


@dataclass(frozen=True)
class ProviderLifecycle:
    stateful_types: Mapping[str, str | None]
    replacing_arguments: Mapping[str, AbstractSet[str]]


AWS_PROVIDER = ProviderLifecycle(STATEFUL_TYPES, REPLACING_ARGUMENTS)
