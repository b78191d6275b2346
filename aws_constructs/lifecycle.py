"""What the AWS provider does to the resource types these constructs create, for reviewing a change before it is
applied: which types hold data (destroying them loses it), and which arguments it cannot change in place.

`STATEFUL_TYPES` maps a type to the argument that names the live resource in AWS (`name`, `bucket`; `description`
for KMS keys, which have no name), so that one resource leaving an address and appearing at another is recognised
as the same live resource. `REPLACING_ARGUMENTS` lists the provider's ForceNew arguments of each type: a resource
one of them references (a role's ARN in a Firehose's `kinesis_source_configuration`) is replaced with it.
`impossible_change` names a change the provider plans as an update that AWS then refuses, such as the type of a
DynamoDB key attribute. `identity_arguments` names any type's live resource (a topic by its name, an alarm by
`alarm_name`), so that a resource destroyed at one address and created at another under the same name is seen
for what it is. `relocation` names an in-place change that moves what a resource does elsewhere: a delivery
stream writing into another bucket or below another folder, a policy naming the same role in another account.
"""
from __future__ import annotations

import json
import re
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
    "aws_dynamodb_table": {"name", "hash_key", "range_key", "local_secondary_index", "restore_date_time",
                           "restore_source_name", "restore_source_table_arn", "restore_to_latest_time"},
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
    "aws_s3_bucket_logging": _BUCKET_CHILD,
    "aws_s3_bucket_notification": {"bucket"},
    "aws_s3_bucket_replication_configuration": {"bucket"},
    "aws_s3_object": {"bucket", "key"},
    "aws_athena_workgroup": {"name"},
    "aws_cloudwatch_event_rule": {"name", "name_prefix", "event_bus_name"},
    "aws_cloudwatch_event_target": {"rule", "target_id", "event_bus_name"},
    "aws_cloudwatch_metric_alarm": {"alarm_name"},
    "aws_glue_job": {"name"},
    "aws_glue_security_configuration": {"name", "encryption_configuration"},
    "aws_glue_trigger": {"name", "type", "workflow_name"},
    "aws_glue_catalog_table": {"name", "database_name", "catalog_id", "partition_index", "target_table"},
    "aws_iam_policy": {"name", "name_prefix", "path", "description"},
    "aws_iam_role_policy_attachment": {"role", "policy_arn"},
    "aws_sns_topic": {"name", "name_prefix", "fifo_topic"},
    "aws_sns_topic_policy": {"arn"},
    "aws_sns_topic_subscription": {"topic_arn", "protocol", "endpoint"},
    "aws_sqs_queue_policy": {"queue_url"},
    "aws_lambda_function": {"function_name", "package_type"},
    "aws_lambda_permission": {"action", "event_source_token", "function_name", "function_url_auth_type", "principal",
                              "principal_org_id", "qualifier", "source_account", "source_arn", "statement_id",
                              "statement_id_prefix"},
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

# Resource type -> the arguments that together name a live resource, for the types that hold no data; every
# other type is named by `name`, and a bucket's configurations (aws_s3_bucket_*) by their bucket.
IDENTITY_ARGUMENTS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "aws_cloudwatch_metric_alarm": ("alarm_name",),
    "aws_cloudwatch_log_stream": ("log_group_name", "name"),
    "aws_cloudwatch_event_target": ("rule", "target_id"),
    "aws_iam_role_policy": ("role", "name"),
    "aws_iam_role_policy_attachment": ("role", "policy_arn"),
    "aws_glue_catalog_table": ("database_name", "name"),
    "aws_lambda_permission": ("function_name", "statement_id"),
    "aws_s3_object": ("bucket", "key"),
    "aws_sns_topic_policy": ("arn",),
    "aws_sns_topic_subscription": ("topic_arn", "protocol", "endpoint"),
    "aws_sqs_queue_policy": ("queue_url",),
})

ARN = re.compile(r"arn:(?P<partition>aws[a-z-]*):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>[0-9]{12})?:"
                 r"(?P<resource>[^\s\\\"',\]}]+)")


def _firehose_destination(body: dict[str, Any]) -> tuple[Any, str] | None:
    """(bucket, the fixed folder its prefix starts with) of a delivery stream to S3."""
    configuration = body.get("extended_s3_configuration")
    first = configuration[0] if isinstance(configuration, list) and configuration else configuration
    if not isinstance(first, dict):
        return None
    prefix = first.get("prefix")
    return first.get("bucket_arn"), prefix.split("!{")[0] if isinstance(prefix, str) else ""


