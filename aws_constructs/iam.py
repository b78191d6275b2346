"""IAM: policy statements, lazily assembled policy documents, and roles that services assume."""
from __future__ import annotations

from functools import cached_property

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Protocol

from bindings import (
    Construct,
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    IamPolicy,
    IamRole,
    IamRolePolicy,
    IAnyProducer,
    IStringProducer,
    Lazy,
    implements,
)
from aws_constructs.errors import ConstructPropsError
from aws_constructs.addresses import NamedConstruct
from aws_constructs.validation import check_name


@dataclass(frozen=True)
class Condition:
    test: str
    variable: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class PolicyStatement:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    effect: str = "Allow"
    principals: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (type, identifiers), for resource policies
    conditions: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        if not self.actions or not self.resources:
            raise ConstructPropsError(f"policy statement {self.sid!r} needs at least one action and one resource")
        if self.effect not in ("Allow", "Deny"):
            raise ConstructPropsError(f"policy statement {self.sid!r}: effect must be 'Allow' or 'Deny'")
        if not re.fullmatch(r"[A-Za-z0-9]+", self.sid):
            raise ConstructPropsError(f"policy statement id {self.sid!r} must be letters and digits only")
        if self.effect == "Allow":
            check_least_privilege(self)

    def to_json(self) -> dict:
        """The statement in IAM's JSON grammar, as the AWS provider renders a policy document (one value: a string)."""
        rendered: dict = {"Sid": self.sid, "Effect": self.effect}
        if self.principals:
            rendered["Principal"] = {kind: _one_or_list(ids) for kind, ids in self.principals}
        rendered["Action"] = _one_or_list(self.actions)
        rendered["Resource"] = _one_or_list(self.resources)
        conditions: dict[str, dict[str, str | list[str]]] = {}
        for condition in self.conditions:
            conditions.setdefault(condition.test, {})[condition.variable] = _one_or_list(condition.values)
        if conditions:
            rendered["Condition"] = conditions
        return rendered

    def to_struct(self) -> DataAwsIamPolicyDocumentStatement:
        return DataAwsIamPolicyDocumentStatement(
            sid=self.sid,
            effect=self.effect,
            actions=list(self.actions),
            resources=list(self.resources),
            principals=[{"type": kind, "identifiers": list(ids)} for kind, ids in self.principals] or None,
            condition=[{"test": c.test, "variable": c.variable, "values": list(c.values)} for c in self.conditions]
            or None,
        )


def _one_or_list(values: tuple[str, ...]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)


# Actions IAM authorizes only on `"Resource": "*"` (they name no resource type), each with the condition key that
# scopes it instead; an identity policy may grant them on "*" only with that key pinned by StringEquals.
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html
ACTIONS_ON_ANY_RESOURCE = {"cloudwatch:PutMetricData": "cloudwatch:namespace"}


def _scoped_on_any_resource(statement: PolicyStatement) -> bool:
    """`"Resource": "*"` for actions that have no resource, each narrowed by its scoping condition key."""
    pinned = {condition.variable for condition in statement.conditions
              if condition.test == "StringEquals" and condition.values}
    return all(ACTIONS_ON_ANY_RESOURCE.get(action) in pinned for action in statement.actions)


def check_least_privilege(statement: PolicyStatement) -> None:
    """No wildcard action; a resource wildcard only as the tail of a path below one named resource, or `*` alone for
    actions that name no resource (ACTIONS_ON_ANY_RESOURCE), narrowed by their condition key."""
    for action in statement.actions:
        if "*" in action or "?" in action:
            raise ConstructPropsError(f"policy statement {statement.sid!r} allows wildcard action {action!r}")
    for resource in statement.resources:
        if resource == "*" and statement.principals:
            continue  # in a key policy, the only resource policy that allows it, "*" means this key
        if resource == "*" and _scoped_on_any_resource(statement):
            continue
        if not _names_one_resource(resource):
            raise ConstructPropsError(
                f"policy statement {statement.sid!r} allows wildcard resource {resource!r}; grant on named "
                "resources (a trailing /* below one named bucket, table or log group is the only wildcard)")


def _names_one_resource(resource: str) -> bool:
    head, star, tail = resource.replace("?", "*").partition("*")
    if not star:
        return True
    if tail or not head.endswith(("/", ":")):
        return False
    if not head.startswith("arn:"):
        return "${" in head  # a reference to a resource's ARN, then a path below it
    fields = head.split(":", 5)
    if len(fields) < 6:
        return False
    service, named = fields[2], [part for part in re.split(r"[/:]", fields[5]) if part]
    # S3 object ARNs start with the bucket name; other services with a resource type, then its name.
    return len(named) >= (1 if service == "s3" else 2)


