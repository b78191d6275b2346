"""Service roles and policy statements: least privilege by construction."""
from __future__ import annotations

import pytest

from aws_constructs.errors import ConstructPropsError
from aws_constructs.iam import PolicyStatement
from bindings import Testing as CdktfTesting
from tests.aws_constructs.support import (ACCOUNT, BUCKET, REGION, inline_policy_of, new_stack, policy_statements, role, role_named, synth)


# --- IAM: service roles and policy statements --------------------------------------------------------------------

def test_service_role_trusts_only_its_service_with_the_external_id():
    stack = new_stack()
    role(stack, external_id=ACCOUNT).add_to_principal_policy(
        PolicyStatement(sid="ReadObjects", actions=("s3:GetObject",), resources=(f"{BUCKET.arn}/raw/*",)))
    synthesized = synth(stack)
    _, iam_role = role_named(synthesized, "bb-apps-devstg-consumer-role")
    assert policy_statements(synthesized, iam_role["assume_role_policy"]) == [{
        "sid": "AssumedByService",
        "effect": "Allow",
        "actions": ["sts:AssumeRole"],
        "principals": [{"type": "Service", "identifiers": ["firehose.amazonaws.com"]}],
        "condition": [{"test": "StringEquals", "variable": "sts:ExternalId", "values": [ACCOUNT]}],
    }]


def test_service_role_without_external_id_has_no_trust_condition():
    stack = new_stack()
    role(stack, service="glue.amazonaws.com").add_to_principal_policy(
        PolicyStatement(sid="ReadObjects", actions=("s3:GetObject",), resources=(f"{BUCKET.arn}/raw/*",)))
    synthesized = synth(stack)
    _, iam_role = role_named(synthesized, "bb-apps-devstg-consumer-role")
    [trust] = policy_statements(synthesized, iam_role["assume_role_policy"])
    assert trust["principals"] == [{"type": "Service", "identifiers": ["glue.amazonaws.com"]}]
    assert "condition" not in trust


def test_service_role_rejects_a_name_over_64_characters():
    with pytest.raises(ConstructPropsError, match=r"IAM role name .* has 65 characters, AWS allows 1 to 64; shorten"):
        role(new_stack(), name="r" * 65)


def test_service_role_inline_policy_holds_exactly_the_granted_statements():
    stack = new_stack()
    granted = [
        PolicyStatement(sid="ReadObjects", actions=("s3:GetObject",), resources=(f"{BUCKET.arn}/raw/*",)),
        PolicyStatement(sid="ListBucket", actions=("s3:ListBucket",), resources=(BUCKET.arn,)),
    ]
    service_role = role(stack)
    for statement in granted:
        service_role.add_to_principal_policy(statement)
    synthesized = synth(stack)
    assert inline_policy_of(synthesized, "bb-apps-devstg-consumer-role") == [
        {"sid": "ReadObjects", "effect": "Allow", "actions": ["s3:GetObject"], "resources": [f"{BUCKET.arn}/raw/*"]},
        {"sid": "ListBucket", "effect": "Allow", "actions": ["s3:ListBucket"], "resources": [BUCKET.arn]},
    ]


def test_service_role_with_no_grants_fails_at_synth():
    stack = new_stack()
    role(stack)
    # The ConstructPropsError is raised in a Lazy producer, so it comes back through jsii as a RuntimeError.
    with pytest.raises(RuntimeError, match="test/Role/Policy has an empty policy; grant it something or remove it"):
        CdktfTesting.synth(stack)


