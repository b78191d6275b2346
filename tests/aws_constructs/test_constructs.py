"""Unit tests of the reusable AWS constructs (aws_constructs/): synthesized Terraform JSON and validation.

Every test builds its own stack in a fresh `Testing.app()`; jsii starts once per process and each synth
takes a fraction of a second.
"""
from __future__ import annotations

import json
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the project root, however pytest is started

# First of the project's imports: it registers the fast-import shim before any provider module loads.
import bindings  # noqa: E402,F401
# Aliased: pytest would otherwise try to collect a class whose name starts with `Test`.
from bindings import TerraformStack, Testing as CdktfTesting  # noqa: E402

from aws_constructs.alarms import AlarmTopic, AlarmTopicProps, Metric, MetricAlarm, MetricAlarmProps  # noqa: E402
from aws_constructs.dynamodb import (  # noqa: E402
    ChangeStreamProps,
    KeyAttribute,
    KinesisChangeStream,
    Table,
    TableProps,
)
from aws_constructs.env import AwsEnvironment  # noqa: E402
from aws_constructs.errors import ConstructPropsError  # noqa: E402
from aws_constructs.firehose import (  # noqa: E402
    DynamicPartitioning,
    KinesisToS3DeliveryStream,
    S3DeliveryStreamProps,
    delivery_key_prefix,
)
from aws_constructs.glue import CatalogDatabase, CrawlerProps, S3Crawler  # noqa: E402
from aws_constructs.iam import PolicyStatement, ServiceRole, ServiceRoleProps  # noqa: E402
from aws_constructs.kinesis import DataStream, DataStreamProps  # noqa: E402
from aws_constructs.kms import KmsKeyRef  # noqa: E402
from aws_constructs.logs import LogGroup, LogGroupProps  # noqa: E402
from aws_constructs.s3 import BucketRef, SecureBucket, SecureBucketProps, Transition, check_bucket_name  # noqa: E402

ACCOUNT = "555555555555"
REGION = "us-east-1"
ENV = AwsEnvironment(ACCOUNT, REGION)
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEY = KmsKeyRef(KEY_ARN)
BUCKET_NAME = "bb-data-science-datalake-demo-data-raw"
BUCKET = BucketRef(f"arn:aws:s3:::{BUCKET_NAME}")
# The defaults of cdktf.json.
PREFIX = ("dynamodb_data/!{partitionKeyFromQuery:tableName}/cdc_data/"
          "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/")
ERROR_PREFIX = "dynamodb_data/cdc_error/"
QUERY = "{tableName:.tableName}"
FIREHOSE_ROLE = "bb-apps-devstg-firehose-role"
FIREHOSE_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{FIREHOSE_ROLE}"


# --- helpers -----------------------------------------------------------------------------------------------------

# `Testing.app()` makes a new temporary folder per app unless given one; `Testing.synth` writes nothing there,
# so all apps share one folder, removed when the test process ends.
_OUTDIR = tempfile.TemporaryDirectory(prefix="cdktf-test-constructs-")


def new_stack() -> TerraformStack:
    """A stack in a fresh test app, so no test sees another's constructs."""
    return TerraformStack(CdktfTesting.app(outdir=_OUTDIR.name), "test")


def synth(stack: TerraformStack) -> dict:
    return json.loads(CdktfTesting.synth(stack))


def only(synthesized: dict, kind: str, resource_type: str) -> dict:
    """The one `resource`/`data` block of a type (fails if there are none or several)."""
    blocks = synthesized[kind][resource_type]
    assert len(blocks) == 1, f"expected one {resource_type}, got {sorted(blocks)}"
    return next(iter(blocks.values()))


def ref_name(reference: str) -> str:
    """`${data.aws_iam_policy_document.NAME.json}` -> NAME."""
    match = re.fullmatch(r"\$\{(?:data\.)?[a-z0-9_]+\.([A-Za-z0-9_]+)\.[a-z_]+\}", reference)
    assert match, reference
    return match.group(1)


def policy_statements(synthesized: dict, reference: str) -> list[dict]:
    return synthesized["data"]["aws_iam_policy_document"][ref_name(reference)]["statement"]


def role_named(synthesized: dict, name: str) -> tuple[str, dict]:
    [(logical_id, role)] = [(k, v) for k, v in synthesized["resource"]["aws_iam_role"].items() if v["name"] == name]
    return logical_id, role


def inline_policy_of(synthesized: dict, role_name: str) -> list[dict]:
    """The statements of the inline policy attached to the role called `role_name`."""
    logical_id, _ = role_named(synthesized, role_name)
    [policy] = [p for p in synthesized["resource"]["aws_iam_role_policy"].values()
                if p["role"] == f"${{aws_iam_role.{logical_id}.id}}"]
    assert policy["name"] == f"{role_name}-policy"
    return policy_statements(synthesized, policy["policy"])


def by_sid(statements: list[dict]) -> dict[str, dict]:
    return {statement["sid"]: statement for statement in statements}


def stream(stack: TerraformStack, **overrides) -> DataStream:
    props = dict(name="bb-apps-devstg-ddb-lakehouse-stream", env=ENV, encryption_key=KEY)
    props.update(overrides)
    return DataStream(stack, "Stream", DataStreamProps(**props))


def role(stack: TerraformStack, **overrides) -> ServiceRole:
    props = dict(name="bb-apps-devstg-consumer-role", service="firehose.amazonaws.com")
    props.update(overrides)
    return ServiceRole(stack, "Role", ServiceRoleProps(**props))


def delivery_props(stack: TerraformStack, **overrides) -> S3DeliveryStreamProps:
    props = dict(
        name="bb-apps-devstg-ddb-lakehouse-firehose",
        env=ENV,
        source=stream(stack),
        destination=BUCKET,
        role_name=FIREHOSE_ROLE,
        prefix=PREFIX,
        error_output_prefix=ERROR_PREFIX,
        buffering_size_mib=100,
        buffering_interval_seconds=100,
        dynamic_partitioning=DynamicPartitioning(QUERY),
        log_retention_days=30,
    )
    props.update(overrides)
    return S3DeliveryStreamProps(**props)


def assert_least_privilege(statements: list[dict]) -> None:
    for statement in statements:
        assert statement["effect"] == "Allow"
        assert not any("*" in action for action in statement["actions"]), statement
        for resource in statement["resources"]:
            assert resource != "*" and not resource.endswith(":::*"), statement
            assert "*" not in resource or resource.endswith("/*") or resource.endswith(":log-stream:*"), statement


# --- Kinesis data stream -----------------------------------------------------------------------------------------

def test_data_stream_is_on_demand_and_encrypted_with_the_given_key():
    stack = new_stack()
    stream(stack, retention_hours=48)
    synthesized = CdktfTesting.synth(stack)
    assert CdktfTesting.to_have_resource_with_properties(synthesized, "aws_kinesis_stream", {
        "name": "bb-apps-devstg-ddb-lakehouse-stream",
        "stream_mode_details": {"stream_mode": "ON_DEMAND"},
        "encryption_type": "KMS",
        "kms_key_id": KEY_ARN,
        "retention_period": 48,
    })
    resource = only(json.loads(synthesized), "resource", "aws_kinesis_stream")
    assert "shard_count" not in resource  # on-demand streams must not set a shard count


def test_data_stream_without_key_uses_the_aws_managed_kinesis_key():
    stack = new_stack()
    stream(stack, encryption_key=None)
    resource = only(synth(stack), "resource", "aws_kinesis_stream")
    assert resource["encryption_type"] == "KMS"
    assert resource["kms_key_id"] == "alias/aws/kinesis"
    assert resource["retention_period"] == 24


@pytest.mark.parametrize("overrides, message", [
    ({"name": "s" * 129}, r"has 129 characters, AWS allows 1 to 128"),
    ({"name": "lakehouse stream!"}, r"not valid; AWS allows only letters, digits and _\.-"),
    ({"retention_hours": 23}, r"Kinesis retention is 23; .* from 24 to 8760"),
    ({"retention_hours": 8761}, r"Kinesis retention is 8761; .* from 24 to 8760"),
    # Typed props checked at run time too: a bool is an int to Python, not a number of hours.
    ({"on_demand": False, "shard_count": True},
     r"^Kinesis shard count is True; AWS accepts a whole number of shards from 1 to 100000$"),
    ({"retention_hours": 48.0}, r"^Kinesis retention is 48\.0; AWS accepts a whole number of hours from 24 to 8760$"),
], ids=["name-129-chars", "name-bad-characters", "retention-23h", "retention-8761h", "shards-bool",
        "retention-float"])
def test_data_stream_rejects_invalid_props(overrides, message):
    with pytest.raises(ConstructPropsError, match=message):
        stream(new_stack(), **overrides)


