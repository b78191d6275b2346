"""S3 buckets: a secure bucket this stack owns, and a reference to one owned elsewhere."""
from __future__ import annotations

from functools import cached_property

import hashlib
import ipaddress
import re
from dataclasses import dataclass, field, replace

from bindings import (
    Construct,
    S3Bucket,
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
    S3BucketLifecycleConfigurationRuleTransition,
    S3BucketLoggingA,
    S3BucketNotification,
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
    S3BucketPolicy,
    S3BucketPublicAccessBlock,
    S3BucketReplicationConfigurationA,
    S3BucketReplicationConfigurationRule as ReplicationRule,
    S3BucketReplicationConfigurationRuleDeleteMarkerReplication as DeleteMarkerReplication,
    S3BucketReplicationConfigurationRuleDestination as ReplicationDestination,
    S3BucketReplicationConfigurationRuleDestinationEncryptionConfiguration as ReplicaEncryption,
    S3BucketReplicationConfigurationRuleDestinationMetrics as ReplicationMetrics,
    S3BucketReplicationConfigurationRuleFilter as ReplicationFilter,
    S3BucketReplicationConfigurationRuleSourceSelectionCriteria as SourceSelection,
    S3BucketReplicationConfigurationRuleSourceSelectionCriteriaSseKmsEncryptedObjects as KmsEncryptedObjects,
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
    S3Object,
    TerraformProvider,
)
from aws_constructs.alarms import Metric
from aws_constructs.errors import ConstructPropsError
from aws_constructs.iam import Condition, Grantable, PolicyDocument, PolicyStatement
from aws_constructs.kms import KmsKeyRef
from aws_constructs.addresses import NamedConstruct

WRITE_OBJECT_ACTIONS = ("s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject")
READ_WRITE_OBJECT_ACTIONS = ("s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject")
# Bucket-level actions that take no key prefix (s3:prefix applies to s3:ListBucket only).
WRITE_BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucketMultipartUploads")
READ_BUCKET_ACTIONS = ("s3:GetBucketLocation",)
LIST_ACTIONS = ("s3:ListBucket",)
REPLICATION_RULE_ID = "everything"  # the one rule of each replicated bucket


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


def _prefixes(key_prefixes: KeyPrefixes) -> tuple[str, ...]:
    return (key_prefixes,) if isinstance(key_prefixes, str) else key_prefixes


def object_resources(bucket_arn: str, key_prefixes: KeyPrefixes) -> tuple[str, ...]:
    return tuple(object_resource(bucket_arn, prefix) for prefix in _prefixes(key_prefixes))


def listing_conditions(key_prefixes: KeyPrefixes, *, answers_missing_keys: bool = False) -> tuple[Condition, ...]:
    """Listing limited to the keys below the prefixes (`s3:prefix`); none when a prefix is the whole bucket.

    `answers_missing_keys`: the principal reads keys that may not exist (a HEAD before a write, a folder probed as
    a file) and must get 404 rather than 403. S3 answers 404 only to a caller allowed `s3:ListBucket`, and that
    check carries no `s3:prefix` (the request names a key, not a prefix), so the condition must also hold when
    the key is absent (`StringLikeIfExists`). This also admits a listing that names no prefix: the principal may
    see every key name of the bucket (not read the objects). A listing naming another prefix stays refused. The
    folders' own keys without the trailing slash are listed too: a folder probed as a file.
    """
    prefixes = _prefixes(key_prefixes)
    if not all(prefixes):
        return ()
    if not answers_missing_keys:
        return (Condition("StringLike", "s3:prefix", tuple(f"{prefix}*" for prefix in prefixes)),)
    values = sorted({*(prefix.removesuffix("/") for prefix in prefixes if prefix.endswith("/")),
                     *(f"{prefix}*" for prefix in prefixes)})
    return (Condition("StringLikeIfExists", "s3:prefix", tuple(values)),)


