"""`<lake account>/<region>/datalake-demo`: the lake's raw and processed buckets and their catalog."""
from __future__ import annotations

from dataclasses import dataclass

from aws_constructs.env import AwsEnvironment
from aws_constructs.errors import ConstructPropsError
from aws_constructs.iam import ServiceRole, ServiceRoleProps
from aws_constructs.firehose import crawl_scope
from aws_constructs.alarms import AlarmTopic, AlarmTopicProps, Metric
from aws_constructs.glue import CatalogDatabase, CrawlerProps, S3Crawler
from aws_constructs.kms import DATA_KEY_ACTIONS, Key, KeyProps
from aws_constructs.s3 import SecureBucket, SecureBucketProps, ServerAccessLogBucket, Transition
from bindings import Construct, Fn, Op, TerraformProvider
from leverage.project.layer import LayerAddress
from leverage.hcl import literal
from leverage.project.model import Account, Project
from leverage.stack import LeverageLayerStack
from stacks import legacy_addresses as legacy
from stacks.datalake import StreamedTable, streamed_table_name
from stacks.names import firehose_role_name, processed_bucket_name, raw_bucket_name
from stacks.raw_layout import source_folders
from stacks.replication_alarms import alarm_on_failed_replication
from stacks.settings.model import FirehoseSettings


@dataclass(frozen=True)
class LakeSource:
    """A source account whose datalake layer delivers into the lake, and the tables it streams (their names are
    read from their layers' state, as the datalake layer reads them)."""

    account: Account
    tables: tuple[StreamedTable, ...]


@dataclass(frozen=True)
class DatalakeDemoLayerProps:
    sources: tuple[LakeSource, ...]  # where the datalake layers' Firehose roles live, one per pipeline
    firehose: FirehoseSettings
    adopt_existing: bool = False  # import the live raw and processed buckets of the same names
    # The datalake layers adopt the reference's resources: their Firehose roles have the reference's names.
    firehose_roles_as_reference: bool = False
    access_log_retention_days: int = 365
    # Region the raw and processed buckets replicate to (buckets, key and access logs of their own there);
    # None: no replication.
    replica_region: str | None = None
    alarm_email: str = ""  # subscribed to the lake's alarm topic (there is one where the buckets replicate)


@dataclass(frozen=True)
class LakeBuckets:
    """The lake's storage in one region: its key, the raw and processed buckets, their access-log bucket."""

    key: Key
    raw: SecureBucket
    processed: SecureBucket
    access_logs: ServerAccessLogBucket


def lake_buckets(stack: LeverageLayerStack, env: AwsEnvironment, names: tuple[str, str, str], retention_days: int,
                 suffix: str = "", provider: TerraformProvider | None = None, replica: bool = False) -> LakeBuckets:
    """`replica`: the buckets S3 replication writes into, which encrypts each copy with `kms:Encrypt`."""
    raw_name, processed_name, logs_name = names
    key = Key(stack, f"DataKey{suffix}", KeyProps(
        description=f"Data lake buckets {raw_name} and {processed_name}", env=env, provider=provider))
    # Both are read in place at any age (a rebuild of the history reads every raw record; Iceberg keeps data files
    # live for years): no archive class. The raw history moves to instant-retrieval storage after a year; the
    # tables' files, read by every merge, go no further than Standard-IA.
    raw = SecureBucket(stack, f"RawBucket{suffix}", SecureBucketProps(
        name=raw_name, encryption_key=key.as_ref(), provider=provider, read_in_place=True,
        transitions=(Transition(90, "STANDARD_IA"), Transition(365, "GLACIER_IR"))))
    processed = SecureBucket(stack, f"ProcessedBucket{suffix}", SecureBucketProps(
        name=processed_name, encryption_key=key.as_ref(), provider=provider, read_in_place=True,
        transitions=(Transition(90, "STANDARD_IA"),)))
    access_logs = ServerAccessLogBucket(stack, f"AccessLogBucket{suffix}", SecureBucketProps(
        name=logs_name, transitions=(), expiration_days=retention_days, provider=provider), env.account_id)
    access_logs.log_access_of(raw, processed)
    # Whoever the account lets read or write the lake buckets (IAM) may use the key for them, through S3.
    actions = DATA_KEY_ACTIONS + ("kms:Encrypt",) if replica else DATA_KEY_ACTIONS
    key.allow_via_service("AccountUsesKeyThroughS3", env.account_id, actions, "s3", (
        "aws:s3:arn", tuple(arn for bucket in (raw, processed) for arn in (bucket.arn, f"{bucket.arn}/*"))))
    return LakeBuckets(key, raw, processed, access_logs)