# --- grants on a data stream -------------------------------------------------------------------------------------

def granted_on_stream(grant: str) -> tuple[list[dict], str]:
    """The inline policy of a role after `stream.<grant>(role)`, and the stream's ARN reference."""
    stack = new_stack()
    data_stream = stream(stack)
    getattr(data_stream, grant)(role(stack))
    synthesized = synth(stack)
    stream_arn = "${aws_kinesis_stream.%s.arn}" % next(iter(synthesized["resource"]["aws_kinesis_stream"]))
    return inline_policy_of(synthesized, "bb-apps-devstg-consumer-role"), stream_arn


def test_grant_read_allows_reading_only_this_stream_and_decrypting_only_its_records():
    policy, stream_arn = granted_on_stream("grant_read")
    assert policy == [
        {
            "sid": "ReadKinesisStream",
            "effect": "Allow",
            "actions": ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                        "kinesis:GetShardIterator", "kinesis:ListShards"],
            "resources": [stream_arn],
        },
        {
            "sid": "DecryptKinesisRecords",
            "effect": "Allow",
            "actions": ["kms:Decrypt"],
            "resources": [KEY_ARN],
            "condition": [
                {"test": "StringEquals", "variable": "kms:ViaService", "values": ["kinesis.us-east-1.amazonaws.com"]},
                {"test": "StringEquals", "variable": "kms:EncryptionContext:aws:kinesis:arn", "values": [stream_arn]},
            ],
        },
    ]


