"""Kinesis Data Firehose: a delivery stream from a Kinesis stream to S3, with dynamic partitioning."""
from __future__ import annotations

from functools import cached_property

import re
from dataclasses import dataclass

from bindings import (
    Construct,
    KinesisFirehoseDeliveryStream,
    KinesisFirehoseDeliveryStreamExtendedS3Configuration as S3Config,
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationCloudwatchLoggingOptions as LoggingOptions,
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationDynamicPartitioningConfiguration as PartitioningConfig,
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfiguration as ProcessingConfig,
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessors as Processor,
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorsParameters as Parameter,
    KinesisFirehoseDeliveryStreamKinesisSourceConfiguration as KinesisSource,
)
from aws_constructs.env import AwsEnvironment
from aws_constructs.errors import ConstructPropsError
from aws_constructs.iam import ServiceRole, ServiceRoleProps
from aws_constructs.kinesis import DataStream
from aws_constructs.kms import Key, KeyProps, KmsKeyRef
from aws_constructs.logs import DEFAULT_RETENTION_DAYS, LogGroup, LogGroupProps
from aws_constructs.addresses import NamedConstruct
from aws_constructs.s3 import BucketRef
from aws_constructs.validation import check_name, check_range

PARTITION_KEY_IN_PREFIX = re.compile(r"!\{partitionKeyFromQuery:([^}]*)\}")
EXPRESSION = re.compile(r"!\{([^}:]*):([^}]*)\}")
NAMESPACES = ("firehose", "timestamp", "partitionKeyFromQuery", "partitionKeyFromLambda")
FIREHOSE_VALUES = ("error-output-type", "random-string")
ERROR_OUTPUT_TYPE = "!{firehose:error-output-type}"
JQ_OBJECT_KEYS = re.compile(r"^\{\s*(.*?)\s*\}$", re.S)
MIN_BUFFER_MIB_WITH_PARTITIONING = 64


@dataclass(frozen=True)
class DynamicPartitioning:
    """Partition keys extracted from each JSON record with a JQ query such as `{tableName:.tableName}`."""

    jq_query: str

    def keys(self) -> list[str]:
        match = JQ_OBJECT_KEYS.match(self.jq_query.strip())
        if not match or not match.group(1):
            raise ConstructPropsError(
                f"partition query {self.jq_query!r} must be a JQ object such as '{{tableName:.tableName}}'"
            )
        keys = []
        for entry in _split_top_level(match.group(1)):
            key, colon, _expression = entry.partition(":")
            key = key.strip().strip('"')
            if not colon or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise ConstructPropsError(f"partition query {self.jq_query!r}: {entry.strip()!r} is not `key:.path`")
            keys.append(key)
        return keys


@dataclass(frozen=True)
class S3DeliveryStreamProps:
    name: str
    env: AwsEnvironment
    source: DataStream
    destination: BucketRef
    role_name: str
    prefix: str
    error_output_prefix: str
    buffering_size_mib: int = 64
    buffering_interval_seconds: int = 300
    dynamic_partitioning: DynamicPartitioning | None = None
    log_retention_days: int = DEFAULT_RETENTION_DAYS
    # The destination bucket's customer-managed key (possibly of another account): objects are written with it.
    destination_key: KmsKeyRef | None = None
    # The folders the role may write below, when narrower than the prefixes' static folders (for example one
    # folder per partition key value this stream delivers); each must hold the objects of one of the prefixes.
    destination_folders: tuple[str, ...] = ()


