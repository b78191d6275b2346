"""Names more than one layer must agree on (the lake grants the role the datalake layer creates)."""
from __future__ import annotations


def resource_prefix(project: str, environment: str) -> str:
    return f"{project}-{environment}"


def firehose_role_name(project: str, source_environment: str) -> str:
    return f"{resource_prefix(project, source_environment)}-ddb-lakehouse-firehose-role"


def raw_bucket_name(project: str, lake_environment: str) -> str:
    return f"{resource_prefix(project, lake_environment)}-data-lake-demo-data-raw-bucket"


def processed_bucket_name(project: str, lake_environment: str) -> str:
    return f"{resource_prefix(project, lake_environment)}-data-lake-demo-data-processed-bucket"