def test_grant_write_allows_putting_records_and_encrypting_only_for_this_stream():
    policy, stream_arn = granted_on_stream("grant_write")
    statements = by_sid(policy)
    assert sorted(statements) == ["EncryptKinesisRecords", "WriteKinesisStream"]
    assert statements["WriteKinesisStream"]["actions"] == [
        "kinesis:DescribeStreamSummary", "kinesis:PutRecord", "kinesis:PutRecords"]
    assert statements["WriteKinesisStream"]["resources"] == [stream_arn]
    kms = statements["EncryptKinesisRecords"]
    assert kms["actions"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert kms["resources"] == [KEY_ARN]
    assert {c["variable"]: c["values"] for c in kms["condition"]} == {
        "kms:ViaService": ["kinesis.us-east-1.amazonaws.com"],
        "kms:EncryptionContext:aws:kinesis:arn": [stream_arn],
    }


# --- IAM: service roles and policy statements --------------------------------------------------------------------

def test_service_role_trusts_only_its_service_with_the_external_id():
    stack = new_stack()
    role(stack, external_id=ACCOUNT).add_to_principal_policy(
        PolicyStatement(sid="ReadObjects", actions=("s3:GetObject",), resources=(f"{BUCKET.arn}/raw/*",)))
    synthesized = synth(stack)
    _, iam_role = role_named(synthesized, "bb-apps-devstg-consumer-role")
    assert policy_statements(synthesized, iam_role["assume_role_policy"]) == [{
        "sid": "AssumedByService",
        "effect": "Allow",
        "actions": ["sts:AssumeRole"],
        "principals": [{"type": "Service", "identifiers": ["firehose.amazonaws.com"]}],
        "condition": [{"test": "StringEquals", "variable": "sts:ExternalId", "values": [ACCOUNT]}],
    }]


def test_service_role_without_external_id_has_no_trust_condition():
    stack = new_stack()
    role(stack, service="glue.amazonaws.com").add_to_principal_policy(
        PolicyStatement(sid="ReadObjects", actions=("s3:GetObject",), resources=(f"{BUCKET.arn}/raw/*",)))
    synthesized = synth(stack)
    _, iam_role = role_named(synthesized, "bb-apps-devstg-consumer-role")
    [trust] = policy_statements(synthesized, iam_role["assume_role_policy"])
    assert trust["principals"] == [{"type": "Service", "identifiers": ["glue.amazonaws.com"]}]
    assert "condition" not in trust


def test_service_role_rejects_a_name_over_64_characters():
    with pytest.raises(ConstructPropsError, match=r"IAM role name .* has 65 characters, AWS allows 1 to 64; shorten"):
        role(new_stack(), name="r" * 65)


def test_service_role_inline_policy_holds_exactly_the_granted_statements():
    stack = new_stack()
    granted = [
        PolicyStatement(sid="ReadObjects", actions=("s3:GetObject",), resources=(f"{BUCKET.arn}/raw/*",)),
        PolicyStatement(sid="ListBucket", actions=("s3:ListBucket",), resources=(BUCKET.arn,)),
    ]
    service_role = role(stack)
    for statement in granted:
        service_role.add_to_principal_policy(statement)
    synthesized = synth(stack)
    assert inline_policy_of(synthesized, "bb-apps-devstg-consumer-role") == [
        {"sid": "ReadObjects", "effect": "Allow", "actions": ["s3:GetObject"], "resources": [f"{BUCKET.arn}/raw/*"]},
        {"sid": "ListBucket", "effect": "Allow", "actions": ["s3:ListBucket"], "resources": [BUCKET.arn]},
    ]


def test_service_role_with_no_grants_fails_at_synth():
    stack = new_stack()
    role(stack)
    # The ConstructPropsError is raised in a Lazy producer, so it comes back through jsii as a RuntimeError.
    with pytest.raises(RuntimeError, match="test/Role/Policy has an empty policy; grant it something or remove it"):
        CdktfTesting.synth(stack)


@pytest.mark.parametrize("actions, resources, message", [
    (("s3:*",), (f"{BUCKET.arn}/raw/*",), r"wildcard action 's3:\*'"),
    (("s3:GetObject",), ("*",), r"wildcard resource '\*'"),
    (("s3:GetObject",), ("arn:aws:s3:::*",), r"wildcard resource 'arn:aws:s3:::\*'"),
    (("iam:PassRole",), (f"arn:aws:iam::{ACCOUNT}:role/*",), r"wildcard resource .*role/\*"),
    (("kms:Decrypt",), (f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*",), r"wildcard resource .*key/\*"),
    (("s3:Get?bject",), (f"{BUCKET.arn}/raw/*",), r"wildcard action 's3:Get\?bject'"),
], ids=["action-s3-star", "resource-star", "resource-every-bucket", "every-role", "every-key", "action-question"])
def test_allow_statement_rejects_wildcards(actions, resources, message):
    with pytest.raises(ConstructPropsError, match=message):
        PolicyStatement(sid="TooBroad", actions=actions, resources=resources)


def test_allow_statement_accepts_a_wildcard_below_a_named_prefix_and_deny_may_use_wildcards():
    allowed = PolicyStatement(sid="Objects", actions=("s3:PutObject",), resources=(f"{BUCKET.arn}/prefix/*",))
    assert allowed.resources == (f"{BUCKET.arn}/prefix/*",)
    deny = PolicyStatement(sid="DenyAll", effect="Deny", actions=("s3:*",), resources=(BUCKET.arn, f"{BUCKET.arn}/*"))
    assert deny.actions == ("s3:*",)


# --- Firehose: Kinesis -> S3 -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def delivery() -> dict:
    """One synthesized delivery stream with the defaults of cdktf.json, shared by the read-only tests below."""
    stack = new_stack()
    KinesisToS3DeliveryStream(stack, "Delivery", delivery_props(stack))
    return synth(stack)


def test_firehose_reads_the_kinesis_stream_and_writes_extended_s3_with_dynamic_partitioning(delivery):
    firehose = only(delivery, "resource", "aws_kinesis_firehose_delivery_stream")
    role_logical_id, _ = role_named(delivery, FIREHOSE_ROLE)
    role_arn = f"${{aws_iam_role.{role_logical_id}.arn}}"
    stream_arn = "${aws_kinesis_stream.%s.arn}" % next(iter(delivery["resource"]["aws_kinesis_stream"]))
    assert firehose["name"] == "bb-apps-devstg-ddb-lakehouse-firehose"
    assert firehose["destination"] == "extended_s3"
    assert firehose["kinesis_source_configuration"] == {"kinesis_stream_arn": stream_arn, "role_arn": role_arn}
    s3 = firehose["extended_s3_configuration"]
    assert s3["role_arn"] == role_arn
    assert s3["bucket_arn"] == BUCKET.arn
    assert s3["prefix"] == PREFIX
    assert s3["error_output_prefix"] == ERROR_PREFIX
    assert (s3["buffering_size"], s3["buffering_interval"]) == (100, 100)
    assert s3["dynamic_partitioning_configuration"] == {"enabled": True}
    processing = s3["processing_configuration"]
    assert processing["enabled"] is True
    [extraction] = [p for p in processing["processors"] if p["type"] == "MetadataExtraction"]
    assert extraction["parameters"] == [
        {"parameter_name": "MetadataExtractionQuery", "parameter_value": QUERY},
        {"parameter_name": "JsonParsingEngine", "parameter_value": "JQ-1.6"},
    ]


def test_firehose_logs_errors_to_its_own_log_group_and_stream(delivery):
    s3 = only(delivery, "resource", "aws_kinesis_firehose_delivery_stream")["extended_s3_configuration"]
    group = only(delivery, "resource", "aws_cloudwatch_log_group")
    log_stream = only(delivery, "resource", "aws_cloudwatch_log_stream")
    key_id = next(iter(delivery["resource"]["aws_kms_key"]))
    assert group == {"name": "/aws/kinesisfirehose/bb-apps-devstg-ddb-lakehouse-firehose", "retention_in_days": 30,
                     "kms_key_id": f"${{aws_kms_key.{key_id}.arn}}"}
    group_id = next(iter(delivery["resource"]["aws_cloudwatch_log_group"]))
    assert log_stream["log_group_name"] == f"${{aws_cloudwatch_log_group.{group_id}.name}}"
    stream_id = next(iter(delivery["resource"]["aws_cloudwatch_log_stream"]))
    # References, not copies of the names: Firehose is created after the group and stream it logs to.
    assert s3["cloudwatch_logging_options"] == {
        "enabled": True, "log_group_name": f"${{aws_cloudwatch_log_group.{group_id}.name}}",
        "log_stream_name": f"${{aws_cloudwatch_log_stream.{stream_id}.name}}"}
    firehose = only(delivery, "resource", "aws_kinesis_firehose_delivery_stream")
    assert firehose["depends_on"] == [f"aws_iam_role_policy.{next(iter(delivery['resource']['aws_iam_role_policy']))}"]


def test_firehose_role_is_least_privilege_and_writes_only_below_the_static_prefix(delivery):
    statements = inline_policy_of(delivery, FIREHOSE_ROLE)
    assert_least_privilege(statements)
    statements = by_sid(statements)
    assert sorted(statements) == ["DecryptKinesisRecords", "ListBucketPrefixes", "LocateBucket", "ReadKinesisStream",
                                  "WriteBucketObjects", "WriteLogStream"]
    assert statements["ListBucketPrefixes"]["condition"] == [
        {"test": "StringLike", "variable": "s3:prefix", "values": ["dynamodb_data/*"]}]
    assert statements["WriteBucketObjects"]["resources"] == [f"{BUCKET.arn}/dynamodb_data/*"]
    assert statements["WriteBucketObjects"]["actions"] == ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"]
    assert statements["LocateBucket"]["resources"] == [BUCKET.arn]
    log_stream_id = next(iter(delivery["resource"]["aws_cloudwatch_log_stream"]))
    assert statements["WriteLogStream"] == {
        "sid": "WriteLogStream", "effect": "Allow", "actions": ["logs:PutLogEvents"],
        "resources": [f"${{aws_cloudwatch_log_stream.{log_stream_id}.arn}}"]}
    _, iam_role = role_named(delivery, FIREHOSE_ROLE)
    [trust] = policy_statements(delivery, iam_role["assume_role_policy"])
    assert trust["principals"] == [{"type": "Service", "identifiers": ["firehose.amazonaws.com"]}]
    # Firehose presents the account id as external id (confused-deputy guard).
    assert trust["condition"] == [{"test": "StringEquals", "variable": "sts:ExternalId", "values": [ACCOUNT]}]


@pytest.mark.parametrize("overrides, message", [
    ({"buffering_size_mib": 0}, r"buffering size is 0; .* from 1 to 128"),
    ({"buffering_size_mib": 129}, r"buffering size is 129; .* from 1 to 128"),
    ({"buffering_size_mib": 32}, r"buffering size is 32 MiB; with dynamic partitioning AWS requires at least 64"),
    ({"buffering_interval_seconds": 901}, r"buffering interval is 901; .* from 0 to 900"),
    ({"buffering_interval_seconds": -1}, r"buffering interval is -1; .* from 0 to 900"),
    ({"prefix": "dynamodb_data/!{partitionKeyFromQuery:other}/"},
     r"uses partition key\(s\) other that the query '\{tableName:\.tableName\}' does not produce "
     r"\(it produces tableName\)"),
    ({"error_output_prefix": ""}, r"dynamic partitioning needs an error output prefix"),
    ({"error_output_prefix": "errors/!{partitionKeyFromQuery:tableName}/"},
     r"error output prefix .* AWS forbids partition keys there"),
    ({"name": "f" * 65}, r"Firehose delivery stream name .* has 65 characters, AWS allows 1 to 64"),
    ({"buffering_interval_seconds": 0}, r"zero buffering is not available with dynamic partitioning"),
    ({"prefix": "dynamodb_data/!{partitionKeyFromQuery:tableName}/!{timestamp:yyyy"}, r"unterminated or malformed"),
    ({"prefix": "dynamodb_data/!{partitionKeyFromQuery:tableName}/!{foo:bar}/"}, r"the namespaces are firehose"),
    ({"error_output_prefix": "errors/!{timestamp:yyyy}/"}, r"must include !\{firehose:error-output-type\}"),
    ({"prefix": "d/!{partitionKeyFromQuery:tableName}/!{firehose:error-output-type}/"}, r"only the error prefix"),
    ({"prefix": "dynamodb_data/!{timestamp:yyyy}/"},
     r"^dynamic partitioning is on but the Firehose prefix uses no !\{partitionKeyFromQuery:\.\.\.\} key; "
     r"AWS rejects that$"),
    ({"dynamic_partitioning": DynamicPartitioning(".tableName")},
     r"partition query '\.tableName' must be a JQ object such as '\{tableName:\.tableName\}'"),
], ids=["buffer-0", "buffer-129", "buffer-32-with-partitioning", "interval-901", "interval-negative",
        "unknown-partition-key", "empty-error-prefix", "partition-key-in-error-prefix", "name-65-chars",
        "zero-buffering-with-partitioning", "unterminated-expression", "unknown-namespace",
        "error-prefix-without-error-output-type", "error-output-type-in-prefix", "prefix-without-partition-key",
        "query-not-jq-object"])
def test_firehose_rejects_invalid_props(overrides, message):
    stack = new_stack()
    with pytest.raises(ConstructPropsError, match=message):
        KinesisToS3DeliveryStream(stack, "Delivery", delivery_props(stack, **overrides))


def test_delivery_key_prefix_of_the_default_prefixes_is_the_shared_static_folder():
    assert delivery_key_prefix(PREFIX, ERROR_PREFIX) == "dynamodb_data/"
    # Cut back to the last '/' before the first expression, so grants name a folder, not a partial key.
    assert delivery_key_prefix("raw/year=!{timestamp:yyyy}/") == "raw/"
    assert delivery_key_prefix("raw/cdc/!{timestamp:yyyy}/", "raw/errors/") == "raw/"


# --- S3: secure bucket -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bucket() -> dict:
    stack = new_stack()
    secure = SecureBucket(stack, "Raw", SecureBucketProps(name=BUCKET_NAME))
    secure.grant_write_to_role("FirehoseWrite", ACCOUNT, FIREHOSE_ROLE_ARN, "dynamodb_data/")
    return synth(stack)


def test_secure_bucket_is_versioned_encrypted_private_owner_enforced_with_lifecycle(bucket):
    bucket_id = next(iter(bucket["resource"]["aws_s3_bucket"]))
    bucket_ref = f"${{aws_s3_bucket.{bucket_id}.id}}"
    assert only(bucket, "resource", "aws_s3_bucket")["bucket"] == BUCKET_NAME
    versioning = only(bucket, "resource", "aws_s3_bucket_versioning")
    assert versioning == {"bucket": bucket_ref, "versioning_configuration": {"status": "Enabled"}}
    encryption = only(bucket, "resource", "aws_s3_bucket_server_side_encryption_configuration")
    assert encryption["rule"] == [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]
    assert only(bucket, "resource", "aws_s3_bucket_public_access_block") == {
        "bucket": bucket_ref, "block_public_acls": True, "block_public_policy": True,
        "ignore_public_acls": True, "restrict_public_buckets": True}
    ownership = only(bucket, "resource", "aws_s3_bucket_ownership_controls")
    assert ownership["rule"] == {"object_ownership": "BucketOwnerEnforced"}
    [rule] = only(bucket, "resource", "aws_s3_bucket_lifecycle_configuration")["rule"]
    assert rule["status"] == "Enabled"
    assert rule["transition"] == [{"days": 90, "storage_class": "STANDARD_IA"},
                                  {"days": 365, "storage_class": "GLACIER"}]
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 365}]


def test_secure_bucket_policy_denies_insecure_transport(bucket):
    bucket_id = next(iter(bucket["resource"]["aws_s3_bucket"]))
    bucket_arn = f"${{aws_s3_bucket.{bucket_id}.arn}}"
    policy = only(bucket, "resource", "aws_s3_bucket_policy")
    assert policy["depends_on"] == [
        f"aws_s3_bucket_public_access_block.{next(iter(bucket['resource']['aws_s3_bucket_public_access_block']))}"]
    deny = by_sid(policy_statements(bucket, policy["policy"]))["DenyInsecureTransport"]
    assert deny == {
        "sid": "DenyInsecureTransport",
        "effect": "Deny",
        "actions": ["s3:*"],
        "resources": [bucket_arn, f"{bucket_arn}/*"],
        "principals": [{"type": "*", "identifiers": ["*"]}],
        "condition": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}],
    }


