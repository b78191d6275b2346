"""`<lake account>/<region>/lakehouse-demo`: the raw change records become current-state Iceberg tables, queried
through Athena."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_constructs.addresses import snake_case
from aws_constructs.alarms import (AlarmTopic, AlarmTopicProps, Metric, MetricAlarm, MetricAlarmProps,
                                   grant_put_metric_data)
from aws_constructs.athena import QueryWorkgroup, QueryWorkgroupProps
from aws_constructs.dynamodb import KeyAttribute
from aws_constructs.env import AwsEnvironment
from aws_constructs.errors import ConstructPropsError
from aws_constructs.events import GlueJobFailureNotification
from aws_constructs.glue import CatalogDatabase
from aws_constructs.glue_job import SparkJob, SparkJobProps
from aws_constructs.iam import (Grantable, ManagedPolicy, ManagedPolicyProps, ServiceRole, ServiceRoleProps,
                                grant_assume)
from aws_constructs.kms import DATA_KEY_ACTIONS, Key, KeyProps, KmsKeyRef
from aws_constructs.s3 import BucketObject, BucketObjectProps, BucketRef, SecureBucket, SecureBucketProps, \
    ServerAccessLogBucket
from bindings import Construct, Fn
from leverage.hcl import literal
from leverage.project.layer import LayerAddress
from leverage.project.model import Project
from leverage.stack import LeverageLayerStack, RemoteLayer
from stacks.datalake import StreamedTable, streamed_table_name
# The job's name for a table's history (the app never imports the job; a test holds it to the job's).
from stacks.lakehouse_tables import HISTORY_SUFFIX as HISTORY_TABLE_SUFFIX
from stacks.names import item_count_role_name, lakehouse_job_role_name, processed_bucket_name, raw_bucket_name
from stacks.raw_layout import raw_root
from stacks.replication_alarms import alarm_on_failed_replication
from stacks.settings.model import FirehoseSettings, LakehouseSettings
from stacks.settings.pipelines import LakehouseTableSettings

JOB_FOLDER = Path(__file__).resolve().parent.parent / "glue_jobs"
JOB_SCRIPT = JOB_FOLDER / "cdc_merge.py"
# The modules the script imports (glue_jobs/cdc_*.py), shipped beside it: Glue loads them with --extra-py-files.
JOB_MODULES = tuple(path for path in sorted(JOB_FOLDER.glob("cdc_*.py")) if path != JOB_SCRIPT)
SCRIPT_KEY = "scripts/cdc_merge.py"
TEMP_PREFIX = "temporary/"
WAREHOUSE_PREFIX = "lakehouse/"
RESULTS_PREFIX = "results/"  # of the Athena results bucket: what query runners may write, read and list
CATALOG_NAME = "lakehouse"  # the Spark catalog the job addresses its tables through
ICEBERG_EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
METRICS_NAMESPACE = "Lakehouse"  # the job's CloudWatch namespace is `Lakehouse/<database>`


@dataclass(frozen=True)
class LakehouseTable:
    """A streamed table the job merges: where its name is read (as the datalake layer reads it), for tables the app
    generates its key attributes (a read table's keys are taken from its change records), and its lakehouse
    settings (declared typed columns and their cap, history, data-quality limits)."""

    table: StreamedTable
    keys: tuple[KeyAttribute, ...] = ()
    settings: LakehouseTableSettings = LakehouseTableSettings()


@dataclass(frozen=True)
class LakehouseDemoLayerProps:
    lake_layer: RemoteLayer
    tables: tuple[LakehouseTable, ...]
    firehose: FirehoseSettings
    lakehouse: LakehouseSettings
    alarm_email: str = ""
    # Region the layer's buckets replicate to, as the lake's do (setting lakeReplicaRegion); None: no replication.
    replica_region: str | None = None
    # The source accounts' datalake layers give the job a role to read their tables' item counts.
    source_item_count_roles: bool = True


def iceberg_table_name(source: str) -> str:
    """The job's rule (`lakehouse_tables.lakehouse_table_name`), as a Terraform expression: lowercase, every character
    but a-z, 0-9 and _ becomes _."""
    return Fn.replace(Fn.lower(source), "/[^a-z0-9_]/", "_")


class LakehouseDemoLayer(LeverageLayerStack):
    """A Glue 5 Spark job merges the CDC records of every streamed table into an Iceberg table of its own, and an
    Athena workgroup queries them.

    The job script (`glue_jobs/cdc_merge.py`) and the modules it imports are shipped as objects of this layer's
    artifacts bucket, each tracked by its SHA-256; a scheduled trigger starts it (at most one run at a time), and
    runs that end FAILED or TIMEOUT notify an SNS topic through an EventBridge rule. The tables are registered in a Glue database
    of this layer and stored under `lakehouse/` of the lake's processed bucket.

    The job's role reads only the tables' CDC folders of the raw bucket (not the error folder), reads and writes
    only `lakehouse/` of the processed bucket, uses the lake's key and this layer's key only through S3, and
    manages only its database's tables. It publishes metrics of its own CloudWatch namespace only
    (`Lakehouse/<database>`), and assumes only the source accounts' item-count roles, which may describe their
    streamed tables and nothing else. A managed policy (`lakehouse_reader_policy_arn`) lets people read those
    tables and query through the workgroup, nothing more.

    Every run checks each table (keys unique among live rows, no row without its keys, the newest change's age, the
    row count against DynamoDB's ItemCount), records the results in the `cdc_check_results` table and publishes
    them with the tables' files and snapshots as metrics. Alarms on those metrics notify the layer's SNS topic:

    - `<project>-<account>-lakehouse-no-successful-run`: no run succeeded for the window of setting
      `lakehouseNoSuccessAlarmMinutes` (by default the schedule's longest gap plus an hour). Look at the job's last
      runs in the Glue console and its error log group: a failed run names each failed table (also in
      `cdc_merge_runs`); a run that never started points at the trigger, Flex capacity or the concurrency limit.
    - `<project>-<account>-lakehouse-<table>-stale`: the table's newest merged change is older than its
      `maxChangeAgeHours`. Compare with the source table (is it written to?), the datalake layer's Firehose alarms
      and the raw bucket's `<table>/cdc_data/` folder (do new files arrive?); then the job's runs (`files_read`).
    - `<project>-<account>-lakehouse-<table>-quality`: a data-quality check failed (duplicate keys, rows without
      keys, or a row count far from the source's ItemCount). Query `cdc_check_results` for what it saw; a write
      outside the job, or lost changes (Firehose's error prefix, a gap longer than the stream's retention), are the
      usual causes; rebuild the table from the raw bucket with `--tables` when it is wrong.
    """

    def __init__(self, scope: Construct, project: Project, address: LayerAddress,
                 props: LakehouseDemoLayerProps) -> None:
        super().__init__(scope, project, address)
        if not props.tables:
            raise ConstructPropsError("the lakehouse needs at least one streamed table")
        env = self.env
        settings = props.lakehouse
        lake = self.remote_state(props.lake_layer)
        dr = address.disaster_recovery
        lake_environment = props.lake_layer.account.environment
        raw = BucketRef(lake.get_string("s3_bucket_data_raw_arn"), raw_bucket_name(project.name, lake_environment, dr))
        processed = BucketRef(lake.get_string("s3_bucket_data_processed_arn"),
                              processed_bucket_name(project.name, lake_environment, dr))
        lake_key = KmsKeyRef(lake.get_string("s3_bucket_data_kms_key_arn"))
        root = literal(raw_root(props.firehose.prefix))
        sources = [self._table_name(table.table) for table in props.tables]
        count_roles = [self._item_count_role(table) if props.source_item_count_roles else None
                       for table in props.tables]

        key = Key(self, "LakehouseKey", KeyProps(description=f"Lakehouse {self.aws_name('lakehouse')}: job artifacts, "
                                                 "logs and Athena results", env=env))
        artifacts = SecureBucket(self, "ArtifactsBucket", SecureBucketProps(
            name=self.aws_name("lakehouse-artifacts"), encryption_key=key.as_ref(),
            transitions=(), noncurrent_version_expiration_days=90))  # the script is never archived
        results = SecureBucket(self, "ResultsBucket", SecureBucketProps(
            name=self.aws_name("lakehouse-athena-results"), encryption_key=key.as_ref(), transitions=(),
            expiration_days=settings.athena_results_retention_days, noncurrent_version_expiration_days=1))
        access_logs = ServerAccessLogBucket(self, "AccessLogBucket", SecureBucketProps(
            name=self.aws_name("lakehouse-access-logs"), transitions=(), expiration_days=365), env.account_id)
        access_logs.log_access_of(artifacts, results)
        replicated = () if not props.replica_region else self._replicate(
            key, (artifacts, results, access_logs), AwsEnvironment(env.account_id, props.replica_region))
        # Whoever IAM lets use this layer's buckets may use the key for them, through S3. Not for the processed
        # bucket: Iceberg writes there with its own S3 client (S3FileIO), which leaves Glue's security configuration
        # aside, so the tables' files take that bucket's own key.
        key.allow_via_service("AccountUsesKeyThroughS3", env.account_id, DATA_KEY_ACTIONS, "s3", (
            "aws:s3:arn", (artifacts.arn, f"{artifacts.arn}/*", results.arn, f"{results.arn}/*")))

        warehouse = f"s3://{processed.name}/{WAREHOUSE_PREFIX}"
        database_name = self.aws_name("lakehouse").replace("-", "_")
        namespace = f"{METRICS_NAMESPACE}/{database_name}"
        database = CatalogDatabase(self, "Database", database_name, env,
                                   location_uri=warehouse,
                                   description="Current state of the streamed DynamoDB tables (Iceberg), merged "
                                               "from the lake's change records")
        script = BucketObject(self, "JobScript", BucketObjectProps(
            bucket=artifacts, key=SCRIPT_KEY, text=JOB_SCRIPT.read_text(encoding="utf-8"),
            content_type="text/x-python"))
        modules = tuple(BucketObject(self, "JobModule" + "".join(part.title() for part in path.stem.split("_")),
                                     BucketObjectProps(bucket=artifacts, key=f"scripts/{path.name}",
                                                       text=path.read_text(encoding="utf-8"),
                                                       content_type="text/x-python"))
                        for path in JOB_MODULES)
        catalog = f"spark.sql.catalog.{CATALOG_NAME}"
        job = SparkJob(self, "CdcMergeJob", SparkJobProps(
            name=self.aws_name("lakehouse-cdc-merge"),
            role_name=lakehouse_job_role_name(project.name, self.account.environment, dr),
            env=env,
            script=script,
            modules=modules,
            key=key,
            temp_dir=f"s3://{artifacts.name}/{TEMP_PREFIX}",
            description="DynamoDB change records of the raw bucket -> current-state Iceberg tables",
            datalake_formats=("iceberg",),
            spark_conf={
                "spark.sql.extensions": ICEBERG_EXTENSIONS,
                catalog: "org.apache.iceberg.spark.SparkCatalog",
                f"{catalog}.warehouse": warehouse,
                f"{catalog}.catalog-impl": "org.apache.iceberg.aws.glue.GlueCatalog",
                f"{catalog}.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
            },
            arguments={
                "--raw-path": f"s3://{raw.name}/{root}",
                "--catalog-name": CATALOG_NAME,
                "--catalog-type": "glue",
                "--warehouse": warehouse,
                "--database": database.database_name,
                "--tables": Fn.jsonencode([self._table_argument(source, table, role)
                                           for source, table, role in zip(sources, props.tables, count_roles)]),
                "--metrics": "cloudwatch",
                "--metrics-namespace": namespace,
            },
            worker_type=settings.worker_type,
            worker_count=settings.worker_count,
            flex=settings.flex,
            timeout_minutes=settings.timeout_minutes,
            max_concurrent_runs=1,
            log_retention_days=settings.log_retention_days,
        ))
        job.schedule("Schedule", self.aws_name("lakehouse-cdc-merge-schedule"), literal(settings.schedule))
        role = job.role
        cdc_folders = tuple(f"{root}{source}/cdc_data/" for source in sources)
        raw.grant_read(role, cdc_folders, answers_missing_keys=True)  # Spark probes each folder before listing it
        processed.grant_read_write(role, WAREHOUSE_PREFIX)
        database.grant_manage_tables(role)
        # A table with history whose DynamoDB table was replaced: its history is copied under the old generation's
        # name, then dropped to start anew (glue_jobs/cdc_job.py, `archive_history`).
        database.grant_drop_tables(role, "DropReplacedHistories", tuple(
            f"{iceberg_table_name(source)}{HISTORY_TABLE_SUFFIX}" for source, table in zip(sources, props.tables)
            if table.settings.history))
        s3 = env.service_host("s3")
        # With S3 Bucket Keys the encryption context is a bucket's ARN, without them an object's: both are named.
        lake_key.grant_decrypt_via(role, "ReadRawWithLakeKey", s3, ("aws:s3:arn", (
            raw.arn, *(f"{raw.arn}/{folder}*" for folder in cdc_folders))))
        lake_key.grant_encrypt_decrypt_via(role, "UseLakeKey", s3, ("aws:s3:arn", (
            processed.arn, f"{processed.arn}/{WAREHOUSE_PREFIX}*")))
        key.as_ref().grant_encrypt_decrypt_via(role, "UseLakehouseKey", s3, ("aws:s3:arn", (
            artifacts.arn, f"{artifacts.arn}/*")))
        grant_put_metric_data(role, "PublishJobMetrics", namespace)
        if any(count_roles):
            grant_assume(role, "ReadSourceItemCounts", tuple(sorted({arn for arn, _ in filter(None, count_roles)})))

        topic = AlarmTopic(self, "Alarms", AlarmTopicProps(
            name=self.aws_name("lakehouse-alarms"), env=env, email=literal(props.alarm_email)))
        GlueJobFailureNotification(self, "JobFailed", self.aws_name("lakehouse-cdc-merge-failed"), job.name, topic,
                                   env.account_id)
        self._alarms(topic, namespace, database_name, settings, props.tables, sources)
        alarm_on_failed_replication(self, replicated, topic)

        workgroup = QueryWorkgroup(self, "Workgroup", QueryWorkgroupProps(
            name=self.aws_name("lakehouse"), env=env, results_bucket=results, results_prefix=RESULTS_PREFIX,
            bytes_scanned_cutoff_mib=settings.athena_bytes_scanned_cutoff_mib,
            description=f"Queries of the lakehouse tables in {database.name}"))
        reader = ManagedPolicy(self, "ReaderPolicy", ManagedPolicyProps(
            name=self.aws_name("lakehouse-reader"),
            description=f"Query the lakehouse tables of {database.name} through Athena workgroup {workgroup.name}"))
        self._grant_reading(reader, workgroup, database, processed, lake_key, s3)

        self.diagram = _lakehouse_diagram(raw.name, root, processed.name, database.name, workgroup.name)
        self.output("lakehouse_database_name", database.database_name,
                    "Glue database holding the lakehouse's Iceberg tables")
        self.output("lakehouse_table_names", Fn.zipmap(sources, [iceberg_table_name(source) for source in sources]),
                    "Iceberg table of each streamed DynamoDB table (source table name -> table name)")
        self.output("lakehouse_warehouse_uri", warehouse, "Where the Iceberg tables' data and metadata are stored")
        self.output("glue_job_name", job.job_name, "Name of the Glue job that merges the change records")
        self.output("glue_job_arn", job.arn, "ARN of the Glue job that merges the change records")
        self.output("glue_job_role_arn", role.arn, "ARN of the Glue job's role")
        self.output("athena_workgroup_name", workgroup.workgroup_name, "Athena workgroup to query the tables through")
        self.output("athena_results_bucket_arn", results.arn, "ARN of the bucket holding Athena's query results")
        self.output("lakehouse_kms_key_arn", key.arn,
                    "ARN of the layer's KMS key: artifacts, Athena results, the job's logs and what Glue writes")
        self.output("lakehouse_reader_policy_arn", reader.arn,
                    "ARN of the managed policy that lets people query the tables through the workgroup")
        self.output("lakehouse_alarm_topic_arn", topic.arn,
                    "ARN of the SNS topic the job's failures and the lakehouse's alarms notify")
        self.output("lakehouse_metrics_namespace", namespace, "CloudWatch namespace of the job's metrics")

    def _alarms(self, topic: AlarmTopic, namespace: str, database: str, settings: LakehouseSettings,
                tables: tuple[LakehouseTable, ...], sources: list[str]) -> None:
        """No successful run for the window (the metric is published only by a run that merged every table; no
        data breaches), and per table its newest change's age and its failed data-quality checks."""
        window = settings.no_success_window_minutes()
        MetricAlarm(self, "NoSuccessfulRun-alarm", MetricAlarmProps(
            name=self.aws_name("lakehouse-no-successful-run"),
            description=f"No run of the lakehouse job merged every table for {window} minutes: the tables are not "
                        "refreshed. See the layer's README, Alarms.",
            metric=Metric(namespace, "SuccessfulRuns", {"Database": database}, "Sum", 900),
            comparison="LessThanThreshold", threshold=1, topic=topic, evaluation_periods=window // 15,
            treat_missing_data="breaching"))
        keys = [table.table.key for table in tables]
        for index, (table, source) in enumerate(zip(tables, sources)):
            key = table.table.key
            # Tables of one name in several source accounts: the first keeps the plain name, so that adding a source
            # after it renames none of the alarms that exist.
            # Releases before named every one of them after its account: the first one's alarms move from there.
            earlier_name = None
            if key in keys[:index]:
                key = f"{table.table.layer.account.name}-{key}"
            elif keys.count(key) > 1:
                earlier_name = f"{table.table.layer.account.name}-{key}"
            dimensions = {"Database": database, "Table": iceberg_table_name(source)}
            hours = table.settings.max_change_age_hours
            alarms: dict[str, MetricAlarm] = {}
            if hours:
                alarms["stale-alarm"] = MetricAlarm(self, f"{key}-stale-alarm", MetricAlarmProps(
                    name=self.aws_name(f"lakehouse-{key.replace('_', '-')}-stale"),
                    description=f"The newest change merged into table {key} is more than {hours} hours old: its "
                                "changes stopped arriving or merging. See the layer's README, Alarms.",
                    metric=Metric(namespace, "NewestChangeAgeSeconds", dimensions, "Maximum", 3600),
                    comparison="GreaterThanThreshold", threshold=hours * 3600, topic=topic,
                    treat_missing_data="missing"))
            alarms["quality-alarm"] = MetricAlarm(self, f"{key}-quality-alarm", MetricAlarmProps(
                name=self.aws_name(f"lakehouse-{key.replace('_', '-')}-quality"),
                description=f"A data-quality check of table {key} failed (duplicate keys, rows without keys, or its "
                            "row count far from DynamoDB's ItemCount): query cdc_check_results. See the layer's "
                            "README, Alarms.",
                metric=Metric(namespace, "QualityChecksFailed", dimensions, "Maximum", 3600),
                comparison="GreaterThanThreshold", threshold=0, topic=topic,
                # An hour without a measurement (the table's run failed, or runs are further apart) keeps the
                # state: OK, with its notification, only once a run finds every check passing.
                treat_missing_data="ignore"))
            for suffix, alarm in alarms.items() if earlier_name else ():
                alarm.renamed_from(snake_case(f"{earlier_name}-{suffix}"))

    def _item_count_role(self, table: LakehouseTable) -> tuple[str, str]:
        """The role of the table's source account that may describe it (its datalake layer's), and its region."""
        account, region = table.table.layer.account, table.table.layer.region
        name = item_count_role_name(self.project.name, account.environment, self.address.disaster_recovery)
        return f"arn:{self.env.partition}:iam::{account.id}:role/{name}", region

    def _replicate(self, key: Key, buckets: tuple[SecureBucket, ...],
                   replica_env: AwsEnvironment) -> list[tuple[SecureBucket, Metric]]:
        """Each bucket copied to `<name>-replica` in `replica_env`'s region, with a key and access logs of its own
        there, as the lake's buckets are: the script and recent results survive the loss of the region."""
        provider = self.aws_provider("replica", replica_env.region, alias="replica")
        replica_key = Key(self, "LakehouseKeyReplica", KeyProps(
            description=f"Lakehouse {self.aws_name('lakehouse')}: replicas of its buckets", env=replica_env,
            provider=provider))
        replicas = []
        for bucket in buckets:
            props = bucket.props
            construct_id = f"{bucket.node.id}Replica"
            replica_props = SecureBucketProps(
                name=f"{props.name}-replica", transitions=props.transitions, expiration_days=props.expiration_days,
                noncurrent_version_expiration_days=props.noncurrent_version_expiration_days,
                encryption_key=replica_key.as_ref() if props.encryption_key else None, provider=provider)
            replicas.append(ServerAccessLogBucket(self, construct_id, replica_props, replica_env.account_id)
                            if isinstance(bucket, ServerAccessLogBucket) else
                            SecureBucket(self, construct_id, replica_props))
        *data_replicas, logs_replica = replicas
        logs_replica.log_access_of(*data_replicas)
        replica_key.allow_via_service("AccountUsesKeyThroughS3", replica_env.account_id,
                                      DATA_KEY_ACTIONS + ("kms:Encrypt",), "s3",
                                      ("aws:s3:arn", tuple(arn for bucket in data_replicas
                                                           for arn in (bucket.arn, f"{bucket.arn}/*"))))
        role = ServiceRole(self, "ReplicationRole", ServiceRoleProps(
            name=self.aws_name("lakehouse-replication-role"), service="s3.amazonaws.com",
            source_account=self.account.id, description="S3 replication of the lakehouse buckets"))
        return [(source, source.replicate_to(target, role, role.arn, self.address.region, replica_env.region,
                                             replica_env.partition))
                for source, target in zip(buckets, replicas)]

    def _table_name(self, table: StreamedTable) -> str:
        return streamed_table_name(self, table)

    @staticmethod
    def _table_argument(source: str, table: LakehouseTable, count_role: tuple[str, str] | None) -> dict:
        """One entry of the job's `--tables`. It becomes a string literal inside a Terraform expression
        (`jsonencode`): cdktf escapes `${` in its values, not `%{`, which would start a template directive; the
        settings refuse what cdktf leaves as it is and would end the expression (stacks/settings/values.py)."""
        argument: dict = {"source": source}
        settings = table.settings
        if table.keys:
            argument["keys"] = [{"name": key.name.replace("%{", "%%{"), "type": key.type} for key in table.keys]
        if settings.declared:
            argument["columns"] = {name.replace("%{", "%%{"): kind for name, kind in settings.declared}
        if settings.max_columns is not None:
            argument["max_columns"] = settings.max_columns
        argument["history"] = settings.history
        argument["max_change_age_hours"] = settings.max_change_age_hours
        argument["item_count_tolerance_percent"] = settings.item_count_tolerance_percent
        if count_role is not None:
            argument["item_count_role"], argument["item_count_region"] = count_role
        return argument

    @staticmethod
    def _grant_reading(reader: Grantable, workgroup: QueryWorkgroup, database: CatalogDatabase, processed: BucketRef,
                       lake_key: KmsKeyRef, s3: str) -> None:
        """Query through the workgroup, read the database's tables and their files, nothing else."""
        workgroup.grant_query(reader)
        database.grant_read(reader)
        processed.grant_read(reader, WAREHOUSE_PREFIX)
        context = ("aws:s3:arn", (processed.arn, f"{processed.arn}/{WAREHOUSE_PREFIX}*"))
        lake_key.grant_decrypt_via(reader, "DecryptLakehouseData", s3, context)


def _lakehouse_diagram(raw_bucket: str, root: str, processed_bucket: str, database: str, workgroup: str) -> str:
    return "\n".join([
        "flowchart LR",
        f'  raw[("raw bucket<br/>{raw_bucket}<br/>{root}TABLE/cdc_data/")] --> job',
        '  trigger(["Glue trigger, scheduled"]) --> job["Glue 5 Spark job<br/>cdc_merge.py, MERGE INTO"]',
        f'  job --> tables[("Iceberg tables<br/>{processed_bucket}/{WAREHOUSE_PREFIX}<br/>Glue database {database}")]',
        f'  tables --> athena["Athena workgroup<br/>{workgroup}"]',
        '  job -.-> alarms(["failed runs -> EventBridge -> SNS topic"])',
        '  job -. "metrics" .-> cloudwatch(["CloudWatch alarms: no successful run, stale or failing tables"])',
        '  cloudwatch -.-> alarms',
        '  job -. "ItemCount, through each source account\'s role" .-> sources[("DynamoDB tables")]',
    ])
