"""`<source account>/<region>/databases-dynamodb`: the application tables whose changes feed the lake."""
from __future__ import annotations

from dataclasses import dataclass

from aws_constructs.dynamodb import KeyAttribute, Table, TableProps
from aws_constructs.errors import ConstructPropsError
from aws_constructs.kms import KmsKeyRef
from bindings import Construct, Token
from leverage.project.layer import LayerAddress
from leverage.project.model import Project
from leverage.stack import LeverageLayerStack, RemoteLayer
from stacks import legacy_addresses as legacy
from stacks.names import reference_table_name


@dataclass(frozen=True)
class TableSpec:
    name: str  # the table is `<project>-<account>-<name>`; its address is the name in snake_case
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None
    # Named as the reference's `databases-dynamodb` layer names its table (adopting it); the address stays.
    named_as_reference: bool = False


@dataclass(frozen=True)
class DynamoDbLayerProps:
    keys_layer: RemoteLayer
    tables: tuple[TableSpec, ...]
    adopt_existing: bool = False  # import the live tables of the same names instead of creating them


class DynamoDbLayer(LeverageLayerStack):
    """The application's DynamoDB tables, whose changes the datalake layer streams to the lake.

    On-demand billing, point-in-time recovery, encryption with the account's customer-managed KMS key (from the
    security-keys layer) and deletion protection. `dynamodb_table_name` and `dynamodb_table_arn` name the first
    table (what a layer that reads one table uses); `dynamodb_table_names` and `dynamodb_table_arns` name every
    table, by its name in the settings.
    """

    legacy_addresses = legacy.DYNAMODB_LAYER

    def __init__(self, scope: Construct, project: Project, address: LayerAddress, props: DynamoDbLayerProps) -> None:
        super().__init__(scope, project, address)
        if not props.tables:
            raise ConstructPropsError("a table layer needs at least one table")
        keys = props.keys_layer
        key_arn = self.read_layer(keys.account.name, keys.layer, "aws_kms_key_arn", keys.region)
        tables = []
        for spec in props.tables:
            name = reference_table_name(project.name, self.account.environment, address.disaster_recovery) \
                if spec.named_as_reference else self.aws_name(spec.name, kind="dynamodb_table")
            table = Table(self, spec.name, TableProps(
                name=name,
                partition_key=spec.partition_key,
                sort_key=spec.sort_key,
                encryption_key=KmsKeyRef(key_arn),
            ))
            if props.adopt_existing:
                table.adopt_existing()
            tables.append((spec.name, table))
        first = tables[0][1]
        self.output("dynamodb_table_name", first.table_name, "Name of the application table streamed to the lake")
        self.output("dynamodb_table_arn", first.arn, "ARN of the application table")
        # Maps as tokens: cdktf inspects a plain map with Node's deprecated util.isArray, which warns on stderr.
        self.output("dynamodb_table_names", Token.as_any({name: table.table_name for name, table in tables}),
                    "Name of every table of this layer, by its name in the settings")
        self.output("dynamodb_table_arns", Token.as_any({name: table.arn for name, table in tables}),
                    "ARN of every table of this layer, by its name in the settings")
