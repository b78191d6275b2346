"""A person holding a managed policy of an Athena workgroup's layer: they query in the workgroup and Athena writes
(and encrypts) the results; where the layer's Glue job writes a lakehouse, they list the databases, read the tables'
definitions and files. They write and delete nothing else, and read no raw change record."""
from __future__ import annotations

from aws_constructs.access.layers import TerraformLayer, partition_of
from aws_constructs.access.requests import ALLOWED, DENIED
from stacks.access_paths.aws_docs import (ATHENA_CATALOG, ATHENA_RESULTS, ATHENA_WORKGROUP, S3_BUCKET_KEY, S3_DELETE,
                                          S3_GET_OBJECT)
from stacks.access_paths.builder import CatalogueBuilder, one_block, s3_location
from stacks.access_paths.lakehouse import raw_changes_of, warehouse_of

WORKGROUP = "aws_athena_workgroup"
# A job's arguments that make its layer's readers readers of its tables.
READ_TABLES_ARGUMENTS = {"--warehouse", "--database", "--raw-path"}


def athena_readers(builder: CatalogueBuilder) -> None:
    for layer, name, _ in builder.layers.resources(WORKGROUP):
        workgroup = builder.attribute(layer, WORKGROUP, name, "arn")
        configuration = one_block(builder.attribute(layer, WORKGROUP, name, "configuration"))
        results = one_block(configuration["result_configuration"])
        results_bucket, results_prefix = s3_location(results["output_location"])
        results_key = one_block(results.get("encryption_configuration") or {}).get("kms_key_arn")
        region = builder.region(layer)
        jobs_arguments = [builder.attribute(owner, "aws_glue_job", job, "default_arguments")
                          for owner, job, _ in builder.layers.resources("aws_glue_job") if owner is layer]
        for owner, policy, _ in builder.layers.resources("aws_iam_policy"):
            if owner is not layer:
                continue
            policy_arn = builder.attribute(owner, "aws_iam_policy", policy, "arn")
            # No role of the layers holds the policy: a stand-in role does, with the policy as its only one.
            holder = f"arn:{partition_of(region)}:iam::{layer.account_id}:role/{policy}-holder"
            holding = (policy_arn,)
            who = f"a person holding {policy_arn.rsplit('/', 1)[1]}"
            builder.add(f"{who} runs a query in the workgroup", holder, "athena:StartQueryExecution", workgroup,
                        ALLOWED, ATHENA_WORKGROUP, identity=holding)
            builder.add(f"{who} runs a query in another workgroup", holder, "athena:StartQueryExecution",
                        workgroup.rsplit("/", 1)[0] + "/primary", DENIED, ATHENA_WORKGROUP, identity=holding)
            results_object = f"{builder.bucket_arn(results_bucket)}/{results_prefix}0f1e2d3c.csv"
            builder.add(f"{who} has Athena write the results", holder, "s3:PutObject", results_object, ALLOWED,
                        ATHENA_RESULTS, identity=holding)
            builder.add(f"{who} has Athena find the results bucket's region", holder, "s3:GetBucketLocation",
                        builder.bucket_arn(results_bucket), ALLOWED, ATHENA_RESULTS, identity=holding)
            builder.add(f"{who} reads the results (GetQueryResults)", holder, "s3:GetObject", results_object, ALLOWED,
                        ATHENA_RESULTS, identity=holding)
            if results_key:
                context = builder.s3_encryption_context(results_bucket, results_object)
                builder.key_use(f"{who} has Athena encrypt the results", holder, "kms:GenerateDataKey", results_key,
                                "s3", region, context, ALLOWED, ATHENA_RESULTS, identity=holding)
                builder.key_use(f"{who} reads the encrypted results", holder, "kms:Decrypt", results_key, "s3",
                                region, context, ALLOWED, ATHENA_RESULTS, identity=holding)
            for arguments in jobs_arguments:
                if READ_TABLES_ARGUMENTS <= set(arguments):
                    _reader_of_tables(builder, who, holder, holding, layer, region, arguments)


def _reader_of_tables(builder: CatalogueBuilder, who: str, holder: str, holding: tuple[str, ...], layer: TerraformLayer,
                      region: str, arguments: dict[str, str]) -> None:
    account, database = layer.account_id, arguments["--database"]
    builder.glue_catalog_call(f"{who} lists the databases (Athena's list, SHOW DATABASES)", holder,
                              "glue:GetDatabases", region, account, database, None, ALLOWED, ATHENA_CATALOG,
                              identity=holding)
    warehouse = warehouse_of(builder, layer, arguments)
    for iceberg_table in warehouse.tables:
        builder.glue_catalog_call(f"{who} reads table {iceberg_table}'s definition", holder, "glue:GetTable", region,
                                  account, database, iceberg_table, ALLOWED, ATHENA_CATALOG, identity=holding)
        builder.glue_catalog_call(f"{who} changes table {iceberg_table}", holder, "glue:UpdateTable", region,
                                  account, database, iceberg_table, DENIED, ATHENA_CATALOG, identity=holding)
        data_file = warehouse.data_file(iceberg_table)
        builder.add(f"{who} reads table {iceberg_table}'s files", holder, "s3:GetObject", data_file, ALLOWED,
                    ATHENA_CATALOG, identity=holding)
        for action in ("s3:PutObject", "s3:DeleteObject"):
            builder.add(f"{who} writes or deletes table {iceberg_table}'s files", holder, action, data_file, DENIED,
                        S3_DELETE, identity=holding)
    key = builder.bucket_key(warehouse.bucket_name)
    if key:
        builder.key_use(f"{who} decrypts the tables' files", holder, "kms:Decrypt", key, "s3", region,
                        {"aws:s3:arn": warehouse.bucket_arn}, ALLOWED, S3_BUCKET_KEY, identity=holding)
    raw = raw_changes_of(builder, arguments)
    builder.add(f"{who} reads the raw change records", holder, "s3:GetObject",
                f"{raw.bucket_arn}/{raw.folder('a_table')}/part-0000", DENIED, S3_GET_OBJECT, identity=holding)
