"""A customer-managed KMS key that lives elsewhere (another layer), referenced by ARN."""
from __future__ import annotations

from dataclasses import dataclass

from aws_constructs.iam import Condition, Grantable, PolicyStatement


@dataclass(frozen=True)
class KmsKeyRef:
    arn: str

    def grant_decrypt_via(self, grantee: Grantable, sid: str, service: str, context: tuple[str, str] | None = None) -> None:
        """Decrypt only through one service (`kms:ViaService`), optionally for one encryption context."""
        self._grant(grantee, sid, ("kms:Decrypt",), service, context)

    def grant_encrypt_decrypt_via(
        self, grantee: Grantable, sid: str, service: str, context: tuple[str, str] | None = None
    ) -> None:
        self._grant(grantee, sid, ("kms:Decrypt", "kms:GenerateDataKey"), service, context)

    def _grant(
        self, grantee: Grantable, sid: str, actions: tuple[str, ...], service: str, context: tuple[str, str] | None
    ) -> None:
        conditions = [Condition("StringEquals", "kms:ViaService", (service,))]
        if context:
            key, value = context
            conditions.append(Condition("StringEquals", f"kms:EncryptionContext:{key}", (value,)))
        grantee.add_to_principal_policy(
            PolicyStatement(sid=sid, actions=actions, resources=(self.arn,), conditions=tuple(conditions))
        )
