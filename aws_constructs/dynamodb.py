"""DynamoDB tables and their change data capture into Kinesis."""
from __future__ import annotations

from functools import cached_property

from dataclasses import dataclass

from bindings import (
    Construct,
    DynamodbKinesisStreamingDestination,
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)
from aws_constructs.errors import ConstructPropsError
from aws_constructs.kinesis import DataStream
from aws_constructs.kms import KmsKeyRef
from aws_constructs.addresses import NamedConstruct
from aws_constructs.validation import check_name

KEY_TYPES = {"S": "string", "N": "number", "B": "binary"}


@dataclass(frozen=True)
class KeyAttribute:
    name: str
    type: str = "S"

    def __post_init__(self) -> None:
        if not 1 <= len(self.name.encode()) <= 255:
            raise ConstructPropsError(f"DynamoDB key attribute name {self.name!r} must be 1 to 255 bytes")
        if self.type not in KEY_TYPES:
            raise ConstructPropsError(
                f"DynamoDB key attribute {self.name!r} has type {self.type!r}; key attributes must be "
                "S (string), N (number) or B (binary)")


@dataclass(frozen=True)
class TableProps:
    name: str
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None
    # Customer-managed key; without one the table is encrypted with the AWS-managed key aws/dynamodb.
    encryption_key: KmsKeyRef | None = None
    point_in_time_recovery: bool = True
    deletion_protection: bool = True


class Table(NamedConstruct):
    """An on-demand table, encrypted, with point-in-time recovery and deletion protection by default."""

    def __init__(self, scope: Construct, construct_id: str, props: TableProps) -> None:
        super().__init__(scope, construct_id)
        check_name("DynamoDB table", props.name, 255, r"[a-zA-Z0-9_.-]+", "letters, digits and _.-", min_length=3)
        if props.sort_key and props.sort_key.name == props.partition_key.name:
            raise ConstructPropsError(
                f"DynamoDB table {props.name}: the sort key must differ from the partition key "
                f"({props.partition_key.name!r})")
        keys = [props.partition_key] + ([props.sort_key] if props.sort_key else [])
        self.name = props.name
        self._table = self._name(DynamodbTable(
            self,
            "Resource",
            name=props.name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=props.partition_key.name,
            range_key=props.sort_key.name if props.sort_key else None,
            attribute=[DynamodbTableAttribute(name=key.name, type=key.type) for key in keys],
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=props.point_in_time_recovery),
            server_side_encryption=DynamodbTableServerSideEncryption(
                enabled=True, kms_key_arn=props.encryption_key.arn if props.encryption_key else None),
            deletion_protection_enabled=props.deletion_protection,
        ))

    @cached_property
    def arn(self) -> str:
        return self._table.arn

    @cached_property
    def table_name(self) -> str:
        return self._table.name

    def adopt_existing(self) -> None:
        """Take over a live table of this name instead of creating it (an `import` block)."""
        self._adopt(self._table, self.name)


@dataclass(frozen=True)
class ChangeStreamProps:
    table_name: str  # a table of this account, possibly from another layer
    stream: DataStream
    # Timestamps of change records; MICROSECOND keeps changes within one millisecond in order.
    creation_time_precision: str = "MICROSECOND"


class KinesisChangeStream(NamedConstruct):
    """Streams every change of a DynamoDB table into a Kinesis data stream (CDC)."""

    def __init__(self, scope: Construct, construct_id: str, props: ChangeStreamProps) -> None:
        super().__init__(scope, construct_id)
        if props.creation_time_precision not in ("MILLISECOND", "MICROSECOND"):
            raise ConstructPropsError(
                f"creation time precision {props.creation_time_precision!r} must be MILLISECOND or MICROSECOND")
        self.props = props
        self._destination = self._name(DynamodbKinesisStreamingDestination(
            self,
            "Resource",
            table_name=props.table_name,
            stream_arn=props.stream.arn,
            approximate_creation_date_time_precision=props.creation_time_precision,
        ))

    def adopt_existing(self) -> None:
        """Take over the table's live streaming destination to this stream (enabling it again would fail)."""
        self._adopt(self._destination, f"{self.props.table_name},{self.props.stream.known_arn}")
