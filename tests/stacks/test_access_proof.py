"""The access proof: every runtime request of every principal of the generated layers, evaluated as AWS evaluates it
(identity, resource and key policies, cross-account) by the IAM simulator, for the example and the end-to-end suite's
two multi-account projects (docs/access-proof.md).

The catalogue of requests is derived from each project's synthesized layers (stacks/access_paths/); the projects'
own `security-keys` layers are those the end-to-end suite applies. The simulator (npm @cloud-copilot/iam-simulate,
AGPL-3.0, test-only) is installed by `make access-simulator`, which `make test` and `make test-fast` run first.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from aws_constructs.access.expressions import Unresolved
from aws_constructs.access.layers import Layers, TerraformLayer
from aws_constructs.access.requests import ALLOWED, DENIED, AccessRequest, Outcome, failures, prove
from aws_constructs.access.simulator import SimulatorMissing, simulator_dir
from leverage.testing import load_layers
from stacks.access_paths import catalogue
from tests.conftest import app_main
from tests.e2e.harness import security_keys_files
from tests.e2e.lifecycles import LEGACY_LAYER, LEGACY_TABLE_TF, PIPELINES, PIPELINES_LAKE, PIPELINES_SPEC, SSO_SETTINGS

OUTSIDER = "999999999999"  # an account of no project here


def simulator_installed() -> bool:
    try:
        simulator_dir()
    except SimulatorMissing:
        return False
    return True


pytestmark = pytest.mark.skipif(not simulator_installed() and not os.environ.get("CI"),
                                reason="the IAM simulator is missing: `make access-simulator` installs it "
                                       "(under CI its absence fails the tests)")


def with_security_keys(root: Path, *accounts: str) -> Layers:
    """The project's layers, with each source account's security-keys layer as the end-to-end suite writes it."""
    folders = {}
    for account in accounts:
        regions = sorted({path.parent.name for path in (root / account).glob("*/*/main.tf.json")})
        for region in regions:
            folders[f"{account}/{region}/security-keys"] = security_keys_files(account)
    return load_layers(root, hand_written=folders)


@pytest.fixture(scope="module")
def example(synthesized_example: Path) -> Layers:
    return with_security_keys(synthesized_example, "apps-devstg")


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory: pytest.TempPathFactory) -> Layers:
    """The end-to-end suite's two-source project (tests/e2e/lifecycles.py: other names, ids and region than the
    example, SSO settings), with legacy-prd's hand-written table layer, synthesized here."""
    root = PIPELINES_SPEC.write(tmp_path_factory.mktemp("access-pipelines") / "acme")
    with (root / "config" / "common.tfvars").open("a", encoding="utf-8") as common:
        common.write(SSO_SETTINGS)
    (root / LEGACY_LAYER).mkdir(parents=True)
    (root / LEGACY_LAYER / "config.tf").write_text(
        'terraform {\n  backend "s3" {\n    key = "legacy-prd/databases-legacy/terraform.tfstate"\n  }\n}\n')
    (root / LEGACY_LAYER / "main.tf").write_text(LEGACY_TABLE_TF, encoding="utf-8")
    assert app_main.main(["synth", "-c", f"leverageRoot={root}", "-c", f"lakeAccount={PIPELINES_LAKE}",
                          "-c", "pipelines=" + json.dumps(PIPELINES)]) == 0
    return with_security_keys(root, "core-prd", "legacy-prd")


@pytest.fixture(scope="module")
def proven(request: pytest.FixtureRequest) -> Callable[[str], list[Outcome]]:
    """Each project's catalogue, proven once for the module's tests."""
    done: dict[str, list[Outcome]] = {}

    def outcomes(project: str) -> list[Outcome]:
        if project not in done:
            layers = request.getfixturevalue(project)
            done[project] = prove(layers, catalogue(layers, OUTSIDER))
        return done[project]

    return outcomes


# Every kind of principal the pipeline has, each with requests that must be allowed and requests that must not.
PRINCIPALS: dict[str, Callable[[AccessRequest], bool]] = {
    "Firehose": lambda r: r.principal.endswith("-firehose-role"),
    "crawler": lambda r: r.principal.endswith("-cdc-crawler-role"),
    "lakehouse job": lambda r: r.principal.endswith("-lakehouse-cdc-merge-role"),
    "source item-count role": lambda r: r.principal.endswith("-lakehouse-item-count-role"),
    "Athena reader": lambda r: r.principal.endswith("reader_policy-holder"),
    "S3 replication": lambda r: r.principal.endswith("-replication-role"),
    "CloudWatch Logs": lambda r: r.principal.startswith("logs."),
    "CloudWatch alarms": lambda r: r.principal == "cloudwatch.amazonaws.com",
    "EventBridge": lambda r: r.principal == "events.amazonaws.com",
    "S3 log delivery": lambda r: r.principal == "logging.s3.amazonaws.com",
    "anonymous": lambda r: r.principal == "anonymous",
    "another account": lambda r: f":{OUTSIDER}:" in r.principal,
}