def test_grant_write_to_role_trusts_the_account_and_pins_the_role_by_arn(bucket):
    bucket_id = next(iter(bucket["resource"]["aws_s3_bucket"]))
    bucket_arn = f"${{aws_s3_bucket.{bucket_id}.arn}}"
    policy = only(bucket, "resource", "aws_s3_bucket_policy")
    statements = by_sid(policy_statements(bucket, policy["policy"]))
    assert sorted(statements) == ["DenyInsecureTransport", "FirehoseWriteBucket", "FirehoseWriteListing",
                                  "FirehoseWriteObjects"]
    for sid, resources in (("FirehoseWriteObjects", [f"{bucket_arn}/dynamodb_data/*"]),
                           ("FirehoseWriteBucket", [bucket_arn]), ("FirehoseWriteListing", [bucket_arn])):
        statement = statements[sid]
        assert statement["effect"] == "Allow"
        assert statement["principals"] == [{"type": "AWS", "identifiers": [f"arn:aws:iam::{ACCOUNT}:root"]}]
        assert statement["condition"][0] == {
            "test": "ArnEquals", "variable": "aws:PrincipalArn", "values": [FIREHOSE_ROLE_ARN]}
        assert statement["resources"] == resources
    assert statements["FirehoseWriteObjects"]["actions"] == ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"]
    # Listing only below the prefix the role writes to.
    assert statements["FirehoseWriteListing"]["actions"] == ["s3:ListBucket"]
    assert statements["FirehoseWriteListing"]["condition"][1] == {
        "test": "StringLike", "variable": "s3:prefix", "values": ["dynamodb_data/*"]}


@pytest.mark.parametrize("name, message", [
    ("b" * 64, r"has 64 characters, S3 allows 3 to 63"),
    ("Datalake-raw", r"must be lowercase letters"),
    ("datalake_raw", r"must be lowercase letters"),
    ("192.168.5.4", r"must not look like an IP address"),
    ("xn--datalake-raw", r"uses a prefix or suffix S3 reserves"),
    ("datalake..raw", r"must not contain '\.\.'"),
    ("lake.mrap", r"uses a prefix or suffix S3 reserves"),
], ids=["64-chars", "uppercase", "underscore", "ip-address", "xn-prefix", "double-dot", "mrap-suffix"])
def test_check_bucket_name_rejects_names_s3_would_refuse(name, message):
    with pytest.raises(ConstructPropsError, match=message):
        check_bucket_name(name)


def test_check_bucket_name_accepts_a_dns_compliant_name():
    check_bucket_name(BUCKET_NAME)
    check_bucket_name("logs.example-2024")


# --- DynamoDB ----------------------------------------------------------------------------------------------------

def test_table_is_on_demand_recoverable_encrypted_and_protected():
    stack = new_stack()
    Table(stack, "Table", TableProps(name="bb-apps-devstg-lakehouse", partition_key=KeyAttribute("pk"),
                                     sort_key=KeyAttribute("sk", "N"), encryption_key=KEY))
    synthesized = CdktfTesting.synth(stack)
    assert CdktfTesting.to_have_resource_with_properties(synthesized, "aws_dynamodb_table", {
        "name": "bb-apps-devstg-lakehouse",
        "billing_mode": "PAY_PER_REQUEST",
        "hash_key": "pk",
        "range_key": "sk",
        "attribute": [{"name": "pk", "type": "S"}, {"name": "sk", "type": "N"}],
        "point_in_time_recovery": {"enabled": True},
        "server_side_encryption": {"enabled": True, "kms_key_arn": KEY_ARN},
        "deletion_protection_enabled": True,
    })
    table = only(json.loads(synthesized), "resource", "aws_dynamodb_table")
    assert "read_capacity" not in table and "write_capacity" not in table


@pytest.mark.parametrize("build, message", [
    (lambda: KeyAttribute("pk", "X"), r"has type 'X'; key attributes must be S \(string\), N \(number\) or B"),
    (lambda: TableProps(name="orders", partition_key=KeyAttribute("id"), sort_key=KeyAttribute("id")),
     r"the sort key must differ from the partition key \('id'\)"),
    (lambda: TableProps(name="ab", partition_key=KeyAttribute("id")), r"has 2 characters, AWS allows 3 to 255"),
], ids=["key-type-X", "sort-equals-partition", "name-2-chars"])
def test_table_rejects_invalid_keys_and_names(build, message):
    with pytest.raises(ConstructPropsError, match=message):
        props = build()
        Table(new_stack(), "Table", props)


def test_change_stream_defaults_to_microsecond_precision():
    stack = new_stack()
    KinesisChangeStream(stack, "Changes", ChangeStreamProps(table_name="bb-apps-devstg-lakehouse", stream=stream(stack)))
    synthesized = synth(stack)
    stream_id = next(iter(synthesized["resource"]["aws_kinesis_stream"]))
    assert only(synthesized, "resource", "aws_dynamodb_kinesis_streaming_destination") == {
        "table_name": "bb-apps-devstg-lakehouse",
        "stream_arn": f"${{aws_kinesis_stream.{stream_id}.arn}}",
        "approximate_creation_date_time_precision": "MICROSECOND",
    }


def test_change_stream_rejects_an_unknown_precision():
    stack = new_stack()
    with pytest.raises(ConstructPropsError, match=r"'SECOND' must be MILLISECOND or MICROSECOND"):
        KinesisChangeStream(stack, "Changes", ChangeStreamProps(
            table_name="bb-apps-devstg-lakehouse", stream=stream(stack), creation_time_precision="SECOND"))


# --- Glue --------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def crawler() -> dict:
    stack = new_stack()
    database = CatalogDatabase(stack, "Database", "lakehouse_raw", ENV)
    S3Crawler(stack, "Crawler", CrawlerProps(
        name="bb-data-science-lakehouse-raw", role_name="bb-data-science-crawler-role", env=ENV,
        database=database, bucket=BucketRef(BUCKET.arn, BUCKET_NAME), key_prefix="dynamodb_data/",
        exclusions=("cdc_error/**",)))
    return synth(stack)


def test_crawler_targets_its_prefix_with_exclusions(crawler):
    assert CdktfTesting.to_have_data_source_with_properties(json.dumps(crawler), "aws_iam_policy_document", {
        "statement": [{"sid": "AssumedByService", "principals": [
            {"type": "Service", "identifiers": ["glue.amazonaws.com"]}]}]})
    glue_crawler = only(crawler, "resource", "aws_glue_crawler")
    database_id = next(iter(crawler["resource"]["aws_glue_catalog_database"]))
    # A reference, so the crawler is created after its database; and after its role's permissions.
    assert glue_crawler["database_name"] == f"${{aws_glue_catalog_database.{database_id}.name}}"
    assert glue_crawler["depends_on"] == [f"aws_iam_role_policy.{next(iter(crawler['resource']['aws_iam_role_policy']))}"]
    assert only(crawler, "resource", "aws_glue_catalog_database")["name"] == "lakehouse_raw"
    assert glue_crawler["s3_target"] == [
        {"path": f"s3://{BUCKET_NAME}/dynamodb_data/", "exclusions": ["cdc_error/**"]}]
    role_logical_id, _ = role_named(crawler, "bb-data-science-crawler-role")
    assert glue_crawler["role"] == f"${{aws_iam_role.{role_logical_id}.arn}}"


def test_crawler_role_may_write_only_its_database_and_read_only_its_prefix(crawler):
    statements = inline_policy_of(crawler, "bb-data-science-crawler-role")
    assert_least_privilege(statements)
    statements = by_sid(statements)
    glue = statements["CrawlIntoDatabase"]
    assert all(action.startswith("glue:") for action in glue["actions"])
    assert glue["resources"] == [
        f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog",
        f"arn:aws:glue:{REGION}:{ACCOUNT}:database/lakehouse_raw",
        f"arn:aws:glue:{REGION}:{ACCOUNT}:table/lakehouse_raw/*",
    ]
    assert statements["ReadBucketObjects"]["actions"] == ["s3:GetObject"]
    assert statements["ReadBucketObjects"]["resources"] == [f"{BUCKET.arn}/dynamodb_data/*"]
    assert statements["ListBucket"]["resources"] == [BUCKET.arn]
    assert statements["ListBucket"]["condition"] == [
        {"test": "StringLike", "variable": "s3:prefix", "values": ["dynamodb_data/*"]}]
    assert not any(action.startswith("s3:Put") for statement in statements.values()
                   for action in statement["actions"])


