"""The Firehose delivery streams of the layers, resolved: which role writes which tables' change records from which
stream, to which keys of which bucket. Firehose's role, the crawler and the lakehouse job all read them: the keys
Firehose writes are the keys the others read or must not reach."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aws_constructs.access.expressions import Unresolved
from aws_constructs.access.layers import Layers, TerraformLayer
from aws_constructs.firehose import delivery_key_prefix
from stacks.access_paths.builder import one_block
from stacks.raw_layout import TABLE_KEY

FIREHOSE = "aws_kinesis_firehose_delivery_stream"
STREAMING_DESTINATION = "aws_dynamodb_kinesis_streaming_destination"
# Sample values for what Firehose puts in a key: a time, the type of a failure, its random string.
TIMESTAMP = {"yyyy": "2026", "MM": "01", "dd": "02", "HH": "03", "mm": "04", "ss": "05"}
ERROR_OUTPUT_TYPE = "processing-failed"
RANDOM_STRING = "a1b2c3d4"
EXPRESSION = re.compile(r"!\{([^}:]*):([^}]*)\}")


@dataclass(frozen=True)
class Delivery:
    """A Firehose delivery stream, resolved: who writes what where."""

    layer: TerraformLayer
    name: str
    role: str
    stream: str
    bucket_arn: str
    key: str | None
    tables: tuple[str, ...]  # the tables whose DynamoDB streaming destination is the stream
    prefix: str
    error_prefix: str
    log_stream: tuple[str, str] | None  # (group, stream) when the delivery logs its failures

    def object_arn(self, table: str) -> str:
        """An object Firehose writes with one record of the table."""
        return f"{self.bucket_arn}/{filled_in(self.prefix, table)}{self._object_name()}"

    def error_object_arn(self) -> str:
        return f"{self.bucket_arn}/{self.error_folder()}{self._object_name()}"

    def error_folder(self) -> str:
        return filled_in(self.error_prefix, None)

    def folder(self, table: str) -> str:
        """The static folder of the table's records: the prefix with the table's name, up to the first expression."""
        return delivery_key_prefix(self.prefix.replace(TABLE_KEY, table))

    def static_prefix(self) -> str:
        """The prefix up to its first expression: the folder holding every table's folder."""
        return self.prefix.split("!{", 1)[0]

    def _object_name(self) -> str:
        return f"{self.name}-1-2026-01-02-03-04-05-0f1e2d3c"


def deliveries(layers: Layers) -> Iterator[Delivery]:
    for layer, name, _ in layers.resources(FIREHOSE):
        s3 = one_block(layers.argument(layer, FIREHOSE, name, "extended_s3_configuration"))
        stream = one_block(layers.argument(layer, FIREHOSE, name, "kinesis_source_configuration"))["kinesis_stream_arn"]
        tables = tuple(layers.argument(owner, STREAMING_DESTINATION, destination, "table_name")
                       for owner, destination, _ in layers.resources(STREAMING_DESTINATION)
                       if layers.argument(owner, STREAMING_DESTINATION, destination, "stream_arn") == stream)
        check_partitioning_by_table(s3, name)
        logging = one_block(s3.get("cloudwatch_logging_options") or {})
        yield Delivery(layer, layers.argument(layer, FIREHOSE, name, "name"), s3["role_arn"], stream,
                       s3["bucket_arn"], s3.get("kms_key_arn"), tables, s3["prefix"], s3.get("error_output_prefix", ""),
                       (logging["log_group_name"], logging["log_stream_name"]) if logging.get("enabled") else None)


def check_partitioning_by_table(s3: dict[str, Any], name: str) -> None:
    """Only `{key:.field}` partitioning by the record's table name is understood: each record's `tableName` is the
    table DynamoDB streams it from."""
    processors = one_block(s3.get("processing_configuration") or {"processors": []}).get("processors", [])
    for processor in processors:
        if processor["type"] == "MetadataExtraction":
            query = next(p["parameter_value"] for p in processor["parameters"]
                         if p["parameter_name"] == "MetadataExtractionQuery")
            if re.sub(r"\s", "", query) != "{tableName:.tableName}":
                raise Unresolved(query, f"Firehose {name}: only {{tableName:.tableName}} partitioning is derived")


def filled_in(prefix: str, table: str | None) -> str:
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
            return RANDOM_STRING
        raise Unresolved(match.group(0), "a Firehose expression the proof does not fill in")

    return EXPRESSION.sub(value, prefix)
