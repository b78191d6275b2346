"""Athena: a workgroup whose settings every query must use, and the grants to query through it."""
from __future__ import annotations

from functools import cached_property

from dataclasses import dataclass

from bindings import (
    AthenaWorkgroup,
    AthenaWorkgroupConfiguration,
    AthenaWorkgroupConfigurationEngineVersion,
    AthenaWorkgroupConfigurationResultConfiguration,
    AthenaWorkgroupConfigurationResultConfigurationEncryptionConfiguration as ResultEncryption,
    Construct,
)
from aws_constructs.addresses import NamedConstruct
from aws_constructs.env import AwsEnvironment
from aws_constructs.errors import ConstructPropsError
from aws_constructs.iam import Grantable, PolicyStatement
from aws_constructs.limits import ATHENA_CUTOFF_MIB
from aws_constructs.s3 import WRITE_BUCKET_ACTIONS, WRITE_OBJECT_ACTIONS, SecureBucket, bucket_statements
from aws_constructs.validation import check_name, check_range

ENGINE_VERSION = "Athena engine version 3"
MIB = 1024 * 1024
# Running, watching and reading the results of queries in one workgroup.
QUERY_ACTIONS = ("athena:BatchGetQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
                 "athena:GetQueryResultsStream", "athena:GetWorkGroup", "athena:ListQueryExecutions",
                 "athena:StartQueryExecution", "athena:StopQueryExecution")
# Browsing the Glue Data Catalog through Athena (what IAM then allows in Glue decides what is seen).
CATALOG_ACTIONS = ("athena:GetDataCatalog", "athena:GetDatabase", "athena:GetTableMetadata", "athena:ListDatabases",
                   "athena:ListTableMetadata")
# What Athena does with the caller's credentials to write a query's results and read them back: no deletes.
RESULT_OBJECT_ACTIONS = WRITE_OBJECT_ACTIONS + ("s3:ListMultipartUploadParts",)


@dataclass(frozen=True)
class QueryWorkgroupProps:
    name: str
    env: AwsEnvironment
    results_bucket: SecureBucket  # with a customer-managed key: results are encrypted with it (SSE_KMS)
    bytes_scanned_cutoff_mib: int
    results_prefix: str = ""
    description: str = ""


class QueryWorkgroup(NamedConstruct):
    """An Athena workgroup on engine version 3 whose configuration overrides the client's: results go to one
    bucket, encrypted with its key, and a query stops once it has scanned `bytes_scanned_cutoff_mib`."""

    def __init__(self, scope: Construct, construct_id: str, props: QueryWorkgroupProps) -> None:
        super().__init__(scope, construct_id)
        check_name("Athena workgroup", props.name, 128, r"[\w.-]+", "letters, digits and _.-")
        check_range(f"Athena workgroup {props.name} bytes-scanned cutoff", props.bytes_scanned_cutoff_mib,
                    *ATHENA_CUTOFF_MIB, "MiB")
        key = props.results_bucket.props.encryption_key
        if key is None:
            raise ConstructPropsError(f"Athena workgroup {props.name}: results bucket {props.results_bucket.name} "
                                      "needs a KMS key, results are encrypted with it")
        if props.results_prefix and not props.results_prefix.endswith("/"):
            raise ConstructPropsError(f"Athena workgroup {props.name}: results prefix {props.results_prefix!r} must "
                                      "end with '/'")
        self.props = props
        self.name = props.name
        self._workgroup = self._name(AthenaWorkgroup(
            self, "Resource", name=props.name, description=props.description or None, state="ENABLED",
            configuration=AthenaWorkgroupConfiguration(
                enforce_workgroup_configuration=True,
                publish_cloudwatch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=props.bytes_scanned_cutoff_mib * MIB,
                engine_version=AthenaWorkgroupConfigurationEngineVersion(selected_engine_version=ENGINE_VERSION),
                result_configuration=AthenaWorkgroupConfigurationResultConfiguration(
                    output_location=f"s3://{props.results_bucket.name}/{props.results_prefix}",
                    encryption_configuration=ResultEncryption(encryption_option="SSE_KMS", kms_key_arn=key.arn)),
            )))

    @cached_property
    def workgroup_name(self) -> str:
        return self._workgroup.name

    @cached_property
    def arn(self) -> str:
        return self._workgroup.arn

    def grant_query(self, grantee: Grantable) -> None:
        """Run queries in this workgroup and read their results: the workgroup, the AWS Data Catalog through
        Athena, writing and reading results below the prefix (Athena writes them with the caller's credentials;
        nothing is deleted, the bucket's lifecycle expires them), listing below it, and the results key through
        S3 for the results only. Reading the queried data is granted by whoever owns it."""
        env = self.props.env
        grantee.add_to_principal_policy(PolicyStatement(
            sid="QueryInWorkgroup", actions=QUERY_ACTIONS, resources=(self.arn,)))
        grantee.add_to_principal_policy(PolicyStatement(
            sid="BrowseDataCatalog", actions=CATALOG_ACTIONS,
            resources=(env.arn("athena", "datacatalog/AwsDataCatalog"),)))
        bucket = self.props.results_bucket
        prefix = self.props.results_prefix
        for statement in bucket_statements(("WriteQueryResults", "LocateResultsBucket", "ListQueryResults"),
                                           RESULT_OBJECT_ACTIONS, WRITE_BUCKET_ACTIONS, bucket.arn, prefix):
            grantee.add_to_principal_policy(statement)
        # With S3 Bucket Keys the encryption context is the bucket's ARN, without them the object's.
        bucket.props.encryption_key.grant_encrypt_decrypt_via(
            grantee, "UseResultsKey", env.service_host("s3"), ("aws:s3:arn", (bucket.arn, f"{bucket.arn}/{prefix}*")))
