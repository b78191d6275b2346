"""Names more than one layer must agree on (the lake grants the role the datalake layer creates), each built with
the project's one naming function (`leverage.naming.aws_name`).

Two names differ from the reference architecture's layers, which generated layers adopt (`adoptExisting`):
its Firehose module names the delivery role after the delivery stream, and its DynamoDB module names the
table with a label. Adopting layers take those names (`as_reference`); other layers keep the generated ones,
since renaming a live role or table replaces it.
"""
from __future__ import annotations

import re

from leverage.naming import aws_name


def delivery_stream_name(project: str, source_environment: str, disaster_recovery: bool) -> str:
    return aws_name(project, source_environment, "ddb-lakehouse-firehose", disaster_recovery=disaster_recovery)


def firehose_role_name(project: str, source_environment: str, disaster_recovery: bool, *,
                       as_reference: bool = False) -> str:
    """`<delivery stream>-role`; the reference's Firehose module (fdmsantos/kinesis-firehose) uses the stream's name."""
    stream = delivery_stream_name(project, source_environment, disaster_recovery)
    return stream if as_reference else f"{stream}-role"


def reference_table_name(project: str, environment: str, disaster_recovery: bool) -> str:
    """The table of the reference's `databases-dynamodb` layer: `bb-apps-devstg-bb-devstg-dynamodb`.

    Its DynamoDB module (binbashar/terraform-aws-dynamodb) names the table with cloudposse's null label: namespace
    (the project), stage (the account) and name (`<project>-<account without "apps-">-dynamodb`), each stripped of
    characters other than letters, digits and '-' and lower-cased, joined with '-'.
    """
    name = f"{project}-{environment.replace('apps-', '')}-dynamodb"
    labels = [re.sub(r"[^-a-zA-Z0-9]", "", label).lower() for label in (project, environment, name)]
    namespace, stage, label_name = labels
    return aws_name(namespace, stage, label_name, disaster_recovery=disaster_recovery)


def raw_bucket_name(project: str, lake_environment: str, disaster_recovery: bool) -> str:
    return aws_name(project, lake_environment, "data-lake-demo-data-raw-bucket", disaster_recovery=disaster_recovery)


def processed_bucket_name(project: str, lake_environment: str, disaster_recovery: bool) -> str:
    return aws_name(project, lake_environment, "data-lake-demo-data-processed-bucket",
                    disaster_recovery=disaster_recovery)


def lakehouse_job_role_name(project: str, lake_environment: str, disaster_recovery: bool) -> str:
    """The lakehouse job's role: the source accounts' item-count roles trust it by this name."""
    return aws_name(project, lake_environment, "lakehouse-cdc-merge-role", disaster_recovery=disaster_recovery)


def item_count_role_name(project: str, source_environment: str, disaster_recovery: bool) -> str:
    """The read-only role of a source account's datalake layer that the lakehouse job assumes to read its tables'
    item counts (DynamoDB's DescribeTable)."""
    return aws_name(project, source_environment, "lakehouse-item-count-role", disaster_recovery=disaster_recovery)
