"""The lakehouse job's data-quality reads of the source accounts: from each `--tables` entry naming an
`item_count_role`, the job's role assumes that role of the table's source account (and no principal of the lake
account but the job's may), and the assumed role describes the table, nothing else of it and no other table. From
`--metrics-namespace`, the job publishes its metrics to that CloudWatch namespace only."""
from __future__ import annotations

import json

from aws_constructs.access.layers import TerraformLayer
from aws_constructs.access.requests import ALLOWED, DENIED
from stacks.access_paths.aws_docs import CLOUDWATCH_NAMESPACE, CROSS_ACCOUNT, DYNAMODB_DESCRIBE, STS_ASSUME_ROLE
from stacks.access_paths.builder import CatalogueBuilder

JOB = "aws_glue_job"


def lakehouse_job_reads_and_publishes(builder: CatalogueBuilder) -> None:
    for layer, name, _ in builder.layers.resources(JOB):
        arguments = builder.attribute(layer, JOB, name, "default_arguments")
        role = builder.attribute(layer, JOB, name, "role_arn")
        who = f"Glue job {builder.attribute(layer, JOB, name, 'name')}"
        if "--metrics-namespace" in arguments:
            _publishes_metrics(builder, who, role, arguments["--metrics-namespace"])
        for table in json.loads(arguments.get("--tables", "[]")):
            if "item_count_role" in table:
                _reads_item_count(builder, layer, who, role, table)


def _publishes_metrics(builder: CatalogueBuilder, who: str, role: str, namespace: str) -> None:
    builder.add(f"{who} publishes its metrics", role, "cloudwatch:PutMetricData", "*", ALLOWED, CLOUDWATCH_NAMESPACE,
                context={"cloudwatch:namespace": namespace})
    builder.add(f"{who} publishes metrics into another namespace", role, "cloudwatch:PutMetricData", "*", DENIED,
                CLOUDWATCH_NAMESPACE, context={"cloudwatch:namespace": "AWS/DynamoDB"})


def _reads_item_count(builder: CatalogueBuilder, layer: TerraformLayer, who: str, role: str,
                      table: dict[str, str]) -> None:
    count_role, source = table["item_count_role"], table["source"]
    builder.add(f"{who} assumes the item-count role of table {source}'s account", role, "sts:AssumeRole",
                count_role, ALLOWED, STS_ASSUME_ROLE)
    # Another role of the lake account, whose own policy allows everything: the trust policy pins the job's role.
    other = f"{role.rsplit('/', 1)[0]}/another-role-of-the-lake-account"
    builder.add("Another role of the lake account assumes the item-count role", other, "sts:AssumeRole", count_role,
                DENIED, CROSS_ACCOUNT, identity=({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "*", "Resource": "*"}]},))
    account = count_role.split(":")[4]
    table_arn = f"arn:{count_role.split(':')[1]}:dynamodb:{table['item_count_region']}:{account}:table/{source}"
    builder.add(f"The item-count role describes table {source}", count_role, "dynamodb:DescribeTable", table_arn,
                ALLOWED, DYNAMODB_DESCRIBE)
    for action in ("dynamodb:Scan", "dynamodb:GetItem"):
        builder.add(f"The item-count role reads table {source}'s items", count_role, action, table_arn, DENIED,
                    DYNAMODB_DESCRIBE)
    builder.add("The item-count role describes a table it was not given", count_role, "dynamodb:DescribeTable",
                table_arn.rsplit("/", 1)[0] + "/another-table", DENIED, DYNAMODB_DESCRIBE)