@pytest.mark.parametrize("project", ["example", "pipelines"])
def test_every_access_path_is_decided_as_aws_must_decide_it(proven: Callable[[str], list[Outcome]],
                                                            project: str) -> None:
    outcomes = proven(project)
    assert failures(outcomes) == []
    requests = [outcome.request for outcome in outcomes]
    for kind, matches in PRINCIPALS.items():
        expected = {r.expect for r in requests if matches(r)}
        if kind in ("anonymous", "another account"):
            assert expected == {DENIED}, kind
        else:
            assert expected == {ALLOWED, DENIED}, kind
    # DynamoDB's streaming into Kinesis, with the stream's key of the project's security-keys layer.
    assert any("kinesisreplication.dynamodb" in r.principal and r.action == "kms:GenerateDataKey" for r in requests)


def test_one_source_can_neither_write_nor_read_another_sources_tables(proven: Callable[[str], list[Outcome]]) -> None:
    outcomes = proven("pipelines")
    assert failures(outcomes) == []
    requests = [outcome.request for outcome in outcomes]
    crossing = [r for r in requests if r.principal.startswith("arn:aws:iam::210987654321:role/")
                and r.expect == DENIED and "/dynamodb_data/acme-legacy-prd-users/cdc_data/" in r.resource]
    assert {r.action for r in crossing} == {"s3:PutObject", "s3:GetObject"}
    errors = [r for r in requests if r.principal.startswith("arn:aws:iam::456789012345:role/")
              and r.expect == DENIED and "/dynamodb_data/cdc_error/core-prd/" in r.resource]
    assert [r.action for r in errors] == ["s3:PutObject"]


# The review's findings, each a request the generated layers answered wrongly before they were fixed.
FINDINGS: dict[str, Callable[[AccessRequest], bool]] = {
    "1 the crawler decrypts the raw records": lambda r: r.principal.endswith("-cdc-crawler-role")
    and r.action == "kms:Decrypt" and r.expect == ALLOWED,
    "2 the job reads changes two years old": lambda r: r.object_age_days == 730 and "raw-bucket/" in r.resource,
    "2 the job merges into data files two years old": lambda r: r.object_age_days == 730 and "processed" in r.resource,
    "3 the job probes a folder as a file": lambda r: r.action == "s3:GetObject" and r.resource.endswith("/cdc_data"),
    "3 the job is told that key is missing": lambda r: r.action == "s3:ListBucket" and "cdc-merge" in r.principal
    and "s3:prefix" not in r.context and r.expect == ALLOWED,
    "4 CloudWatch Logs uses the keys without aws:SourceAccount": lambda r: r.principal.startswith("logs.")
    and r.expect == ALLOWED and "aws:SourceAccount" not in r.context,
    "5 the job's role writes its encrypted logs": lambda r: "cdc-merge" in r.principal
    and r.context.get("kms:ViaService", "").startswith("logs."),
    "6 a source writes a table it does not stream": lambda r: r.principal.endswith("-firehose-role")
    and r.action == "s3:PutObject" and r.expect == DENIED and "table-no-source-streams" in r.resource,
    "7 a reader lists the databases": lambda r: r.action == "glue:GetDatabases" and r.expect == ALLOWED,
    "8 the crawler is told a key is missing": lambda r: r.principal.endswith("-cdc-crawler-role")
    and r.action == "s3:ListBucket" and "s3:prefix" not in r.context and r.expect == ALLOWED,
}


def test_each_finding_of_the_review_is_a_request_of_the_catalogue(example: Layers) -> None:
    requests = catalogue(example, OUTSIDER)
    assert {finding: sum(map(matches, requests)) > 0 for finding, matches in FINDINGS.items()} == \
        {finding: True for finding in FINDINGS}


def without_statement(layers: Layers, layer_name: str, document: str, sid: str) -> Layers:
    """The same layers, one statement removed from one policy document of one layer."""
    changed = []
    for layer in layers:
        if layer.name == layer_name:
            config = copy.deepcopy(layer.config)
            statements = config["data"]["aws_iam_policy_document"][document]["statement"]
            assert any(statement.get("sid") == sid for statement in statements)
            config["data"]["aws_iam_policy_document"][document]["statement"] = [
                statement for statement in statements if statement.get("sid") != sid]
            layer = dataclasses.replace(layer, config=config)
        changed.append(layer)
    return Layers(changed)


