"""S3 acting on its own: the replication role copying each replicated bucket's objects (decrypting in the source's
region, encrypting in the replica's), and the log delivery service writing each bucket's server access logs, for
that bucket only."""
from __future__ import annotations

from aws_constructs.access.requests import ALLOWED, DENIED
from stacks.access_paths.aws_docs import S3_LOG_DELIVERY, S3_REPLICATION, S3_REPLICATION_KMS
from stacks.access_paths.builder import CatalogueBuilder, one_block

REPLICATION = "aws_s3_bucket_replication_configuration"
ACCESS_LOGGING = "aws_s3_bucket_logging"


def s3_replication(builder: CatalogueBuilder) -> None:
    for layer, name, _ in builder.layers.resources(REPLICATION):
        role = builder.attribute(layer, REPLICATION, name, "role")
        source_name = builder.attribute(layer, REPLICATION, name, "bucket")
        source = builder.bucket_arn(source_name)
        source_object = f"{source}/any/object"
        source_region = builder.bucket_region(source_name)
        who = f"S3 replicating {source_name}"
        builder.add(f"{who} reads the replication configuration", role, "s3:GetReplicationConfiguration", source,
                    ALLOWED, S3_REPLICATION)
        builder.add(f"{who} reads an object version", role, "s3:GetObjectVersionForReplication", source_object,
                    ALLOWED, S3_REPLICATION)
        for rule in builder.attribute(layer, REPLICATION, name, "rule"):
            destination = one_block(rule["destination"])
            replica_object = f"{destination['bucket']}/any/object"
            replica_name = destination["bucket"].split(":::", 1)[1]
            replica_region = builder.bucket_region(replica_name)
            builder.add(f"{who} writes the replica", role, "s3:ReplicateObject", replica_object, ALLOWED,
                        S3_REPLICATION)
            builder.add(f"{who} writes into the bucket it copies from", role, "s3:ReplicateObject", source_object,
                        DENIED, S3_REPLICATION)
            source_key = builder.bucket_key(source_name)
            replica_key = one_block(destination.get("encryption_configuration") or {}).get("replica_kms_key_id")
            if source_key and replica_key:
                builder.key_use(f"{who} decrypts the source object", role, "kms:Decrypt", source_key, "s3",
                                source_region, builder.s3_encryption_context(source_name, source_object), ALLOWED,
                                S3_REPLICATION_KMS)
                builder.key_use(f"{who} encrypts the replica", role, "kms:Encrypt", replica_key, "s3",
                                replica_region, builder.s3_encryption_context(replica_name, replica_object), ALLOWED,
                                S3_REPLICATION_KMS)


def s3_access_log_delivery(builder: CatalogueBuilder) -> None:
    for layer, name, _ in builder.layers.resources(ACCESS_LOGGING):
        source = builder.attribute(layer, ACCESS_LOGGING, name, "bucket")
        target = builder.attribute(layer, ACCESS_LOGGING, name, "target_bucket")
        prefix = builder.attribute(layer, ACCESS_LOGGING, name, "target_prefix")
        log = f"{builder.bucket_arn(target)}/{prefix}2026-01-02-03-04-05-0F1E2D3C4B5A6978"
        builder.add(f"S3 delivers the access logs of {source}", "logging.s3.amazonaws.com", "s3:PutObject", log,
                    ALLOWED, S3_LOG_DELIVERY, context={"aws:SourceArn": builder.bucket_arn(source),
                                                        "aws:SourceAccount": layer.account_id})
        builder.add(f"S3 delivers another account's access logs into {target}", "logging.s3.amazonaws.com",
                    "s3:PutObject", log, DENIED, S3_LOG_DELIVERY,
                    context={"aws:SourceArn": "arn:aws:s3:::a-bucket-of-another-account",
                             "aws:SourceAccount": builder.outsider_account})