def writes_with_key(objects: PolicyStatement, key: KmsKeyRef) -> tuple[PolicyStatement, ...]:
    """`objects` (a grant to write objects) split so that another account's writes stay readable by the bucket's
    owner: a PutObject names no encryption at all (it takes the bucket's default, this key; parts of a multipart
    upload name none either), or SSE-KMS with this key. So no write brings a key of its own account or one sent
    with the request (SSE-C), or picks SSE-S3; and `aws:kms` naming no key, for which S3 would use the AWS managed
    key rather than the bucket's, is refused too. S3 gives the key-id condition key as an ARN (its type in the
    Service Authorization Reference), however the request names the key."""
    others = tuple(action for action in objects.actions if action != "s3:PutObject")
    return (
        replace(objects, actions=others),
        replace(objects, sid=f"{objects.sid}DefaultKey", actions=("s3:PutObject",), conditions=objects.conditions + (
            Condition("Null", "s3:x-amz-server-side-encryption", ("true",)),
            Condition("Null", "s3:x-amz-server-side-encryption-customer-algorithm", ("true",)))),
        replace(objects, sid=f"{objects.sid}NamingTheKey", actions=("s3:PutObject",), conditions=objects.conditions + (
            Condition("StringEquals", "s3:x-amz-server-side-encryption", ("aws:kms",)),
            Condition("ArnEquals", "s3:x-amz-server-side-encryption-aws-kms-key-id", (key.arn,)))),
    )


def folder_keys(bucket_arn: str, key_prefixes: KeyPrefixes) -> tuple[str, ...]:
    """The keys of the folders themselves, without the trailing slash: what a file system client (Hadoop's S3A,
    EMRFS) sends a HEAD for before it lists a folder."""
    return tuple(f"{bucket_arn}/{prefix.removesuffix('/')}" for prefix in _prefixes(key_prefixes)
                 if prefix.endswith("/") and prefix != "/")


@dataclass(frozen=True)
class BucketRef:
    """A bucket created elsewhere (possibly in another account), known by ARN (and by name, where known)."""

    arn: str
    name: str | None = None

    def grant_write(self, grantee: Grantable, key_prefix: KeyPrefixes = "") -> None:
        """What a delivery service needs to write objects below `key_prefix` (role side of a grant)."""
        sids = ("WriteBucketObjects", "LocateBucket", "ListBucketPrefixes")
        for statement in bucket_statements(sids, WRITE_OBJECT_ACTIONS, WRITE_BUCKET_ACTIONS, self.arn, key_prefix):
            grantee.add_to_principal_policy(statement)

    def grant_read(self, grantee: Grantable, key_prefix: KeyPrefixes = "", *,
                   answers_missing_keys: bool = False) -> None:
        """Read objects below `key_prefix`, list below it. `answers_missing_keys`: for clients that probe keys
        which may not exist (Hadoop's and Spark's file systems, Glue crawlers): a missing key answers 404
        (`listing_conditions`), and a folder may be probed as a file first. Off, the principal lists nothing but
        its folders (a reader querying through Athena)."""
        sids = ("ReadBucketObjects", "LocateBucket", "ListBucket")
        for statement in bucket_statements(sids, ("s3:GetObject",), READ_BUCKET_ACTIONS, self.arn, key_prefix,
                                           answers_missing_keys=answers_missing_keys):
            grantee.add_to_principal_policy(statement)
        if answers_missing_keys:
            self._grant_folder_probes(grantee, key_prefix)

    def grant_read_write(self, grantee: Grantable, key_prefix: KeyPrefixes = "") -> None:
        """Read, write and delete objects below `key_prefix` (a table format rewriting its files), list below it.
        Missing keys answer 404: Iceberg sends a HEAD for every file before it writes it."""
        sids = ("ReadWriteBucketObjects", "LocateBucket", "ListBucket")
        for statement in bucket_statements(sids, READ_WRITE_OBJECT_ACTIONS, WRITE_BUCKET_ACTIONS, self.arn,
                                           key_prefix, answers_missing_keys=True):
            grantee.add_to_principal_policy(statement)
        self._grant_folder_probes(grantee, key_prefix)

    def _grant_folder_probes(self, grantee: Grantable, key_prefix: KeyPrefixes) -> None:
        probes = folder_keys(self.arn, key_prefix)
        if probes:
            grantee.add_to_principal_policy(PolicyStatement(sid="ProbeFolderKeys", actions=("s3:GetObject",),
                                                            resources=probes))


