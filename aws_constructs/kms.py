"""KMS: a customer-managed key this stack owns, with its key policy, and a reference to a key owned elsewhere."""
from __future__ import annotations

from functools import cached_property

from dataclasses import dataclass

from bindings import Construct, KmsKey, TerraformProvider
from aws_constructs.env import AwsEnvironment
from aws_constructs.iam import Condition, Grantable, PolicyDocument, PolicyStatement
from aws_constructs.addresses import NamedConstruct

# What the key's own account may do to the key through IAM: manage it, never use it (no Encrypt or Decrypt).
# Without these, nobody could change or delete the key (KMS refuses a policy that locks its caller out).
# (Alias actions are left out: they act on an alias too, and these layers create none.)
ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey",
    "kms:EnableKeyRotation", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListGrants",
    "kms:ListKeyPolicies", "kms:ListKeyRotations", "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription",
)
DATA_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
LOGS_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
                "kms:ReEncryptFrom", "kms:ReEncryptTo")
# What a principal writing to an encrypted log group needs of its key: CloudWatch Logs calls KMS on the writer's
# behalf (`kms:ViaService` logs) as well as with its own service principal.
LOG_WRITER_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")

# An encryption context: the key (e.g. `aws:s3:arn`) and the values it may have (`*` patterns allowed).
EncryptionContext = tuple[str, tuple[str, ...]]


def context_condition(context: EncryptionContext) -> Condition:
    key, values = context
    test = "StringLike" if any("*" in value for value in values) else "StringEquals"
    return Condition(test, f"kms:EncryptionContext:{key}", values)


@dataclass(frozen=True)
class KmsKeyRef:
    arn: str

    def grant_decrypt_via(self, grantee: Grantable, sid: str, service: str,
                          context: EncryptionContext | tuple[str, str] | None = None) -> None:
        """Decrypt only through one service (`kms:ViaService`), optionally for one encryption context."""
        self.grant_via(grantee, sid, ("kms:Decrypt",), service, context)

    def grant_encrypt_decrypt_via(self, grantee: Grantable, sid: str, service: str,
                                  context: EncryptionContext | tuple[str, str] | None = None) -> None:
        self.grant_via(grantee, sid, DATA_KEY_ACTIONS, service, context)

    def grant_via(self, grantee: Grantable, sid: str, actions: tuple[str, ...], service: str,
                  context: EncryptionContext | tuple[str, str] | None) -> None:
        """`actions` on this key, only through `service` (its regional host name), for one encryption context."""
        conditions = [Condition("StringEquals", "kms:ViaService", (service,))]
        if context:
            key, values = context
            conditions.append(context_condition((key, (values,) if isinstance(values, str) else values)))
        grantee.add_to_principal_policy(
            PolicyStatement(sid=sid, actions=actions, resources=(self.arn,), conditions=tuple(conditions))
        )


@dataclass(frozen=True)
class KeyProps:
    description: str
    env: AwsEnvironment
    deletion_window_days: int = 30  # the longest KMS allows: time to notice before the data is unreadable
    provider: TerraformProvider | None = None  # another region's provider


