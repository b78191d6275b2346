"""Names more than one layer must agree on (the lake grants the role the datalake layer creates).

IAM and S3 names are global, so a copy of the pipeline outside the primary region (a `-dr` layer) gets `-dr`
in its names too.
"""
from __future__ import annotations


def resource_prefix(project: str, environment: str, disaster_recovery: bool) -> str:
    return f"{project}-{environment}{'-dr' if disaster_recovery else ''}"


def firehose_role_name(project: str, source_environment: str, disaster_recovery: bool) -> str:
    return f"{resource_prefix(project, source_environment, disaster_recovery)}-ddb-lakehouse-firehose-role"


def raw_bucket_name(project: str, lake_environment: str, disaster_recovery: bool) -> str:
    return f"{resource_prefix(project, lake_environment, disaster_recovery)}-data-lake-demo-data-raw-bucket"


def processed_bucket_name(project: str, lake_environment: str, disaster_recovery: bool) -> str:
    return f"{resource_prefix(project, lake_environment, disaster_recovery)}-data-lake-demo-data-processed-bucket"
