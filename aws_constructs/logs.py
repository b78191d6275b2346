"""CloudWatch Logs."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from bindings import CloudwatchLogGroup, CloudwatchLogStream, Construct
from aws_constructs.errors import ConstructPropsError
from aws_constructs.iam import Grantable, PolicyStatement
from aws_constructs.kms import LOG_WRITER_ACTIONS, Key
from aws_constructs.limits import LOG_RETENTION_DAYS
from aws_constructs.addresses import NamedConstruct
from aws_constructs.validation import check_name

# A year: what reviewers (and checkov's CKV_AWS_338) expect of logs kept for investigations.
DEFAULT_RETENTION_DAYS = 365


@dataclass(frozen=True)
class LogGroupProps:
    name: str
    retention_days: int = DEFAULT_RETENTION_DAYS
    # A key of this stack: its policy is extended to let CloudWatch Logs use it for this group only.
    encryption_key: Key | None = None


class LogGroup(NamedConstruct):
    def __init__(self, scope: Construct, construct_id: str, props: LogGroupProps) -> None:
        super().__init__(scope, construct_id)
        check_name("CloudWatch log group", props.name, 512, r"[\w#./-]+", "letters, digits and _-./#")
        if props.retention_days not in LOG_RETENTION_DAYS:
            raise ConstructPropsError(
                f"log retention {props.retention_days!r} days is not one CloudWatch offers; use one of "
                + ", ".join(map(str, LOG_RETENTION_DAYS))
            )
        self.name = props.name
        self.key = key = props.encryption_key
        if key:
            key.allow_log_group("EncryptLogGroup", props.name)
        self._group = self._name(CloudwatchLogGroup(
            self, "Resource", name=props.name, retention_in_days=props.retention_days,
            kms_key_id=key.arn if key else None))

    @property
    def group_name(self) -> str:
        """The name as a reference, so that what writes to the group is created after it."""
        return self._group.name

    @property
    def resource(self) -> CloudwatchLogGroup:
        return self._group

    def adopt_existing(self) -> None:
        self._adopt(self._group, self.name)

    def add_stream(self, construct_id: str, name: str) -> LogStream:
        return LogStream(self, construct_id, self, name)


def log_group_resources(group_arn: str) -> tuple[str, str]:
    """What a grant on a log group names: CloudWatch Logs checks most of its actions (CreateLogGroup,
    AssociateKmsKey, ...) against the group's ARN followed by `:*`, the tagging ones against the bare ARN."""
    return group_arn, f"{group_arn}:*"


def grant_encrypted_writing(groups: Sequence[LogGroup], grantee: Grantable, principal_arn: str, sid: str) -> None:
    """What a principal writing to encrypted log groups needs of their key, both halves: CloudWatch Logs calls KMS
    on the writer's behalf (`kms:ViaService` logs, the group's ARN as encryption context), so the key policy and
    the writer's own policy must both allow it. Groups without a key need nothing."""
    encrypted = [group for group in groups if group.key is not None]
    if not encrypted:
        return
    key = encrypted[0].key
    if any(group.key is not key for group in encrypted):
        raise ConstructPropsError("log groups written by one principal are granted together: give them one key")
    arns = tuple(key.env.arn("logs", f"log-group:{group.name}") for group in encrypted)
    key.grant_via_service(grantee, principal_arn, sid, LOG_WRITER_ACTIONS, "logs", ("aws:logs:arn", arns))


class LogStream(NamedConstruct):
    def __init__(self, scope: Construct, construct_id: str, group: LogGroup, name: str) -> None:
        super().__init__(scope, construct_id)
        check_name("CloudWatch log stream", name, 512, r"[^:*]+", "any character but : and *")
        self.group = group
        self.name = name
        self._stream = self._name(CloudwatchLogStream(self, "Resource", name=name, log_group_name=group.group_name))

    @cached_property
    def stream_name(self) -> str:
        return self._stream.name

    def adopt_existing(self) -> None:
        self._adopt(self._stream, f"{self.group.name}:{self.name}")

    def grant_write(self, grantee: Grantable, principal_arn: str) -> None:
        """Put events in this stream, and use the group's key through CloudWatch Logs when it has one."""
        grantee.add_to_principal_policy(
            PolicyStatement(sid="WriteLogStream", actions=("logs:PutLogEvents",), resources=(self._stream.arn,))
        )
        grant_encrypted_writing([self.group], grantee, principal_arn, "WriteEncryptedLogs")