# --- CloudWatch Logs ---------------------------------------------------------------------------------------------

def test_log_group_rejects_a_retention_cloudwatch_does_not_offer():
    with pytest.raises(ConstructPropsError, match=r"log retention 2 days is not one CloudWatch offers; use one of 1, 3, 5"):
        LogGroup(new_stack(), "Logs", LogGroupProps(name="/aws/kinesisfirehose/lakehouse", retention_days=2))


def test_two_grants_of_the_same_kind_get_distinct_statement_ids():
    stack = new_stack()
    consumer = role(stack)
    stream(stack).grant_read(consumer)
    DataStream(stack, "Other", DataStreamProps(name="other-stream", env=ENV)).grant_read(consumer)
    sids = [statement["sid"] for statement in inline_policy_of(synth(stack), "bb-apps-devstg-consumer-role")]
    assert sids == ["ReadKinesisStream", "DecryptKinesisRecords", "ReadKinesisStream2"]


def test_names_must_be_ascii():
    with pytest.raises(ConstructPropsError, match="IAM role name"):
        role(new_stack(), name="r\u00f4le-\u00f1")


def test_infrequent_access_transition_needs_30_days():
    with pytest.raises(ConstructPropsError, match="after 30 days at the earliest"):
        SecureBucket(new_stack(), "Bucket", SecureBucketProps(name=BUCKET_NAME, transitions=(Transition(10, "STANDARD_IA"),)))


# --- limits: the smallest and largest value AWS accepts, and the first it rejects on each side --------------------

def firehose_with(stack: TerraformStack, **overrides) -> None:
    KinesisToS3DeliveryStream(stack, "Delivery", delivery_props(stack, **overrides))


def unpartitioned_firehose_with(stack: TerraformStack, **overrides) -> None:
    firehose_with(stack, **{"dynamic_partitioning": None, "prefix": "raw/", "error_output_prefix": "errors/",
                            **overrides})


def log_group_with(stack: TerraformStack, **overrides) -> None:
    LogGroup(stack, "Logs", LogGroupProps(**{"name": "/aws/kinesisfirehose/lakehouse", **overrides}))


def crawler_with(stack: TerraformStack, name: str) -> None:
    database = CatalogDatabase(stack, "Database", "lakehouse_raw", ENV)
    S3Crawler(stack, "Crawler", CrawlerProps(name=name, role_name="crawler-role", env=ENV, database=database,
                                             bucket=BucketRef(BUCKET.arn, BUCKET_NAME), key_prefix="raw/"))


def padded_prefix(length: int) -> str:
    """A valid partitioned prefix of exactly `length` characters."""
    return "p" * (length - len(PREFIX)) + PREFIX


def transition_limit(storage_class: str, earliest: int, message: str) -> "Limit":
    """A lifecycle transition to `storage_class`: `earliest` days accepted, one day fewer refused."""
    return Limit(lambda s, v: SecureBucket(s, "Bucket", SecureBucketProps(name=BUCKET_NAME, transitions=(
        Transition(v, storage_class),))), (earliest,), (earliest - 1,), rf"^bucket {BUCKET_NAME}: {message}$",
        ("aws_s3_bucket_lifecycle_configuration", "rule.0.transition.0.days"))


def length_message(kind: str, low: int, high: int) -> str:
    return (rf"^{kind} name '[^']*' has \d+ characters, AWS allows {low} to {high}; shorten the project, account or "
            r"layer naming settings$")


def alarm_topic_with(stack: TerraformStack, **overrides: object) -> AlarmTopic:
    return AlarmTopic(stack, "Alarms", AlarmTopicProps(**{"name": "bb-alarms", "env": ENV, **overrides}))


def metric_alarm_with(stack: TerraformStack, statistic: str = "Maximum", period_seconds: int = 300,
                      **overrides: object) -> MetricAlarm:
    metric = Metric("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", {"StreamName": "s"}, statistic, period_seconds)
    return MetricAlarm(stack, "Alarm", MetricAlarmProps(**{
        "name": "bb-iterator-age", "description": "d", "metric": metric, "comparison": "GreaterThanThreshold",
        "threshold": 60000.0, "topic": alarm_topic_with(stack), **overrides}))


@dataclass(frozen=True)
class Limit:
    """One AWS limit: `build(stack, value)` builds a construct; `where` is (resource type, attribute path) whose
    synthesized value must be the accepted value itself, or None when nothing is synthesized."""

    build: Callable[[TerraformStack, object], None]
    accepted: tuple
    rejected: tuple
    message: str
    where: tuple[str, str] | None = None


