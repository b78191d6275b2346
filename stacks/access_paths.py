"""The runtime requests of the built-in layers' principals, derived from the synthesized layers (every name and ARN
resolved from the layers themselves), each with the decision AWS must reach and the AWS documentation of the call.

What is derived from what:
- each Firehose delivery stream: its role reads its Kinesis stream (and decrypts its records), writes each table
  it streams (the tables of the DynamoDB streaming destinations into that stream) below its prefix and its failed
  records below its error prefix, with the destination key; it may write no other source's table, list nothing
  but its own folders, and write nothing else;
- each Glue crawler: reads the objects below its S3 target (missing keys answer 404), writes its database's tables
  and its encrypted log stream;
- each Glue job: reads its script, uses its temporary folder and writes its encrypted logs; the lakehouse job
  (`--raw-path`, `--tables`, `--warehouse`) probes each table's folder as a file, lists and reads it, never the
  error folders nor the raw bucket for writing, and reads and writes its Iceberg tables (a HEAD before every
  file it writes) and their catalog entries;
- each Athena workgroup with the managed policies of its layer: a person holding the policy queries, lists the
  databases, reads the tables and their files and writes results; deletes and writes nothing else;
- each replication configuration, server access logging, encrypted log group, alarm and EventBridge target;
- each DynamoDB streaming destination: DynamoDB's service-linked role writes the stream with its key;
- outsiders: anonymous callers and another account's administrator reach no bucket or key of the layers.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aws_constructs.access.expressions import Unresolved
from aws_constructs.access.layers import Layers, TerraformLayer, partition_of
from aws_constructs.access.requests import ALLOWED, ANONYMOUS, DENIED, AccessRequest
from aws_constructs.firehose import delivery_key_prefix
from stacks.raw_layout import TABLE_KEY

# The AWS documentation of each call.
FIREHOSE_S3 = "https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-s3"
FIREHOSE_CROSS_ACCOUNT = "https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#cross-account-delivery-s3"
FIREHOSE_PARTITIONING = "https://docs.aws.amazon.com/firehose/latest/dev/dynamic-partitioning.html"
FIREHOSE_ERRORS = "https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html"
KINESIS_KEY = "https://docs.aws.amazon.com/streams/latest/dev/permissions-user-key-KMS.html"
S3_BUCKET_KEY = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html"
S3_HEAD_OBJECT = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html"
S3_HEAD_BUCKET = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html"
S3_GET_OBJECT = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html"
S3_LIST = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html"
S3_DELETE = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html"
S3_TLS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html"
S3_PUBLIC = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html"
S3_REPLICATION = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/setting-repl-config-perm-overview.html"
S3_REPLICATION_KMS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html"
S3_LOG_DELIVERY = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html"
GLUE_CRAWLER = "https://docs.aws.amazon.com/glue/latest/dg/crawler-prereqs.html"
GLUE_ARNS = "https://docs.aws.amazon.com/glue/latest/dg/glue-specifying-resource-arns.html"
GLUE_SECURITY = "https://docs.aws.amazon.com/glue/latest/dg/encryption-security-configuration.html"
GLUE_LOGGING = "https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html"
GLUE_ICEBERG = "https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-format-iceberg.html"
LOGS_KEY = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"
LOGS_PUT = "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html"
ATHENA_WORKGROUP = "https://docs.aws.amazon.com/athena/latest/ug/workgroups-iam-policy.html"
ATHENA_CATALOG = "https://docs.aws.amazon.com/athena/latest/ug/fine-grained-access-to-glue-resources.html"
ATHENA_RESULTS = "https://docs.aws.amazon.com/athena/latest/ug/encryption.html"
SNS_SERVICES_KEY = "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"
EVENTBRIDGE_TARGETS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html"
DYNAMODB_STREAMING = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/kds_iam.html"
CROSS_ACCOUNT = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html"

# AWS's managed policy of DynamoDB's service-linked role for Kinesis streaming, as AWS publishes it.
DYNAMODB_KINESIS_REPLICATION_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": "*",
     "Condition": {"StringLike": {"kms:ViaService": "kinesis.*.amazonaws.com"}}},
    {"Effect": "Allow", "Action": ["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStream"],
     "Resource": "*"}]}
DYNAMODB_KINESIS_ROLE = ("role/aws-service-role/kinesisreplication.dynamodb.amazonaws.com/"
                         "AWSServiceRoleForDynamoDBKinesisDataStreamsReplication")
# An administrator of an account outside the project: everything its own account allows.
ADMINISTRATOR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
# Sample values for what Firehose puts in a key: a time, and the type of a failure.
TIMESTAMP = {"yyyy": "2026", "MM": "01", "dd": "02", "HH": "03", "mm": "04", "ss": "05"}
ERROR_OUTPUT_TYPE = "processing-failed"
EXPRESSION = re.compile(r"!\{([^}:]*):([^}]*)\}")


@dataclass(frozen=True)
class Delivery:
    """A Firehose delivery stream, resolved: who writes what where."""

    layer: TerraformLayer
    resource: str  # its Terraform name
    name: str
    role: str
    stream: str
    bucket_arn: str
    key: str | None
    tables: tuple[str, ...]
    prefix: str
    error_prefix: str

    def object_key(self, table: str) -> str:
        return f"{_substituted(self.prefix, table)}{self.name}-1-2026-01-02-03-04-05-0f1e2d3c"

    def error_key(self) -> str:
        return f"{_substituted(self.error_prefix, None)}{self.name}-1-2026-01-02-03-04-05-0f1e2d3c"

    def folder(self, table: str) -> str:
        """The static folder of the table's records: the prefix with the table's name, up to the first expression."""
        return delivery_key_prefix(self.prefix.replace(TABLE_KEY, table))


def catalogue(layers: Layers, outsider_account: str) -> list[AccessRequest]:
    """Every runtime request of the layers' principals, with the decision AWS must reach."""
    found = _Catalogue(layers, outsider_account)
    deliveries = list(found.deliveries())
    for delivery in deliveries:
        found.firehose(delivery, deliveries)
    found.crawlers(deliveries)
    found.jobs(deliveries)
    found.readers(deliveries)
    found.replication()
    found.access_logging()
    found.log_groups()
    found.alarms()
    found.event_targets()
    found.dynamodb_streaming()
    found.outsiders()
    return found.requests


