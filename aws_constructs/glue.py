"""Glue Data Catalog: a database and a crawler that keeps its tables in step with S3."""
from __future__ import annotations

from dataclasses import dataclass

from bindings import (
    Construct,
    GlueCatalogDatabase,
    GlueCrawler,
    GlueCrawlerS3Target,
    GlueSecurityConfiguration,
    GlueSecurityConfigurationEncryptionConfiguration as EncryptionConfiguration,
    GlueSecurityConfigurationEncryptionConfigurationCloudwatchEncryption as CloudwatchEncryption,
    GlueSecurityConfigurationEncryptionConfigurationJobBookmarksEncryption as JobBookmarksEncryption,
    GlueSecurityConfigurationEncryptionConfigurationS3Encryption as S3Encryption,
)
from aws_constructs.env import AwsEnvironment
from aws_constructs.errors import ConstructPropsError
from aws_constructs.iam import Grantable, PolicyStatement, ServiceRole, ServiceRoleProps
from aws_constructs.kms import Key
from aws_constructs.logs import LogGroup, LogGroupProps, grant_encrypted_writing, log_group_resources
from aws_constructs.addresses import NamedConstruct
from aws_constructs.s3 import BucketRef
from aws_constructs.validation import check_name


def crawler_log_group(role_name: str, security_configuration: str) -> str:
    """Where a crawler with a security configuration logs: Glue names the group after the role and the
    configuration (a crawler without one logs to `/aws-glue/crawlers`); the stream is the crawler's name."""
    return f"/aws-glue/crawlers-role/{role_name}-{security_configuration}"


class CatalogDatabase(NamedConstruct):
    def __init__(self, scope: Construct, construct_id: str, name: str, env: AwsEnvironment,
                 location_uri: str | None = None, description: str | None = None) -> None:
        super().__init__(scope, construct_id)
        check_name("Glue database", name, 255, r"[a-z0-9_]+", "lowercase letters, digits and _")
        self.name = name
        self.env = env
        self._database = self._name(GlueCatalogDatabase(self, "Resource", name=name, location_uri=location_uri,
                                                        description=description))

    @property
    def _resources(self) -> tuple[str, ...]:
        return (self.env.arn("glue", "catalog"), self.env.arn("glue", f"database/{self.name}"),
                self.env.arn("glue", f"table/{self.name}/*"))

    def grant_read(self, grantee: Grantable) -> None:
        """Read this database's table definitions (what a query engine such as Athena needs), nothing else.
        `glue:GetDatabases` is how Athena lists databases (its console, `SHOW DATABASES`): on the catalog and this
        database only, so the list shows this one."""
        grantee.add_to_principal_policy(PolicyStatement(
            sid="ReadCatalogDatabase",
            actions=("glue:BatchGetPartition", "glue:GetDatabase", "glue:GetDatabases", "glue:GetPartition",
                     "glue:GetPartitions", "glue:GetTable", "glue:GetTables"),
            resources=self._resources,
        ))

    def grant_manage_tables(self, grantee: Grantable) -> None:
        """Create and update this database's tables (an Iceberg catalog commits by updating its table), no
        other database, no deletes."""
        grantee.add_to_principal_policy(PolicyStatement(
            sid="ManageCatalogTables",
            actions=("glue:CreateTable", "glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:UpdateTable"),
            resources=self._resources,
        ))

    def grant_drop_tables(self, grantee: Grantable, sid: str, tables: tuple[str, ...]) -> None:
        """Delete these tables of this database, no other (an Iceberg `DROP TABLE` is Glue's DeleteTable)."""
        if not tables:
            return
        grantee.add_to_principal_policy(PolicyStatement(
            sid=sid,
            actions=("glue:DeleteTable",),
            resources=(self.env.arn("glue", "catalog"), self.env.arn("glue", f"database/{self.name}"),
                       *(self.env.arn("glue", f"table/{self.name}/{table}") for table in tables)),
        ))

    @property
    def database_name(self) -> str:
        """The name as a reference, so that what uses the database is created after it."""
        return self._database.name

    def grant_crawl(self, grantee: Grantable) -> None:
        """Create and update this database's tables and partitions, nothing else in the catalog."""
        grantee.add_to_principal_policy(PolicyStatement(
            sid="CrawlIntoDatabase",
            actions=(
                "glue:BatchCreatePartition", "glue:BatchGetPartition", "glue:BatchUpdatePartition",
                "glue:CreatePartition", "glue:CreateTable", "glue:GetDatabase", "glue:GetPartition",
                "glue:GetPartitions", "glue:GetTable", "glue:GetTables", "glue:UpdatePartition", "glue:UpdateTable",
            ),
            resources=(
                self.env.arn("glue", "catalog"),
                self.env.arn("glue", f"database/{self.name}"),
                self.env.arn("glue", f"table/{self.name}/*"),
            ),
        ))