def bucket_statements(sids: tuple[str, str, str], object_actions: tuple[str, ...], bucket_actions: tuple[str, ...],
                      bucket_arn: str, key_prefix: KeyPrefixes, principals: tuple = (),
                      conditions: tuple[Condition, ...] = (), *,
                      answers_missing_keys: bool = False) -> list[PolicyStatement]:
    """Objects below the prefixes, the bucket actions that need the bucket, and listing below the prefixes
    (with the statement ids `sids`, in that order)."""
    on_objects, on_bucket, listing = sids
    return [
        PolicyStatement(sid=on_objects, actions=object_actions, resources=object_resources(bucket_arn, key_prefix),
                        principals=principals, conditions=conditions),
        PolicyStatement(sid=on_bucket, actions=bucket_actions, resources=(bucket_arn,), principals=principals,
                        conditions=conditions),
        PolicyStatement(sid=listing, actions=LIST_ACTIONS, resources=(bucket_arn,), principals=principals,
                        conditions=conditions + listing_conditions(key_prefix,
                                                                   answers_missing_keys=answers_missing_keys)),
    ]


@dataclass(frozen=True)
class Transition:
    days: int
    storage_class: str


# Storage classes whose objects must be restored before any read (GLACIER_IR is instant retrieval, not one of them).
ARCHIVE_CLASSES = ("DEEP_ARCHIVE", "GLACIER")


@dataclass(frozen=True)
class SecureBucketProps:
    name: str
    # Objects move to cheaper classes as they age; old versions expire.
    transitions: tuple[Transition, ...] = (Transition(90, "STANDARD_IA"), Transition(365, "GLACIER"))
    # Read in place by query engines or a table format (Athena, Spark, Iceberg), objects of any age: no
    # transition to an archive class, whose objects cannot be read until restored.
    read_in_place: bool = False
    noncurrent_version_expiration_days: int = 365
    expiration_days: int | None = None  # objects are deleted this long after creation
    # A customer-managed key (SSE-KMS, with S3 Bucket Keys to cut KMS calls); without one, SSE-S3.
    encryption_key: KmsKeyRef | None = None
    # Object events to the account's default EventBridge bus (free; rules there can start processing).
    event_bridge_notifications: bool = True
    force_destroy: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    provider: TerraformProvider | None = None  # another region's provider, for a replica


