"""`<source account>/<region>/datalake`: DynamoDB CDC -> Kinesis -> Firehose -> the lake's raw bucket."""
from __future__ import annotations

from dataclasses import dataclass

from aws_constructs.dynamodb import ChangeStreamProps, KinesisChangeStream
from aws_constructs.env import AwsEnvironment
from aws_constructs.firehose import DynamicPartitioning, KinesisToS3DeliveryStream, S3DeliveryStreamProps
from aws_constructs.kinesis import DataStream, DataStreamProps
from aws_constructs.kms import KmsKeyRef
from aws_constructs.s3 import BucketRef
from cdk_bindings import Construct
from leverage.layer import LayerAddress
from leverage.project import Project
from leverage.stack import LeverageLayerStack, RemoteLayer
from stacks import legacy_addresses as legacy
from stacks.naming import firehose_role_name, resource_prefix


@dataclass(frozen=True)
class FirehoseSettings:
    buffering_size_mib: int
    buffering_interval_seconds: int
    prefix: str
    error_prefix: str
    partition_query: str
    log_retention_days: int


@dataclass(frozen=True)
class DatalakeLayerProps:
    keys_layer: RemoteLayer
    table_layer: RemoteLayer
    lake_layer: RemoteLayer
    stream_retention_hours: int
    firehose: FirehoseSettings
    # Import the live stream, Firehose (with its log group and stream) and streaming destination of the same
    # names, as the reference architecture's datalake layer creates them.
    adopt_existing: bool = False


class DatalakeLayer(LeverageLayerStack):
    """Real-time change data capture from DynamoDB into the data lake's raw bucket.

    ```
    DynamoDB table (this account, layer databases-dynamodb)
       -> DynamoDB Kinesis streaming destination (creation-time precision MICROSECOND)
    Kinesis data stream (on-demand, encrypted with the account's KMS key from security-keys)
       -> Firehose delivery stream (dynamic partitioning by table, errors to CloudWatch Logs)
    S3 raw bucket (lake account, layer datalake-demo)
    ```

    Firehose assumes its own role, which can read only this stream (and decrypt only its records), write only
    below the CDC prefix of the raw bucket, with the lake's KMS key (read from the lake layer's state), and
    write only its own log stream, in a log group encrypted with a key of this layer. The lake bucket's and
    key's policies trust that role by name, so the role name is fixed.
    """

    legacy_addresses = legacy.DATALAKE_LAYER

    def __init__(self, scope: Construct, project: Project, address: LayerAddress, props: DatalakeLayerProps) -> None:
        super().__init__(scope, project, address)
        env = AwsEnvironment(self.account.id, address.region)
        prefix = resource_prefix(project.name, self.account.environment, address.disaster_recovery)
        keys = self.read_layer(props.keys_layer)
        table = self.read_layer(props.table_layer)
        lake = self.read_layer(props.lake_layer)

        stream = DataStream(self, "ChangeStream", DataStreamProps(
            name=f"{prefix}-ddb-lakehouse-stream",
            env=env,
            encryption_key=KmsKeyRef(keys.get_string("aws_kms_key_arn")),
            retention_hours=props.stream_retention_hours,
        ))
        changes = KinesisChangeStream(self, "TableChanges", ChangeStreamProps(
            table_name=table.get_string("dynamodb_table_name"), stream=stream))
        firehose = props.firehose
        delivery = KinesisToS3DeliveryStream(self, "Delivery", S3DeliveryStreamProps(
            name=f"{prefix}-ddb-lakehouse-firehose",
            env=env,
            source=stream,
            destination=BucketRef(lake.get_string("s3_bucket_data_raw_arn")),
            role_name=firehose_role_name(project.name, self.account.environment, address.disaster_recovery),
            prefix=firehose.prefix,
            error_output_prefix=firehose.error_prefix,
            buffering_size_mib=firehose.buffering_size_mib,
            buffering_interval_seconds=firehose.buffering_interval_seconds,
            dynamic_partitioning=DynamicPartitioning(firehose.partition_query),
            log_retention_days=firehose.log_retention_days,
            destination_key=KmsKeyRef(lake.get_string("s3_bucket_data_kms_key_arn")),
        ))
        if props.adopt_existing:
            for adopted in (stream, changes, delivery):
                adopted.adopt_existing()
        self.output("kinesis_stream_arn", stream.arn, "ARN of the Kinesis stream that carries the table's changes")
        self.output("kinesis_firehose_role_arn", delivery.role.arn, "ARN of the Firehose role the lake bucket trusts")
        self.output("kinesis_firehose_arn", delivery.arn, "ARN of the Firehose delivery stream")
