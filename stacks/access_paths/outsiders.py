"""Callers outside the project: an anonymous caller, and an administrator of another account whose own policy
allows everything, reach no bucket's objects and no key of the layers."""
from __future__ import annotations

from aws_constructs.access.requests import ANONYMOUS, DENIED
from stacks.access_paths.aws_docs import CROSS_ACCOUNT, S3_PUBLIC
from stacks.access_paths.builder import CatalogueBuilder

# What the other account's own IAM allows its administrator: only the layers' resource and key policies stand between.
ADMINISTRATOR_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def outsiders(builder: CatalogueBuilder) -> None:
    administrator = f"arn:aws:iam::{builder.outsider_account}:role/administrator"
    for layer, name, _ in builder.layers.resources("aws_s3_bucket"):
        objects = f"{builder.attribute(layer, 'aws_s3_bucket', name, 'arn')}/any/object"
        builder.add("An anonymous caller reads an object", ANONYMOUS, "s3:GetObject", objects, DENIED, S3_PUBLIC)
        for action in ("s3:GetObject", "s3:PutObject"):
            builder.add("Another account's administrator uses the bucket", administrator, action, objects, DENIED,
                        CROSS_ACCOUNT, identity=(ADMINISTRATOR_POLICY,))
    for layer, name, _ in builder.layers.resources("aws_kms_key"):
        key = builder.attribute(layer, "aws_kms_key", name, "arn")
        builder.add("Another account's administrator decrypts with the key", administrator, "kms:Decrypt", key, DENIED,
                    CROSS_ACCOUNT, identity=(ADMINISTRATOR_POLICY,))