class KinesisToS3DeliveryStream(NamedConstruct):
    """Firehose reading a Kinesis stream and writing to S3, with its own least-privilege role and error log."""

    def __init__(self, scope: Construct, construct_id: str, props: S3DeliveryStreamProps) -> None:
        super().__init__(scope, construct_id)
        _validate(props)
        self.role = ServiceRole(self, "Role", ServiceRoleProps(
            name=props.role_name,
            service="firehose.amazonaws.com",
            external_id=props.env.account_id,
            description=f"Firehose delivery stream {props.name}",
        ))
        self.props = props
        # Delivery errors may quote records: the group is encrypted with a key of this stack.
        self.logs_key = Key(self, "LogsKey", KeyProps(
            description=f"CloudWatch Logs of Firehose delivery stream {props.name}", env=props.env))
        self.log_group = log_group = LogGroup(self, "Logs", LogGroupProps(
            name=f"/aws/kinesisfirehose/{props.name}", retention_days=props.log_retention_days,
            encryption_key=self.logs_key))
        self.log_stream = log_stream = log_group.add_stream("DestinationErrors", "DestinationDelivery")

        props.source.grant_read(self.role)
        key_prefixes = props.destination_folders or delivery_key_prefixes(props.prefix, props.error_output_prefix)
        props.destination.grant_write(self.role, key_prefixes)
        if props.destination_key:
            # Only through S3 in the bucket's region, only for that bucket (its ARN is the encryption context
            # with S3 Bucket Keys, the object's ARN without).
            bucket = props.destination.arn
            props.destination_key.grant_encrypt_decrypt_via(
                self.role, "EncryptDeliveredObjects", props.env.service_host("s3"),
                ("aws:s3:arn", (bucket, *(f"{bucket}/{prefix}*" for prefix in key_prefixes))))
        log_stream.grant_write(self.role, props.env.role_arn(props.role_name))

        partitioning = props.dynamic_partitioning
        processors = None
        if partitioning:
            processors = ProcessingConfig(enabled=True, processors=[
                Processor(type="MetadataExtraction", parameters=[
                    Parameter(parameter_name="MetadataExtractionQuery", parameter_value=partitioning.jq_query),
                    Parameter(parameter_name="JsonParsingEngine", parameter_value="JQ-1.6"),
                ]),
                # One JSON record per line, so the delivered files can be queried.
                Processor(type="AppendDelimiterToRecord", parameters=[
                    Parameter(parameter_name="Delimiter", parameter_value="\\n"),
                ]),
            ])
        self._stream = self._name(KinesisFirehoseDeliveryStream(
            self,
            "Resource",
            name=props.name,
            destination="extended_s3",
            kinesis_source_configuration=KinesisSource(kinesis_stream_arn=props.source.arn, role_arn=self.role.arn),
            extended_s3_configuration=S3Config(
                role_arn=self.role.arn,
                bucket_arn=props.destination.arn,
                prefix=props.prefix,
                error_output_prefix=props.error_output_prefix,
                buffering_size=props.buffering_size_mib,
                buffering_interval=props.buffering_interval_seconds,
                kms_key_arn=props.destination_key.arn if props.destination_key else None,
                compression_format="UNCOMPRESSED" if partitioning else "GZIP",
                dynamic_partitioning_configuration=PartitioningConfig(enabled=True) if partitioning else None,
                processing_configuration=processors,
                cloudwatch_logging_options=LoggingOptions(
                    enabled=True, log_group_name=log_group.group_name, log_stream_name=log_stream.stream_name),
            ),
            # Firehose checks that its role may read the source when the stream is created.
            depends_on=[self.role.policy],
        ))

    @cached_property
    def arn(self) -> str:
        return self._stream.arn

    def adopt_existing(self) -> None:
        """Take over a live delivery stream of this name, its role, error log group and stream (`import` blocks).

        The role must keep its name: a delivery stream's Kinesis source (with its role) cannot change in place.
        It gets this construct's least-privilege inline policy; policies attached to it before stay attached.
        """
        self._adopt(self._stream, self.props.env.arn("firehose", f"deliverystream/{self.props.name}"))
        self.role.adopt_existing()
        self.log_group.adopt_existing()
        self.log_stream.adopt_existing()


def _validate(props: S3DeliveryStreamProps) -> None:
    check_name("Firehose delivery stream", props.name, 64, r"[a-zA-Z0-9_.-]+", "letters, digits and _.-")
    check_range("Firehose buffering size", props.buffering_size_mib, 1, 128, "MiB")
    check_range("Firehose buffering interval", props.buffering_interval_seconds, 0, 900, "seconds")
    for what, prefix in (("prefix", props.prefix), ("error output prefix", props.error_output_prefix)):
        if len(prefix.encode()) > 1024:
            raise ConstructPropsError(f"Firehose {what} is over 1024 bytes")
        if prefix.startswith("/"):
            raise ConstructPropsError(f"Firehose {what} {prefix!r} must not start with '/'")
        _check_expressions(what, prefix)
    if ERROR_OUTPUT_TYPE in props.prefix:
        raise ConstructPropsError(f"the Firehose prefix may not use {ERROR_OUTPUT_TYPE}; only the error prefix may")
    if PARTITION_KEY_IN_PREFIX.search(props.error_output_prefix):
        raise ConstructPropsError(
            f"Firehose error output prefix {props.error_output_prefix!r} uses !{{partitionKeyFromQuery:...}}; "
            "AWS forbids partition keys there (failed records have none)")
    statics = delivery_key_prefixes(props.prefix, props.error_output_prefix)
    for folder in props.destination_folders:
        if not folder.endswith("/") or not any(folder.startswith(static) for static in statics):
            raise ConstructPropsError(f"Firehose destination folder {folder!r} must end with '/' and lie below the "
                                      f"static folder of the prefix or the error output prefix ({', '.join(statics)})")
    if props.dynamic_partitioning:
        _validate_partitioning(props, props.dynamic_partitioning)
    elif PARTITION_KEY_IN_PREFIX.search(props.prefix):
        raise ConstructPropsError(
            "the Firehose prefix uses !{partitionKeyFromQuery:...} but dynamic partitioning is off; "
            "set a partition query or remove those expressions")
    # The remaining rules of Firehose's custom prefixes.
    if EXPRESSION.search(props.prefix) and not props.error_output_prefix:
        raise ConstructPropsError("the Firehose prefix uses expressions, so AWS requires an error output prefix; set one")
    if EXPRESSION.search(props.error_output_prefix) and ERROR_OUTPUT_TYPE not in props.error_output_prefix:
        raise ConstructPropsError(
            f"the Firehose error output prefix uses expressions, so it must include {ERROR_OUTPUT_TYPE}")