class _Catalogue:
    def __init__(self, layers: Layers, outsider_account: str) -> None:
        self.layers = layers
        self.outsider = outsider_account
        self.requests: list[AccessRequest] = []

    def add(self, why: str, principal: str, action: str, resource: str, expect: str, cite: str, **extra: Any) -> None:
        self.requests.append(AccessRequest(why, principal, action, resource, expect, cite, **extra))

    # --- helpers ----------------------------------------------------------------------------------------------

    def attr(self, layer: TerraformLayer, block_type: str, name: str, attribute: str) -> Any:
        return self.layers.attribute(layer, block_type, name, attribute)

    def bucket(self, name: str) -> tuple[TerraformLayer, str]:
        layer, resource, _ = self.layers.find("aws_s3_bucket", "bucket", name)
        return layer, resource

    def bucket_arn(self, name: str) -> str:
        layer, resource = self.bucket(name)
        return self.attr(layer, "aws_s3_bucket", resource, "arn")

    def bucket_key(self, bucket_name: str) -> str | None:
        """The customer-managed key a bucket encrypts new objects with (its SSE configuration), or None."""
        layer, _ = self.bucket(bucket_name)
        for owner, name, _ in self.layers.resources("aws_s3_bucket_server_side_encryption_configuration"):
            if owner is layer and self.layers.argument(owner, "aws_s3_bucket_server_side_encryption_configuration",
                                                       name, "bucket") == bucket_name:
                rule = _one(self.layers.argument(owner, "aws_s3_bucket_server_side_encryption_configuration",
                                                 name, "rule"))
                return _one(rule["apply_server_side_encryption_by_default"]).get("kms_master_key_id")
        return None

    def region(self, layer: TerraformLayer, provider: str | None = None) -> str:
        return self.layers.region(layer, provider)

    def via(self, service: str, region: str) -> str:
        """The service's regional endpoint, as `kms:ViaService` names it."""
        return f"{service}.{region}.amazonaws.com{'.cn' if partition_of(region) == 'aws-cn' else ''}"

    def key_use(self, why: str, principal: str, action: str, key: str, service: str, region: str,
                context: dict[str, str], expect: str, cite: str, **extra: Any) -> None:
        self.add(why, principal, action, key, expect, cite,
                 context={"kms:ViaService": self.via(service, region),
                          **{f"kms:EncryptionContext:{name}": value for name, value in context.items()}}, **extra)

    def log_group(self, layer: TerraformLayer, group_name: str) -> tuple[str, str | None]:
        """A log group of the layer by name: its ARN and its key."""
        for owner, name, _ in self.layers.resources("aws_cloudwatch_log_group"):
            if owner is layer and self.attr(owner, "aws_cloudwatch_log_group", name, "name") == group_name:
                body = owner.blocks("resource", "aws_cloudwatch_log_group")[name]
                key = self.attr(owner, "aws_cloudwatch_log_group", name, "kms_key_id") if "kms_key_id" in body else None
                return self.attr(owner, "aws_cloudwatch_log_group", name, "arn"), key
        raise Unresolved(group_name, f"{layer.name} creates no such log group")

    def write_logs(self, who: str, principal: str, layer: TerraformLayer, group: str, stream: str) -> None:
        """Writing a stream of a log group: the call, and the group's key through CloudWatch Logs, as the caller."""
        group_arn, key = self.log_group(layer, group)
        self.add(f"{who} writes its log stream", principal, "logs:PutLogEvents",
                 f"{group_arn}:log-stream:{stream}", ALLOWED, LOGS_PUT)
        if key:
            self.key_use(f"{who} writes its encrypted logs, CloudWatch Logs using the key as the writer",
                         principal, "kms:GenerateDataKey", key, "logs", self.region(layer),
                         {"aws:logs:arn": group_arn}, ALLOWED, LOGS_KEY)

    def glue_call(self, why: str, principal: str, action: str, region: str, account: str, database: str,
                  table: str | None, expect: str, cite: str = GLUE_ARNS, **extra: Any) -> None:
        """A Data Catalog call needs the resource and its ancestors: one request each."""
        partition = partition_of(region)
        resources = [f"arn:{partition}:glue:{region}:{account}:catalog",
                     f"arn:{partition}:glue:{region}:{account}:database/{database}"]
        if table is not None:
            resources.append(f"arn:{partition}:glue:{region}:{account}:table/{database}/{table}")
        if expect == DENIED:  # denied when any of them is: the one the grant names must be refused
            resources = resources[-1:]
        for resource in resources:
            self.add(why, principal, action, resource, expect, cite, **extra)

    # --- Firehose ---------------------------------------------------------------------------------------------

    def deliveries(self) -> Iterator[Delivery]:
        for layer, name, _ in self.layers.resources("aws_kinesis_firehose_delivery_stream"):
            s3 = _one(self.layers.argument(layer, "aws_kinesis_firehose_delivery_stream", name,
                                           "extended_s3_configuration"))
            source = _one(self.layers.argument(layer, "aws_kinesis_firehose_delivery_stream", name,
                                               "kinesis_source_configuration"))
            stream = source["kinesis_stream_arn"]
            tables = tuple(self.layers.argument(owner, "aws_dynamodb_kinesis_streaming_destination", destination,
                                                "table_name")
                           for owner, destination, _ in self.layers.resources("aws_dynamodb_kinesis_streaming_destination")
                           if self.layers.argument(owner, "aws_dynamodb_kinesis_streaming_destination", destination,
                                                   "stream_arn") == stream)
            _check_partitioning(s3, name)
            yield Delivery(layer, name, self.layers.argument(layer, "aws_kinesis_firehose_delivery_stream", name,
                                                              "name"),
                           s3["role_arn"], stream, s3["bucket_arn"], s3.get("kms_key_arn"), tables, s3["prefix"],
                           s3.get("error_output_prefix", ""))

    def firehose(self, delivery: Delivery, deliveries: list[Delivery]) -> None:
        role, bucket, region = delivery.role, delivery.bucket_arn, self.region(delivery.layer)
        who = f"Firehose {delivery.name}"
        stream_layer, stream_name, _ = self.layers.find("aws_kinesis_stream", "arn", delivery.stream)
        for action in ("kinesis:DescribeStream", "kinesis:GetShardIterator", "kinesis:GetRecords",
                       "kinesis:ListShards"):
            self.add(f"{who} reads its source stream", role, action, delivery.stream, ALLOWED, FIREHOSE_S3)
        stream_key = self.attr(stream_layer, "aws_kinesis_stream", stream_name, "kms_key_id")
        self.key_use(f"{who} decrypts its stream's records", role, "kms:Decrypt", stream_key, "kinesis", region,
                     {"aws:kinesis:arn": delivery.stream}, ALLOWED, KINESIS_KEY)
        cite = FIREHOSE_CROSS_ACCOUNT if stream_layer.account_id != self._account_of(bucket) else FIREHOSE_S3
        for table in delivery.tables:
            self.add(f"{who} delivers table {table}'s changes", role, "s3:PutObject",
                     f"{bucket}/{delivery.object_key(table)}", ALLOWED, cite)
            self.add(f"{who} aborts an upload of table {table}'s changes", role, "s3:AbortMultipartUpload",
                     f"{bucket}/{delivery.object_key(table)}", ALLOWED, FIREHOSE_S3)
            self.add(f"{who} lists its table {table}'s folder", role, "s3:ListBucket", bucket, ALLOWED, S3_LIST,
                     context={"s3:prefix": delivery.folder(table)})
        self.add(f"{who} writes its failed records", role, "s3:PutObject", f"{bucket}/{delivery.error_key()}",
                 ALLOWED, FIREHOSE_ERRORS)
        for action in ("s3:GetBucketLocation", "s3:ListBucketMultipartUploads"):
            self.add(f"{who} locates the bucket", role, action, bucket, ALLOWED, FIREHOSE_S3)
        if delivery.key:
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                self.key_use(f"{who} encrypts what it delivers with the bucket's key (S3 Bucket Keys)", role, action,
                             delivery.key, "s3", region, {"aws:s3:arn": bucket}, ALLOWED, S3_BUCKET_KEY)
        s3 = _one(self.layers.argument(delivery.layer, "aws_kinesis_firehose_delivery_stream", delivery.resource,
                                       "extended_s3_configuration"))
        logging = _one(s3.get("cloudwatch_logging_options") or {})
        if logging.get("enabled"):
            self.write_logs(who, role, delivery.layer, logging["log_group_name"], logging["log_stream_name"])
        # Nothing else: no other source's tables or errors, no table it does not stream, no listing beyond its own.
        others = [other for other in deliveries if other is not delivery and other.bucket_arn == bucket]
        foreign = [(table, other) for other in others for table in other.tables] + [("table-no-source-streams",
                                                                                     delivery)]
        for table, owner in foreign:
            self.add(f"{who} writes changes into table {table}, not one it streams", role, "s3:PutObject",
                     f"{bucket}/{owner.object_key(table)}", DENIED, FIREHOSE_PARTITIONING)
            self.add(f"{who} reads table {table}, not one it streams", role, "s3:GetObject",
                     f"{bucket}/{owner.object_key(table)}", DENIED, FIREHOSE_PARTITIONING)
        for other in others:
            self.add(f"{who} writes into another source's error folder", role, "s3:PutObject",
                     f"{bucket}/{other.error_key()}", DENIED, FIREHOSE_ERRORS)
        self.add(f"{who} lists the whole bucket", role, "s3:ListBucket", bucket, DENIED, S3_LIST)
        root = delivery.prefix.split("!{", 1)[0]
        if root:
            self.add(f"{who} lists every table's folder", role, "s3:ListBucket", bucket, DENIED, S3_LIST,
                     context={"s3:prefix": root})
        if delivery.tables:
            self.add(f"{who} delivers over plain HTTP", role, "s3:PutObject",
                     f"{bucket}/{delivery.object_key(delivery.tables[0])}", DENIED, S3_TLS,
                     context={"aws:SecureTransport": "false"})
        if delivery.key:
            for name in self._buckets_with_key(delivery.key):
                if self.bucket_arn(name) != bucket:
                    self.key_use(f"{who} uses the bucket's key for bucket {name}", role, "kms:GenerateDataKey",
                                 delivery.key, "s3", region, {"aws:s3:arn": self.bucket_arn(name)}, DENIED,
                                 S3_BUCKET_KEY)

    def _account_of(self, bucket_arn: str) -> str:
        return self.bucket(bucket_arn.split(":::", 1)[1])[0].account_id

    def _buckets_with_key(self, key: str) -> list[str]:
        return [self.attr(layer, "aws_s3_bucket", name, "bucket") for layer, name, _ in self.layers.resources("aws_s3_bucket")
                if self.bucket_key(self.attr(layer, "aws_s3_bucket", name, "bucket")) == key]

    # --- Glue crawler -----------------------------------------------------------------------------------------

    def crawlers(self, deliveries: list[Delivery]) -> None:
        for layer, name, body in self.layers.resources("aws_glue_crawler"):
            role = self.attr(layer, "aws_glue_crawler", name, "role")
            crawler = self.attr(layer, "aws_glue_crawler", name, "name")
            database = self.attr(layer, "aws_glue_crawler", name, "database_name")
            region, who = self.region(layer), f"crawler {crawler}"
            for target in self.attr(layer, "aws_glue_crawler", name, "s3_target"):
                bucket_name, _, prefix = target["path"].removeprefix("s3://").partition("/")
                bucket = self.bucket_arn(bucket_name)
                delivered = [f"{bucket}/{delivery.object_key(table)}" for delivery in deliveries
                             if delivery.bucket_arn == bucket for table in delivery.tables]
                for resource in delivered or [f"{bucket}/{prefix}part-0000.json"]:
                    self.add(f"{who} reads a delivered record", role, "s3:GetObject", resource, ALLOWED, GLUE_CRAWLER)
                self.add(f"{who} lists its target", role, "s3:ListBucket", bucket, ALLOWED, GLUE_CRAWLER,
                         context={"s3:prefix": prefix})
                self.add(f"{who} checks its bucket, or is told a key is missing (404, not 403)", role,
                         "s3:ListBucket", bucket, ALLOWED, S3_HEAD_BUCKET)
                key = self.bucket_key(bucket_name)
                if key:
                    self.key_use(f"{who} decrypts the records it reads (the key delegates to IAM)", role,
                                 "kms:Decrypt", key, "s3", region, {"aws:s3:arn": bucket}, ALLOWED, S3_BUCKET_KEY)
                self.add(f"{who} writes in the bucket it crawls", role, "s3:PutObject",
                         f"{bucket}/{prefix}part-0000.json", DENIED, GLUE_CRAWLER)
            self.glue_call(f"{who} creates and updates its tables", role, "glue:CreateTable", region,
                           layer.account_id, database, "a_table", ALLOWED, GLUE_CRAWLER)
            self.glue_call(f"{who} updates its tables' partitions", role, "glue:BatchCreatePartition", region,
                           layer.account_id, database, "a_table", ALLOWED, GLUE_CRAWLER)
            self.glue_call(f"{who} deletes a table", role, "glue:DeleteTable", region, layer.account_id, database,
                           "a_table", DENIED)
            self.glue_call(f"{who} creates a table in another database", role, "glue:CreateTable", region,
                           layer.account_id, "another_database", "a_table", DENIED)
            configuration = body.get("security_configuration")
            if configuration:
                role_name = role.rsplit("/", 1)[1]
                configuration_name = self.layers.value(layer, configuration)
                self.write_logs(who, role, layer, f"/aws-glue/crawlers-role/{role_name}-{configuration_name}", crawler)

    # --- Glue jobs --------------------------------------------------------------------------------------------

    def jobs(self, deliveries: list[Delivery]) -> None:
        for layer, name, body in self.layers.resources("aws_glue_job"):
            role = self.attr(layer, "aws_glue_job", name, "role_arn")
            job = self.attr(layer, "aws_glue_job", name, "name")
            arguments = self.attr(layer, "aws_glue_job", name, "default_arguments")
            script = _one(self.attr(layer, "aws_glue_job", name, "command"))["script_location"]
            region, who = self.region(layer), f"Glue job {job}"
            script_bucket, _, script_key = script.removeprefix("s3://").partition("/")
            script_arn = f"{self.bucket_arn(script_bucket)}/{script_key}"
            self.add(f"{who} reads its script", role, "s3:GetObject", script_arn, ALLOWED, GLUE_ICEBERG)
            self.add(f"{who} rewrites its own script", role, "s3:PutObject", script_arn, DENIED, GLUE_ICEBERG)
            temp_bucket, _, temp_prefix = arguments["--TempDir"].removeprefix("s3://").partition("/")
            self.add(f"{who} writes its temporary files", role, "s3:PutObject",
                     f"{self.bucket_arn(temp_bucket)}/{temp_prefix}part-0000", ALLOWED, GLUE_ICEBERG)
            if "security_configuration" in body:
                configuration = self.layers.value(layer, body["security_configuration"])
                role_name = role.rsplit("/", 1)[1]
                for kind in ("output", "error"):
                    self.write_logs(who, role, layer, f"/aws-glue/jobs/{configuration}-role/{role_name}/{kind}",
                                    "jr_0123456789abcdef")
            if {"--raw-path", "--tables", "--warehouse", "--database"} <= set(arguments):
                self.lakehouse_job(layer, who, role, region, arguments, deliveries)

    def lakehouse_job(self, layer: TerraformLayer, who: str, role: str, region: str, arguments: dict[str, str],
                      deliveries: list[Delivery]) -> None:
        raw_name, _, root = arguments["--raw-path"].removeprefix("s3://").partition("/")
        raw = self.bucket_arn(raw_name)
        raw_key = self.bucket_key(raw_name)
        for table in json.loads(arguments["--tables"]):
            source = table["source"]
            folder = f"{root}{source}/cdc_data"
            self.add(f"{who} probes table {source}'s folder as a file (Hadoop's HEAD without the slash)", role,
                     "s3:GetObject", f"{raw}/{folder}", ALLOWED, S3_HEAD_OBJECT)
            self.add(f"{who} is told that folder key is missing (404 needs s3:ListBucket; the check names no "
                     "prefix)", role, "s3:ListBucket", raw, ALLOWED, S3_HEAD_OBJECT)
            self.add(f"{who} lists table {source}'s changes", role, "s3:ListBucket", raw, ALLOWED, S3_LIST,
                     context={"s3:prefix": f"{folder}/"})
            record = f"{raw}/{folder}/year=2026/month=01/day=02/hour=03/part-0000"
            self.add(f"{who} reads table {source}'s changes", role, "s3:GetObject", record, ALLOWED, S3_GET_OBJECT)
            self.add(f"{who} rebuilds table {source} from changes two years old", role, "s3:GetObject", record,
                     ALLOWED, S3_GET_OBJECT, object_age_days=730)
            self.add(f"{who} writes into the raw bucket", role, "s3:PutObject", record, DENIED, S3_GET_OBJECT)
        if raw_key:
            self.key_use(f"{who} decrypts the raw records", role, "kms:Decrypt", raw_key, "s3", region,
                         {"aws:s3:arn": raw}, ALLOWED, S3_BUCKET_KEY)
        for delivery in deliveries:
            if delivery.bucket_arn == raw and delivery.error_prefix:
                self.add(f"{who} reads Firehose's failed records", role, "s3:GetObject",
                         f"{raw}/{delivery.error_key()}", DENIED, FIREHOSE_ERRORS)
                self.add(f"{who} lists Firehose's failed records", role, "s3:ListBucket", raw, DENIED, S3_LIST,
                         context={"s3:prefix": _substituted(delivery.error_prefix, None)})
        warehouse_name, _, warehouse_prefix = arguments["--warehouse"].removeprefix("s3://").partition("/")
        warehouse = self.bucket_arn(warehouse_name)
        database = arguments["--database"]
        tables = self.layers.output(layer.name, "lakehouse_table_names") if "lakehouse_table_names" in \
            layer.config.get("output", {}) else {}
        for iceberg_table in tables.values():
            location = f"{warehouse}/{warehouse_prefix}{database}.db/{iceberg_table}"
            data_file = f"{location}/data/00000-0-0f1e2d3c.parquet"
            self.add(f"{who} sends a HEAD for Iceberg file it is about to write", role, "s3:GetObject", data_file,
                     ALLOWED, S3_HEAD_OBJECT)
            self.add(f"{who} is told that file is missing (404: s3:ListBucket without a prefix)", role,
                     "s3:ListBucket", warehouse, ALLOWED, S3_HEAD_OBJECT)
            for action in ("s3:PutObject", "s3:DeleteObject"):
                self.add(f"{who} writes and expires Iceberg files of {iceberg_table}", role, action, data_file,
                         ALLOWED, GLUE_ICEBERG)
            self.add(f"{who} merges into data files two years old", role, "s3:GetObject", data_file, ALLOWED,
                     S3_GET_OBJECT, object_age_days=730)
            for action in ("glue:GetTable", "glue:UpdateTable", "glue:CreateTable"):
                self.glue_call(f"{who} commits {iceberg_table} through the Glue catalog", role, action, region,
                               layer.account_id, database, iceberg_table, ALLOWED, GLUE_ICEBERG)
            self.glue_call(f"{who} drops {iceberg_table}", role, "glue:DeleteTable", region, layer.account_id,
                           database, iceberg_table, DENIED)
        self.add(f"{who} writes outside the warehouse folder", role, "s3:PutObject", f"{warehouse}/elsewhere/file",
                 DENIED, GLUE_ICEBERG)
        warehouse_key = self.bucket_key(warehouse_name)
        if warehouse_key:
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                self.key_use(f"{who} encrypts and decrypts the tables' files", role, action, warehouse_key, "s3",
                             region, {"aws:s3:arn": warehouse}, ALLOWED, S3_BUCKET_KEY)

    # --- Athena readers ---------------------------------------------------------------------------------------

    def readers(self, deliveries: list[Delivery]) -> None:
        for layer, name, _ in self.layers.resources("aws_athena_workgroup"):
            workgroup = self.attr(layer, "aws_athena_workgroup", name, "arn")
            configuration = _one(self.attr(layer, "aws_athena_workgroup", name, "configuration"))
            results = _one(configuration["result_configuration"])
            results_bucket, _, results_prefix = results["output_location"].removeprefix("s3://").partition("/")
            results_key = _one(results.get("encryption_configuration") or {}).get("kms_key_arn")
            region = self.region(layer)
            jobs = [self.attr(owner, "aws_glue_job", job, "default_arguments")
                    for owner, job, _ in self.layers.resources("aws_glue_job") if owner is layer]
            for owner, policy, _ in self.layers.resources("aws_iam_policy"):
                if owner is not layer:
                    continue
                policy_arn = self.attr(owner, "aws_iam_policy", policy, "arn")
                holder = f"arn:{partition_of(region)}:iam::{layer.account_id}:role/{policy}-holder"
                who = f"a person holding {policy_arn.rsplit('/', 1)[1]}"
                grant = {"identity": (policy_arn,)}
                self.add(f"{who} runs a query in the workgroup", holder, "athena:StartQueryExecution", workgroup,
                         ALLOWED, ATHENA_WORKGROUP, **grant)
                self.add(f"{who} runs a query in another workgroup", holder, "athena:StartQueryExecution",
                         workgroup.rsplit("/", 1)[0] + "/primary", DENIED, ATHENA_WORKGROUP, **grant)
                results_object = f"{self.bucket_arn(results_bucket)}/{results_prefix}0f1e2d3c.csv"
                self.add(f"{who} has Athena write the results", holder, "s3:PutObject", results_object, ALLOWED,
                         ATHENA_RESULTS, **grant)
                if results_key:
                    self.key_use(f"{who} has Athena encrypt the results", holder, "kms:GenerateDataKey", results_key,
                                 "s3", region, {"aws:s3:arn": self.bucket_arn(results_bucket)}, ALLOWED,
                                 ATHENA_RESULTS, **grant)
                for arguments in jobs:
                    self._reader_of_tables(who, holder, policy_arn, layer, region, arguments)

    def _reader_of_tables(self, who: str, holder: str, policy_arn: str, layer: TerraformLayer, region: str,
                          arguments: dict[str, str]) -> None:
        if not {"--warehouse", "--database", "--raw-path"} <= set(arguments):
            return
        grant = {"identity": (policy_arn,)}
        database = arguments["--database"]
        self.glue_call(f"{who} lists the databases (Athena's list, SHOW DATABASES)", holder, "glue:GetDatabases",
                       region, layer.account_id, database, None, ALLOWED, ATHENA_CATALOG, **grant)
        warehouse_name, _, warehouse_prefix = arguments["--warehouse"].removeprefix("s3://").partition("/")
        warehouse = self.bucket_arn(warehouse_name)
        tables = self.layers.output(layer.name, "lakehouse_table_names") if "lakehouse_table_names" in \
            layer.config.get("output", {}) else {}
        for iceberg_table in tables.values():
            self.glue_call(f"{who} reads table {iceberg_table}'s definition", holder, "glue:GetTable", region,
                           layer.account_id, database, iceberg_table, ALLOWED, ATHENA_CATALOG, **grant)
            self.glue_call(f"{who} changes table {iceberg_table}", holder, "glue:UpdateTable", region,
                           layer.account_id, database, iceberg_table, DENIED, ATHENA_CATALOG, **grant)
            data_file = f"{warehouse}/{warehouse_prefix}{database}.db/{iceberg_table}/data/00000-0-0f1e2d3c.parquet"
            self.add(f"{who} reads table {iceberg_table}'s files", holder, "s3:GetObject", data_file, ALLOWED,
                     ATHENA_CATALOG, **grant)
            for action in ("s3:PutObject", "s3:DeleteObject"):
                self.add(f"{who} writes or deletes table {iceberg_table}'s files", holder, action, data_file, DENIED,
                         S3_DELETE, **grant)
        key = self.bucket_key(warehouse_name)
        if key:
            self.key_use(f"{who} decrypts the tables' files", holder, "kms:Decrypt", key, "s3", region,
                         {"aws:s3:arn": warehouse}, ALLOWED, S3_BUCKET_KEY, **grant)
        raw_name, _, root = arguments["--raw-path"].removeprefix("s3://").partition("/")
        self.add(f"{who} reads the raw change records", holder, "s3:GetObject",
                 f"{self.bucket_arn(raw_name)}/{root}a_table/cdc_data/part-0000", DENIED, S3_GET_OBJECT, **grant)

    # --- replication, access logs, log groups, alarms, events, DynamoDB -------------------------------------------

    def replication(self) -> None:
        for layer, name, body in self.layers.resources("aws_s3_bucket_replication_configuration"):
            role = self.attr(layer, "aws_s3_bucket_replication_configuration", name, "role")
            source_name = self.attr(layer, "aws_s3_bucket_replication_configuration", name, "bucket")
            source = self.bucket_arn(source_name)
            source_layer, source_resource = self.bucket(source_name)
            source_region = self.region(source_layer, source_layer.blocks("resource", "aws_s3_bucket")
                                        [source_resource].get("provider"))
            who = f"S3 replicating {source_name}"
            self.add(f"{who} reads the replication configuration", role, "s3:GetReplicationConfiguration", source,
                     ALLOWED, S3_REPLICATION)
            self.add(f"{who} reads an object version", role, "s3:GetObjectVersionForReplication",
                     f"{source}/any/object", ALLOWED, S3_REPLICATION)
            for rule in self.attr(layer, "aws_s3_bucket_replication_configuration", name, "rule"):
                destination = _one(rule["destination"])
                replica_name = destination["bucket"].split(":::", 1)[1]
                replica_layer, replica_resource = self.bucket(replica_name)
                replica_region = self.region(replica_layer, replica_layer.blocks("resource", "aws_s3_bucket")
                                             [replica_resource].get("provider"))
                self.add(f"{who} writes the replica", role, "s3:ReplicateObject", f"{destination['bucket']}/any/object",
                         ALLOWED, S3_REPLICATION)
                self.add(f"{who} writes into the bucket it copies from", role, "s3:ReplicateObject",
                         f"{source}/any/object", DENIED, S3_REPLICATION)
                source_key = self.bucket_key(source_name)
                replica_key = _one(destination.get("encryption_configuration") or {}).get("replica_kms_key_id")
                if source_key and replica_key:
                    self.key_use(f"{who} decrypts the source object", role, "kms:Decrypt", source_key, "s3",
                                 source_region, {"aws:s3:arn": f"{source}/any/object"}, ALLOWED, S3_REPLICATION_KMS)
                    self.key_use(f"{who} encrypts the replica", role, "kms:Encrypt", replica_key, "s3",
                                 replica_region, {"aws:s3:arn": f"{destination['bucket']}/any/object"}, ALLOWED,
                                 S3_REPLICATION_KMS)

    def access_logging(self) -> None:
        for layer, name, _ in self.layers.resources("aws_s3_bucket_logging"):
            source = self.attr(layer, "aws_s3_bucket_logging", name, "bucket")
            target = self.attr(layer, "aws_s3_bucket_logging", name, "target_bucket")
            prefix = self.attr(layer, "aws_s3_bucket_logging", name, "target_prefix")
            log = f"{self.bucket_arn(target)}/{prefix}2026-01-02-03-04-05-0F1E2D3C4B5A6978"
            self.add(f"S3 delivers the access logs of {source}", "logging.s3.amazonaws.com", "s3:PutObject", log,
                     ALLOWED, S3_LOG_DELIVERY, context={"aws:SourceArn": self.bucket_arn(source),
                                                         "aws:SourceAccount": layer.account_id})
            self.add(f"S3 delivers another account's access logs into {target}", "logging.s3.amazonaws.com",
                     "s3:PutObject", log, DENIED, S3_LOG_DELIVERY,
                     context={"aws:SourceArn": "arn:aws:s3:::a-bucket-of-another-account",
                              "aws:SourceAccount": self.outsider})

    def log_groups(self) -> None:
        for layer, name, body in self.layers.resources("aws_cloudwatch_log_group"):
            if "kms_key_id" not in body:
                continue
            key = self.attr(layer, "aws_cloudwatch_log_group", name, "kms_key_id")
            group = self.attr(layer, "aws_cloudwatch_log_group", name, "arn")
            region = self.region(layer, body.get("provider"))
            logs = self.via("logs", region)
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                self.add(f"CloudWatch Logs encrypts and reads log group {group.rsplit(':', 1)[1]}", logs, action, key,
                         ALLOWED, LOGS_KEY, context={"kms:EncryptionContext:aws:logs:arn": group})
            other = group.replace(f":{layer.account_id}:", f":{self.outsider}:")
            self.add("CloudWatch Logs encrypts another account's group with the key", logs, "kms:GenerateDataKey",
                     key, DENIED, LOGS_KEY, context={"kms:EncryptionContext:aws:logs:arn": other})

    def alarms(self) -> None:
        done: set[str] = set()
        for layer, name, _ in self.layers.resources("aws_cloudwatch_metric_alarm"):
            alarm = self.attr(layer, "aws_cloudwatch_metric_alarm", name, "arn")
            for topic in self.attr(layer, "aws_cloudwatch_metric_alarm", name, "alarm_actions"):
                key = self._topic_key(topic)
                if key is None or topic in done:
                    continue
                done.add(topic)
                context = {"aws:SourceAccount": layer.account_id, "aws:SourceArn": alarm,
                           "kms:EncryptionContext:aws:sns:topicArn": topic}
                for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                    self.add("CloudWatch publishes an alarm to its encrypted topic", "cloudwatch.amazonaws.com",
                             action, key, ALLOWED, SNS_SERVICES_KEY, context=context)
                self.add("CloudWatch publishes another account's alarm with the topic's key",
                         "cloudwatch.amazonaws.com", "kms:GenerateDataKey", key, DENIED, SNS_SERVICES_KEY,
                         context={**context, "aws:SourceAccount": self.outsider,
                                  "aws:SourceArn": alarm.replace(f":{layer.account_id}:", f":{self.outsider}:")})

    def event_targets(self) -> None:
        for layer, name, _ in self.layers.resources("aws_cloudwatch_event_target"):
            target = self.attr(layer, "aws_cloudwatch_event_target", name, "arn")
            rule_name = self.attr(layer, "aws_cloudwatch_event_target", name, "rule")
            rule = next(self.attr(owner, "aws_cloudwatch_event_rule", resource, "arn")
                        for owner, resource, _ in self.layers.resources("aws_cloudwatch_event_rule")
                        if owner is layer and self.attr(owner, "aws_cloudwatch_event_rule", resource, "name") == rule_name)
            service = target.split(":")[2]
            action = {"sns": "sns:Publish", "sqs": "sqs:SendMessage"}.get(service)
            if action is None:
                raise Unresolved(target, "an EventBridge target the proof does not know")
            context = {"aws:SourceArn": rule, "aws:SourceAccount": layer.account_id}
            self.add(f"EventBridge rule {rule_name} delivers to its target", "events.amazonaws.com", action, target,
                     ALLOWED, EVENTBRIDGE_TARGETS, context=context)
            self.add("Another EventBridge rule delivers to the target", "events.amazonaws.com", action, target,
                     DENIED, EVENTBRIDGE_TARGETS, context={**context, "aws:SourceArn": rule.rsplit("/", 1)[0] + "/other"})
            key = self._topic_key(target) if service == "sns" else None
            if key:
                self.add(f"EventBridge rule {rule_name} encrypts what it publishes", "events.amazonaws.com",
                         "kms:GenerateDataKey", key, ALLOWED, SNS_SERVICES_KEY,
                         context={**context, "kms:EncryptionContext:aws:sns:topicArn": target})

    def dynamodb_streaming(self) -> None:
        for layer, name, _ in self.layers.resources("aws_dynamodb_kinesis_streaming_destination"):
            stream = self.attr(layer, "aws_dynamodb_kinesis_streaming_destination", name, "stream_arn")
            region = self.region(layer)
            role = f"arn:{partition_of(region)}:iam::{layer.account_id}:{DYNAMODB_KINESIS_ROLE}"
            grant = {"identity": (DYNAMODB_KINESIS_REPLICATION_POLICY,)}
            self.add("DynamoDB streams a table's changes", role, "kinesis:PutRecords", stream, ALLOWED,
                     DYNAMODB_STREAMING, **grant)
            stream_layer, stream_name, _ = self.layers.find("aws_kinesis_stream", "arn", stream)
            key = self.attr(stream_layer, "aws_kinesis_stream", stream_name, "kms_key_id")
            if key.startswith("arn:"):
                self.add("DynamoDB encrypts the changes it streams with the stream's key", role, "kms:GenerateDataKey",
                         key, ALLOWED, KINESIS_KEY, context={"kms:ViaService": self.via("kinesis", region),
                                                             "kms:EncryptionContext:aws:kinesis:arn": stream}, **grant)

    def outsiders(self) -> None:
        other_role = f"arn:aws:iam::{self.outsider}:role/administrator"
        for layer, name, _ in self.layers.resources("aws_s3_bucket"):
            bucket = self.attr(layer, "aws_s3_bucket", name, "arn")
            objects = f"{bucket}/any/object"
            self.add("An anonymous caller reads an object", ANONYMOUS, "s3:GetObject", objects, DENIED, S3_PUBLIC)
            for action in ("s3:GetObject", "s3:PutObject"):
                self.add("Another account's administrator uses the bucket", other_role, action, objects, DENIED,
                         CROSS_ACCOUNT, identity=(ADMINISTRATOR,))
        for layer, name, _ in self.layers.resources("aws_kms_key"):
            key = self.attr(layer, "aws_kms_key", name, "arn")
            self.add("Another account's administrator decrypts with the key", other_role, "kms:Decrypt", key, DENIED,
                     CROSS_ACCOUNT, identity=(ADMINISTRATOR,))

    def _topic_key(self, topic: str) -> str | None:
        layer, name, body = self.layers.find("aws_sns_topic", "arn", topic)
        return self.attr(layer, "aws_sns_topic", name, "kms_master_key_id") if "kms_master_key_id" in body else None


