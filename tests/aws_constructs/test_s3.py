"""Secure buckets, their grants and S3's naming rules."""
from __future__ import annotations

import re

import pytest

from aws_constructs.errors import ConstructPropsError
from aws_constructs.iam import ServiceRole, ServiceRoleProps
from aws_constructs.kms import Key, KeyProps
from aws_constructs.s3 import BucketRef, SecureBucket, SecureBucketProps, Transition, check_bucket_name
from tests.aws_constructs.support import (ACCOUNT, BUCKET, BUCKET_NAME, ENV, FIREHOSE_ROLE_ARN, by_sid, inline_policy_of, new_stack, only, policy_statements,
    role, synth)


# --- S3: secure bucket -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bucket() -> dict:
    stack = new_stack()
    secure = SecureBucket(stack, "Raw", SecureBucketProps(name=BUCKET_NAME))
    secure.grant_write_to_role("FirehoseWrite", ACCOUNT, FIREHOSE_ROLE_ARN, "dynamodb_data/")
    return synth(stack)


def test_secure_bucket_is_versioned_encrypted_private_owner_enforced_with_lifecycle(bucket):
    bucket_id = next(iter(bucket["resource"]["aws_s3_bucket"]))
    bucket_ref = f"${{aws_s3_bucket.{bucket_id}.id}}"
    assert only(bucket, "resource", "aws_s3_bucket")["bucket"] == BUCKET_NAME
    versioning = only(bucket, "resource", "aws_s3_bucket_versioning")
    assert versioning == {"bucket": bucket_ref, "versioning_configuration": {"status": "Enabled"}}
    encryption = only(bucket, "resource", "aws_s3_bucket_server_side_encryption_configuration")
    assert encryption["rule"] == [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]
    assert only(bucket, "resource", "aws_s3_bucket_public_access_block") == {
        "bucket": bucket_ref, "block_public_acls": True, "block_public_policy": True,
        "ignore_public_acls": True, "restrict_public_buckets": True}
    ownership = only(bucket, "resource", "aws_s3_bucket_ownership_controls")
    assert ownership["rule"] == {"object_ownership": "BucketOwnerEnforced"}
    [rule] = only(bucket, "resource", "aws_s3_bucket_lifecycle_configuration")["rule"]
    assert rule["status"] == "Enabled"
    assert rule["transition"] == [{"days": 90, "storage_class": "STANDARD_IA"},
                                  {"days": 365, "storage_class": "GLACIER"}]
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 365}]


def test_secure_bucket_policy_denies_insecure_transport(bucket):
    bucket_id = next(iter(bucket["resource"]["aws_s3_bucket"]))
    bucket_arn = f"${{aws_s3_bucket.{bucket_id}.arn}}"
    policy = only(bucket, "resource", "aws_s3_bucket_policy")
    assert policy["depends_on"] == [
        f"aws_s3_bucket_public_access_block.{next(iter(bucket['resource']['aws_s3_bucket_public_access_block']))}"]
    deny = by_sid(policy_statements(bucket, policy["policy"]))["DenyInsecureTransport"]
    assert deny == {
        "sid": "DenyInsecureTransport",
        "effect": "Deny",
        "actions": ["s3:*"],
        "resources": [bucket_arn, f"{bucket_arn}/*"],
        "principals": [{"type": "*", "identifiers": ["*"]}],
        "condition": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}],
    }