class SecureBucket(NamedConstruct):
    """Versioned, encrypted, private, owner-enforced, TLS-only bucket with lifecycle rules."""

    def __init__(self, scope: Construct, construct_id: str, props: SecureBucketProps) -> None:
        super().__init__(scope, construct_id)
        check_bucket_name(props.name)
        archived = [t.storage_class for t in props.transitions if t.storage_class in ARCHIVE_CLASSES]
        if props.read_in_place and archived:
            raise ConstructPropsError(
                f"bucket {props.name} is read in place (query engines, Iceberg), but its lifecycle moves objects to "
                f"{archived[0]}, which no read reaches until the object is restored (MERGE fails with "
                "InvalidObjectState, queries skip or fail); transition to GLACIER_IR (instant retrieval), "
                "STANDARD_IA or INTELLIGENT_TIERING instead")
        for transition in props.transitions:
            if transition.storage_class in ("STANDARD_IA", "ONEZONE_IA") and transition.days < 30:
                raise ConstructPropsError(
                    f"bucket {props.name}: S3 moves objects to {transition.storage_class} after 30 days at the "
                    f"earliest, not {transition.days}")
        days = [t.days for t in props.transitions]
        expiry = props.expiration_days
        if expiry is not None and (expiry < 1 or any(day >= expiry for day in days)):
            raise ConstructPropsError(
                f"bucket {props.name}: objects expire after {props.expiration_days} days, which must be positive "
                "and after every transition")
        if days != sorted(set(days)) or any(d < 1 for d in days):
            raise ConstructPropsError(f"bucket {props.name}: lifecycle transition days {days} must be increasing and positive")
        self.name = props.name
        self.props = props
        # The bucket and each of its configuration resources share the construct's name, as in HCL.
        self._bucket = self._name(S3Bucket(self, "Resource", provider=props.provider, bucket=props.name,
                                           force_destroy=props.force_destroy,
                                           tags=props.tags or None))
        bucket_id = self._bucket.id
        self.versioning = self._name(S3BucketVersioningA(self, "Versioning", provider=props.provider, bucket=bucket_id,
                   versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled")))
        self._name(S3BucketServerSideEncryptionConfigurationA(
            self,
            "Encryption",
            provider=props.provider,
            bucket=bucket_id,
            rule=[S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=(
                    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="aws:kms" if props.encryption_key else "AES256",
                        kms_master_key_id=props.encryption_key.arn if props.encryption_key else None,
                    )
                ),
                bucket_key_enabled=True if props.encryption_key else None,
            )],
        ))
        self._public_access = self._name(S3BucketPublicAccessBlock(
            self, "PublicAccessBlock", bucket=bucket_id, provider=props.provider, block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True,
        ))
        # Objects another account writes belong to this bucket's account; ACLs are disabled.
        self._name(S3BucketOwnershipControls(self, "Ownership", provider=props.provider, bucket=bucket_id,
                   rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced")))
        self._name(S3BucketLifecycleConfiguration(
            self,
            "Lifecycle",
            provider=props.provider,
            bucket=bucket_id,
            rule=[S3BucketLifecycleConfigurationRule(
                id="age-out",
                status="Enabled",
                filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                transition=[S3BucketLifecycleConfigurationRuleTransition(days=t.days, storage_class=t.storage_class)
                            for t in props.transitions] or None,
                expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=props.expiration_days)]
                if props.expiration_days else None,
                noncurrent_version_expiration=[S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                    noncurrent_days=props.noncurrent_version_expiration_days)],
                abort_incomplete_multipart_upload=[
                    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)],
            )],
        ))
        if props.event_bridge_notifications:
            self._name(S3BucketNotification(self, "Notification", provider=props.provider, bucket=bucket_id,
                                            eventbridge=True))
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
        self.policy = self._name(S3BucketPolicy(self, "Policy", bucket=bucket_id, policy=self._policy.json,
                                                provider=props.provider, depends_on=[self._public_access]))
        self._policy_preconditions: list[dict[str, str]] = []

    def require_for_policy(self, condition: str, error_message: str) -> None:
        """A precondition of the bucket policy: while `condition` (a Terraform expression) is false, the layer's
        plan stops with `error_message`. For grants that are right only while values known at apply time keep
        apart."""
        self._policy_preconditions.append({"condition": condition, "error_message": error_message})
        self.policy.add_override("lifecycle.precondition", list(self._policy_preconditions))

    @cached_property
    def arn(self) -> str:
        return self._bucket.arn

    @cached_property
    def bucket_id(self) -> str:
        return self._bucket.id

    def adopt_existing(self) -> None:
        """Take over a live bucket of this name (an `import` block).

        Its configuration resources (versioning, encryption, public access block, ownership, lifecycle, policy)
        are created over whatever the bucket had: S3 replaces each on write, so this construct's settings win.
        """
        self._adopt(self._bucket, self.name)

    def as_ref(self) -> BucketRef:
        return BucketRef(self.arn, self._bucket.bucket)

    def grant_read(self, grantee: Grantable, key_prefix: KeyPrefixes = "", *,
                   answers_missing_keys: bool = False) -> None:
        self.as_ref().grant_read(grantee, key_prefix, answers_missing_keys=answers_missing_keys)

    def grant_read_write(self, grantee: Grantable, key_prefix: KeyPrefixes = "") -> None:
        self.as_ref().grant_read_write(grantee, key_prefix)

    def grant_write_to_role(self, sid: str, account_id: str, role_arn: str, key_prefix: KeyPrefixes = "") -> None:
        """Let one role write below `key_prefix`, by ARN, before that role exists.

        S3 rejects a policy naming a role principal that does not exist yet, so the principal is the role's
        account and `aws:PrincipalArn` pins the role: the layers can be applied in any order.
        """
        partition = role_arn.split(":")[1] if role_arn.startswith("arn:") else "aws"
        principal = (("AWS", (f"arn:{partition}:iam::{account_id}:root",)),)
        pinned = (Condition("ArnEquals", "aws:PrincipalArn", (role_arn,)),)
        sids = (f"{sid}Objects", f"{sid}Bucket", f"{sid}Listing")
        objects, *bucket = bucket_statements(sids, WRITE_OBJECT_ACTIONS, WRITE_BUCKET_ACTIONS, self.arn, key_prefix,
                                             principal, pinned)
        key = self.props.encryption_key
        for statement in (*(writes_with_key(objects, key) if key else (objects,)), *bucket):
            self._policy.add_statement(statement)

    def add_to_resource_policy(self, statement: PolicyStatement) -> None:
        self._policy.add_statement(statement)

    def _log_access_to(self, log_bucket: ServerAccessLogBucket) -> None:
        self._name(S3BucketLoggingA(self, "Logging", bucket=self.bucket_id, target_bucket=log_bucket.bucket_id,
                                    target_prefix=f"{self.name}/", provider=self.props.provider,
                                    # S3 checks that the target's policy admits log delivery.
                                    depends_on=[log_bucket.policy]))

    def replicate_to(self, replica: SecureBucket, role: Grantable, role_arn: str, source_region: str,
                     replica_region: str, partition: str = "aws") -> Metric:
        """Replicate every object (and delete markers) into `replica`, re-encrypted with the replica's key.

        `role` is a role S3 assumes (service `s3.amazonaws.com`); it gets what replication needs, no more.
        Returns the rule's failed replications: S3 publishes them (in this bucket's region) only because the rule
        turns its replication metrics on; a failure is otherwise silent.
        """
        source_key, replica_key = self.props.encryption_key, replica.props.encryption_key
        if bool(source_key) != bool(replica_key):
            raise ConstructPropsError(
                f"bucket {self.name} replicates to {replica.name}: give both a KMS key, or neither (SSE-S3)")
        for statement in (
            PolicyStatement(sid="ReadReplicationConfiguration", resources=(self.arn,),
                            actions=("s3:GetReplicationConfiguration", "s3:ListBucket")),
            PolicyStatement(sid="ReadObjectVersions", resources=(f"{self.arn}/*",), actions=(
                "s3:GetObjectVersionAcl", "s3:GetObjectVersionForReplication", "s3:GetObjectVersionTagging")),
            PolicyStatement(sid="WriteReplicas", resources=(f"{replica.arn}/*",),
                            actions=("s3:ReplicateDelete", "s3:ReplicateObject", "s3:ReplicateTags")),
        ):
            role.add_to_principal_policy(statement)
        encrypted_only = encryption = None
        if source_key and replica_key:
            host = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
            source_key.grant_decrypt_via(role, "DecryptSourceObjects", f"s3.{source_region}.{host}",
                                         ("aws:s3:arn", (self.arn, f"{self.arn}/*")))
            replica_key.grant_via(role, "EncryptReplicas", ("kms:Encrypt", "kms:GenerateDataKey"),
                                  f"s3.{replica_region}.{host}", ("aws:s3:arn", (replica.arn, f"{replica.arn}/*")))
            encrypted_only = SourceSelection(sse_kms_encrypted_objects=KmsEncryptedObjects(status="Enabled"))
            encryption = ReplicaEncryption(replica_kms_key_id=replica_key.arn)
        self._name(S3BucketReplicationConfigurationA(
            self, "Replication", bucket=self.bucket_id, role=role_arn, provider=self.props.provider,
            rule=[ReplicationRule(
                id=REPLICATION_RULE_ID, status="Enabled", filter=ReplicationFilter(prefix=""),
                delete_marker_replication=DeleteMarkerReplication(status="Enabled"),
                source_selection_criteria=encrypted_only,
                destination=ReplicationDestination(bucket=replica.arn, encryption_configuration=encryption,
                                                   metrics=ReplicationMetrics(status="Enabled")),
            )],
            # S3 accepts a replication configuration only once both buckets are versioned.
            depends_on=[self.versioning, replica.versioning],
        ))
        return Metric("AWS/S3", "OperationsFailedReplication", {
            "SourceBucket": self.name, "DestinationBucket": replica.name, "RuleId": REPLICATION_RULE_ID}, "Sum", 300)


