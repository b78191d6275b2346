"""A Glue crawler's role: it reads the objects below its S3 targets (a missing key must answer 404, not 403), creates
and updates its database's tables, and writes its encrypted log stream; it writes nothing it crawls and touches no
other database."""
from __future__ import annotations

import re

from aws_constructs.access.requests import ALLOWED, DENIED
from stacks.access_paths.aws_docs import GLUE_CRAWLER, GLUE_EXCLUSIONS, S3_BUCKET_KEY, S3_HEAD_BUCKET
from stacks.access_paths.builder import CatalogueBuilder, s3_location
from stacks.access_paths.deliveries import Delivery

CRAWLER = "aws_glue_crawler"


def glue_crawlers(builder: CatalogueBuilder, deliveries: list[Delivery]) -> None:
    for layer, name, body in builder.layers.resources(CRAWLER):
        role = builder.attribute(layer, CRAWLER, name, "role")
        crawler = builder.attribute(layer, CRAWLER, name, "name")
        database = builder.attribute(layer, CRAWLER, name, "database_name")
        region, who = builder.region(layer), f"crawler {crawler}"
        for target in builder.attribute(layer, CRAWLER, name, "s3_target"):
            bucket_name, prefix = s3_location(target["path"])
            bucket = builder.bucket_arn(bucket_name)
            delivered = [delivery.object_arn(table) for delivery in deliveries
                         if delivery.bucket_arn == bucket for table in delivery.tables]
            for resource in delivered or [f"{bucket}/{prefix}part-0000.json"]:
                builder.add(f"{who} reads a delivered record", role, "s3:GetObject", resource, ALLOWED, GLUE_CRAWLER)
            builder.add(f"{who} lists its target", role, "s3:ListBucket", bucket, ALLOWED, GLUE_CRAWLER,
                        context={"s3:prefix": prefix})
            builder.add(f"{who} checks its bucket, or is told a key is missing (404, not 403)", role,
                        "s3:ListBucket", bucket, ALLOWED, S3_HEAD_BUCKET)
            key = builder.bucket_key(bucket_name)
            if key:
                builder.key_use(f"{who} decrypts the records it reads (the key delegates to IAM)", role,
                                "kms:Decrypt", key, "s3", region, {"aws:s3:arn": bucket}, ALLOWED, S3_BUCKET_KEY)
            builder.add(f"{who} writes in the bucket it crawls", role, "s3:PutObject",
                        f"{bucket}/{prefix}part-0000.json", DENIED, GLUE_CRAWLER)
            for exclusion in target.get("exclusions") or ():
                folder = exclusion.removesuffix("/**")
                # A whole folder below a folder: one the crawl never reads, and a role may be kept from.
                if folder != exclusion and folder and not re.search(r"[*?\[\]{}!$\\]", folder) \
                        and (not prefix or prefix.endswith("/")):
                    builder.add(f"{who} reads what its crawl excludes ({exclusion})", role, "s3:GetObject",
                                f"{bucket}/{prefix}{folder}/part-0000.json", DENIED, GLUE_EXCLUSIONS)
        account = layer.account_id
        builder.glue_catalog_call(f"{who} creates and updates its tables", role, "glue:CreateTable", region, account,
                                  database, "a_table", ALLOWED, GLUE_CRAWLER)
        builder.glue_catalog_call(f"{who} updates its tables' partitions", role, "glue:BatchCreatePartition", region,
                                  account, database, "a_table", ALLOWED, GLUE_CRAWLER)
        builder.glue_catalog_call(f"{who} deletes a table", role, "glue:DeleteTable", region, account, database,
                                  "a_table", DENIED)
        builder.glue_catalog_call(f"{who} creates a table in another database", role, "glue:CreateTable", region,
                                  account, "another_database", "a_table", DENIED)
        configuration = body.get("security_configuration")
        if configuration:
            # The group Glue names itself, spelt out here rather than taken from aws_constructs.glue: were the
            # construct to create another group, the crawler's writes would find no such group and the proof fail.
            role_name = role.rsplit("/", 1)[1]
            configuration_name = builder.layers.value(layer, configuration)
            group = f"/aws-glue/crawlers-role/{role_name}-{configuration_name}"
            builder.set_up_log_stream(who, role, layer, group, crawler)
            builder.write_log_stream(who, role, layer, group, crawler)