class DatalakeDemoLayer(LeverageLayerStack):
    """The data lake's storage: a raw bucket that receives the CDC records and a processed bucket.

    Both are versioned, private, TLS-only and owner-enforced (objects the source accounts' Firehoses write
    belong to this account), encrypted with this layer's KMS key (rotated yearly, S3 Bucket Keys on), with
    server access logs to a log bucket of their own, events to EventBridge and lifecycle rules to cheaper
    storage (never an archive class: both are read in place at any age). The raw bucket's policy and the key's
    policy let the Firehose role of every source account's datalake layer write the folders of that source's own
    tables and an error folder of its own, nothing else; they name each role by its fixed ARN and read the table
    names from the tables' layers, so this layer does not read the datalake layers' state (it is applied after
    the tables' layers and before the datalake layers). A Glue database and an hourly crawler over the CDC prefix
    make the delivered changes queryable (Athena); the crawler's role can read only that prefix and write only
    that database, and its logs are encrypted (Glue security configuration). Unless `lakeReplicaRegion` is `off`,
    the buckets replicate to copies in a second region, with their own key and access logs.
    """

    legacy_addresses = legacy.LAKE_LAYER

    def __init__(self, scope: Construct, project: Project, address: LayerAddress, props: DatalakeDemoLayerProps) -> None:
        super().__init__(scope, project, address)
        env = self.env
        environment, dr = self.account.environment, address.disaster_recovery
        names = (raw_bucket_name(project.name, environment, dr), processed_bucket_name(project.name, environment, dr),
                 self.aws_name("data-lake-demo-access-logs"))
        lake = lake_buckets(self, env, names, props.access_log_retention_days)
        key, raw, processed = lake.key, lake.raw, lake.processed
        if props.replica_region:
            replicated = self._replicate(lake, AwsEnvironment(self.account.id, props.replica_region), names,
                                         props.access_log_retention_days)
            # The lake's only alarms: its buckets are the lasting copy of the change history.
            topic = AlarmTopic(self, "Alarms", AlarmTopicProps(
                name=self.aws_name("data-lake-alarms"), env=env, email=literal(props.alarm_email)))
            alarm_on_failed_replication(self, replicated, topic)

        # Built from names both stacks share and the tables' layers (never the datalake layers' state: no cycle):
        # each source's Firehose role may write only its own tables' folders and its own error folder.
        firehose_prefix, firehose_error_prefix = literal(props.firehose.prefix), literal(props.firehose.error_prefix)
        if not props.sources:
            raise ConstructPropsError("the lake needs at least one source account")
        every_table: list[str] = []
        for lake_source in props.sources:
            source_account, tables = lake_source.account, lake_source.tables
            source = AwsEnvironment(source_account.id, address.region)
            firehose_role_arn = source.role_arn(firehose_role_name(
                project.name, source_account.environment, dr, as_reference=props.firehose_roles_as_reference))
            table_names = [streamed_table_name(self, table) for table in tables]
            every_table += table_names
            delivered = source_folders(firehose_prefix, firehose_error_prefix, source_account.name, table_names,
                                       len(props.sources))
            raw.grant_write_to_role("FirehoseDelivery", source_account.id, firehose_role_arn, delivered)
            key.allow_via_service("FirehoseWritesRawBucket", source_account.id, DATA_KEY_ACTIONS, "s3", (
                "aws:s3:arn", (raw.arn, *(f"{raw.arn}/{folder}*" for folder in delivered))),
                principal_arn=firehose_role_arn)
        if len(props.sources) > 1:
            # Names are read from the tables' layers at apply time: two sources' tables of one name would share a
            # folder, and each source's Firehose could then write and read the other's changes.
            raw.require_for_policy(
                Op.eq(Fn.length_of(Fn.distinct(every_table)), len(every_table)),
                "Two source accounts stream DynamoDB tables of the same name into the lake: their change records "
                "would share one folder of the raw bucket, which both sources' Firehose roles may write and read. "
                "Stream tables of different names (docs/pipelines.md).")
        # The crawler reads the data's folder and skips the failed records' folder where it lies inside it.
        crawled, skipped = crawl_scope(firehose_prefix, firehose_error_prefix)

        database = CatalogDatabase(self, "Catalog", self.aws_name("data-lake").replace("-", "_"), env)
        S3Crawler(self, "CdcCrawler", CrawlerProps(
            name=self.aws_name("cdc-crawler"),
            role_name=self.aws_name("cdc-crawler-role"),
            env=env,
            database=database,
            bucket=raw.as_ref(),
            key_prefix=crawled,
            exclusions=skipped,
            encryption_key=key,
        ))
        if props.adopt_existing:
            raw.adopt_existing()
            processed.adopt_existing()
        self.diagram = _lake_diagram(props, raw.name, crawled)
        self.output("s3_bucket_data_raw_arn", raw.arn, "ARN of the raw bucket Firehose delivers CDC records to")
        self.output("s3_bucket_data_processed_arn", processed.arn, "ARN of the processed bucket")
        self.output("glue_database_name", database.database_name, "Glue database the CDC crawler writes tables to")
        self.output("s3_bucket_data_kms_key_arn", key.arn,
                    "ARN of the KMS key of the raw and processed buckets, which Firehose writes with")

    def _replicate(self, lake: LakeBuckets, replica_env: AwsEnvironment, names: tuple[str, str, str],
                   retention_days: int) -> list[tuple[SecureBucket, Metric]]:
        """Raw and processed buckets copied to buckets of the same account in `replica_env`'s region."""
        provider = self.aws_provider("replica", replica_env.region, alias="replica")
        replica = lake_buckets(self, replica_env, tuple(f"{name}-replica" for name in names), retention_days,
                               "Replica", provider, replica=True)
        role = ServiceRole(self, "ReplicationRole", ServiceRoleProps(
            name=self.aws_name("data-lake-replication-role"), service="s3.amazonaws.com",
            source_account=self.account.id, description="S3 replication of the data lake buckets"))
        # The access logs too: the record of who read the lake outlives a region as the data does.
        return [(source, source.replicate_to(target, role, role.arn, self.address.region, replica_env.region,
                                             replica_env.partition))
                for source, target in ((lake.raw, replica.raw), (lake.processed, replica.processed),
                                       (lake.access_logs, replica.access_logs))]


def _lake_diagram(props: DatalakeDemoLayerProps, raw_bucket: str, crawled: str) -> str:
    lines = ["flowchart LR"]
    for index, lake_source in enumerate(props.sources):
        lines.append(f'  source{index}(["Firehose role of {lake_source.account.name}"]) -- "writes its tables below {crawled}" --> raw')
    lines += [f'  raw[("raw bucket<br/>{raw_bucket}")] --> crawler["Glue crawler, hourly"] --> catalog[("Glue database")]']
    return "\n".join(lines)
