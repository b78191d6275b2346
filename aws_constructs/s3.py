"""S3 buckets: a secure bucket this stack owns, and a reference to one owned elsewhere."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from cdk_bindings import (
    Construct,
    S3Bucket,
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
    S3BucketLifecycleConfigurationRuleTransition,
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
    S3BucketPolicy,
    S3BucketPublicAccessBlock,
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from aws_constructs.errors import ConstructPropsError
from aws_constructs.iam import Condition, Grantable, PolicyDocument, PolicyStatement
from aws_constructs.naming import NamedConstruct

WRITE_OBJECT_ACTIONS = ("s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject")
WRITE_BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads")


def check_bucket_name(name: str) -> None:
    """S3's general-purpose bucket naming rules."""
    problem = None
    if not 3 <= len(name) <= 63:
        problem = f"has {len(name)} characters, S3 allows 3 to 63"
    elif not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name):
        problem = "must be lowercase letters, digits, '.' and '-', starting and ending with a letter or digit"
    elif ".." in name or ".-" in name or "-." in name:
        problem = "must not contain '..', '.-' or '-.'"
    elif name.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or name.endswith(("-s3alias", "--ol-s3", "--x-s3", ".mrap")):
        problem = "uses a prefix or suffix S3 reserves"
    else:
        try:
            ipaddress.IPv4Address(name)
            problem = "must not look like an IP address"
        except ValueError:
            pass
    if problem:
        raise ConstructPropsError(f"S3 bucket name {name!r} {problem} (not DNS-compliant)")


def object_resource(bucket_arn: str, key_prefix: str) -> str:
    return f"{bucket_arn}/{key_prefix}*"


KeyPrefixes = str | tuple[str, ...]  # one prefix, or several (objects below any of them)


def object_resources(bucket_arn: str, key_prefixes: KeyPrefixes) -> tuple[str, ...]:
    prefixes = (key_prefixes,) if isinstance(key_prefixes, str) else key_prefixes
    return tuple(object_resource(bucket_arn, prefix) for prefix in prefixes)


@dataclass(frozen=True)
class BucketRef:
    """A bucket created elsewhere (possibly in another account), known by ARN (and by name, where known)."""

    arn: str
    name: str | None = None

    def grant_write(self, grantee: Grantable, key_prefix: KeyPrefixes = "") -> None:
        """What a delivery service needs to write objects below `key_prefix` (role side of a grant)."""
        self._grant(grantee, key_prefix, ("WriteBucketObjects", WRITE_OBJECT_ACTIONS),
                    ("LocateBucket", WRITE_BUCKET_ACTIONS))

    def grant_read(self, grantee: Grantable, key_prefix: KeyPrefixes = "") -> None:
        self._grant(grantee, key_prefix, ("ReadBucketObjects", ("s3:GetObject",)),
                    ("ListBucket", ("s3:GetBucketLocation", "s3:ListBucket")))

    def _grant(self, grantee: Grantable, key_prefix: KeyPrefixes, on_objects: tuple[str, tuple[str, ...]],
               on_bucket: tuple[str, tuple[str, ...]]) -> None:
        for (sid, actions), resources in ((on_objects, object_resources(self.arn, key_prefix)), (on_bucket, (self.arn,))):
            grantee.add_to_principal_policy(PolicyStatement(sid=sid, actions=actions, resources=resources))


@dataclass(frozen=True)
class Transition:
    days: int
    storage_class: str


@dataclass(frozen=True)
class SecureBucketProps:
    name: str
    # Objects move to cheaper classes as they age; old versions expire.
    transitions: tuple[Transition, ...] = (Transition(90, "STANDARD_IA"), Transition(365, "GLACIER"))
    noncurrent_version_expiration_days: int = 365
    force_destroy: bool = False
    tags: dict[str, str] = field(default_factory=dict)


