"""The catalogue while it is being built: the requests found so far, the requests several principals make alike (a
KMS key used through a service, a Data Catalog call, writing a log stream), and what the layers say about the
buckets, streams, log groups and topics those requests name."""
from __future__ import annotations

from typing import Any

from aws_constructs.access.expressions import Unresolved
from aws_constructs.access.layers import Layers, TerraformLayer, partition_of
from aws_constructs.access.requests import ALLOWED, DENIED, AccessRequest
from stacks.access_paths.aws_docs import GLUE_ARNS, LOGS_ARNS, LOGS_KEY, LOGS_PUT


class CatalogueBuilder:
    """What every principal's module adds its requests to."""

    def __init__(self, layers: Layers, outsider_account: str) -> None:
        self.layers = layers
        self.outsider_account = outsider_account
        self.requests: list[AccessRequest] = []

    def add(self, why: str, principal: str, action: str, resource: str, expect: str, cite: str, **extra: Any) -> None:
        self.requests.append(AccessRequest(why, principal, action, resource, expect, cite, **extra))

    def key_use(self, why: str, principal: str, action: str, key: str, service: str, region: str,
                encryption_context: dict[str, str], expect: str, cite: str, **extra: Any) -> None:
        """A KMS call a service makes for the principal: key policies name the service (`kms:ViaService`) and the
        resource (`kms:EncryptionContext:*`) it is used for."""
        self.add(why, principal, action, key, expect, cite,
                 context={"kms:ViaService": regional_endpoint(service, region),
                          **{f"kms:EncryptionContext:{name}": value for name, value in encryption_context.items()}},
                 **extra)

    def glue_catalog_call(self, why: str, principal: str, action: str, region: str, account: str, database: str,
                          table: str | None, expect: str, cite: str = GLUE_ARNS, **extra: Any) -> None:
        """A Data Catalog call needs the resource and its ancestors: one request each."""
        partition = partition_of(region)
        resources = [f"arn:{partition}:glue:{region}:{account}:catalog",
                     f"arn:{partition}:glue:{region}:{account}:database/{database}"]
        if table is not None:
            resources.append(f"arn:{partition}:glue:{region}:{account}:table/{database}/{table}")
        if expect == DENIED:  # denied when any of them is: the one the grant names must be refused
            resources = resources[-1:]
        for resource in resources:
            self.add(why, principal, action, resource, expect, cite, **extra)

    def write_log_stream(self, who: str, principal: str, layer: TerraformLayer, group: str, stream: str) -> None:
        """Writing a stream of a log group: the call, and the group's key through CloudWatch Logs, as the caller."""
        group_arn, key = self.log_group(layer, group)
        self.add(f"{who} writes its log stream", principal, "logs:PutLogEvents",
                 f"{group_arn}:log-stream:{stream}", ALLOWED, LOGS_PUT)
        if key:
            self.key_use(f"{who} writes its encrypted logs, CloudWatch Logs using the key as the writer",
                         principal, "kms:GenerateDataKey", key, "logs", self.region(layer),
                         {"aws:logs:arn": group_arn}, ALLOWED, LOGS_KEY)

    def set_up_log_stream(self, who: str, principal: str, layer: TerraformLayer, group: str, stream: str) -> None:
        """What Glue does as the role before it writes: creates the group if missing and associates the security
        configuration's key with it, then creates the run's stream. CloudWatch Logs checks these against the group's
        ARN with a trailing `:log-stream:`, which a grant on the bare group ARN does not match."""
        group_arn, key = self.log_group(layer, group)
        actions = ("logs:CreateLogGroup", "logs:AssociateKmsKey") if key else ("logs:CreateLogGroup",)
        for action in actions:
            self.add(f"{who} sets up its log group", principal, action, f"{group_arn}:log-stream:", ALLOWED,
                     LOGS_ARNS)
        self.add(f"{who} creates its log stream", principal, "logs:CreateLogStream",
                 f"{group_arn}:log-stream:{stream}", ALLOWED, LOGS_ARNS)

    # What the layers say.

    def attribute(self, layer: TerraformLayer, block_type: str, name: str, attribute: str) -> Any:
        return self.layers.attribute(layer, block_type, name, attribute)

    def region(self, layer: TerraformLayer, provider: str | None = None) -> str:
        return self.layers.region(layer, provider)

    def bucket(self, name: str) -> tuple[TerraformLayer, str]:
        """The layer creating the bucket of that name, and the bucket's Terraform name."""
        layer, resource, _ = self.layers.find("aws_s3_bucket", "bucket", name)
        return layer, resource

    def bucket_arn(self, name: str) -> str:
        layer, resource = self.bucket(name)
        return self.attribute(layer, "aws_s3_bucket", resource, "arn")

    def bucket_region(self, name: str) -> str:
        layer, resource = self.bucket(name)
        return self.region(layer, layer.blocks("resource", "aws_s3_bucket")[resource].get("provider"))

    def bucket_account(self, bucket_arn: str) -> str:
        return self.bucket(bucket_arn.split(":::", 1)[1])[0].account_id

    def _encryption_rule(self, bucket_name: str) -> dict[str, Any]:
        """The rule of the bucket's SSE configuration, or {} when the layers set none."""
        layer, _ = self.bucket(bucket_name)
        block_type = "aws_s3_bucket_server_side_encryption_configuration"
        for owner, name, _ in self.layers.resources(block_type):
            if owner is layer and self.layers.argument(owner, block_type, name, "bucket") == bucket_name:
                return one_block(self.layers.argument(owner, block_type, name, "rule"))
        return {}

    def bucket_key(self, bucket_name: str) -> str | None:
        """The customer-managed key a bucket encrypts new objects with (its SSE configuration), or None."""
        rule = self._encryption_rule(bucket_name)
        return one_block(rule["apply_server_side_encryption_by_default"]).get("kms_master_key_id") if rule else None

    def s3_encryption_context(self, bucket_name: str, object_arn: str) -> dict[str, str]:
        """The context S3 gives KMS for an object of the bucket: the bucket's ARN with S3 Bucket Keys on (the data key
        is the bucket's), the object's without."""
        if self._encryption_rule(bucket_name).get("bucket_key_enabled"):
            return {"aws:s3:arn": self.bucket_arn(bucket_name)}
        return {"aws:s3:arn": object_arn}

    def buckets_encrypted_with(self, key: str) -> list[str]:
        names = [self.attribute(layer, "aws_s3_bucket", name, "bucket")
                 for layer, name, _ in self.layers.resources("aws_s3_bucket")]
        return [name for name in names if self.bucket_key(name) == key]

    def kinesis_stream(self, stream_arn: str) -> tuple[TerraformLayer, str]:
        """The layer creating the stream, and the stream's key."""
        layer, name, _ = self.layers.find("aws_kinesis_stream", "arn", stream_arn)
        return layer, self.attribute(layer, "aws_kinesis_stream", name, "kms_key_id")

    def log_group(self, layer: TerraformLayer, group_name: str) -> tuple[str, str | None]:
        """A log group of the layer by name: its ARN and its key."""
        for owner, name, body in self.layers.resources("aws_cloudwatch_log_group"):
            if owner is layer and self.attribute(owner, "aws_cloudwatch_log_group", name, "name") == group_name:
                key = self.attribute(owner, "aws_cloudwatch_log_group", name, "kms_key_id") \
                    if "kms_key_id" in body else None
                return self.attribute(owner, "aws_cloudwatch_log_group", name, "arn"), key
        raise Unresolved(group_name, f"{layer.name} creates no such log group")

    def topic_key(self, topic_arn: str) -> str | None:
        layer, name, body = self.layers.find("aws_sns_topic", "arn", topic_arn)
        return self.attribute(layer, "aws_sns_topic", name, "kms_master_key_id") \
            if "kms_master_key_id" in body else None

    def in_outsider_account(self, arn: str, account: str) -> str:
        """The same ARN in the outsider's account: what a confused-deputy condition must refuse."""
        return arn.replace(f":{account}:", f":{self.outsider_account}:")


def regional_endpoint(service: str, region: str) -> str:
    """The service's regional endpoint, as `kms:ViaService` names it (and as a regional service principal)."""
    return f"{service}.{region}.amazonaws.com{'.cn' if partition_of(region) == 'aws-cn' else ''}"


def s3_location(url: str) -> tuple[str, str]:
    """`s3://bucket/key` as the bucket's name and the key."""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key


def one_block(block: Any) -> dict[str, Any]:
    """A nested block, written as an object or as a list of one."""
    if isinstance(block, list):
        if len(block) != 1:
            raise Unresolved(str(block)[:200], "expected one block")
        return block[0]
    return block
