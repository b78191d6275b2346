"""Access requests: who calls which action on which resource, with the context AWS sends, and the decision AWS
must reach; and the proof that evaluates them all against the layers' policies in one simulator run.

A request's principal is a role's ARN (its identity policies come from the layers, or are given), a service
principal (`logs.us-east-1.amazonaws.com`), or ANONYMOUS. Context keys AWS sends with every request of a role
(`aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:SecureTransport`, and `kms:CallerAccount` for KMS) are added;
everything else a request carries is written in the request itself, as the service documents it.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_constructs.access.expressions import Unresolved
from aws_constructs.access.layers import Layers, TerraformLayer
from aws_constructs.access.policies import managed_policy, resource_policy, role_policies
from aws_constructs.access.simulator import Simulation, simulate
from aws_constructs.s3 import ARCHIVE_CLASSES

ALLOWED, DENIED = "Allowed", "Denied"
ANONYMOUS = "anonymous"
ROLE_ARN = re.compile(r"arn:(?P<partition>[\w-]+):iam::(?P<account>\d{12}):role/(?:.*/)?(?P<name>[^/]+)")
SESSION = "access-proof"


@dataclass(frozen=True)
class AccessRequest:
    why: str  # who does what, in a few words: the failure message names it
    principal: str  # a role's ARN, a service principal, or ANONYMOUS
    action: str
    resource: str  # the concrete ARN the call names
    expect: str  # ALLOWED or DENIED
    cite: str  # the AWS documentation of the call (or of the service's use of the key)
    context: Mapping[str, str | tuple[str, ...] | None] = field(default_factory=dict)  # None: not sent
    # The principal's identity policies, when it is not a role of the layers: policy documents or the ARNs of
    # managed policies of the layers. None: read the role's own policies from the layers.
    identity: tuple[dict[str, Any] | str, ...] | None = None
    # Reading an object this many days old: the bucket's lifecycle must leave it where a read reaches it.
    object_age_days: int | None = None

    def __post_init__(self) -> None:
        if self.expect not in (ALLOWED, DENIED):
            raise ValueError(f"{self.why}: expect {ALLOWED!r} or {DENIED!r}, not {self.expect!r}")
        if not self.cite.startswith("https://docs.aws.amazon.com/"):
            raise ValueError(f"{self.why}: cite the AWS documentation of the call (https://docs.aws.amazon.com/...)")


@dataclass(frozen=True)
class Outcome:
    request: AccessRequest
    decision: str  # ALLOWED or DENIED, as AWS would decide
    detail: str  # the simulator's result, or why a read cannot reach the object

    @property
    def as_expected(self) -> bool:
        return self.decision == self.request.expect

    def describe(self) -> str:
        request = self.request
        context = ", ".join(f"{key}={value}" for key, value in sorted(request.context.items()))
        return (f"{request.why}: {request.principal} {request.action} {request.resource}"
                f"{f' [{context}]' if context else ''} -> {self.detail}, expected {request.expect} ({request.cite})")


def prove(layers: Layers, requests: Sequence[AccessRequest], simulator_dir: str | None = None) -> list[Outcome]:
    """Every request evaluated as AWS would: the layers' policies in one simulator run, then the storage class of
    objects read at an age. Unresolvable values raise `Unresolved` with the expression."""
    simulations = [_simulation(layers, request) for request in requests]
    archive_classes = [_archived(layers, request) for request in requests]
    results = simulate(simulations, simulator_dir)
    outcomes = []
    for request, result, archived in zip(requests, results, archive_classes, strict=True):
        if result.ignored:
            raise Unresolved(request.why, f"AWS does not send {', '.join(result.ignored)} with {request.action} "
                                          "(the simulator's action data): the request is wrong")
        decision, detail = (ALLOWED, result.decision) if result.decision == "Allowed" else (DENIED, result.decision)
        if decision == ALLOWED and archived:
            decision, detail = DENIED, f"Allowed, but the object is in {archived} by then (InvalidObjectState)"
        outcomes.append(Outcome(request, decision, detail))
    return outcomes


def resolved(layers: Layers, layer: TerraformLayer, request: AccessRequest) -> AccessRequest:
    """The request with the `${...}` of its principal, resource, context and identity resolved in `layer`."""
    return dataclasses.replace(
        request, principal=layers.value(layer, request.principal), resource=layers.value(layer, request.resource),
        context={key: None if value is None else layers.value(layer, list(value) if isinstance(value, tuple) else value)
                 for key, value in request.context.items()},
        identity=None if request.identity is None else tuple(layers.value(layer, item) for item in request.identity))


def failures(outcomes: Sequence[Outcome]) -> list[str]:
    return [outcome.describe() for outcome in outcomes if not outcome.as_expected]


def _simulation(layers: Layers, request: AccessRequest) -> Simulation:
    resource_document, resource_account = resource_policy(layers, request.resource)
    context: dict[str, Any] = {"aws:SecureTransport": "true"}
    principal: str | None = request.principal
    identity: list[dict[str, Any]] = []
    role = ROLE_ARN.fullmatch(request.principal)
    if request.principal == ANONYMOUS:
        principal = None
        if request.identity:
            raise ValueError(f"{request.why}: an anonymous request has no identity policies")
    elif role:
        account = role["account"]
        principal = f"arn:{role['partition']}:sts::{account}:assumed-role/{role['name']}/{SESSION}"
        context.update({"aws:PrincipalArn": request.principal, "aws:PrincipalAccount": account})
        if request.action.startswith("kms:"):
            context["kms:CallerAccount"] = account
        identity = (role_policies(layers, request.principal) if request.identity is None else
                    [managed_policy(layers, item) if isinstance(item, str) else item for item in request.identity])
    elif request.identity:
        raise ValueError(f"{request.why}: a service principal has no identity policies")
    for key, value in request.context.items():
        if value is None:
            context.pop(key, None)
        else:
            context[key] = list(value) if isinstance(value, tuple) else value
    return Simulation(principal, request.action, request.resource, resource_account, context, identity,
                      resource_document)


def _archived(layers: Layers, request: AccessRequest) -> str | None:
    """The archive class an object of that age is in, per its bucket's lifecycle, or None."""
    if request.object_age_days is None:
        return None
    bucket, _, key = request.resource.split(":::", 1)[-1].partition("/")
    layer, _, _ = layers.find("aws_s3_bucket", "bucket", bucket)
    storage = "STANDARD"
    for owner, name, _ in layers.resources("aws_s3_bucket_lifecycle_configuration"):
        if owner is not layer or layers.argument(owner, "aws_s3_bucket_lifecycle_configuration", name, "bucket") != bucket:
            continue
        for rule in layers.argument(owner, "aws_s3_bucket_lifecycle_configuration", name, "rule"):
            if rule.get("status") != "Enabled" or not key.startswith(_rule_prefix(rule, name)):
                continue
            for transition in sorted(rule.get("transition") or (), key=lambda t: t.get("days", 0)):
                if transition.get("days", 0) <= request.object_age_days:
                    storage = transition["storage_class"]
    return storage if storage in ARCHIVE_CLASSES else None


def _rule_prefix(rule: dict[str, Any], where: str) -> str:
    filters = rule.get("filter") or [{}]
    [only] = filters if isinstance(filters, list) else [filters]
    unsupported = set(only) - {"prefix"}
    if unsupported:
        raise Unresolved(where, f"lifecycle filter {', '.join(sorted(unsupported))} is not read by the proof")
    return only.get("prefix") or ""
