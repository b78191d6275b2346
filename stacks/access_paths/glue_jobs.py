"""A Glue job's role: every job reads its script, uses its temporary folder and writes its encrypted logs. The
lakehouse job (`--raw-path`, `--tables`, `--warehouse`, `--database`) also probes each table's folder as a file,
lists and reads it, never the error folders nor the raw bucket for writing, and reads and writes its Iceberg tables
(a HEAD before every file it writes) and their catalog entries."""
from __future__ import annotations

import json

from aws_constructs.access.layers import TerraformLayer
from aws_constructs.access.requests import ALLOWED, DENIED
from stacks.access_paths.aws_docs import (FIREHOSE_ERRORS, GLUE_ICEBERG, GLUE_JOB_CODE, S3_BUCKET_KEY, S3_GET_OBJECT,
                                          S3_HEAD_OBJECT, S3_LIST)
from stacks.access_paths.builder import CatalogueBuilder, one_block, s3_location
from stacks.access_paths.deliveries import Delivery
from stacks.access_paths.lakehouse import raw_changes_of, warehouse_of

JOB = "aws_glue_job"
LAKEHOUSE_JOB_ARGUMENTS = {"--raw-path", "--tables", "--warehouse", "--database"}
TWO_YEARS = 730  # days: a rebuild of the history reads records that old, and a merge rewrites files that old


def glue_jobs(builder: CatalogueBuilder, deliveries: list[Delivery]) -> None:
    for layer, name, body in builder.layers.resources(JOB):
        role = builder.attribute(layer, JOB, name, "role_arn")
        job = builder.attribute(layer, JOB, name, "name")
        arguments = builder.attribute(layer, JOB, name, "default_arguments")
        script = one_block(builder.attribute(layer, JOB, name, "command"))["script_location"]
        region, who = builder.region(layer), f"Glue job {job}"
        modules = [url for url in arguments.get("--extra-py-files", "").split(",") if url]
        for what, url in (("its script", script), *((f"module {url.rsplit('/', 1)[1]}", url) for url in modules)):
            _reads_code(builder, who, role, region, what, url)
        temp_bucket, temp_prefix = s3_location(arguments["--TempDir"])
        temp_object = f"{builder.bucket_arn(temp_bucket)}/{temp_prefix}part-0000"
        builder.add(f"{who} writes its temporary files", role, "s3:PutObject", temp_object, ALLOWED, GLUE_ICEBERG)
        temp_key = builder.bucket_key(temp_bucket)
        if temp_key:
            builder.key_use(f"{who} encrypts its temporary files", role, "kms:GenerateDataKey", temp_key, "s3",
                            region, builder.s3_encryption_context(temp_bucket, temp_object), ALLOWED, S3_BUCKET_KEY)
        if "security_configuration" in body:
            # The groups Glue 5 names itself, spelt out here rather than taken from aws_constructs.glue_job: were the
            # construct to create another group, the job's writes would find no such group and the proof fail.
            configuration = builder.layers.value(layer, body["security_configuration"])
            role_name = role.rsplit("/", 1)[1]
            for kind in ("output", "error"):
                group = f"/aws-glue/jobs/{configuration}-role/{role_name}/{kind}"
                builder.set_up_log_stream(who, role, layer, group, "jr_0123456789abcdef")
                builder.write_log_stream(who, role, layer, group, "jr_0123456789abcdef")
        if LAKEHOUSE_JOB_ARGUMENTS <= set(arguments):
            _lakehouse_job(builder, layer, who, role, region, arguments, deliveries)


def _reads_code(builder: CatalogueBuilder, who: str, role: str, region: str, what: str, url: str) -> None:
    """Glue fetches the script and each `--extra-py-files` module with the job's role before the first line runs."""
    bucket, key = s3_location(url)
    arn = f"{builder.bucket_arn(bucket)}/{key}"
    builder.add(f"{who} reads {what}", role, "s3:GetObject", arn, ALLOWED, GLUE_JOB_CODE)
    builder.add(f"{who} rewrites {what}", role, "s3:PutObject", arn, DENIED, GLUE_JOB_CODE)
    bucket_key = builder.bucket_key(bucket)
    if bucket_key:
        builder.key_use(f"{who} decrypts {what}", role, "kms:Decrypt", bucket_key, "s3", region,
                        {"aws:s3:arn": builder.bucket_arn(bucket)}, ALLOWED, GLUE_JOB_CODE)