class Key(NamedConstruct):
    """A symmetric customer-managed key with yearly rotation and a least-privilege key policy.

    The key's account may manage the key but not use it; every use is a statement naming who, through which
    service, for which encryption context (`allow_*` methods, called as the stack wires the key in).
    """

    def __init__(self, scope: Construct, construct_id: str, props: KeyProps) -> None:
        super().__init__(scope, construct_id)
        self.env = props.env
        self._policy = PolicyDocument(self, "Policy", inline=True)
        self._policy.add_statement(PolicyStatement(
            sid="AccountAdministersKey", actions=ADMIN_ACTIONS, resources=("*",),
            principals=(("AWS", (props.env.account_root_arn(),)),),
        ))
        self._key = self._name(KmsKey(
            self, "Resource", description=props.description, enable_key_rotation=True,
            deletion_window_in_days=props.deletion_window_days, policy=self._policy.json, provider=props.provider,
        ))

    @cached_property
    def arn(self) -> str:
        return self._key.arn

    def as_ref(self) -> KmsKeyRef:
        return KmsKeyRef(self.arn)

    def allow_via_service(self, sid: str, account_id: str, actions: tuple[str, ...], service: str,
                          context: EncryptionContext, principal_arn: str | None = None) -> None:
        """Let principals of `account_id` (only `principal_arn`, when given) use the key through one service.

        The principal is the account with an `aws:PrincipalArn` condition, not the role itself: KMS rejects a
        policy naming a role that does not exist yet, so a role of a layer applied later can be named.
        """
        conditions = [Condition("StringEquals", "kms:ViaService", (self.env.service_host(service),)),
                      Condition("StringEquals", "kms:CallerAccount", (account_id,)),
                      context_condition(context)]
        if principal_arn:
            conditions.append(Condition("ArnEquals", "aws:PrincipalArn", (principal_arn,)))
        root = f"arn:{self.env.partition}:iam::{account_id}:root"
        self._policy.add_statement(PolicyStatement(
            sid=sid, actions=actions, resources=("*",), principals=(("AWS", (root,)),), conditions=tuple(conditions)))

    def grant_via_service(self, grantee: Grantable, principal_arn: str, sid: str, actions: tuple[str, ...],
                          service: str, context: EncryptionContext) -> None:
        """Both halves for a principal of this key's account, through one service, for one encryption context: the
        key policy lets the account's IAM decide for that principal only (`aws:PrincipalArn`), and the principal's
        own policy allows it. A key policy that delegates to IAM grants nothing by itself."""
        self.allow_via_service(sid, self.env.account_id, actions, service, context, principal_arn=principal_arn)
        self.as_ref().grant_via(grantee, sid, actions, self.env.service_host(service), context)

    def allow_log_group(self, sid: str, log_group_name: str) -> None:
        """Let CloudWatch Logs encrypt one log group of this account and region with the key.

        As AWS documents it: the encryption context names the group (its ARN holds this account's id, so no
        other account's group matches). CloudWatch Logs sends no `aws:SourceAccount` to KMS; a condition on it
        would fail the creation of the group.
        """
        group_arn = self.env.arn("logs", f"log-group:{log_group_name}")
        self._policy.add_statement(PolicyStatement(
            sid=sid, actions=LOGS_ACTIONS, resources=("*",),
            principals=(("Service", (self.env.service_host("logs"),)),),
            conditions=(Condition("StringEquals", "kms:EncryptionContext:aws:logs:arn", (group_arn,)),),
        ))

    def allow_service_principal(self, sid: str, principal: str, actions: tuple[str, ...], *,
                                source_account: bool = True,
                                encryption_context: EncryptionContext | None = None) -> None:
        """Let an AWS service (its principal, e.g. `cloudwatch.amazonaws.com`) use the key on behalf of this
        account only (`aws:SourceAccount`), as a service publishing to a resource encrypted with it does.

        `source_account=False` for a service that sends no `aws:SourceAccount` to KMS, where the condition would
        deny every use: EventBridge publishing to an encrypted SNS topic is one (SNS's key-management guide says
        the key is not supported there). What the service may then do with the key is still bounded by the
        resource's own policy (the topic's admits one rule).

        `encryption_context`: what the service puts in every call for the resource, e.g.
        ("aws:sns:topicArn", (<topic ARN>,)): the key then serves that resource only."""
        conditions = (Condition("StringEquals", "aws:SourceAccount", (self.env.account_id,)),) if source_account \
            else ()
        if encryption_context:
            conditions += (context_condition(encryption_context),)
        self._policy.add_statement(PolicyStatement(
            sid=sid, actions=actions, resources=("*",), principals=(("Service", (principal,)),),
            conditions=conditions,
        ))
