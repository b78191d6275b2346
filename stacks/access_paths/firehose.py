"""A Firehose delivery stream's role: it reads its Kinesis stream (and decrypts its records), writes each table it
streams below its prefix and its failed records below its error prefix, with the destination bucket's key; it may
write no other source's table, list nothing but its own folders, and write nothing else."""
from __future__ import annotations

import uuid

from aws_constructs.access.requests import ALLOWED, DENIED
from stacks.access_paths.aws_docs import (FIREHOSE_CROSS_ACCOUNT, FIREHOSE_ERRORS, FIREHOSE_PARTITIONING, FIREHOSE_S3,
                                          KINESIS_KEY, S3_BUCKET_KEY, S3_LIST, S3_MULTIPART, S3_SSE_KMS, S3_TLS)
from stacks.access_paths.builder import CatalogueBuilder, partition_of
from stacks.access_paths.deliveries import Delivery


def firehose_role(builder: CatalogueBuilder, delivery: Delivery, deliveries: list[Delivery]) -> None:
    role, bucket, region = delivery.role, delivery.bucket_arn, builder.region(delivery.layer)
    who = f"Firehose {delivery.name}"
    stream_layer, stream_key = builder.kinesis_stream(delivery.stream)
    for action in ("kinesis:DescribeStream", "kinesis:GetShardIterator", "kinesis:GetRecords",
                   "kinesis:ListShards"):
        builder.add(f"{who} reads its source stream", role, action, delivery.stream, ALLOWED, FIREHOSE_S3)
    builder.key_use(f"{who} decrypts its stream's records", role, "kms:Decrypt", stream_key, "kinesis", region,
                    {"aws:kinesis:arn": delivery.stream}, ALLOWED, KINESIS_KEY)
    cite = FIREHOSE_CROSS_ACCOUNT if stream_layer.account_id != builder.bucket_account(bucket) else FIREHOSE_S3
    for table in delivery.tables:
        builder.add(f"{who} delivers table {table}'s changes", role, "s3:PutObject", delivery.object_arn(table),
                    ALLOWED, cite, context=sse_kms(delivery.key))
        builder.add(f"{who} aborts an upload of table {table}'s changes", role, "s3:AbortMultipartUpload",
                    delivery.object_arn(table), ALLOWED, FIREHOSE_S3)
        builder.add(f"{who} lists its table {table}'s folder", role, "s3:ListBucket", bucket, ALLOWED, S3_LIST,
                    context={"s3:prefix": delivery.folder(table)})
    builder.add(f"{who} writes its failed records", role, "s3:PutObject", delivery.error_object_arn(), ALLOWED,
                FIREHOSE_ERRORS, context=sse_kms(delivery.key))
    for action in ("s3:GetBucketLocation", "s3:ListBucketMultipartUploads"):
        builder.add(f"{who} locates the bucket", role, action, bucket, ALLOWED, FIREHOSE_S3)
    if delivery.key:
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            builder.key_use(f"{who} encrypts what it delivers with the bucket's key (S3 Bucket Keys)", role, action,
                            delivery.key, "s3", region, {"aws:s3:arn": bucket}, ALLOWED, S3_BUCKET_KEY)
    if delivery.log_stream:
        builder.write_log_stream(who, role, delivery.layer, *delivery.log_stream)
    _nothing_else(builder, who, delivery, deliveries)


def sse_kms(key: str | None) -> dict[str, str]:
    """What Firehose's PutObject says about encryption when its destination names a key (the key's ARN)."""
    return {"s3:x-amz-server-side-encryption": "aws:kms",
            "s3:x-amz-server-side-encryption-aws-kms-key-id": key} if key else {}


def _nothing_else(builder: CatalogueBuilder, who: str, delivery: Delivery, deliveries: list[Delivery]) -> None:
    """Sources share the raw bucket and one role's mistake would let it forge another source's history: no other
    source's tables or errors, no table it does not stream, no listing beyond its own folders, no plain HTTP, and
    the bucket's key for no other bucket."""
    role, bucket, region = delivery.role, delivery.bucket_arn, builder.region(delivery.layer)
    others = [other for other in deliveries if other is not delivery and other.bucket_arn == bucket]
    foreign = [(table, other) for other in others for table in other.tables] + [("table-no-source-streams",
                                                                                 delivery)]
    for table, owner in foreign:
        builder.add(f"{who} writes changes into table {table}, not one it streams", role, "s3:PutObject",
                    owner.object_arn(table), DENIED, FIREHOSE_PARTITIONING)
        builder.add(f"{who} reads table {table}, not one it streams", role, "s3:GetObject",
                    owner.object_arn(table), DENIED, FIREHOSE_PARTITIONING)
    for other in others:
        builder.add(f"{who} writes into another source's error folder", role, "s3:PutObject",
                    other.error_object_arn(), DENIED, FIREHOSE_ERRORS)
    builder.add(f"{who} lists the whole bucket", role, "s3:ListBucket", bucket, DENIED, S3_LIST)
    if delivery.static_prefix():
        builder.add(f"{who} lists every table's folder", role, "s3:ListBucket", bucket, DENIED, S3_LIST,
                    context={"s3:prefix": delivery.static_prefix()})
    if delivery.tables:
        builder.add(f"{who} delivers over plain HTTP", role, "s3:PutObject", delivery.object_arn(delivery.tables[0]),
                    DENIED, S3_TLS, context={"aws:SecureTransport": "false"})
    source_account = role.split(":")[4]
    if delivery.tables and delivery.key and builder.bucket_account(bucket) != source_account:
        # Objects the lake's account could not read (a key of the source's own, or one sent with the request), or
        # outside the lake key's control (SSE-S3).
        own_key = f"arn:{partition_of(region)}:kms:{region}:{source_account}:key/{uuid.UUID(int=0)}"
        for how, context in (("with SSE-S3", {"s3:x-amz-server-side-encryption": "AES256"}),
                             ("with a KMS key of its own account", sse_kms(own_key)),
                             ("with SSE-KMS naming no key (S3 would use its AWS managed key)",
                              {"s3:x-amz-server-side-encryption": "aws:kms"}),
                             ("with a key it sends (SSE-C)",
                              {"s3:x-amz-server-side-encryption-customer-algorithm": "AES256"})):
            builder.add(f"{who} delivers {how}", role, "s3:PutObject", delivery.object_arn(delivery.tables[0]),
                        DENIED, S3_SSE_KMS, context=context)
        # A multipart upload's parts (UploadPart and CompleteMultipartUpload, authorized as s3:PutObject) carry no
        # encryption headers: the upload's first request named them.
        builder.add(f"{who} uploads a part of table {delivery.tables[0]}'s changes", role, "s3:PutObject",
                    delivery.object_arn(delivery.tables[0]), ALLOWED, S3_MULTIPART)
    if delivery.key:
        for name in builder.buckets_encrypted_with(delivery.key):
            if builder.bucket_arn(name) != bucket:
                builder.key_use(f"{who} uses the bucket's key for bucket {name}", role, "kms:GenerateDataKey",
                                delivery.key, "s3", region, {"aws:s3:arn": builder.bucket_arn(name)}, DENIED,
                                S3_BUCKET_KEY)