@pytest.mark.parametrize("actions, resources, message", [
    (("s3:*",), (f"{BUCKET.arn}/raw/*",), r"wildcard action 's3:\*'"),
    (("s3:GetObject",), ("*",), r"wildcard resource '\*'"),
    (("s3:GetObject",), ("arn:aws:s3:::*",), r"wildcard resource 'arn:aws:s3:::\*'"),
    (("iam:PassRole",), (f"arn:aws:iam::{ACCOUNT}:role/*",), r"wildcard resource .*role/\*"),
    (("kms:Decrypt",), (f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*",), r"wildcard resource .*key/\*"),
    (("s3:Get?bject",), (f"{BUCKET.arn}/raw/*",), r"wildcard action 's3:Get\?bject'"),
], ids=["action-s3-star", "resource-star", "resource-every-bucket", "every-role", "every-key", "action-question"])
def test_allow_statement_rejects_wildcards(actions, resources, message):
    with pytest.raises(ConstructPropsError, match=message):
        PolicyStatement(sid="TooBroad", actions=actions, resources=resources)


def test_allow_statement_accepts_a_wildcard_below_a_named_prefix_and_deny_may_use_wildcards():
    allowed = PolicyStatement(sid="Objects", actions=("s3:PutObject",), resources=(f"{BUCKET.arn}/prefix/*",))
    assert allowed.resources == (f"{BUCKET.arn}/prefix/*",)
    deny = PolicyStatement(sid="DenyAll", effect="Deny", actions=("s3:*",), resources=(BUCKET.arn, f"{BUCKET.arn}/*"))
    assert deny.actions == ("s3:*",)

# --- IAM statements: what an Allow may name ----------------------------------------------------------------------

@pytest.mark.parametrize("resource", [
    f"{BUCKET.arn}/*", f"{BUCKET.arn}/raw/*", BUCKET.arn, "${aws_s3_bucket.raw.arn}/*",
    f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/glue:*", f"arn:aws:glue:{REGION}:{ACCOUNT}:table/lake/*",
    f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders/stream/*",
], ids=["bucket-objects", "prefix-objects", "bucket", "reference-path", "log-group-streams", "tables-of-db",
        "table-streams"])
def test_allow_accepts_a_trailing_wildcard_below_one_named_resource(resource):
    assert PolicyStatement(sid="Named", actions=("s3:GetObject",), resources=(resource,)).resources == (resource,)


@pytest.mark.parametrize("resource", [
    f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/*", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*",
    f"{BUCKET.arn}/*/raw", f"{BUCKET.arn}/raw*", "${aws_s3_bucket.raw.arn}*", "raw/*", "arn:aws:s3/*",
    f"{BUCKET.arn}/ra?",
], ids=["every-table", "every-log-group", "wildcard-mid-path", "partial-name", "reference-partial",
        "not-an-arn", "short-arn", "question-mark"])
def test_allow_refuses_any_other_wildcard_resource(resource):
    with pytest.raises(ConstructPropsError, match=r"allows wildcard resource"):
        PolicyStatement(sid="Broad", actions=("s3:GetObject",), resources=(resource,))


@pytest.mark.parametrize("props, message", [
    ({"actions": ()}, r"policy statement 'Sid' needs at least one action and one resource"),
    ({"resources": ()}, r"policy statement 'Sid' needs at least one action and one resource"),
    ({"effect": "allow"}, r"policy statement 'Sid': effect must be 'Allow' or 'Deny'"),
    ({"sid": "Read-Objects"}, r"policy statement id 'Read-Objects' must be letters and digits only"),
    ({"sid": ""}, r"policy statement id '' must be letters and digits only"),
], ids=["no-actions", "no-resources", "lowercase-effect", "sid-dash", "sid-empty"])
def test_policy_statement_refuses_malformed_statements(props, message):
    with pytest.raises(ConstructPropsError, match=message):
        PolicyStatement(**{"sid": "Sid", "actions": ("s3:GetObject",), "resources": (f"{BUCKET.arn}/*",), **props})


def test_repeated_grants_get_numbered_statement_ids():
    stack = new_stack()
    consumer = role(stack)
    for _ in range(3):
        consumer.add_to_principal_policy(
            PolicyStatement(sid="Read", actions=("s3:GetObject",), resources=(f"{BUCKET.arn}/*",)))
    consumer.add_to_principal_policy(
        PolicyStatement(sid="Read2", actions=("s3:ListBucket",), resources=(BUCKET.arn,)))
    sids = [statement["sid"] for statement in inline_policy_of(synth(stack), "bb-apps-devstg-consumer-role")]
    assert sids == ["Read", "Read2", "Read3", "Read22"]


# --- Actions that name no resource: "*" with their scoping condition only ----------------------------------------

def test_put_metric_data_on_any_resource_needs_its_namespace_pinned():
    """PutMetricData names no resource: IAM authorizes it on "*" alone, and `cloudwatch:namespace` is the scope."""
    from aws_constructs.iam import Condition

    pinned = Condition("StringEquals", "cloudwatch:namespace", ("Lakehouse/db",))
    PolicyStatement(sid="Publish", actions=("cloudwatch:PutMetricData",), resources=("*",), conditions=(pinned,))
    for conditions in ((), (Condition("StringLike", "cloudwatch:namespace", ("*",)),),
                       (Condition("StringEquals", "aws:SourceAccount", ("1",)),)):
        with pytest.raises(ConstructPropsError, match="wildcard resource"):
            PolicyStatement(sid="Publish", actions=("cloudwatch:PutMetricData",), resources=("*",),
                            conditions=conditions)
    with pytest.raises(ConstructPropsError, match="wildcard resource"):  # an action that has resources: never "*"
        PolicyStatement(sid="Publish", actions=("cloudwatch:PutMetricData", "s3:GetObject"), resources=("*",),
                        conditions=(pinned,))


def test_grant_put_metric_data_writes_the_namespace_condition():
    from aws_constructs.alarms import grant_put_metric_data

    stack = new_stack()
    consumer = role(stack, service="glue.amazonaws.com")
    grant_put_metric_data(consumer, "PublishMetrics", "Lakehouse/db")
    [statement] = inline_policy_of(synth(stack), "bb-apps-devstg-consumer-role")
    assert statement == {"sid": "PublishMetrics", "effect": "Allow", "actions": ["cloudwatch:PutMetricData"],
                         "resources": ["*"], "condition": [{"test": "StringEquals", "variable": "cloudwatch:namespace",
                                                             "values": ["Lakehouse/db"]}]}
    with pytest.raises(ConstructPropsError, match="custom one"):
        grant_put_metric_data(consumer, "PublishMetrics", "AWS/Glue")


def test_a_cross_account_role_trusts_the_other_accounts_root_with_the_principal_pinned():
    from aws_constructs.iam import CrossAccountRole, CrossAccountRoleProps, grant_assume

    stack = new_stack()
    job_role = "arn:aws:iam::777777777777:role/bb-data-science-lakehouse-cdc-merge-role"
    counts = CrossAccountRole(stack, "Counts", CrossAccountRoleProps(
        name="bb-apps-devstg-counts", trusted_account="777777777777", principal_arn=job_role))
    counts.add_to_principal_policy(PolicyStatement(sid="Describe", actions=("dynamodb:DescribeTable",),
                                                   resources=(f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t",)))
    consumer = role(stack, service="glue.amazonaws.com")
    grant_assume(consumer, "AssumeCounts", (counts.arn,))
    synthesized = synth(stack)
    _, iam_role = role_named(synthesized, "bb-apps-devstg-counts")
    assert policy_statements(synthesized, iam_role["assume_role_policy"]) == [{
        "sid": "AssumedByOneRole", "effect": "Allow", "actions": ["sts:AssumeRole"],
        "principals": [{"type": "AWS", "identifiers": ["arn:aws:iam::777777777777:root"]}],
        "condition": [{"test": "ArnEquals", "variable": "aws:PrincipalArn", "values": [job_role]}]}]
    assert inline_policy_of(synthesized, "bb-apps-devstg-consumer-role") == [{
        "sid": "AssumeCounts", "effect": "Allow", "actions": ["sts:AssumeRole"],
        "resources": ["${aws_iam_role.counts.arn}"]}]
    with pytest.raises(ConstructPropsError, match="12-digit account id"):
        CrossAccountRole(stack, "Bad", CrossAccountRoleProps(name="bad", trusted_account="data-science",
                                                             principal_arn=job_role))
