"""`<source account>/<region>/datalake`: DynamoDB CDC -> Kinesis -> Firehose -> the lake's raw bucket."""
from __future__ import annotations

from dataclasses import dataclass

from aws_constructs.alarms import (
    AlarmTopic,
    AlarmTopicProps,
    MetricAlarm,
    MetricAlarmProps,
    dynamodb_stream_metric,
    firehose_metric,
    kinesis_metric,
)
from aws_constructs.dynamodb import ChangeStreamProps, KinesisChangeStream
from aws_constructs.errors import ConstructPropsError
from aws_constructs.env import AwsEnvironment
from aws_constructs.firehose import DynamicPartitioning, KinesisToS3DeliveryStream, S3DeliveryStreamProps
from aws_constructs.iam import CrossAccountRole, CrossAccountRoleProps, PolicyStatement
from aws_constructs.kinesis import DataStream, DataStreamProps
from aws_constructs.kms import KmsKeyRef
from aws_constructs.s3 import BucketRef
from bindings import Construct, Fn
from leverage.project.layer import LayerAddress
from leverage.hcl import literal
from leverage.project.model import Project
from leverage.stack import LeverageLayerStack, RemoteLayer
from stacks import legacy_addresses as legacy
from stacks.names import delivery_stream_name, firehose_role_name, item_count_role_name, lakehouse_job_role_name
from stacks.raw_layout import source_error_prefix, source_folders
from stacks.settings.model import AlarmSettings, FirehoseSettings


@dataclass(frozen=True)
class StreamedTable:
    """A table whose changes this layer streams, read from another layer's state: output `output` of `layer`,
    or entry `entry` of that output when it is a map (a table layer's `dynamodb_table_names`)."""

    key: str  # what its streaming destination and alarms are named after
    layer: RemoteLayer
    output: str
    entry: str | None = None
    renamed_from: str | None = None  # the key it had before: its streaming destination moves


def streamed_table_name(stack: LeverageLayerStack, table: StreamedTable) -> str:
    """The table's name, read from its layer's state as every layer that needs it reads it."""
    state = stack.remote_state(table.layer)
    return state.get_string(table.output) if table.entry is None else Fn.lookup(state.get(table.output), table.entry)


@dataclass(frozen=True)
class DatalakeLayerProps:
    keys_layer: RemoteLayer
    tables: tuple[StreamedTable, ...]
    lake_layer: RemoteLayer
    stream_retention_hours: int
    firehose: FirehoseSettings
    alarms: AlarmSettings
    # Import the live stream, Firehose (with its role, log group and stream) and streaming destination, as the
    # reference architecture's datalake layer creates them; the role then has the reference's name.
    adopt_existing: bool = False
    sources: int = 1  # how many source accounts deliver into the lake: with several, each must keep to its tables
    # The lake account's lakehouse job reads this account's tables' item counts (its data-quality checks) through a
    # read-only role of this layer; False when the lakehouse layer is not generated.
    lakehouse_reads_item_counts: bool = True