def _firehose_relocation(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    before, after = _firehose_destination(old), _firehose_destination(new)
    if before is None or after is None:
        return None
    if before[0] != after[0]:
        return ("delivers into another bucket from the apply on: what it delivered stays in the old one, and what "
                "reads the old bucket receives nothing more")
    if before[1] != after[1]:
        return (f"delivers below {after[1]!r} instead of {before[1]!r} from the apply on: what it delivered below "
                f"{before[1]!r} and nothing has processed yet stays there, unseen by whatever reads {after[1]!r}")
    return None


def _arns(node: Any) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """(service, resource) -> {(region, account)} of the literal ARNs in a resource's arguments."""
    text = json.dumps(node)
    found: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for match in ARN.finditer(text):
        if match["resource"] != "root":  # an account's root names the account itself, not one of its resources
            found.setdefault((match["service"], match["resource"]), set()).add((match["region"], match["account"] or ""))
    return found


def _repointed_arns(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """A grant or reference that names the same resource in another account or region."""
    before, after = _arns(old), _arns(new)
    for key in sorted(set(before) & set(after)):
        if len(before[key]) == len(after[key]) == 1 and before[key] != after[key]:
            (old_region, old_account), (new_region, new_account) = next(iter(before[key])), next(iter(after[key]))
            service, resource = key
            return (f"names {service} {resource} of account {new_account or '-'} in {new_region or 'every region'} "
                    f"instead of account {old_account or '-'} in {old_region or 'every region'}: what it grants or "
                    "uses there is another resource from the apply on")
    return None


_RELOCATIONS = MappingProxyType({"aws_kinesis_firehose_delivery_stream": _firehose_relocation})


# Resource type -> argument -> the type of the parent it lives in: AWS deletes it with its parent (a log group's
# streams, a function's permissions, a role's policies, a rule's targets, a bucket's configuration), so a replaced
# parent takes it along even where Terraform plans it unchanged.
CONTAINED_IN: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "aws_cloudwatch_log_stream": {"log_group_name": "aws_cloudwatch_log_group"},
    "aws_cloudwatch_log_subscription_filter": {"log_group_name": "aws_cloudwatch_log_group"},
    "aws_lambda_permission": {"function_name": "aws_lambda_function"},
    "aws_cloudwatch_event_target": {"rule": "aws_cloudwatch_event_rule"},
    "aws_iam_role_policy": {"role": "aws_iam_role"},
    "aws_iam_role_policy_attachment": {"role": "aws_iam_role"},
    "aws_dynamodb_kinesis_streaming_destination": {"table_name": "aws_dynamodb_table"},
    "aws_sqs_queue_policy": {"queue_url": "aws_sqs_queue"},
    "aws_sns_topic_subscription": {"topic_arn": "aws_sns_topic"},
    "aws_glue_catalog_table": {"database_name": "aws_glue_catalog_database"},
    **{kind: {"bucket": "aws_s3_bucket"} for kind in REPLACING_ARGUMENTS if kind.startswith("aws_s3_bucket_")},
})


@dataclass(frozen=True)
class ProviderLifecycle:
    stateful_types: Mapping[str, str | None]
    replacing_arguments: Mapping[str, AbstractSet[str]]
    contained_in: Mapping[str, Mapping[str, str]]

    def impossible_change(self, kind: str, old: dict[str, Any], new: dict[str, Any]) -> str | None:
        """Why the provider cannot apply this in-place change of a `kind` resource, or None."""
        check = _IMPOSSIBLE_CHANGES.get(kind)
        return check(old, new) if check is not None else None

    def identity_arguments(self, kind: str) -> tuple[str, ...]:
        """The arguments that name a live resource of type `kind` (see IDENTITY_ARGUMENTS)."""
        if self.stateful_types.get(kind):
            return (self.stateful_types[kind],)  # type: ignore[return-value]
        if kind in IDENTITY_ARGUMENTS:
            return IDENTITY_ARGUMENTS[kind]
        return ("bucket",) if kind.startswith("aws_s3_bucket_") else ("name",)

    def relocation(self, kind: str, old: dict[str, Any], new: dict[str, Any]) -> str | None:
        """How an in-place change moves where the resource delivers, or what it grants, elsewhere; or None."""
        check = _RELOCATIONS.get(kind)
        return (check(old, new) if check is not None else None) or _repointed_arns(old, new)


AWS_PROVIDER = ProviderLifecycle(STATEFUL_TYPES, REPLACING_ARGUMENTS, CONTAINED_IN)