class Grantable(Protocol):
    """Something that can be given permissions: the principal side of a grant."""

    def add_to_principal_policy(self, statement: PolicyStatement) -> None: ...


class _PolicyProducer:
    """A policy's statements as they are at synth (grants arrive after the document is created)."""

    def __init__(self, owner: Construct, statements: list[PolicyStatement]) -> None:
        self._owner = owner  # its path, asked of jsii only for the error
        self._statements = statements

    def _checked(self) -> list[PolicyStatement]:
        if not self._statements:
            raise ConstructPropsError(f"{self._owner.node.path} has an empty policy; grant it something or remove it")
        return self._statements


@implements(IAnyProducer)
class _StatementsProducer(_PolicyProducer):
    def produce(self, _context: object) -> list[DataAwsIamPolicyDocumentStatement]:
        return [statement.to_struct() for statement in self._checked()]


@implements(IStringProducer)
class _JsonProducer(_PolicyProducer):
    def produce(self, _context: object) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": [s.to_json() for s in self._checked()]}, indent=2)


class PolicyDocument(NamedConstruct):
    """An IAM policy document whose statements may be added until synth (grants arrive after creation).

    Identity, trust and bucket policies are `aws_iam_policy_document` data sources. A key policy is written
    inline (`inline=True`) as the JSON itself: its `"Resource": "*"` means "this key", and scanners that read
    `aws_iam_policy_document` as an identity policy would report it as a wildcard.
    """

    def __init__(self, scope: Construct, construct_id: str, *, inline: bool = False) -> None:
        super().__init__(scope, construct_id)
        self._statements: list[PolicyStatement] = []
        self._document = None
        if inline:
            self._json = Lazy.string_value(_JsonProducer(self, self._statements))
        else:
            self._document = self._name(DataAwsIamPolicyDocument(
                self, "Resource", statement=Lazy.any_value(_StatementsProducer(self, self._statements))
            ), resource=False)
            self._json = self._document.json

    def add_statement(self, statement: PolicyStatement) -> None:
        """Add a statement; a second grant of the same kind gets a numbered sid (sids must be unique)."""
        taken = {existing.sid for existing in self._statements}
        sid, number = statement.sid, 2
        while sid in taken:
            sid, number = f"{statement.sid}{number}", number + 1
        self._statements.append(dataclasses.replace(statement, sid=sid))

    def put_statement(self, statement: PolicyStatement) -> None:
        """Add a statement, or replace the one with its sid: a grant that widens as its wiring grows (one statement
        naming every alarm of a topic, rather than one statement per alarm)."""
        for position, existing in enumerate(self._statements):
            if existing.sid == statement.sid:
                self._statements[position] = statement
                return
        self._statements.append(statement)

    @property
    def json(self) -> str:
        return self._json


class _RoleWithInlinePolicy(NamedConstruct):
    """A role and the one inline policy its grants build."""

    def _with_inline_policy(self, name: str, description: str, trust_json: str, tags: dict[str, str]) -> None:
        self._role = self._name(IamRole(self, "Resource", name=name, description=description or None,
                                        assume_role_policy=trust_json, tags=tags or None))
        self._policy = PolicyDocument(self, "Policy")
        # What uses the role should depend on this, not only on the role: AWS checks permissions at creation.
        self.policy = self._name(IamRolePolicy(
            self, "InlinePolicy", name=f"{name}-policy", role=self._role.id, policy=self._policy.json))
        self.name = name

    @cached_property
    def arn(self) -> str:
        return self._role.arn

    def add_to_principal_policy(self, statement: PolicyStatement) -> None:
        self._policy.add_statement(statement)


@dataclass(frozen=True)
class ServiceRoleProps:
    name: str
    service: str  # e.g. "firehose.amazonaws.com"
    # The confused-deputy guard: the service must present this external id (usually the account id).
    external_id: str | None = None
    # The other confused-deputy guard: only calls on behalf of this account (`aws:SourceAccount`).
    source_account: str | None = None
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)