def test_a_grant_missing_one_half_is_denied(example: Layers) -> None:
    """The proof sees what the emulator cannot: without the role's own statement, the key policy's delegation to IAM
    grants nothing; without the bucket's, the source account's role cannot write across accounts."""
    lake = "data-science/us-east-1/datalake-demo"
    crawler = [r for r in catalogue(example, OUTSIDER) if FINDINGS["1 the crawler decrypts the raw records"](r)]
    firehose = [r for r in catalogue(example, OUTSIDER) if r.principal.endswith("-firehose-role")
                and r.action == "s3:PutObject" and r.expect == ALLOWED and "/cdc_data/" in r.resource
                and r.context.get("s3:x-amz-server-side-encryption")]
    assert crawler and firehose
    assert [o.decision for o in prove(example, crawler + firehose)] == [ALLOWED] * (len(crawler) + len(firehose))
    no_iam_half = without_statement(example, lake, "cdc_crawler_role_policy", "CrawlerReadsBucket")
    assert {o.decision for o in prove(no_iam_half, crawler)} == {DENIED}
    no_bucket_half = without_statement(example, lake, "raw_bucket_policy_document", "FirehoseDeliveryObjectsNamingTheKey")
    assert {o.decision for o in prove(no_bucket_half, firehose)} == {DENIED}


def test_the_job_assumes_the_item_count_role_only_with_both_halves(example: Layers) -> None:
    """Across accounts: the job role's own statement and the source role's trust, which pins the job role's ARN."""
    assuming = [r for r in catalogue(example, OUTSIDER) if r.action == "sts:AssumeRole" and r.expect == ALLOWED]
    assert len(assuming) == 1 and assuming[0].principal.endswith("-lakehouse-cdc-merge-role")
    assert [o.decision for o in prove(example, assuming)] == [ALLOWED]
    no_principal_half = without_statement(example, "data-science/us-east-1/lakehouse-demo",
                                          "cdc_merge_job_role_policy", "ReadSourceItemCounts")
    no_trust = without_statement(example, "apps-devstg/us-east-1/datalake", "item_count_role_trust", "AssumedByOneRole")
    assert [o.decision for o in prove(no_principal_half, assuming) + prove(no_trust, assuming)] == [DENIED, DENIED]
    publishing = [r for r in catalogue(example, OUTSIDER) if r.action == "cloudwatch:PutMetricData"]
    assert {r.expect for r in publishing} == {ALLOWED, DENIED}
    no_metrics = without_statement(example, "data-science/us-east-1/lakehouse-demo", "cdc_merge_job_role_policy",
                                   "PublishJobMetrics")
    assert {o.decision for o in prove(no_metrics, publishing)} == {DENIED}


def test_a_value_the_layers_do_not_determine_fails_with_its_expression(synthesized_example: Path) -> None:
    """Without the project's security-keys layer the stream's key is unknown: the proof names the expression and the
    state it reads, and guesses nothing."""
    with pytest.raises(Unresolved) as raised:
        catalogue(load_layers(synthesized_example), OUTSIDER)
    assert raised.value.expression == "data.terraform_remote_state.security_keys.outputs.aws_kms_key_arn"
    assert "apps-devstg/security-keys/terraform.tfstate" in raised.value.reason


def test_a_request_with_a_context_key_aws_does_not_send_for_the_action_is_refused(example: Layers) -> None:
    raw = "arn:aws:s3:::bb-data-science-data-lake-demo-data-raw-bucket"
    wrong = AccessRequest("a listing key on an object read", "logging.s3.amazonaws.com", "s3:GetObject", f"{raw}/a",
                          DENIED, "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html",
                          context={"s3:prefix": "a"})
    with pytest.raises(Unresolved, match="AWS does not send s3:prefix with s3:GetObject"):
        prove(example, [wrong])


def test_layers_of_another_shape_are_refused_not_guessed(example: Layers) -> None:
    """A lifecycle filtered by tag, say, is not read: the proof stops rather than decide without it."""
    lake = "data-science/us-east-1/datalake-demo"
    changed = []
    for layer in example:
        if layer.name == lake:
            config = copy.deepcopy(layer.config)
            config["resource"]["aws_s3_bucket_lifecycle_configuration"]["raw_bucket"]["rule"][0]["filter"] = [
                {"tag": {"key": "k", "value": "v"}}]
            layer = TerraformLayer(layer.name, layer.account_id, config, layer.variables, layer.reads)
        changed.append(layer)
    aged = [r for r in catalogue(example, OUTSIDER) if r.object_age_days and "raw-bucket/" in r.resource]
    with pytest.raises(Unresolved, match="lifecycle filter tag is not read"):
        prove(Layers(changed), aged)


def test_the_job_may_drop_only_the_histories_it_keeps(proven: Callable[[str], list[Outcome]]) -> None:
    """A replaced DynamoDB table's history is copied, then dropped (Iceberg's DROP is Glue's DeleteTable): allowed
    for the table that keeps a history, denied for the others and for every live table."""
    outcomes = proven("pipelines")
    assert failures(outcomes) == []
    drops = {(r.resource.rsplit("/", 1)[-1], r.expect) for r in (o.request for o in outcomes)
             if r.action == "glue:DeleteTable" and ":table/" in r.resource}
    assert ("acme_legacy_prd_users__history", ALLOWED) in drops
    assert {table for table, expect in drops if expect == ALLOWED} == {"acme_legacy_prd_users__history"}
