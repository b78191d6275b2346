"""The Glue catalog database and the S3 crawler."""
from __future__ import annotations

import json

import pytest

from aws_constructs.errors import ConstructPropsError
from aws_constructs.glue import CatalogDatabase, CrawlerProps, S3Crawler, excluded_folders
from aws_constructs.s3 import BucketRef
from bindings import Testing as CdktfTesting
from tests.aws_constructs.support import (ACCOUNT, BUCKET, BUCKET_NAME, ENV, REGION, assert_least_privilege, by_sid, inline_policy_of, new_stack, only,
    role_named, synth)


# --- Glue --------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def crawler() -> dict:
    stack = new_stack()
    database = CatalogDatabase(stack, "Database", "lakehouse_raw", ENV)
    S3Crawler(stack, "Crawler", CrawlerProps(
        name="bb-data-science-lakehouse-raw", role_name="bb-data-science-crawler-role", env=ENV,
        database=database, bucket=BucketRef(BUCKET.arn, BUCKET_NAME), key_prefix="dynamodb_data/",
        exclusions=("cdc_error/**",)))
    return synth(stack)


def test_crawler_targets_its_prefix_with_exclusions(crawler):
    assert CdktfTesting.to_have_data_source_with_properties(json.dumps(crawler), "aws_iam_policy_document", {
        "statement": [{"sid": "AssumedByService", "principals": [
            {"type": "Service", "identifiers": ["glue.amazonaws.com"]}]}]})
    glue_crawler = only(crawler, "resource", "aws_glue_crawler")
    database_id = next(iter(crawler["resource"]["aws_glue_catalog_database"]))
    # A reference, so the crawler is created after its database; and after its role's permissions.
    assert glue_crawler["database_name"] == f"${{aws_glue_catalog_database.{database_id}.name}}"
    assert glue_crawler["depends_on"] == [f"aws_iam_role_policy.{next(iter(crawler['resource']['aws_iam_role_policy']))}"]
    assert only(crawler, "resource", "aws_glue_catalog_database")["name"] == "lakehouse_raw"
    assert glue_crawler["s3_target"] == [
        {"path": f"s3://{BUCKET_NAME}/dynamodb_data/", "exclusions": ["cdc_error/**"]}]
    role_logical_id, _ = role_named(crawler, "bb-data-science-crawler-role")
    assert glue_crawler["role"] == f"${{aws_iam_role.{role_logical_id}.arn}}"


def test_crawler_role_may_write_only_its_database_and_read_only_its_prefix(crawler):
    statements = inline_policy_of(crawler, "bb-data-science-crawler-role")
    assert_least_privilege(statements)
    statements = by_sid(statements)
    glue = statements["CrawlIntoDatabase"]
    assert all(action.startswith("glue:") for action in glue["actions"])
    assert glue["resources"] == [
        f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog",
        f"arn:aws:glue:{REGION}:{ACCOUNT}:database/lakehouse_raw",
        f"arn:aws:glue:{REGION}:{ACCOUNT}:table/lakehouse_raw/*",
    ]
    assert statements["ReadBucketObjects"]["actions"] == ["s3:GetObject"]
    assert statements["ReadBucketObjects"]["resources"] == [f"{BUCKET.arn}/dynamodb_data/*"]
    assert statements["ListBucket"]["resources"] == [BUCKET.arn]
    # A key that does not exist answers 404 only to a caller S3 lets list, and that check names no prefix.
    assert statements["ListBucket"]["condition"] == [
        {"test": "StringLikeIfExists", "variable": "s3:prefix", "values": ["dynamodb_data", "dynamodb_data/*"]}]
    assert statements["ProbeFolderKeys"] == {"sid": "ProbeFolderKeys", "effect": "Allow", "actions": ["s3:GetObject"],
                                             "resources": [f"{BUCKET.arn}/dynamodb_data"]}
    assert not any(action.startswith("s3:Put") for statement in statements.values()
                   for action in statement["actions"])

@pytest.mark.parametrize("build, message", [
    (lambda stack: CatalogDatabase(stack, "Database", "Lake-Raw", ENV),
     r"Glue database name 'Lake-Raw' is not valid; AWS allows only lowercase letters, digits and _"),
    (lambda stack: S3Crawler(stack, "Crawler", CrawlerProps(
        name="crawler", role_name="crawler-role", env=ENV, database=CatalogDatabase(stack, "Database", "lake", ENV),
        bucket=BUCKET, key_prefix="raw/")), r"the crawler's bucket reference needs the bucket's name"),
], ids=["database-uppercase", "bucket-without-name"])
def test_glue_refuses_invalid_props(build, message):
    with pytest.raises(ConstructPropsError, match=message):
        build(new_stack())


def test_crawler_without_exclusions_or_schedule_writes_neither():
    stack = new_stack()
    S3Crawler(stack, "Crawler", CrawlerProps(
        name="crawler", role_name="crawler-role", env=ENV, database=CatalogDatabase(stack, "Database", "lake", ENV),
        bucket=BucketRef(BUCKET.arn, BUCKET_NAME), key_prefix="raw/", schedule=None))
    crawler = only(synth(stack), "resource", "aws_glue_crawler")
    assert crawler["s3_target"] == [{"path": f"s3://{BUCKET_NAME}/raw/"}] and "schedule" not in crawler


def test_crawler_runs_hourly_by_default_and_logs_only_to_its_own_stream(crawler):
    assert only(crawler, "resource", "aws_glue_crawler")["schedule"] == "cron(15 * * * ? *)"
    statements = by_sid(inline_policy_of(crawler, "bb-data-science-crawler-role"))
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws-glue/crawlers"
    assert statements["CreateCrawlerLogGroup"]["actions"] == ["logs:CreateLogGroup"]
    assert statements["CreateCrawlerLogGroup"]["resources"] == [group, f"{group}:*"]
    assert statements["WriteCrawlerLogs"]["actions"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statements["WriteCrawlerLogs"]["resources"] == [f"{group}:log-stream:bb-data-science-lakehouse-raw"]


def test_the_crawlers_role_may_not_read_the_folders_its_crawl_excludes():
    bucket = "arn:aws:s3:::raw"
    assert excluded_folders(bucket, "data/", ("cdc_error/**", "a/b/**", "*.tmp", "x*/**", "**")) == (
        f"{bucket}/data/cdc_error/*", f"{bucket}/data/a/b/*")
    assert excluded_folders(bucket, "", ("errors/**",)) == (f"{bucket}/errors/*",)
    # Glue reads exclusions relative to the target: after a prefix that is no folder, their objects are unclear.
    assert excluded_folders(bucket, "data", ("errors/**",)) == ()