def _one(block: Any) -> dict[str, Any]:
    """A nested block, written as an object or as a list of one."""
    if isinstance(block, list):
        if len(block) != 1:
            raise Unresolved(str(block)[:200], "expected one block")
        return block[0]
    return block


def _check_partitioning(s3: dict[str, Any], name: str) -> None:
    """Only `{key:.field}` partitioning by the record's table name is understood: each record's `tableName` is the
    table DynamoDB streams it from."""
    processors = _one(s3.get("processing_configuration") or {"processors": []}).get("processors", [])
    for processor in processors:
        if processor["type"] == "MetadataExtraction":
            query = next(p["parameter_value"] for p in processor["parameters"]
                         if p["parameter_name"] == "MetadataExtractionQuery")
            if re.sub(r"\s", "", query) != "{tableName:.tableName}":
                raise Unresolved(query, f"Firehose {name}: only {{tableName:.tableName}} partitioning is derived")


def _substituted(prefix: str, table: str | None) -> str:
    """A prefix with Firehose's expressions filled in as it fills them for one record."""
    def value(match: re.Match[str]) -> str:
        namespace, name = match.group(1), match.group(2)
        if namespace == "partitionKeyFromQuery" and name == "tableName" and table is not None:
            return table
        if namespace == "timestamp" and name in TIMESTAMP:
            return TIMESTAMP[name]
        if namespace == "firehose" and name == "error-output-type":
            return ERROR_OUTPUT_TYPE
        if namespace == "firehose" and name == "random-string":
            return "a1b2c3d4"
        raise Unresolved(match.group(0), "a Firehose expression the proof does not fill in")

    return EXPRESSION.sub(value, prefix)