class ServerAccessLogBucket(SecureBucket):
    """The target of S3 server access logs: SSE-S3 (S3 log delivery cannot use SSE-KMS on its target), private,
    owner-enforced, and deleting logs after `expiration_days`. It does not log its own access: logs about
    writing logs would loop back into it."""

    def __init__(self, scope: Construct, construct_id: str, props: SecureBucketProps, account_id: str) -> None:
        if props.encryption_key:
            raise ConstructPropsError(
                f"bucket {props.name}: S3 server access log delivery supports only SSE-S3 on its target bucket; "
                "leave encryption_key unset")
        if props.expiration_days is None:
            raise ConstructPropsError(f"bucket {props.name}: set expiration_days, logs must not be kept forever")
        super().__init__(scope, construct_id, props)
        self.account_id = account_id

    def log_access_of(self, *sources: SecureBucket) -> None:
        """Server access logging of `sources` (buckets of this account) into this bucket, one prefix each."""
        self.add_to_resource_policy(PolicyStatement(
            sid="S3ServerAccessLogDelivery", actions=("s3:PutObject",), resources=(f"{self.arn}/*",),
            principals=(("Service", ("logging.s3.amazonaws.com",)),),
            conditions=(Condition("StringEquals", "aws:SourceAccount", (self.account_id,)),
                        Condition("ArnLike", "aws:SourceArn", tuple(source.arn for source in sources))),
        ))
        for source in sources:
            source._log_access_to(self)