class DatalakeLayer(LeverageLayerStack):
    """Real-time change data capture from DynamoDB into the data lake's raw bucket, watched by alarms.

    ```
    DynamoDB tables of this account (generated in databases-dynamodb, or read from hand-written layers)
       -> one DynamoDB Kinesis streaming destination per table (creation-time precision MICROSECOND)
    Kinesis data stream (on-demand, encrypted with the account's KMS key from security-keys)
       -> Firehose delivery stream (dynamic partitioning by table, errors to CloudWatch Logs)
    S3 raw bucket (lake account, layer datalake-demo)
    ```

    Firehose assumes its own role, which can read only this stream (and decrypt only its records), write only
    its own tables' folders of the raw bucket and an error folder of its own (`<error prefix><account>/`), with
    the lake's KMS key (read from the lake layer's state), and write only its own log stream, in a log group
    encrypted with a key of this layer. The lake bucket's and
    key's policies trust that role by name, so the role name is fixed.

    CloudWatch alarms watch every stage: Firehose delivery freshness and success, the stream's iterator age and
    write throttling, and for each table the age and failures of its replication to the stream. They notify an
    SNS topic encrypted with its own KMS key (whose policy lets CloudWatch publish); subscribe to it, or set
    `alarmEmail`.
    """

    legacy_addresses = legacy.DATALAKE_LAYER

    def __init__(self, scope: Construct, project: Project, address: LayerAddress, props: DatalakeLayerProps) -> None:
        super().__init__(scope, project, address)
        env = self.env
        keys = self.remote_state(props.keys_layer)
        lake = self.remote_state(props.lake_layer)
        if not props.tables:
            raise ConstructPropsError("a pipeline needs at least one table")

        stream = DataStream(self, "ChangeStream", DataStreamProps(
            name=self.aws_name("ddb-lakehouse-stream"),
            env=env,
            encryption_key=KmsKeyRef(keys.get_string("aws_kms_key_arn")),
            retention_hours=props.stream_retention_hours,
        ))
        changes = []
        for table in props.tables:
            changes.append(KinesisChangeStream(self, f"{table.key}-changes", ChangeStreamProps(
                table_name=streamed_table_name(self, table), stream=stream)))
            if table.renamed_from:
                changes[-1].renamed_from(f"{table.renamed_from}_changes")
        # Before a pipeline could stream many tables, its one destination was `table_changes`: the first table's.
        # Renamed, the first table's destination moves from its previous name, so the old one is chained to that:
        # Terraform refuses two moves into one address.
        first = f"{props.tables[0].renamed_from}_changes" if props.tables[0].renamed_from else changes[0].terraform_name
        if first != "table_changes":
            self.moved("aws_dynamodb_kinesis_streaming_destination.table_changes",
                       f"aws_dynamodb_kinesis_streaming_destination.{first}")
        firehose = props.firehose
        names = (project.name, self.account.environment, address.disaster_recovery)
        # Only this source's tables' folders and its own error folder: the lake's policies grant no more.
        error_prefix = source_error_prefix(literal(firehose.error_prefix), self.account.name)
        folders = source_folders(literal(firehose.prefix), literal(firehose.error_prefix), self.account.name,
                                 [change.props.table_name for change in changes], props.sources)
        delivery = KinesisToS3DeliveryStream(self, "Delivery", S3DeliveryStreamProps(
            name=delivery_stream_name(*names),
            env=env,
            source=stream,
            destination=BucketRef(lake.get_string("s3_bucket_data_raw_arn")),
            role_name=firehose_role_name(*names, as_reference=props.adopt_existing),
            prefix=literal(firehose.prefix),
            error_output_prefix=error_prefix,
            buffering_size_mib=firehose.buffering_size_mib,
            buffering_interval_seconds=firehose.buffering_interval_seconds,
            dynamic_partitioning=DynamicPartitioning(literal(firehose.partition_query)),
            log_retention_days=firehose.log_retention_days,
            destination_key=KmsKeyRef(lake.get_string("s3_bucket_data_kms_key_arn")),
            destination_folders=folders,
        ))
        if props.adopt_existing:
            for adopted in (stream, *changes, delivery):
                adopted.adopt_existing()
        self._alarms(env, props, stream, delivery, changes)
        if props.lakehouse_reads_item_counts:
            self._item_count_role(props, [change.props.table_name for change in changes])
        self.diagram = _pipeline_diagram(props, stream.name, delivery.props.name)
        self.output("kinesis_stream_arn", stream.arn, "ARN of the Kinesis stream that carries the table's changes")
        self.output("kinesis_firehose_role_arn", delivery.role.arn, "ARN of the Firehose role the lake bucket trusts")
        self.output("kinesis_firehose_arn", delivery.arn, "ARN of the Firehose delivery stream")

    def _item_count_role(self, props: DatalakeLayerProps, tables: list[str]) -> None:
        """A role only the lake account's lakehouse job role may assume (the lake account trusted, the job role's
        ARN pinned), which may describe this layer's tables and nothing else: the job compares its tables' row
        counts with their ItemCount. The job role's name is fixed by convention (stacks/names.py): no state read."""
        lake = props.lake_layer.account
        env = self.env
        job_role = f"arn:{env.partition}:iam::{lake.id}:role/" + lakehouse_job_role_name(
            self.project.name, lake.environment, self.address.disaster_recovery)
        role = CrossAccountRole(self, "ItemCountRole", CrossAccountRoleProps(
            name=item_count_role_name(self.project.name, self.account.environment, self.address.disaster_recovery),
            trusted_account=lake.id, principal_arn=job_role, partition=env.partition,
            description="Read by the lakehouse job: the item counts of the tables this account streams"))
        role.add_to_principal_policy(PolicyStatement(
            sid="DescribeStreamedTables", actions=("dynamodb:DescribeTable",),
            resources=tuple(env.arn("dynamodb", f"table/{table}") for table in tables)))
        self.output("lakehouse_item_count_role_arn", role.arn,
                    "ARN of the role the lakehouse job assumes to read the streamed tables' item counts")

    def _alarms(self, env: AwsEnvironment, props: DatalakeLayerProps, stream: DataStream,
                delivery: KinesisToS3DeliveryStream, changes: list[KinesisChangeStream]) -> None:
        """The pipeline's alarms, each notifying the layer's topic when it fires and when it recovers."""
        settings = props.alarms
        topic = AlarmTopic(self, "Alarms", AlarmTopicProps(
            name=self.aws_name("ddb-lakehouse-alarms"), env=env, email=literal(settings.email)))
        firehose_name, stream_name = delivery.props.name, stream.name
        interval = props.firehose.buffering_interval_seconds
        alarms = [
            ("DeliveryFreshness", f"{firehose_name}-freshness",
             f"Oldest record in Firehose {firehose_name} older than its buffering interval plus "
             f"{settings.freshness_margin_seconds} s: delivery to the lake is stalled or behind",
             firehose_metric("DeliveryToS3.DataFreshness", firehose_name, "Maximum"),
             "GreaterThanThreshold", interval + settings.freshness_margin_seconds, 1),
            ("DeliverySuccess", f"{firehose_name}-delivery-failing",
             f"Firehose {firehose_name} failed S3 deliveries for 15 minutes (it retries, then writes to the "
             "error prefix)",
             firehose_metric("DeliveryToS3.Success", firehose_name, "Average"), "LessThanThreshold", 1, 3),
            ("DeliveryPartitionLimit", f"{firehose_name}-partition-limit",
             f"Firehose {firehose_name} reached its active partition limit: the records beyond it go to the error "
             "prefix, which the lakehouse job does not read",
             firehose_metric("PartitionCountExceeded", firehose_name, "Maximum"), "GreaterThanOrEqualToThreshold", 1, 1),
            ("StreamIteratorAge", f"{stream_name}-iterator-age",
             f"Firehose reads stream {stream_name} more than {settings.iterator_age_seconds} s behind its newest "
             "record: records may expire before delivery",
             kinesis_metric("GetRecords.IteratorAgeMilliseconds", stream_name, "Maximum"),
             "GreaterThanThreshold", settings.iterator_age_seconds * 1000, 1),
            ("StreamWriteThrottled", f"{stream_name}-write-throttled",
             f"Writes to stream {stream_name} throttled for 15 minutes (more than "
             f"{settings.write_throttled_records} records each 5 minutes): change data capture falls behind",
             kinesis_metric("WriteProvisionedThroughputExceeded", stream_name, "Sum"),
             "GreaterThanThreshold", settings.write_throttled_records, 3),
        ]
        for change in changes:
            table, key = change.props.table_name, change.terraform_name.removesuffix("_changes")
            alarms += [
                (f"{key}-replication-age", self.aws_name(f"{key.replace('_', '-')}-cdc-age"),
                 f"Changes of table {key} wait more than {settings.replication_age_seconds} s to reach stream "
                 f"{stream_name} for 15 minutes (throttling, or DynamoDB lost access to the stream)",
                 dynamodb_stream_metric("AgeOfOldestUnreplicatedRecord", table, "Maximum"),
                 "GreaterThanThreshold", settings.replication_age_seconds * 1000, 3),
                (f"{key}-replication-failed", self.aws_name(f"{key.replace('_', '-')}-cdc-failed"),
                 f"DynamoDB failed to replicate more than {settings.replication_failed_records} changes of table "
                 f"{key} to stream {stream_name} in a minute: those changes never reach the lake",
                 dynamodb_stream_metric("FailedToReplicateRecordCount", table, "Sum", period_seconds=60),
                 "GreaterThanThreshold", settings.replication_failed_records, 1),
                (f"{key}-replication-throttled", self.aws_name(f"{key.replace('_', '-')}-cdc-throttled"),
                 f"Stream {stream_name} throttled DynamoDB's writes of table {key}'s changes every minute for 10 "
                 f"minutes (more than {settings.replication_throttled_records} records a minute): the stream lacks "
                 "capacity and the changes fall behind",
                 dynamodb_stream_metric("ThrottledPutRecordCount", table, "Maximum", period_seconds=60),
                 "GreaterThanThreshold", settings.replication_throttled_records, 10),
            ]
        for construct_id, name, description, metric, comparison, threshold, periods in alarms:
            MetricAlarm(self, f"{construct_id}-alarm", MetricAlarmProps(
                name=name, description=description, metric=metric, comparison=comparison, threshold=threshold,
                topic=topic, evaluation_periods=periods))
        self.output("alarm_topic_arn", topic.arn, "ARN of the SNS topic the pipeline's alarms notify")


def _pipeline_diagram(props: DatalakeLayerProps, stream: str, firehose: str) -> str:
    lines = ["flowchart LR"]
    for index, table in enumerate(props.tables):
        source = f"{table.output}[{table.entry}]" if table.entry else table.output
        lines.append(f'  table{index}[("table {table.key}<br/>{table.layer.layer}: {source}")] --> stream')
    lake = props.lake_layer
    lines += [
        f'  stream["Kinesis stream<br/>{stream}"] --> firehose["Firehose<br/>{firehose}"]',
        f'  firehose -- "partitioned by table" --> raw[("raw bucket<br/>{lake.account.name}/{lake.layer}")]',
        '  stream -.-> alarms(["CloudWatch alarms -> SNS topic"])',
        "  firehose -.-> alarms",
    ]
    return "\n".join(lines)
