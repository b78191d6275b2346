"""The Kinesis -> S3 Firehose construct: partitioning, logging, its role, its prefix rules."""
from __future__ import annotations

import pytest

from aws_constructs.errors import ConstructPropsError
from aws_constructs.firehose import DynamicPartitioning, KinesisToS3DeliveryStream, delivery_key_prefix
from tests.aws_constructs.support import (ACCOUNT, BUCKET, ERROR_PREFIX, FIREHOSE_ROLE, PREFIX, QUERY, REGION, assert_least_privilege, by_sid, delivery_props,
    firehose_with, inline_policy_of, new_stack, only, policy_statements, role_named, synth)


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
                                  "WriteBucketObjects", "WriteEncryptedLogs", "WriteLogStream"]
    # Writing to its encrypted error log, CloudWatch Logs uses the key on the role's behalf: the role's half.
    assert statements["WriteEncryptedLogs"]["condition"] == [
        {"test": "StringEquals", "variable": "kms:ViaService", "values": [f"logs.{REGION}.amazonaws.com"]},
        {"test": "StringEquals", "variable": "kms:EncryptionContext:aws:logs:arn",
         "values": [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/kinesisfirehose/bb-apps-devstg-ddb-lakehouse-firehose"]}]
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
    ({"destination_folders": ("other/",)}, r"destination folder 'other/' must end with '/' and lie below the static "
                                          r"folder of the prefix or the error output prefix \(dynamodb_data/\)"),
    ({"destination_folders": ("dynamodb_data/orders",)}, r"destination folder 'dynamodb_data/orders' must end with"),
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
        "zero-buffering-with-partitioning", "unterminated-expression", "folder-outside-the-prefixes",
        "folder-without-slash", "unknown-namespace",
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
