"""Kinesis Data Streams."""
from __future__ import annotations

from functools import cached_property

from dataclasses import dataclass

from bindings import Construct, KinesisStream, KinesisStreamStreamModeDetails
from aws_constructs.env import AwsEnvironment
from aws_constructs.iam import Grantable, PolicyStatement
from aws_constructs.kms import KmsKeyRef
from aws_constructs.addresses import NamedConstruct
from aws_constructs.validation import check_name, check_range

AWS_MANAGED_KINESIS_KEY = "alias/aws/kinesis"
READ_ACTIONS = ("kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                "kinesis:GetShardIterator", "kinesis:ListShards")
WRITE_ACTIONS = ("kinesis:DescribeStreamSummary", "kinesis:PutRecord", "kinesis:PutRecords")


@dataclass(frozen=True)
class DataStreamProps:
    name: str
    env: AwsEnvironment
    # Customer-managed key; without one the stream is still encrypted, with the AWS-managed key.
    encryption_key: KmsKeyRef | None = None
    retention_hours: int = 24
    on_demand: bool = True
    shard_count: int = 1  # provisioned mode only


class DataStream(NamedConstruct):
    """An encrypted Kinesis data stream (on-demand by default)."""

    def __init__(self, scope: Construct, construct_id: str, props: DataStreamProps) -> None:
        super().__init__(scope, construct_id)
        check_name("Kinesis stream", props.name, 128, r"[a-zA-Z0-9_.-]+", "letters, digits and _.-")
        check_range("Kinesis retention", props.retention_hours, 24, 8760, "hours")
        if not props.on_demand:
            check_range("Kinesis shard count", props.shard_count, 1, 100_000, "shards")
        self.props = props
        self._stream = self._name(KinesisStream(
            self,
            "Resource",
            name=props.name,
            retention_period=props.retention_hours,
            stream_mode_details=KinesisStreamStreamModeDetails(
                stream_mode="ON_DEMAND" if props.on_demand else "PROVISIONED"
            ),
            shard_count=None if props.on_demand else props.shard_count,
            encryption_type="KMS",
            kms_key_id=props.encryption_key.arn if props.encryption_key else AWS_MANAGED_KINESIS_KEY,
        ))

    @cached_property
    def arn(self) -> str:
        return self._stream.arn

    @property
    def known_arn(self) -> str:
        """The ARN built from the name: known before the stream exists (import ids need that)."""
        return self.props.env.arn("kinesis", f"stream/{self.props.name}")

    def adopt_existing(self) -> None:
        """Take over a live stream of this name instead of creating it (an `import` block)."""
        self._adopt(self._stream, self.props.name)

    @property
    def name(self) -> str:
        return self.props.name

    def grant_read(self, grantee: Grantable) -> None:
        """What a consumer such as Firehose needs: read this stream and decrypt only its records."""
        self._grant(grantee, "ReadKinesisStream", READ_ACTIONS, "DecryptKinesisRecords", KmsKeyRef.grant_decrypt_via)

    def grant_write(self, grantee: Grantable) -> None:
        self._grant(grantee, "WriteKinesisStream", WRITE_ACTIONS, "EncryptKinesisRecords",
                    KmsKeyRef.grant_encrypt_decrypt_via)

    def _grant(self, grantee: Grantable, sid: str, actions: tuple[str, ...], key_sid: str, key_grant) -> None:
        grantee.add_to_principal_policy(PolicyStatement(sid=sid, actions=actions, resources=(self.arn,)))
        if self.props.encryption_key:
            # Only through Kinesis, and only for this stream's records (the encryption context).
            key_grant(self.props.encryption_key, grantee, key_sid, self.props.env.service_host("kinesis"),
                      ("aws:kinesis:arn", self.arn))