def _lakehouse_job(builder: CatalogueBuilder, layer: TerraformLayer, who: str, role: str, region: str,
                   arguments: dict[str, str], deliveries: list[Delivery]) -> None:
    raw = raw_changes_of(builder, arguments)
    raw_key = builder.bucket_key(raw.bucket_name)
    for table in json.loads(arguments["--tables"]):
        source = table["source"]
        folder = raw.folder(source)
        builder.add(f"{who} probes table {source}'s folder as a file (Hadoop's HEAD without the slash)", role,
                    "s3:GetObject", f"{raw.bucket_arn}/{folder}", ALLOWED, S3_HEAD_OBJECT)
        builder.add(f"{who} is told that folder key is missing (404 needs s3:ListBucket; the check names no "
                    "prefix)", role, "s3:ListBucket", raw.bucket_arn, ALLOWED, S3_HEAD_OBJECT)
        builder.add(f"{who} lists table {source}'s changes", role, "s3:ListBucket", raw.bucket_arn, ALLOWED, S3_LIST,
                    context={"s3:prefix": f"{folder}/"})
        record = f"{raw.bucket_arn}/{folder}/year=2026/month=01/day=02/hour=03/part-0000"
        builder.add(f"{who} reads table {source}'s changes", role, "s3:GetObject", record, ALLOWED, S3_GET_OBJECT)
        builder.add(f"{who} rebuilds table {source} from changes two years old", role, "s3:GetObject", record,
                    ALLOWED, S3_GET_OBJECT, object_age_days=TWO_YEARS)
        builder.add(f"{who} writes into the raw bucket", role, "s3:PutObject", record, DENIED, S3_GET_OBJECT)
    if raw_key:
        builder.key_use(f"{who} decrypts the raw records", role, "kms:Decrypt", raw_key, "s3", region,
                        {"aws:s3:arn": raw.bucket_arn}, ALLOWED, S3_BUCKET_KEY)
    for delivery in deliveries:
        if delivery.bucket_arn == raw.bucket_arn and delivery.error_prefix:
            builder.add(f"{who} reads Firehose's failed records", role, "s3:GetObject", delivery.error_object_arn(),
                        DENIED, FIREHOSE_ERRORS)
            builder.add(f"{who} lists Firehose's failed records", role, "s3:ListBucket", raw.bucket_arn, DENIED,
                        S3_LIST, context={"s3:prefix": delivery.error_folder()})
    warehouse = warehouse_of(builder, layer, arguments)
    for iceberg_table in warehouse.tables:
        data_file = warehouse.data_file(iceberg_table)
        builder.add(f"{who} sends a HEAD for Iceberg file it is about to write", role, "s3:GetObject", data_file,
                    ALLOWED, S3_HEAD_OBJECT)
        builder.add(f"{who} is told that file is missing (404: s3:ListBucket without a prefix)", role,
                    "s3:ListBucket", warehouse.bucket_arn, ALLOWED, S3_HEAD_OBJECT)
        for action in ("s3:PutObject", "s3:DeleteObject"):
            builder.add(f"{who} writes and expires Iceberg files of {iceberg_table}", role, action, data_file,
                        ALLOWED, GLUE_ICEBERG)
        builder.add(f"{who} merges into data files two years old", role, "s3:GetObject", data_file, ALLOWED,
                    S3_GET_OBJECT, object_age_days=TWO_YEARS)
        for action in ("glue:GetTable", "glue:UpdateTable", "glue:CreateTable"):
            builder.glue_catalog_call(f"{who} commits {iceberg_table} through the Glue catalog", role, action,
                                      region, layer.account_id, warehouse.database, iceberg_table, ALLOWED,
                                      GLUE_ICEBERG)
        builder.glue_catalog_call(f"{who} drops {iceberg_table}", role, "glue:DeleteTable", region, layer.account_id,
                                  warehouse.database, iceberg_table, DENIED)
    # A history is dropped once copied under its old generation's name (a replaced DynamoDB table): only where
    # the table keeps one.
    iceberg_names = dict(warehouse.table_of_source)
    for table in json.loads(arguments["--tables"]):
        if table["source"] in iceberg_names:
            history = f"{iceberg_names[table['source']]}__history"
            builder.glue_catalog_call(f"{who} drops {history} after copying it", role, "glue:DeleteTable", region,
                                      layer.account_id, warehouse.database, history,
                                      ALLOWED if table.get("history") else DENIED, GLUE_ICEBERG)
    builder.add(f"{who} writes outside the warehouse folder", role, "s3:PutObject",
                f"{warehouse.bucket_arn}/elsewhere/file", DENIED, GLUE_ICEBERG)
    warehouse_key = builder.bucket_key(warehouse.bucket_name)
    if warehouse_key:
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            builder.key_use(f"{who} encrypts and decrypts the tables' files", role, action, warehouse_key, "s3",
                            region, {"aws:s3:arn": warehouse.bucket_arn}, ALLOWED, S3_BUCKET_KEY)