@dataclass(frozen=True)
class BucketObjectProps:
    bucket: SecureBucket  # encrypted with a customer-managed key: the object is written with it too
    key: str
    text: str  # the object's exact content (UTF-8 text)
    content_type: str = "text/plain"


class BucketObject(NamedConstruct):
    """An object whose content lives in the layer itself, tracked by its SHA-256.

    Changing the text changes the object on the next apply (the digest in its `sha256` metadata shows which
    version is live). Terraform strings are templates, so `${` and `%{` in the text are escaped: the object holds
    exactly `text`.
    """

    def __init__(self, scope: Construct, construct_id: str, props: BucketObjectProps) -> None:
        super().__init__(scope, construct_id)
        if not props.key or props.key.startswith("/") or props.key.endswith("/"):
            raise ConstructPropsError(f"object key {props.key!r} must be a non-empty path, not starting or ending "
                                      "with '/'")
        key = props.bucket.props.encryption_key
        if key is None:
            raise ConstructPropsError(f"object {props.key}: bucket {props.bucket.name} needs a KMS key (SSE-KMS)")
        self.sha256 = hashlib.sha256(props.text.encode("utf-8")).hexdigest()
        self.key = props.key
        self.bucket = props.bucket
        self._object = self._name(S3Object(
            self, "Resource", bucket=props.bucket.bucket_id, key=props.key,
            content=props.text.replace("${", "$${").replace("%{", "%%{"), content_type=props.content_type,
            server_side_encryption="aws:kms", kms_key_id=key.arn, bucket_key_enabled=True,
            metadata={"sha256": self.sha256}))

    @property
    def s3_url(self) -> str:
        return f"s3://{self.bucket.name}/{self.key}"

    @property
    def arn(self) -> str:
        return f"{self.bucket.arn}/{self.key}"