def test_another_accounts_writes_name_no_encryption_but_the_buckets_key():
    stack = new_stack()
    key = Key(stack, "Key", KeyProps(description="raw", env=ENV))
    secure = SecureBucket(stack, "Raw", SecureBucketProps(name=BUCKET_NAME, encryption_key=key.as_ref()))
    secure.grant_write_to_role("FirehoseWrite", ACCOUNT, FIREHOSE_ROLE_ARN, "dynamodb_data/")
    synthesized = synth(stack)
    statements = by_sid(policy_statements(synthesized, only(synthesized, "resource", "aws_s3_bucket_policy")["policy"]))
    key_id = next(iter(synthesized["resource"]["aws_kms_key"]))
    pinned = {"test": "ArnEquals", "variable": "aws:PrincipalArn", "values": [FIREHOSE_ROLE_ARN]}
    assert statements["FirehoseWriteObjects"]["actions"] == ["s3:AbortMultipartUpload", "s3:GetObject"]
    assert statements["FirehoseWriteObjects"]["condition"] == [pinned]
    default, named = statements["FirehoseWriteObjectsDefaultKey"], statements["FirehoseWriteObjectsNamingTheKey"]
    assert default["actions"] == named["actions"] == ["s3:PutObject"]
    assert default["condition"] == [pinned, {
        "test": "Null", "variable": "s3:x-amz-server-side-encryption", "values": ["true"]}, {
        "test": "Null", "variable": "s3:x-amz-server-side-encryption-customer-algorithm", "values": ["true"]}]
    assert named["condition"] == [pinned, {
        "test": "StringEquals", "variable": "s3:x-amz-server-side-encryption", "values": ["aws:kms"]}, {
        "test": "ArnEquals", "variable": "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "values": [f"${{aws_kms_key.{key_id}.arn}}"]}]
    assert len(statements["FirehoseWriteBucket"]["condition"]) == 1  # bucket calls carry no encryption headers


def test_grant_write_to_role_trusts_the_account_and_pins_the_role_by_arn(bucket):
    bucket_id = next(iter(bucket["resource"]["aws_s3_bucket"]))
    bucket_arn = f"${{aws_s3_bucket.{bucket_id}.arn}}"
    policy = only(bucket, "resource", "aws_s3_bucket_policy")
    statements = by_sid(policy_statements(bucket, policy["policy"]))
    assert sorted(statements) == ["DenyInsecureTransport", "FirehoseWriteBucket", "FirehoseWriteListing",
                                  "FirehoseWriteObjects"]
    for sid, resources in (("FirehoseWriteObjects", [f"{bucket_arn}/dynamodb_data/*"]),
                           ("FirehoseWriteBucket", [bucket_arn]), ("FirehoseWriteListing", [bucket_arn])):
        statement = statements[sid]
        assert statement["effect"] == "Allow"
        assert statement["principals"] == [{"type": "AWS", "identifiers": [f"arn:aws:iam::{ACCOUNT}:root"]}]
        assert statement["condition"][0] == {
            "test": "ArnEquals", "variable": "aws:PrincipalArn", "values": [FIREHOSE_ROLE_ARN]}
        assert statement["resources"] == resources
    assert statements["FirehoseWriteObjects"]["actions"] == ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"]
    # Listing only below the prefix the role writes to.
    assert statements["FirehoseWriteListing"]["actions"] == ["s3:ListBucket"]
    assert statements["FirehoseWriteListing"]["condition"][1] == {
        "test": "StringLike", "variable": "s3:prefix", "values": ["dynamodb_data/*"]}


@pytest.mark.parametrize("name, message", [
    ("b" * 64, r"has 64 characters, S3 allows 3 to 63"),
    ("Datalake-raw", r"must be lowercase letters"),
    ("datalake_raw", r"must be lowercase letters"),
    ("192.168.5.4", r"must not look like an IP address"),
    ("xn--datalake-raw", r"uses a prefix or suffix S3 reserves"),
    ("datalake..raw", r"must not contain '\.\.'"),
    ("lake.mrap", r"uses a prefix or suffix S3 reserves"),
], ids=["64-chars", "uppercase", "underscore", "ip-address", "xn-prefix", "double-dot", "mrap-suffix"])
def test_check_bucket_name_rejects_names_s3_would_refuse(name, message):
    with pytest.raises(ConstructPropsError, match=message):
        check_bucket_name(name)


def test_check_bucket_name_accepts_a_dns_compliant_name():
    check_bucket_name(BUCKET_NAME)
    check_bucket_name("logs.example-2024")

# --- options each construct passes through, and the rest of the naming rules -------------------------------------

@pytest.mark.parametrize("name, message", [
    ("sthree-lake", r"uses a prefix or suffix S3 reserves"),
    ("amzn-s3-demo-lake", r"uses a prefix or suffix S3 reserves"),
    ("lake-s3alias", r"uses a prefix or suffix S3 reserves"),
    ("lake--ol-s3", r"uses a prefix or suffix S3 reserves"),
    ("lake--x-s3", r"uses a prefix or suffix S3 reserves"),
    ("lake.-raw", r"must not contain '\.\.', '\.-' or '-\.'"),
    ("lake-.raw", r"must not contain '\.\.', '\.-' or '-\.'"),
    ("-lake", r"must be lowercase letters, digits"),
    ("lake-", r"must be lowercase letters, digits"),
], ids=["sthree", "amzn-s3-demo", "s3alias", "ol-s3", "x-s3", "dot-dash", "dash-dot", "leading-dash",
        "trailing-dash"])
def test_check_bucket_name_refuses_the_other_names_s3_reserves_or_forbids(name, message):
    with pytest.raises(ConstructPropsError, match=rf"^S3 bucket name {re.escape(repr(name))} {message}"):
        check_bucket_name(name)


def test_check_bucket_name_accepts_names_near_the_reserved_ones():
    for name in ("lake.s3alias-x", "xn-lake", "my-sthree-lake", "192.168.5", "lake.raw-2"):
        check_bucket_name(name)


def test_secure_bucket_passes_its_options_through():
    stack = new_stack()
    SecureBucket(stack, "Bucket", SecureBucketProps(
        name=BUCKET_NAME, transitions=(Transition(30, "STANDARD_IA"), Transition(60, "GLACIER_IR")),
        noncurrent_version_expiration_days=7,
        force_destroy=True, tags={"team": "data"}))
    synthesized = synth(stack)
    assert only(synthesized, "resource", "aws_s3_bucket") == {"bucket": BUCKET_NAME, "force_destroy": True,
                                                              "tags": {"team": "data"}}
    [rule] = only(synthesized, "resource", "aws_s3_bucket_lifecycle_configuration")["rule"]
    assert rule["transition"] == [{"days": 30, "storage_class": "STANDARD_IA"}, {"days": 60, "storage_class": "GLACIER_IR"}]
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 7}]
    assert rule["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]
    assert rule["filter"] == [{"prefix": ""}] and rule["id"] == "age-out"


@pytest.mark.parametrize("days", [(90, 90), (365, 90), (0,)], ids=["repeated", "decreasing", "zero"])
def test_secure_bucket_refuses_transitions_that_are_not_increasing_and_positive(days):
    transitions = tuple(Transition(day, "GLACIER") for day in days)
    with pytest.raises(ConstructPropsError, match=r"lifecycle transition days .* must be increasing and positive"):
        SecureBucket(new_stack(), "Bucket", SecureBucketProps(name=BUCKET_NAME, transitions=transitions))


def test_bucket_grant_to_a_role_of_another_partition_names_that_partition_root():
    stack = new_stack()
    bucket_in_china = SecureBucket(stack, "Raw", SecureBucketProps(name=BUCKET_NAME))
    bucket_in_china.grant_write_to_role("Writer", ACCOUNT, f"arn:aws-cn:iam::{ACCOUNT}:role/writer")
    synthesized = synth(stack)
    statements = by_sid(policy_statements(synthesized, only(synthesized, "resource", "aws_s3_bucket_policy")["policy"]))
    assert statements["WriterObjects"]["principals"] == [{"type": "AWS", "identifiers": [f"arn:aws-cn:iam::{ACCOUNT}:root"]}]
    assert statements["WriterBucket"]["actions"] == ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
    assert statements["WriterListing"]["actions"] == ["s3:ListBucket"]
    assert statements["WriterListing"]["principals"] == statements["WriterObjects"]["principals"]

def test_bucket_grants_without_a_prefix_cover_the_whole_bucket():
    stack = new_stack()
    consumer = role(stack)
    BucketRef(BUCKET.arn).grant_write(consumer)
    BucketRef(f"arn:aws:s3:::{BUCKET_NAME}-2").grant_read(consumer)
    statements = by_sid(inline_policy_of(synth(stack), "bb-apps-devstg-consumer-role"))
    assert statements["WriteBucketObjects"]["resources"] == [f"{BUCKET.arn}/*"]
    assert statements["ReadBucketObjects"]["resources"] == [f"arn:aws:s3:::{BUCKET_NAME}-2/*"]


def test_bucket_grant_to_a_role_known_by_reference_names_the_aws_partition_root():
    stack = new_stack()
    bucket = SecureBucket(stack, "Raw", SecureBucketProps(name=BUCKET_NAME))
    bucket.grant_write_to_role("Writer", ACCOUNT, "${aws_iam_role.writer.arn}")
    synthesized = synth(stack)
    statements = by_sid(policy_statements(synthesized, only(synthesized, "resource", "aws_s3_bucket_policy")["policy"]))
    assert statements["WriterObjects"]["principals"] == [{"type": "AWS", "identifiers": [f"arn:aws:iam::{ACCOUNT}:root"]}]


@pytest.mark.parametrize("storage_class", ["GLACIER", "DEEP_ARCHIVE"])
def test_a_bucket_read_in_place_refuses_archive_classes(storage_class):
    with pytest.raises(ConstructPropsError, match=f"bucket {BUCKET_NAME} is read in place .* moves objects to "
                                                  f"{storage_class}, which no read reaches until the object is "
                                                  "restored .* transition to GLACIER_IR"):
        SecureBucket(new_stack(), "Raw", SecureBucketProps(
            name=BUCKET_NAME, read_in_place=True, transitions=(Transition(365, storage_class),)))
    # The same lifecycle on a bucket nobody reads in place (logs, backups) is fine, and so is instant retrieval.
    SecureBucket(new_stack(), "Raw", SecureBucketProps(name=BUCKET_NAME, transitions=(Transition(365, storage_class),)))
    SecureBucket(new_stack(), "Raw", SecureBucketProps(name=BUCKET_NAME, read_in_place=True,
                                                       transitions=(Transition(365, "GLACIER_IR"),)))


def test_probing_readers_get_404_for_missing_keys_and_folder_keys_others_list_only_their_folders():
    """A reader's listing also holds without `s3:prefix` (the check behind a HEAD's 404), a delivery writer's not."""
    stack = new_stack()
    reader, writer = (ServiceRole(stack, name, ServiceRoleProps(name=name, service="glue.amazonaws.com"))
                      for name in ("reader", "writer"))
    BUCKET.grant_read(reader, ("a/", "b/c/"), answers_missing_keys=True)
    BUCKET.grant_write(writer, "a/")
    config = synth(stack)
    read = by_sid(inline_policy_of(config, "reader"))
    assert read["ListBucket"]["condition"] == [{"test": "StringLikeIfExists", "variable": "s3:prefix",
                                                "values": ["a", "a/*", "b/c", "b/c/*"]}]
    assert read["ProbeFolderKeys"]["resources"] == [f"{BUCKET.arn}/a", f"{BUCKET.arn}/b/c"]
    assert read["ProbeFolderKeys"]["actions"] == ["s3:GetObject"]
    written = by_sid(inline_policy_of(config, "writer"))
    assert written["ListBucketPrefixes"]["condition"] == [{"test": "StringLike", "variable": "s3:prefix",
                                                           "values": ["a/*"]}]
    assert "ProbeFolderKeys" not in written
    # A reader whose client never asks for a missing key (Athena) lists only its folders, as a writer does.
    stack = new_stack()
    athena = ServiceRole(stack, "athena", ServiceRoleProps(name="athena", service="glue.amazonaws.com"))
    BUCKET.grant_read(athena, "a/")
    plain = by_sid(inline_policy_of(synth(stack), "athena"))
    assert plain["ListBucket"]["condition"] == [{"test": "StringLike", "variable": "s3:prefix", "values": ["a/*"]}]
    assert "ProbeFolderKeys" not in plain
