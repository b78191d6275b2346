"""The addresses layers had before construct-chosen names (cdktf's hashed defaults), and where each went.

Frozen data, old address -> new address, one table per layer stack: these are the addresses of every state
written by the layers as generated up to then (they depend on the construct path below the stack only, so
they are the same for every project, account, region and setting). Each stack ships them as `moved` blocks,
so `leverage tf apply` renames the state instead of destroying and recreating the resources. Derived with
cdktf's own naming (MD5 of the construct path) and checked against the layers committed then
(tests/fixtures/legacy_layers, tests/aws_constructs/test_addresses.py). Never edit an old address; when a new name changes
again, declare that move (`renamed_from`), and Terraform follows the chain.
"""
from __future__ import annotations


DYNAMODB_LAYER = {
    "aws_dynamodb_table.Table_CD117FA1": "aws_dynamodb_table.app_data",
}

DATALAKE_LAYER = {
    "aws_cloudwatch_log_group.Delivery_Logs_E7964E8F": "aws_cloudwatch_log_group.delivery_logs",
    "aws_cloudwatch_log_stream.Delivery_Logs_DestinationErrors_62392BCA": "aws_cloudwatch_log_stream.delivery_logs_destination_errors",
    "aws_dynamodb_kinesis_streaming_destination.TableChanges_9CAB5BEE": "aws_dynamodb_kinesis_streaming_destination.table_changes",
    "aws_iam_role.Delivery_Role_959799AB": "aws_iam_role.delivery_role",
    "aws_iam_role_policy.Delivery_Role_InlinePolicy_C379A031": "aws_iam_role_policy.delivery_role",
    "aws_kinesis_firehose_delivery_stream.Delivery_5F6C039D": "aws_kinesis_firehose_delivery_stream.delivery",
    "aws_kinesis_stream.ChangeStream_FBB59D54": "aws_kinesis_stream.change_stream",
}

LAKE_LAYER = {
    "aws_glue_catalog_database.Catalog_742F25FD": "aws_glue_catalog_database.catalog",
    "aws_glue_crawler.CdcCrawler_CA6F5F35": "aws_glue_crawler.cdc_crawler",
    "aws_iam_role.CdcCrawler_Role_F8F98FF7": "aws_iam_role.cdc_crawler_role",
    "aws_iam_role_policy.CdcCrawler_Role_InlinePolicy_38F54103": "aws_iam_role_policy.cdc_crawler_role",
    "aws_s3_bucket.ProcessedBucket_DE59930C": "aws_s3_bucket.processed_bucket",
    "aws_s3_bucket.RawBucket_0C3EE094": "aws_s3_bucket.raw_bucket",
    "aws_s3_bucket_lifecycle_configuration.ProcessedBucket_Lifecycle_ED17D7F8": "aws_s3_bucket_lifecycle_configuration.processed_bucket",
    "aws_s3_bucket_lifecycle_configuration.RawBucket_Lifecycle_4309669E": "aws_s3_bucket_lifecycle_configuration.raw_bucket",
    "aws_s3_bucket_ownership_controls.ProcessedBucket_Ownership_62C7ED6D": "aws_s3_bucket_ownership_controls.processed_bucket",
    "aws_s3_bucket_ownership_controls.RawBucket_Ownership_6140D572": "aws_s3_bucket_ownership_controls.raw_bucket",
    "aws_s3_bucket_policy.ProcessedBucket_Policy_59E33554": "aws_s3_bucket_policy.processed_bucket",
    "aws_s3_bucket_policy.RawBucket_Policy_5D8B4383": "aws_s3_bucket_policy.raw_bucket",
    "aws_s3_bucket_public_access_block.ProcessedBucket_PublicAccessBlock_6180AE0D": "aws_s3_bucket_public_access_block.processed_bucket",
    "aws_s3_bucket_public_access_block.RawBucket_PublicAccessBlock_73221A03": "aws_s3_bucket_public_access_block.raw_bucket",
    "aws_s3_bucket_server_side_encryption_configuration.ProcessedBucket_Encryption_110AE327": "aws_s3_bucket_server_side_encryption_configuration.processed_bucket",
    "aws_s3_bucket_server_side_encryption_configuration.RawBucket_Encryption_98E39FAD": "aws_s3_bucket_server_side_encryption_configuration.raw_bucket",
    "aws_s3_bucket_versioning.ProcessedBucket_Versioning_B2F73721": "aws_s3_bucket_versioning.processed_bucket",
    "aws_s3_bucket_versioning.RawBucket_Versioning_D09A9EC8": "aws_s3_bucket_versioning.raw_bucket",
}