class ServiceRole(_RoleWithInlinePolicy):
    """A role only one AWS service can assume, with one inline policy built from grants."""

    def __init__(self, scope: Construct, construct_id: str, props: ServiceRoleProps) -> None:
        super().__init__(scope, construct_id)
        check_name("IAM role", props.name, 64, r"[\w+=,.@-]+", "letters, digits and +=,.@_-")
        # A trust policy names no resource: the role itself is the resource.
        guards = (("sts:ExternalId", props.external_id), ("aws:SourceAccount", props.source_account))
        conditions = [{"test": "StringEquals", "variable": variable, "values": [value]}
                      for variable, value in guards if value] or None
        self._trust = self._name(DataAwsIamPolicyDocument(
            self,
            "AssumeRolePolicy",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="AssumedByService",
                    effect="Allow",
                    actions=["sts:AssumeRole"],
                    principals=[{"type": "Service", "identifiers": [props.service]}],
                    condition=conditions,
                )
            ],
        ), "trust", resource=False)
        self._with_inline_policy(props.name, props.description, self._trust.json, props.tags)

    def adopt_existing(self) -> None:
        """Take over a live role of this name (an `import` block); its inline policy is this construct's."""
        self._adopt(self._role, self.name)



@dataclass(frozen=True)
class CrossAccountRoleProps:
    name: str
    trusted_account: str  # the account whose principal assumes the role
    # The principal (a role) of that account allowed to assume it, by ARN: pinned with `aws:PrincipalArn` on the
    # account root, so the trust policy is valid before that role exists and survives its re-creation.
    principal_arn: str
    partition: str = "aws"
    description: str = ""


class CrossAccountRole(_RoleWithInlinePolicy):
    """A role one named role of another account may assume, with one inline policy built from grants. Both halves of
    the assumption: this trust policy, and `grant_assume` on the other side (`sts:AssumeRole` on this role's ARN)."""

    def __init__(self, scope: Construct, construct_id: str, props: CrossAccountRoleProps) -> None:
        super().__init__(scope, construct_id)
        check_name("IAM role", props.name, 64, r"[\w+=,.@-]+", "letters, digits and +=,.@_-")
        if not re.fullmatch(r"[0-9]{12}|\$\{.+\}", props.trusted_account):
            raise ConstructPropsError(f"IAM role {props.name}: trusted account {props.trusted_account!r} is not a "
                                      "12-digit account id")
        # A trust policy names no resource: the role itself is the resource.
        self._trust = self._name(DataAwsIamPolicyDocument(self, "AssumeRolePolicy", statement=[
            DataAwsIamPolicyDocumentStatement(
                sid="AssumedByOneRole", effect="Allow", actions=["sts:AssumeRole"],
                principals=[{"type": "AWS", "identifiers": [f"arn:{props.partition}:iam::{props.trusted_account}:root"]}],
                condition=[{"test": "ArnEquals", "variable": "aws:PrincipalArn", "values": [props.principal_arn]}])]),
            "trust", resource=False)
        self._with_inline_policy(props.name, props.description, self._trust.json, {})


def grant_assume(principal: Grantable, sid: str, role_arns: tuple[str, ...]) -> None:
    """The principal's half of assuming roles of other accounts: `sts:AssumeRole` on exactly those roles."""
    principal.add_to_principal_policy(PolicyStatement(sid=sid, actions=("sts:AssumeRole",), resources=role_arns))


@dataclass(frozen=True)
class ManagedPolicyProps:
    name: str
    description: str
    path: str = "/"


class ManagedPolicy(NamedConstruct):
    """A customer-managed IAM policy built from grants, for people rather than services: an IAM Identity Center
    (SSO) permission set attaches it by name and path (`customer_managed_policy_reference`) in every account where it
    exists; a role or group attaches it by ARN."""

    def __init__(self, scope: Construct, construct_id: str, props: ManagedPolicyProps) -> None:
        super().__init__(scope, construct_id)
        check_name("IAM policy", props.name, 128, r"[\w+=,.@-]+", "letters, digits and +=,.@_-")
        if not re.fullmatch(r"/([\x21-\x7e]+/)?", props.path, flags=re.ASCII):
            raise ConstructPropsError(f"IAM policy {props.name}: path {props.path!r} must be '/' or start and end "
                                      "with '/'")
        self.name = props.name
        self._document = PolicyDocument(self, "Document")
        self._policy = self._name(IamPolicy(self, "Resource", name=props.name, path=props.path,
                                            description=props.description, policy=self._document.json))

    @cached_property
    def arn(self) -> str:
        return self._policy.arn

    def add_to_principal_policy(self, statement: PolicyStatement) -> None:
        self._document.add_statement(statement)