class SecureBucket(NamedConstruct):
    """Versioned, encrypted, private, owner-enforced, TLS-only bucket with lifecycle rules."""

    def __init__(self, scope: Construct, construct_id: str, props: SecureBucketProps) -> None:
        super().__init__(scope, construct_id)
        check_bucket_name(props.name)
        for transition in props.transitions:
            if transition.storage_class in ("STANDARD_IA", "ONEZONE_IA") and transition.days < 30:
                raise ConstructPropsError(
                    f"bucket {props.name}: S3 moves objects to {transition.storage_class} after 30 days at the "
                    f"earliest, not {transition.days}")
        days = [t.days for t in props.transitions]
        if days != sorted(set(days)) or any(d < 1 for d in days):
            raise ConstructPropsError(f"bucket {props.name}: lifecycle transition days {days} must be increasing and positive")
        self.name = props.name
        # The bucket and each of its configuration resources share the construct's name, as in HCL.
        self._bucket = self._name(S3Bucket(self, "Resource", bucket=props.name, force_destroy=props.force_destroy,
                                           tags=props.tags or None))
        bucket_id = self._bucket.id
        self._name(S3BucketVersioningA(self, "Versioning", bucket=bucket_id,
                   versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled")))
        self._name(S3BucketServerSideEncryptionConfigurationA(
            self,
            "Encryption",
            bucket=bucket_id,
            rule=[S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=(
                    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="AES256"
                    )
                ),
            )],
        ))
        self._public_access = self._name(S3BucketPublicAccessBlock(
            self, "PublicAccessBlock", bucket=bucket_id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True,
        ))
        # Objects another account writes belong to this bucket's account; ACLs are disabled.
        self._name(S3BucketOwnershipControls(self, "Ownership", bucket=bucket_id,
                   rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced")))
        self._name(S3BucketLifecycleConfiguration(
            self,
            "Lifecycle",
            bucket=bucket_id,
            rule=[S3BucketLifecycleConfigurationRule(
                id="age-out",
                status="Enabled",
                filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                transition=[S3BucketLifecycleConfigurationRuleTransition(days=t.days, storage_class=t.storage_class)
                            for t in props.transitions] or None,
                noncurrent_version_expiration=[S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                    noncurrent_days=props.noncurrent_version_expiration_days)],
                abort_incomplete_multipart_upload=[
                    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)],
            )],
        ))
        self._policy = PolicyDocument(self, "PolicyDocument")
        self._policy.add_statement(PolicyStatement(
            sid="DenyInsecureTransport",
            effect="Deny",
            actions=("s3:*",),
            resources=(self.arn, f"{self.arn}/*"),
            principals=(("*", ("*",)),),
            conditions=(Condition("Bool", "aws:SecureTransport", ("false",)),),
        ))
        # The policy waits for the public access block, or S3 may reject it as public while the block is created.
        self._name(S3BucketPolicy(self, "Policy", bucket=bucket_id, policy=self._policy.json,
                                  depends_on=[self._public_access]))

    @property
    def arn(self) -> str:
        return self._bucket.arn

    def adopt_existing(self) -> None:
        """Take over a live bucket of this name (an `import` block).

        Its configuration resources (versioning, encryption, public access block, ownership, lifecycle, policy)
        are created over whatever the bucket had: S3 replaces each on write, so this construct's settings win.
        """
        self._adopt(self._bucket, self.name)

    def as_ref(self) -> BucketRef:
        return BucketRef(self.arn, self._bucket.bucket)

    def grant_write_to_role(self, sid: str, account_id: str, role_arn: str, key_prefix: KeyPrefixes = "") -> None:
        """Let one role write below `key_prefix`, by ARN, before that role exists.

        S3 rejects a policy naming a role principal that does not exist yet, so the principal is the role's
        account and `aws:PrincipalArn` pins the role: the layers can be applied in any order.
        """
        partition = role_arn.split(":")[1] if role_arn.startswith("arn:") else "aws"
        principal = (("AWS", (f"arn:{partition}:iam::{account_id}:root",)),)
        pinned = (Condition("ArnEquals", "aws:PrincipalArn", (role_arn,)),)
        self._policy.add_statement(PolicyStatement(
            sid=f"{sid}Objects", actions=WRITE_OBJECT_ACTIONS, resources=object_resources(self.arn, key_prefix),
            principals=principal, conditions=pinned,
        ))
        self._policy.add_statement(PolicyStatement(
            sid=f"{sid}Bucket", actions=WRITE_BUCKET_ACTIONS, resources=(self.arn,),
            principals=principal, conditions=pinned,
        ))