def _validate_partitioning(props: S3DeliveryStreamProps, partitioning: DynamicPartitioning) -> None:
    used_keys = PARTITION_KEY_IN_PREFIX.findall(props.prefix)
    if props.buffering_size_mib < MIN_BUFFER_MIB_WITH_PARTITIONING:
        raise ConstructPropsError(
            f"Firehose buffering size is {props.buffering_size_mib} MiB; with dynamic partitioning AWS requires at "
            f"least {MIN_BUFFER_MIB_WITH_PARTITIONING} MiB")
    if props.buffering_interval_seconds == 0:
        raise ConstructPropsError(
            "Firehose buffering interval is 0 s; zero buffering is not available with dynamic partitioning, "
            "use 1 to 900 seconds")
    if not props.error_output_prefix:
        raise ConstructPropsError("Firehose dynamic partitioning needs an error output prefix; set one")
    produced = partitioning.keys()
    missing = [key for key in used_keys if key not in produced]
    if missing:
        raise ConstructPropsError(
            f"the Firehose prefix uses partition key(s) {', '.join(missing)} that the query "
            f"{partitioning.jq_query!r} does not produce (it produces {', '.join(produced)})")
    if not used_keys:
        raise ConstructPropsError(
            "dynamic partitioning is on but the Firehose prefix uses no !{partitionKeyFromQuery:...} key; "
            "AWS rejects that")


def _check_expressions(what: str, prefix: str) -> None:
    """`!{namespace:value}` expressions: closed, and in a namespace Firehose knows."""
    if prefix.count("!{") != len(EXPRESSION.findall(prefix)):
        raise ConstructPropsError(f"Firehose {what} {prefix!r} has an unterminated or malformed !{{...}} expression")
    for namespace, value in EXPRESSION.findall(prefix):
        if namespace not in NAMESPACES:
            raise ConstructPropsError(
                f"Firehose {what} uses !{{{namespace}:{value}}}; the namespaces are {', '.join(NAMESPACES)}")
        if namespace == "firehose" and value not in FIREHOSE_VALUES:
            raise ConstructPropsError(
                f"Firehose {what} uses !{{firehose:{value}}}; its values are {', '.join(FIREHOSE_VALUES)}")


def _split_top_level(text: str) -> list[str]:
    """Split `a:.x, b:(.y|f(1,2))` on the commas that are not nested."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def delivery_key_prefix(*prefixes: str) -> str:
    """The object-key prefix every delivered object shares, up to the last '/' before any expression.

    Grants to the delivery role are limited to it (and bucket policies in other stacks use the same function).
    """
    statics = [prefix.split("!{", 1)[0] for prefix in prefixes]
    common = statics[0]
    for static in statics[1:]:
        while not static.startswith(common):
            common = common[:-1]
    return common[: common.rfind("/") + 1]


def delivery_key_prefixes(*prefixes: str) -> tuple[str, ...]:
    """The fewest folder prefixes that hold every delivered object: each prefix's static folder, without those
    inside another. Grants use these rather than one common prefix, which can be the whole bucket."""
    folders = sorted({delivery_key_prefix(prefix) for prefix in prefixes})
    kept: list[str] = []
    for folder in folders:  # sorted: a folder comes after every folder it is inside of
        if not any(folder.startswith(outer) for outer in kept):
            kept.append(folder)
    return tuple(kept)


def crawl_scope(prefix: str, error_output_prefix: str) -> tuple[str, tuple[str, ...]]:
    """Where a crawler over delivered records looks (the data prefix's static folder) and what it skips (the
    error output's folder, relative to it, when that lies inside it)."""
    data, errors = delivery_key_prefix(prefix), delivery_key_prefix(error_output_prefix)
    if errors == data:
        raise ConstructPropsError(
            f"the Firehose prefix {prefix!r} and error output prefix {error_output_prefix!r} share their whole "
            f"static folder {data!r}, so failed records cannot be told from data by their keys; give the error "
            "output a folder of its own (e.g. errors/!{firehose:error-output-type}/ or "
            f"{data}errors/!{{firehose:error-output-type}}/)")
    if errors.startswith(data):
        return data, (errors[len(data):] + "**",)
    return data, ()