LIMITS = {
    "kinesis-retention-hours": Limit(lambda s, v: stream(s, retention_hours=v), (24, 8760), (23, 8761),
                                     r"^Kinesis retention is \d+; AWS accepts a whole number of hours from 24 to 8760$",
                                     ("aws_kinesis_stream", "retention_period")),
    "kinesis-shard-count": Limit(lambda s, v: stream(s, on_demand=False, shard_count=v), (1, 100_000), (0, 100_001),
                                 r"^Kinesis shard count is \d+; AWS accepts a whole number of shards from 1 to 100000$",
                                 ("aws_kinesis_stream", "shard_count")),
    "kinesis-name-length": Limit(lambda s, v: stream(s, name="k" * v), (1, 128), (0, 129),
                                 length_message("Kinesis stream", 1, 128), ("aws_kinesis_stream", "name")),
    "firehose-buffer-mib-partitioned": Limit(
        lambda s, v: firehose_with(s, buffering_size_mib=v), (64, 128), (63, 129),
        r"^Firehose buffering size is (63 MiB; with dynamic partitioning AWS requires at least 64 MiB"
        r"|129; AWS accepts a whole number of MiB from 1 to 128)$",
        ("aws_kinesis_firehose_delivery_stream", "extended_s3_configuration.buffering_size")),
    "firehose-buffer-mib": Limit(
        lambda s, v: unpartitioned_firehose_with(s, buffering_size_mib=v), (1, 128), (0, 129),
        r"^Firehose buffering size is \d+; AWS accepts a whole number of MiB from 1 to 128$",
        ("aws_kinesis_firehose_delivery_stream", "extended_s3_configuration.buffering_size")),
    "firehose-interval-partitioned": Limit(
        lambda s, v: firehose_with(s, buffering_interval_seconds=v), (1, 900), (0, 901),
        r"^Firehose buffering interval is (0 s; zero buffering is not available with dynamic partitioning, use 1 to "
        r"900 seconds|901; AWS accepts a whole number of seconds from 0 to 900)$",
        ("aws_kinesis_firehose_delivery_stream", "extended_s3_configuration.buffering_interval")),
    "firehose-interval": Limit(
        lambda s, v: unpartitioned_firehose_with(s, buffering_interval_seconds=v), (0, 900), (-1, 901),
        r"^Firehose buffering interval is -?\d+; AWS accepts a whole number of seconds from 0 to 900$",
        ("aws_kinesis_firehose_delivery_stream", "extended_s3_configuration.buffering_interval")),
    "firehose-name-length": Limit(lambda s, v: firehose_with(s, name="f" * v), (1, 64), (0, 65),
                                  length_message("Firehose delivery stream", 1, 64),
                                  ("aws_kinesis_firehose_delivery_stream", "name")),
    "firehose-prefix-length": Limit(lambda s, v: firehose_with(s, prefix=padded_prefix(v)), (len(PREFIX), 1024),
                                    (1025,), r"^Firehose prefix is over 1024 bytes$",
                                    ("aws_kinesis_firehose_delivery_stream", "extended_s3_configuration.prefix")),
    "firehose-error-prefix-length": Limit(
        lambda s, v: firehose_with(s, error_output_prefix="e" * v), (1, 1024), (1025,),
        r"^Firehose error output prefix is over 1024 bytes$",
        ("aws_kinesis_firehose_delivery_stream", "extended_s3_configuration.error_output_prefix")),
    "iam-role-name-length": Limit(lambda s, v: role(s, name="r" * v).add_to_principal_policy(PolicyStatement(
        sid="Read", actions=("s3:GetObject",), resources=(f"{BUCKET.arn}/raw/*",))), (1, 64), (0, 65),
        length_message("IAM role", 1, 64), ("aws_iam_role", "name")),
    "s3-bucket-name-length": Limit(lambda s, v: check_bucket_name("b" * v), (3, 63), (2, 64),
                                   r"^S3 bucket name 'b*' has \d+ characters, S3 allows 3 to 63 \(not DNS-compliant\)$"),
    "s3-infrequent-access-days": transition_limit("STANDARD_IA", 30, "S3 moves objects to STANDARD_IA after 30 days "
                                                                    "at the earliest, not 29"),
    "s3-one-zone-infrequent-access-days": transition_limit("ONEZONE_IA", 30, "S3 moves objects to ONEZONE_IA after 30 "
                                                                           "days at the earliest, not 29"),
    "s3-transition-days": transition_limit("GLACIER", 1, r"lifecycle transition days \[0\] must be increasing and "
                                                         "positive"),
    "dynamodb-table-name-length": Limit(
        lambda s, v: Table(s, "Table", TableProps(name="t" * v, partition_key=KeyAttribute("pk"))), (3, 255), (2, 256),
        length_message("DynamoDB table", 3, 255), ("aws_dynamodb_table", "name")),
    "dynamodb-key-name-bytes": Limit(
        lambda s, v: Table(s, "Table", TableProps(name="orders", partition_key=KeyAttribute("\u00e9" * (v // 2) + "k" * (v % 2)))),
        (1, 255), (0, 256), r"^DynamoDB key attribute name '[^']*' must be 1 to 255 bytes$",
        ("aws_dynamodb_table", "hash_key")),
    "log-retention-days": Limit(lambda s, v: log_group_with(s, retention_days=v), (1, 3653), (0, 2, 3654),
                                r"^log retention \d+ days is not one CloudWatch offers; use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, "
                                r"180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653$",
                                ("aws_cloudwatch_log_group", "retention_in_days")),
    "log-group-name-length": Limit(lambda s, v: log_group_with(s, name="g" * v), (1, 512), (0, 513),
                                   length_message("CloudWatch log group", 1, 512), ("aws_cloudwatch_log_group", "name")),
    "log-stream-name-length": Limit(lambda s, v: LogGroup(s, "Logs", LogGroupProps(name="group")).add_stream(
        "Stream", "s" * v), (1, 512), (0, 513), length_message("CloudWatch log stream", 1, 512),
        ("aws_cloudwatch_log_stream", "name")),
    "glue-database-name-length": Limit(lambda s, v: CatalogDatabase(s, "Database", "d" * v, ENV), (1, 255), (0, 256),
                                       length_message("Glue database", 1, 255), ("aws_glue_catalog_database", "name")),
    "glue-crawler-name-length": Limit(lambda s, v: crawler_with(s, "c" * v), (1, 255), (0, 256),
                                      length_message("Glue crawler", 1, 255), ("aws_glue_crawler", "name")),
    "sns-topic-name-length": Limit(lambda s, v: alarm_topic_with(s, name="n" * v), (1, 256), (0, 257),
                                   length_message("SNS topic", 1, 256), ("aws_sns_topic", "name")),
    "alarm-topic-key-deletion-days": Limit(
        lambda s, v: alarm_topic_with(s, key_deletion_window_days=v), (7, 30), (6, 31),
        r"^KMS key deletion window is \d+; AWS accepts a whole number of days from 7 to 30$",
        ("aws_kms_key", "deletion_window_in_days")),
    "alarm-evaluation-periods": Limit(
        lambda s, v: metric_alarm_with(s, evaluation_periods=v), (1, 100), (0, 101),
        r"^alarm bb-iterator-age evaluation periods is \d+; AWS accepts a whole number of periods from 1 to 100$",
        ("aws_cloudwatch_metric_alarm", "evaluation_periods")),
    "alarm-datapoints": Limit(
        lambda s, v: metric_alarm_with(s, evaluation_periods=5, datapoints_to_alarm=v), (1, 5), (6,),
        r"^alarm bb-iterator-age datapoints is \d+; AWS accepts a whole number of data points from 1 to 5$",
        ("aws_cloudwatch_metric_alarm", "datapoints_to_alarm")),
    "alarm-name-length": Limit(lambda s, v: metric_alarm_with(s, name="a" * v), (1, 255), (0, 256),
                               length_message("CloudWatch alarm", 1, 255),
                               ("aws_cloudwatch_metric_alarm", "alarm_name")),
}


def expected_in_output(limit_id: str, value: object) -> object:
    """What the synthesized attribute holds for an accepted value (names are built from the value)."""
    expected = {"kinesis-name-length": "k", "firehose-name-length": "f", "iam-role-name-length": "r",
                "firehose-error-prefix-length": "e",
                "dynamodb-table-name-length": "t", "log-group-name-length": "g", "log-stream-name-length": "s",
                "glue-database-name-length": "d", "glue-crawler-name-length": "c", "sns-topic-name-length": "n",
                "alarm-name-length": "a"}
    if limit_id in expected:
        return expected[limit_id] * value
    if limit_id == "firehose-prefix-length":
        return padded_prefix(value)
    if limit_id == "dynamodb-key-name-bytes":
        return "\u00e9" * (value // 2) + "k" * (value % 2)
    return value


def attribute(resource: dict, path: str) -> object:
    for step in path.split("."):
        resource = resource[int(step)] if step.isdigit() else resource[step]
    return resource


@pytest.mark.parametrize("limit_id, value", [(limit_id, value) for limit_id, limit in LIMITS.items()
                                             for value in limit.accepted])
def test_limits_accept_the_smallest_and_largest_value_aws_accepts(limit_id, value):
    limit = LIMITS[limit_id]
    stack = new_stack()
    limit.build(stack, value)
    if limit.where:
        resource_type, path = limit.where
        assert attribute(only(synth(stack), "resource", resource_type), path) == expected_in_output(limit_id, value)


@pytest.mark.parametrize("limit_id, value", [(limit_id, value) for limit_id, limit in LIMITS.items()
                                             for value in limit.rejected])
def test_limits_reject_the_first_value_past_each_end(limit_id, value):
    limit = LIMITS[limit_id]
    with pytest.raises(ConstructPropsError, match=limit.message):
        limit.build(new_stack(), value)


# --- alarms ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, message", [
    ({"comparison": "GreaterThan"}, "comparison 'GreaterThan' is not one of GreaterThanThreshold, "
     "GreaterThanOrEqualToThreshold, LessThanThreshold, LessThanOrEqualToThreshold"),
    ({"statistic": "p99"}, "statistic 'p99' is not one of SampleCount, Average, Sum, Minimum, Maximum"),
    ({"treat_missing_data": "zero"}, "missing-data treatment 'zero' is not one of breaching, notBreaching, ignore, "
     "missing"),
    ({"period_seconds": 45}, "period 45 s must be 10, 20, 30 or a multiple of 60"),
    ({"period_seconds": 90}, "period 90 s must be 10, 20, 30 or a multiple of 60"),
    ({"threshold": -0.5}, "threshold -0.5 must not be negative"),
], ids=["comparison", "statistic", "missing-data", "period-45", "period-90", "negative-threshold"])
def test_metric_alarm_refuses_what_cloudwatch_rejects(overrides, message):
    with pytest.raises(ConstructPropsError, match=f"^{re.escape(f'alarm bb-iterator-age: {message}')}$"):
        metric_alarm_with(new_stack(), **overrides)


@pytest.mark.parametrize("period", [10, 20, 30, 60, 120])
def test_metric_alarm_accepts_high_resolution_periods_and_whole_minutes(period):
    stack = new_stack()
    metric_alarm_with(stack, period_seconds=period, threshold=0.0)
    alarm = only(synth(stack), "resource", "aws_cloudwatch_metric_alarm")
    assert (alarm["period"], alarm["threshold"], alarm["datapoints_to_alarm"]) == (period, 0, 1)


# --- environment: ARNs and endpoints per partition ---------------------------------------------------------------

@pytest.mark.parametrize("region, partition, host_suffix", [
    ("us-east-1", "aws", "amazonaws.com"), ("eu-west-1", "aws", "amazonaws.com"),
    ("cn-north-1", "aws-cn", "amazonaws.com.cn"), ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
])
def test_environment_builds_arns_and_endpoints_of_its_partition(region, partition, host_suffix):
    env = AwsEnvironment(ACCOUNT, region)
    assert env.partition == partition
    assert env.arn("glue", "catalog") == f"arn:{partition}:glue:{region}:{ACCOUNT}:catalog"
    assert env.role_arn("reader") == f"arn:{partition}:iam::{ACCOUNT}:role/reader"
    assert env.account_root_arn() == f"arn:{partition}:iam::{ACCOUNT}:root"
    assert env.service_host("kinesis") == f"kinesis.{region}.{host_suffix}"


# --- IAM statements: what an Allow may name ----------------------------------------------------------------------

@pytest.mark.parametrize("resource", [
    f"{BUCKET.arn}/*", f"{BUCKET.arn}/raw/*", BUCKET.arn, "${aws_s3_bucket.raw.arn}/*",
    f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/glue:*", f"arn:aws:glue:{REGION}:{ACCOUNT}:table/lake/*",
    f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders/stream/*",
], ids=["bucket-objects", "prefix-objects", "bucket", "reference-path", "log-group-streams", "tables-of-db",
        "table-streams"])
def test_allow_accepts_a_trailing_wildcard_below_one_named_resource(resource):
    assert PolicyStatement(sid="Named", actions=("s3:GetObject",), resources=(resource,)).resources == (resource,)


@pytest.mark.parametrize("resource", [
    f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/*", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*",
    f"{BUCKET.arn}/*/raw", f"{BUCKET.arn}/raw*", "${aws_s3_bucket.raw.arn}*", "raw/*", "arn:aws:s3/*",
    f"{BUCKET.arn}/ra?",
], ids=["every-table", "every-log-group", "wildcard-mid-path", "partial-name", "reference-partial",
        "not-an-arn", "short-arn", "question-mark"])
def test_allow_refuses_any_other_wildcard_resource(resource):
    with pytest.raises(ConstructPropsError, match=r"allows wildcard resource"):
        PolicyStatement(sid="Broad", actions=("s3:GetObject",), resources=(resource,))


@pytest.mark.parametrize("props, message", [
    ({"actions": ()}, r"policy statement 'Sid' needs at least one action and one resource"),
    ({"resources": ()}, r"policy statement 'Sid' needs at least one action and one resource"),
    ({"effect": "allow"}, r"policy statement 'Sid': effect must be 'Allow' or 'Deny'"),
    ({"sid": "Read-Objects"}, r"policy statement id 'Read-Objects' must be letters and digits only"),
    ({"sid": ""}, r"policy statement id '' must be letters and digits only"),
], ids=["no-actions", "no-resources", "lowercase-effect", "sid-dash", "sid-empty"])
def test_policy_statement_refuses_malformed_statements(props, message):
    with pytest.raises(ConstructPropsError, match=message):
        PolicyStatement(**{"sid": "Sid", "actions": ("s3:GetObject",), "resources": (f"{BUCKET.arn}/*",), **props})


def test_repeated_grants_get_numbered_statement_ids():
    stack = new_stack()
    consumer = role(stack)
    for _ in range(3):
        consumer.add_to_principal_policy(
            PolicyStatement(sid="Read", actions=("s3:GetObject",), resources=(f"{BUCKET.arn}/*",)))
    consumer.add_to_principal_policy(
        PolicyStatement(sid="Read2", actions=("s3:ListBucket",), resources=(BUCKET.arn,)))
    sids = [statement["sid"] for statement in inline_policy_of(synth(stack), "bb-apps-devstg-consumer-role")]
    assert sids == ["Read", "Read2", "Read3", "Read22"]


# --- Firehose: partition queries and the shared key prefix -------------------------------------------------------

@pytest.mark.parametrize("query, keys", [
    ("{tableName:.tableName}", ["tableName"]),
    ('  { "tableName" : .tableName , op:(.a|split(",")|first), nested:{x:.y,z:.w}, _k1:.k }  ',
     ["tableName", "op", "nested", "_k1"]),
    ("{a:.x,,b:.y,}", ["a", "b"]),
    ("{tableX:.X, op:.Y}", ["tableX", "op"]),
])
def test_partition_query_keys_are_the_top_level_keys_of_the_jq_object(query, keys):
    assert DynamicPartitioning(query).keys() == keys


@pytest.mark.parametrize("query, message", [
    ("{}", r"must be a JQ object"),
    ("tableName:.tableName", r"must be a JQ object"),
    ("{1table:.t}", r"'1table:\.t' is not `key:\.path`"),
    ("{tableName}", r"'tableName' is not `key:\.path`"),
    ("{table-name:.t}", r"'table-name:\.t' is not `key:\.path`"),
])
def test_partition_query_that_is_not_a_jq_object_of_keys_is_refused(query, message):
    with pytest.raises(ConstructPropsError, match=message):
        DynamicPartitioning(query).keys()


@pytest.mark.parametrize("prefixes, shared", [
    (("raw/cdc/",), "raw/cdc/"),
    (("raw/cdc/!{timestamp:yyyy}/",), "raw/cdc/"),
    (("raw/cdc-!{timestamp:yyyy}/",), "raw/"),
    (("raw/a/b/", "raw/a/c/"), "raw/a/"),
    (("raw/ab/", "raw/ac/"), "raw/"),
    (("raw/x/", "raw/x/y/", "raw/x/!{firehose:error-output-type}/"), "raw/x/"),
    (("one/", "two/"), ""),
    (("raw",), ""),
])
def test_delivery_key_prefix_is_the_longest_shared_folder_before_any_expression(prefixes, shared):
    assert delivery_key_prefix(*prefixes) == shared


# --- options each construct passes through, and the rest of the naming rules -------------------------------------

@pytest.mark.parametrize("name, message", [
    ("sthree-lake", r"uses a prefix or suffix S3 reserves"),
    ("amzn-s3-demo-lake", r"uses a prefix or suffix S3 reserves"),
    ("lake-s3alias", r"uses a prefix or suffix S3 reserves"),
    ("lake--ol-s3", r"uses a prefix or suffix S3 reserves"),
    ("lake--x-s3", r"uses a prefix or suffix S3 reserves"),
    ("lake.-raw", r"must not contain '\.\.', '\.-' or '-\.'"),
    ("lake-.raw", r"must not contain '\.\.', '\.-' or '-\.'"),
    ("-lake", r"must be lowercase letters, digits"),
    ("lake-", r"must be lowercase letters, digits"),
], ids=["sthree", "amzn-s3-demo", "s3alias", "ol-s3", "x-s3", "dot-dash", "dash-dot", "leading-dash",
        "trailing-dash"])
def test_check_bucket_name_refuses_the_other_names_s3_reserves_or_forbids(name, message):
    with pytest.raises(ConstructPropsError, match=rf"^S3 bucket name {re.escape(repr(name))} {message}"):
        check_bucket_name(name)


def test_check_bucket_name_accepts_names_near_the_reserved_ones():
    for name in ("lake.s3alias-x", "xn-lake", "my-sthree-lake", "192.168.5", "lake.raw-2"):
        check_bucket_name(name)


def test_secure_bucket_passes_its_options_through():
    stack = new_stack()
    SecureBucket(stack, "Bucket", SecureBucketProps(
        name=BUCKET_NAME, transitions=(Transition(30, "STANDARD_IA"), Transition(60, "GLACIER_IR")),
        noncurrent_version_expiration_days=7,
        force_destroy=True, tags={"team": "data"}))
    synthesized = synth(stack)
    assert only(synthesized, "resource", "aws_s3_bucket") == {"bucket": BUCKET_NAME, "force_destroy": True,
                                                              "tags": {"team": "data"}}
    [rule] = only(synthesized, "resource", "aws_s3_bucket_lifecycle_configuration")["rule"]
    assert rule["transition"] == [{"days": 30, "storage_class": "STANDARD_IA"}, {"days": 60, "storage_class": "GLACIER_IR"}]
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 7}]
    assert rule["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]
    assert rule["filter"] == [{"prefix": ""}] and rule["id"] == "age-out"


@pytest.mark.parametrize("days", [(90, 90), (365, 90), (0,)], ids=["repeated", "decreasing", "zero"])
def test_secure_bucket_refuses_transitions_that_are_not_increasing_and_positive(days):
    transitions = tuple(Transition(day, "GLACIER") for day in days)
    with pytest.raises(ConstructPropsError, match=r"lifecycle transition days .* must be increasing and positive"):
        SecureBucket(new_stack(), "Bucket", SecureBucketProps(name=BUCKET_NAME, transitions=transitions))


def test_bucket_grant_to_a_role_of_another_partition_names_that_partition_root():
    stack = new_stack()
    bucket_in_china = SecureBucket(stack, "Raw", SecureBucketProps(name=BUCKET_NAME))
    bucket_in_china.grant_write_to_role("Writer", ACCOUNT, f"arn:aws-cn:iam::{ACCOUNT}:role/writer")
    synthesized = synth(stack)
    statements = by_sid(policy_statements(synthesized, only(synthesized, "resource", "aws_s3_bucket_policy")["policy"]))
    assert statements["WriterObjects"]["principals"] == [{"type": "AWS", "identifiers": [f"arn:aws-cn:iam::{ACCOUNT}:root"]}]
    assert statements["WriterBucket"]["actions"] == ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
    assert statements["WriterListing"]["actions"] == ["s3:ListBucket"]
    assert statements["WriterListing"]["principals"] == statements["WriterObjects"]["principals"]


def test_table_options_and_the_aws_managed_key():
    stack = new_stack()
    Table(stack, "Table", TableProps(name="orders", partition_key=KeyAttribute("id", "B"),
                                     point_in_time_recovery=False, deletion_protection=False))
    table = only(synth(stack), "resource", "aws_dynamodb_table")
    assert table["attribute"] == [{"name": "id", "type": "B"}] and "range_key" not in table
    assert table["point_in_time_recovery"] == {"enabled": False}
    assert table["deletion_protection_enabled"] is False
    assert table["server_side_encryption"] == {"enabled": True}  # the AWS-managed key aws/dynamodb


def test_provisioned_data_stream_sets_its_shard_count():
    stack = new_stack()
    stream(stack, on_demand=False, shard_count=4)
    resource = only(synth(stack), "resource", "aws_kinesis_stream")
    assert resource["stream_mode_details"] == {"stream_mode": "PROVISIONED"} and resource["shard_count"] == 4


def test_on_demand_data_stream_ignores_the_shard_count():
    stack = new_stack()
    stream(stack, shard_count=0)  # not checked: on-demand streams have no shard count
    assert "shard_count" not in only(synth(stack), "resource", "aws_kinesis_stream")


@pytest.mark.parametrize("build, message", [
    (lambda stack: CatalogDatabase(stack, "Database", "Lake-Raw", ENV),
     r"Glue database name 'Lake-Raw' is not valid; AWS allows only lowercase letters, digits and _"),
    (lambda stack: S3Crawler(stack, "Crawler", CrawlerProps(
        name="crawler", role_name="crawler-role", env=ENV, database=CatalogDatabase(stack, "Database", "lake", ENV),
        bucket=BUCKET, key_prefix="raw/")), r"the crawler's bucket reference needs the bucket's name"),
], ids=["database-uppercase", "bucket-without-name"])
def test_glue_refuses_invalid_props(build, message):
    with pytest.raises(ConstructPropsError, match=message):
        build(new_stack())


def test_crawler_without_exclusions_or_schedule_writes_neither():
    stack = new_stack()
    S3Crawler(stack, "Crawler", CrawlerProps(
        name="crawler", role_name="crawler-role", env=ENV, database=CatalogDatabase(stack, "Database", "lake", ENV),
        bucket=BucketRef(BUCKET.arn, BUCKET_NAME), key_prefix="raw/", schedule=None))
    crawler = only(synth(stack), "resource", "aws_glue_crawler")
    assert crawler["s3_target"] == [{"path": f"s3://{BUCKET_NAME}/raw/"}] and "schedule" not in crawler


def test_crawler_runs_hourly_by_default_and_logs_only_to_its_own_stream(crawler):
    assert only(crawler, "resource", "aws_glue_crawler")["schedule"] == "cron(15 * * * ? *)"
    statements = by_sid(inline_policy_of(crawler, "bb-data-science-crawler-role"))
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws-glue/crawlers"
    assert statements["CreateCrawlerLogGroup"]["actions"] == ["logs:CreateLogGroup"]
    assert statements["CreateCrawlerLogGroup"]["resources"] == [group]
    assert statements["WriteCrawlerLogs"]["actions"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statements["WriteCrawlerLogs"]["resources"] == [f"{group}:log-stream:bb-data-science-lakehouse-raw"]


@pytest.mark.parametrize("build", [
    lambda stack: stream(stack, name="Lakehouse-Stream.v2_1"),
    lambda stack: firehose_with(stack, name="Lakehouse-Firehose.v2_1"),
    lambda stack: Table(stack, "Table", TableProps(name="Orders-Table.v2_1", partition_key=KeyAttribute("Id"))),
    lambda stack: log_group_with(stack, name="/Aws/Lake_1#x.y-z"),
], ids=["kinesis", "firehose", "dynamodb", "log-group"])
def test_names_may_use_uppercase_letters_and_the_punctuation_aws_allows(build):
    build(new_stack())


@pytest.mark.parametrize("build, message", [
    (lambda stack: stream(stack, name="lake stream"), r"^Kinesis stream name 'lake stream' is not valid; AWS allows only "
                                                      r"letters, digits and _\.-$"),
    (lambda stack: firehose_with(stack, name="lake/firehose"), r"^Firehose delivery stream name 'lake/firehose' is not "
                                                               r"valid; AWS allows only letters, digits and _\.-$"),
    (lambda stack: Table(stack, "Table", TableProps(name="orders!", partition_key=KeyAttribute("id"))),
     r"^DynamoDB table name 'orders!' is not valid; AWS allows only letters, digits and _\.-$"),
    (lambda stack: log_group_with(stack, name="group name"),
     r"^CloudWatch log group name 'group name' is not valid; AWS allows only letters, digits and _-\./#$"),
    (lambda stack: LogGroup(stack, "Logs", LogGroupProps(name="group")).add_stream("Stream", "a:b"),
     r"^CloudWatch log stream name 'a:b' is not valid; AWS allows only any character but : and \*$"),
    (lambda stack: crawler_with(stack, "crawler\x01"),
     r"^Glue crawler name 'crawler\\x01' is not valid; AWS allows only printable characters$"),
    (lambda stack: role(stack, name="role name"),
     r"^IAM role name 'role name' is not valid; AWS allows only letters, digits and \+=,\.@_-$"),
], ids=["kinesis", "firehose", "dynamodb", "log-group", "log-stream", "crawler", "role"])
def test_names_with_characters_aws_refuses_are_refused(build, message):
    with pytest.raises(ConstructPropsError, match=message):
        build(new_stack())


@pytest.mark.parametrize("overrides, message", [
    ({"dynamic_partitioning": None},
     r"^the Firehose prefix uses !\{partitionKeyFromQuery:\.\.\.\} but dynamic partitioning is off; set a partition "
     r"query or remove those expressions$"),
    ({"dynamic_partitioning": None, "prefix": "raw/!{timestamp:yyyy}/", "error_output_prefix": ""},
     r"^the Firehose prefix uses expressions, so AWS requires an error output prefix; set one$"),
    ({"error_output_prefix": ""}, r"^Firehose dynamic partitioning needs an error output prefix; set one$"),
], ids=["partition-key-without-partitioning", "expressions-without-error-prefix", "partitioning-without-error-prefix"])
def test_firehose_prefix_rules_give_their_whole_message(overrides, message):
    stack = new_stack()
    with pytest.raises(ConstructPropsError, match=message):
        firehose_with(stack, **overrides)


def test_bucket_grants_without_a_prefix_cover_the_whole_bucket():
    stack = new_stack()
    consumer = role(stack)
    BucketRef(BUCKET.arn).grant_write(consumer)
    BucketRef(f"arn:aws:s3:::{BUCKET_NAME}-2").grant_read(consumer)
    statements = by_sid(inline_policy_of(synth(stack), "bb-apps-devstg-consumer-role"))
    assert statements["WriteBucketObjects"]["resources"] == [f"{BUCKET.arn}/*"]
    assert statements["ReadBucketObjects"]["resources"] == [f"arn:aws:s3:::{BUCKET_NAME}-2/*"]


def test_bucket_grant_to_a_role_known_by_reference_names_the_aws_partition_root():
    stack = new_stack()
    bucket = SecureBucket(stack, "Raw", SecureBucketProps(name=BUCKET_NAME))
    bucket.grant_write_to_role("Writer", ACCOUNT, "${aws_iam_role.writer.arn}")
    synthesized = synth(stack)
    statements = by_sid(policy_statements(synthesized, only(synthesized, "resource", "aws_s3_bucket_policy")["policy"]))
    assert statements["WriterObjects"]["principals"] == [{"type": "AWS", "identifiers": [f"arn:aws:iam::{ACCOUNT}:root"]}]


def test_a_metric_with_a_dimension_of_any_value_is_a_metrics_insights_query() -> None:
    from aws_constructs.alarms import Metric, dynamodb_stream_metric
    assert dynamodb_stream_metric("ThrottledPutRecordCount", "orders", "Maximum").insights_query() == (
        'SELECT MAX(ThrottledPutRecordCount) FROM SCHEMA("AWS/DynamoDB", DelegatedOperation, TableName) '
        "WHERE TableName = 'orders'")
    # Names that are not plain identifiers are double-quoted; every statistic has its aggregate function.
    metric = Metric("AWS/Kinesis", "GetRecords.Bytes", {"StreamName": "s"}, "SampleCount", any_value_dimensions=("X",))
    assert metric.insights_query() == ('SELECT COUNT("GetRecords.Bytes") FROM SCHEMA("AWS/Kinesis", StreamName, X) '
                                       "WHERE StreamName = 's'")
    with pytest.raises(ConstructPropsError, match="has a quote"):
        dynamodb_stream_metric("AgeOfOldestUnreplicatedRecord", "o'rders", "Maximum").insights_query()
