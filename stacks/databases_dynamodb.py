"""`<source account>/<region>/databases-dynamodb`: the application table whose changes feed the lake."""
from __future__ import annotations

from dataclasses import dataclass

from aws_constructs.dynamodb import KeyAttribute, Table, TableProps
from aws_constructs.kms import KmsKeyRef
from cdk_bindings import Construct
from leverage.layer import LayerAddress
from leverage.project import Project
from leverage.stack import LeverageLayerStack, RemoteLayer
from stacks import legacy_addresses as legacy
from stacks.naming import resource_prefix


@dataclass(frozen=True)
class DynamoDbLayerProps:
    keys_layer: RemoteLayer
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None
    adopt_existing: bool = False  # import the live table of the same name instead of creating it


class DynamoDbLayer(LeverageLayerStack):
    """The application's DynamoDB table, whose changes the datalake layer streams to the lake.

    On-demand billing, point-in-time recovery, encryption with the account's customer-managed KMS key (from the
    security-keys layer) and deletion protection.
    """

    legacy_addresses = legacy.DYNAMODB_LAYER

    def __init__(self, scope: Construct, project: Project, address: LayerAddress, props: DynamoDbLayerProps) -> None:
        super().__init__(scope, project, address)
        keys = self.read_layer(props.keys_layer)
        table = Table(self, "AppData", TableProps(
            name=f"{resource_prefix(project.name, self.account.environment, address.disaster_recovery)}-app-data",
            partition_key=props.partition_key,
            sort_key=props.sort_key,
            encryption_key=KmsKeyRef(keys.get_string("aws_kms_key_arn")),
        ))
        if props.adopt_existing:
            table.adopt_existing()
        self.output("dynamodb_table_name", table.table_name, "Name of the application table streamed to the lake")
        self.output("dynamodb_table_arn", table.arn, "ARN of the application table")
