"""Glue Data Catalog: a database and a crawler that keeps its tables in step with S3."""
from __future__ import annotations

from dataclasses import dataclass

from cdk_bindings import Construct, GlueCatalogDatabase, GlueCrawler, GlueCrawlerS3Target
from aws_constructs.env import AwsEnvironment
from aws_constructs.errors import ConstructPropsError
from aws_constructs.iam import Grantable, PolicyStatement, ServiceRole, ServiceRoleProps
from aws_constructs.naming import NamedConstruct
from aws_constructs.s3 import BucketRef
from aws_constructs.validation import check_name

CRAWLER_LOG_GROUP = "/aws-glue/crawlers"


class CatalogDatabase(NamedConstruct):
    def __init__(self, scope: Construct, construct_id: str, name: str, env: AwsEnvironment) -> None:
        super().__init__(scope, construct_id)
        check_name("Glue database", name, 255, r"[a-z0-9_]+", "lowercase letters, digits and _")
        self.name = name
        self.env = env
        self._database = self._name(GlueCatalogDatabase(self, "Resource", name=name))

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


class S3Crawler(NamedConstruct):
    """A crawler over one prefix of one bucket, with a role that can read only that and write only its tables."""

    def __init__(self, scope: Construct, construct_id: str, props: CrawlerProps) -> None:
        super().__init__(scope, construct_id)
        check_name("Glue crawler", props.name, 255, r"[^\x00-\x1f]+", "printable characters")
        if props.bucket.name is None:
            raise ConstructPropsError("the crawler's bucket reference needs the bucket's name")
        self.role = ServiceRole(self, "Role", ServiceRoleProps(
            name=props.role_name, service="glue.amazonaws.com", description=f"Glue crawler {props.name}"))
        props.bucket.grant_read(self.role, props.key_prefix)
        props.database.grant_crawl(self.role)
        self.role.add_to_principal_policy(PolicyStatement(
            sid="WriteCrawlerLogs",
            actions=("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
            resources=(
                props.env.arn("logs", f"log-group:{CRAWLER_LOG_GROUP}"),
                props.env.arn("logs", f"log-group:{CRAWLER_LOG_GROUP}:log-stream:{props.name}"),
            ),
        ))
        self._name(GlueCrawler(
            self,
            "Resource",
            name=props.name,
            role=self.role.arn,
            database_name=props.database.database_name,
            s3_target=[GlueCrawlerS3Target(
                path=f"s3://{props.bucket.name}/{props.key_prefix}", exclusions=list(props.exclusions) or None)],
            schedule=props.schedule,
            # Glue checks the role's permissions and the target when it creates the crawler.
            depends_on=[self.role.policy],
        ))