class SecurityConfiguration(NamedConstruct):
    """Encryption of what Glue writes: S3 data and job bookmarks, and CloudWatch Logs, all with one key."""

    def __init__(self, scope: Construct, construct_id: str, name: str, key: Key) -> None:
        super().__init__(scope, construct_id)
        check_name("Glue security configuration", name, 255, r"[^\x00-\x1f]+", "printable characters")
        self.name = name
        self._configuration = self._name(GlueSecurityConfiguration(
            self, "Resource", name=name, encryption_configuration=EncryptionConfiguration(
                s3_encryption=S3Encryption(s3_encryption_mode="SSE-KMS", kms_key_arn=key.arn),
                job_bookmarks_encryption=JobBookmarksEncryption(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=key.arn),
                cloudwatch_encryption=CloudwatchEncryption(cloudwatch_encryption_mode="SSE-KMS", kms_key_arn=key.arn),
            )))

    @property
    def configuration_name(self) -> str:
        """The name as a reference, so that what uses the configuration is created after it."""
        return self._configuration.name


@dataclass(frozen=True)
class CrawlerProps:
    name: str
    role_name: str
    env: AwsEnvironment
    database: CatalogDatabase
    bucket: BucketRef  # with its name
    key_prefix: str
    exclusions: tuple[str, ...] = ()  # glob patterns relative to the prefix, e.g. "errors/**"
    schedule: str | None = "cron(15 * * * ? *)"  # hourly, after Firehose's hourly partitions fill
    # The key of the bucket and of the crawler's logs; its policy is extended for this crawler.
    encryption_key: Key | None = None
    security_configuration_name: str = ""  # default: `<crawler name>-security`
    log_retention_days: int = 365


def excluded_folders(bucket_arn: str, key_prefix: str, exclusions: tuple[str, ...]) -> tuple[str, ...]:
    """The objects below the exclusions that name a whole folder (`errors/**`). Other globs are left out: IAM's `*`
    crosses folders where Glue's does not, so their objects cannot be named exactly."""
    if key_prefix and not key_prefix.endswith("/"):
        return ()
    folders = (exclusion.removesuffix("/**") for exclusion in exclusions if exclusion.endswith("/**"))
    return tuple(f"{bucket_arn}/{key_prefix}{folder}/*" for folder in folders
                 if folder and not any(mark in folder for mark in "*?[]{}!$\\"))


class S3Crawler(NamedConstruct):
    """A crawler over one prefix of one bucket, with a role that can read only that and write only its tables."""

    def __init__(self, scope: Construct, construct_id: str, props: CrawlerProps) -> None:
        super().__init__(scope, construct_id)
        check_name("Glue crawler", props.name, 255, r"[^\x00-\x1f]+", "printable characters")
        if props.bucket.name is None:
            raise ConstructPropsError("the crawler's bucket reference needs the bucket's name")
        self.role = ServiceRole(self, "Role", ServiceRoleProps(
            name=props.role_name, service="glue.amazonaws.com", source_account=props.env.account_id,
            description=f"Glue crawler {props.name}"))
        role_arn = props.env.role_arn(props.role_name)
        props.bucket.grant_read(self.role, props.key_prefix, answers_missing_keys=True)
        skipped = excluded_folders(props.bucket.arn, props.key_prefix, props.exclusions)
        if skipped:
            # The crawl never reads what it excludes (another service's failed records, say), so the role may not.
            self.role.add_to_principal_policy(PolicyStatement(
                sid="SkipExcludedFolders", effect="Deny", actions=("s3:GetObject",), resources=skipped))
        props.database.grant_crawl(self.role)
        security = None
        key = props.encryption_key
        if key:
            security = SecurityConfiguration(
                self, "Security", props.security_configuration_name or f"{props.name}-security", key)
            # The crawler's role reads objects encrypted with the key, through S3, for this bucket only: the key
            # policy and the role's policy both say so.
            key.grant_via_service(self.role, role_arn, "CrawlerReadsBucket", ("kms:Decrypt",), "s3",
                                  ("aws:s3:arn", (props.bucket.arn, f"{props.bucket.arn}/{props.key_prefix}*")))
            log_group_name = crawler_log_group(props.role_name, security.name)
        else:
            log_group_name = "/aws-glue/crawlers"
        # Created here, not by Glue on the first run, so that it has a retention and is destroyed with the layer.
        self.log_group = LogGroup(self, "Logs", LogGroupProps(
            name=log_group_name, retention_days=props.log_retention_days, encryption_key=key)) if key else None
        group_arn = props.env.arn("logs", f"log-group:{log_group_name}")
        self.role.add_to_principal_policy(PolicyStatement(
            sid="CreateCrawlerLogGroup",
            # Glue creates the group if it is missing and associates the security configuration's key with it.
            actions=("logs:AssociateKmsKey", "logs:CreateLogGroup") if key else ("logs:CreateLogGroup",),
            resources=log_group_resources(group_arn),
        ))
        self.role.add_to_principal_policy(PolicyStatement(
            sid="WriteCrawlerLogs",
            actions=("logs:CreateLogStream", "logs:PutLogEvents"),
            resources=(f"{group_arn}:log-stream:{props.name}",),
        ))
        if self.log_group:
            grant_encrypted_writing([self.log_group], self.role, role_arn, "WriteEncryptedLogs")
        self._name(GlueCrawler(
            self,
            "Resource",
            name=props.name,
            role=self.role.arn,
            database_name=props.database.database_name,
            s3_target=[GlueCrawlerS3Target(
                path=f"s3://{props.bucket.name}/{props.key_prefix}", exclusions=list(props.exclusions) or None)],
            schedule=props.schedule,
            security_configuration=security.configuration_name if security else None,
            # Glue checks the role's permissions and the target when it creates the crawler.
            depends_on=[self.role.policy] + ([self.log_group.resource] if self.log_group else []),
        ))
