"""The scanners security reviewers run, on every generated layer of the example and of a second project.

checkov and parliament live in .venv-scan (requirements-scan.txt, built by the Makefile): checkov's
bc-python-hcl2 installs a module named `hcl2` over python-hcl2 7.3.1, which the app and these tests use to read
config.tf as the Leverage CLI does. So both run as subprocesses of that venv.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import REPO, ProjectSpec, app_main
from tests.layers import layer_folders, main_json

SCAN_VENV = REPO / ".venv-scan" / "bin"
CHECKOV_CONFIG = REPO / ".checkov.yaml"
# Each exception of .checkov.yaml and the only resources it may hide.
EXCEPTIONS = {
    "CKV_AWS_145": {"aws_s3_bucket.access_log_bucket", "aws_s3_bucket.access_log_bucket_replica"},
}

pytestmark = [pytest.mark.scan, pytest.mark.skipif(
    not (SCAN_VENV / "checkov").exists() and not os.environ.get("CI"),
    reason=".venv-scan is missing: `make test` builds it (under CI its absence fails the tests)")]


@pytest.fixture(scope="session")
def second_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Other names, accounts and region than the example, one account for both sides."""
    root = ProjectSpec(name="acme", region="eu-west-1", accounts={"prod": "210987654321", "lake": "123456789012"}
                       ).write(tmp_path_factory.mktemp("second") / "acme")
    assert app_main.main(["synth", "-c", f"leverageRoot={root}", "-c", "sourceAccount=prod",
                          "-c", "lakeAccount=lake"]) == 0
    return root


@pytest.fixture(scope="session")
def scan_copy(synthesized_example: Path, second_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every layer of both projects as checkov reads a folder, `common-variables.tf` link followed."""
    target = tmp_path_factory.mktemp("scan")
    for project in (synthesized_example, second_project):
        folders = layer_folders(project)
        assert len(folders) == 5  # the pipeline's three, the lakehouse, the example's own queue layer
        for folder in folders:
            copy = target / project.name / folder.relative_to(project)
            shutil.copytree(folder, copy, symlinks=False)
            if folder.name not in ("lakehouse-demo", "change-events-queue"):  # new layers: nothing moved
                assert (copy / "addresses.tf").is_file()  # the moved blocks, which checkov must parse too
    return target


def run_checkov(folder: Path, *arguments: str) -> list[dict[str, Any]]:
    # Run from a folder without a .checkov.yaml: checkov would read one from its working directory.
    result = subprocess.run([str(SCAN_VENV / "checkov"), "-d", str(folder), "-o", "json", "--compact", *arguments],
                            capture_output=True, text=True, cwd=folder, timeout=600,
                            env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "ERROR"})
    assert result.returncode in (0, 1), result.stderr[-3000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert {report["check_type"] for report in reports} == {"terraform", "terraform_json"}, result.stdout[:2000]
    for report in reports:
        assert report["summary"]["parsing_errors"] == 0, f"{report['check_type']}: checkov could not parse a file"
        assert report["summary"]["passed"] > 0
    return reports


def failures(reports: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(check["check_id"], check["resource"], check["file_path"])
            for report in reports for check in report["results"]["failed_checks"]}


def test_checkov_with_the_repository_config_finds_nothing(scan_copy: Path) -> None:
    reports = run_checkov(scan_copy, "--config-file", str(CHECKOV_CONFIG))
    assert failures(reports) == set()
    assert sum(report["summary"]["passed"] for report in reports) > 300  # both projects were scanned


def test_each_checkov_exception_hides_only_the_resource_it_names(scan_copy: Path) -> None:
    text = CHECKOV_CONFIG.read_text()
    skipped = re.findall(r"^\s*- (CKV\w+)\s*$", text, flags=re.M)
    assert sorted(skipped) == sorted(EXCEPTIONS) and len(skipped) <= 3
    for check in skipped:  # each with its reason, in the comment just above it
        assert re.search(rf"#[^\n]*{check}[^\n]*\n(\s*#[^\n]*\n)*\s*- {check}", text), f"{check} has no reason"
    reports = run_checkov(scan_copy, "--framework", "terraform", "terraform_json", "--skip-download")
    found = failures(reports)
    lake_layers = {path for _, _, path in found}
    assert {(check, resource) for check, resource, _ in found} == {
        (check, resource) for check, resources in EXCEPTIONS.items() for resource in resources}
    # The access-log buckets of the lake and of the lakehouse, in both projects.
    assert len(lake_layers) == 4 and all(path.endswith(("/datalake-demo/main.tf.json", "/lakehouse-demo/main.tf.json"))
                                         for path in lake_layers)


# --- parliament: every policy the layers declare, as the AWS provider renders it ---------------------------

PLACEHOLDER_KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"

# Resource type -> the ARN AWS would give it, from the names the layer declares.
ARN_FORMATS = {
    "aws_s3_bucket": "arn:aws:s3:::{bucket}",
    "aws_iam_role": "arn:aws:iam::{account}:role/{name}",
    "aws_kms_key": "arn:aws:kms:{region}:{account}:key/{key_id}",
    "aws_kinesis_stream": "arn:aws:kinesis:{region}:{account}:stream/{name}",
    "aws_sns_topic": "arn:aws:sns:{region}:{account}:{name}",
    "aws_athena_workgroup": "arn:aws:athena:{region}:{account}:workgroup/{name}",
    "aws_cloudwatch_event_rule": "arn:aws:events:{region}:{account}:rule/{name}",
}

class PolicyRenderer:
    """Renders the layer's policy documents to IAM JSON, references resolved to placeholder ARNs of their shape.

    parliament lints identity policies. Resource policies are linted with the resource they are attached to
    made explicit, which is what they mean: a trust policy's statements apply to its role (IAM forbids a
    Resource element there), a key policy's `"*"` is "this key".
    """

    def __init__(self, folder: Path, account_id: str, region: str) -> None:
        self.layer = main_json(folder)
        self.resources = self.layer.get("resource", {})
        self.account_id, self.region = account_id, region

    def arn_of(self, kind: str, name: str) -> str:
        body = self.resources[kind][name]
        account, region = self.account_id, self.region
        if kind in ARN_FORMATS:
            return ARN_FORMATS[kind].format(account=account, region=region, name=body.get("name"),
                                            bucket=body.get("bucket"), key_id=PLACEHOLDER_KEY_ID)
        if kind == "aws_cloudwatch_log_stream":
            group = self.resolve(body["log_group_name"])
            return f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{body['name']}"
        raise AssertionError(f"no placeholder ARN for {kind}.{name}; add one")

    def resolve(self, value: str) -> str:
        def replace(match: re.Match[str]) -> str:
            reference = match.group(1)
            parts = reference.split(".")
            if parts[0] == "data" and parts[1] == "terraform_remote_state":
                output = parts[4]
                if output.endswith("kms_key_arn"):
                    return f"arn:aws:kms:{self.region}:{self.account_id}:key/{PLACEHOLDER_KEY_ID}"
                if output.startswith("s3_bucket_") and output.endswith("_arn"):
                    return "arn:aws:s3:::placeholder-lake-bucket"
                if output.endswith(("table_name", "table_names")):  # a DynamoDB table's name (or a map of them)
                    return "placeholder-table"
                raise AssertionError(f"no placeholder for remote-state output {output}; add one")
            kind, name, attribute = parts
            if attribute in ("name", "bucket"):
                return self.resolve(self.resources[kind][name][attribute])
            assert attribute == "arn", reference
            return self.arn_of(kind, name)
        return re.sub(r"\$\{([^}]+)\}", replace, value)

    def documents(self) -> Iterator[tuple[str, dict[str, Any]]]:
        trusted_roles = {re.search(r"policy_document\.(\w+)\.json", role["assume_role_policy"]).group(1):
                         self.arn_of("aws_iam_role", name) for name, role in self.resources.get("aws_iam_role", {}).items()}
        for name, document in self.layer.get("data", {}).get("aws_iam_policy_document", {}).items():
            statements = [self.statement(raw, trusted_roles.get(name)) for raw in document["statement"]]
            yield f"data.aws_iam_policy_document.{name}", {"Version": "2012-10-17", "Statement": statements}
        for name, key in self.resources.get("aws_kms_key", {}).items():
            policy = json.loads(self.resolve(key["policy"]))
            for statement in policy["Statement"]:
                assert statement["Resource"] == "*"
                statement["Resource"] = self.arn_of("aws_kms_key", name)
            yield f"aws_kms_key.{name}", policy

    def statement(self, raw: dict[str, Any], trusted_role: str | None) -> dict[str, Any]:
        """One `statement` block as the provider renders it: IAM's element names, one value as a string."""
        def values(items: list[str]) -> str | list[str]:
            resolved = [self.resolve(item) for item in items]
            return resolved[0] if len(resolved) == 1 else resolved

        rendered: dict[str, Any] = {"Sid": raw["sid"], "Effect": raw.get("effect", "Allow")}
        if raw.get("principals") == [{"type": "*", "identifiers": ["*"]}]:
            rendered["Principal"] = "*"  # the provider's rendering of "anyone"
        elif raw.get("principals"):
            rendered["Principal"] = {p["type"]: values(p["identifiers"]) for p in raw["principals"]}
        rendered["Action"] = values(raw["actions"])
        if trusted_role:
            assert "resources" not in raw
            rendered["Resource"] = trusted_role
        else:
            rendered["Resource"] = values(raw["resources"])
        conditions: dict[str, dict[str, str | list[str]]] = {}
        for condition in raw.get("condition", []):
            conditions.setdefault(condition["test"], {})[condition["variable"]] = values(condition["values"])
        if conditions:
            rendered["Condition"] = conditions
        return rendered


PARLIAMENT = """
import json, sys
import parliament
findings = {}
for name, policy in json.load(sys.stdin).items():
    # parliament's own auditors, as its command line runs by default.
    result = parliament.analyze_policy_string(json.dumps(policy))
    findings[name] = [f"{f.issue}: {f.detail} at {f.location}" for f in result.findings]
print(json.dumps(findings))
"""


def account_ids(project: Path) -> dict[str, str]:
    import hcl2  # python-hcl2, as the app reads tfvars

    accounts = hcl2.loads((project / "config" / "common.tfvars").read_text())["accounts"]
    return {name: entry["id"] for name, entry in accounts.items()}


def test_parliament_finds_nothing_in_any_policy(synthesized_example: Path, second_project: Path) -> None:
    policies: dict[str, Any] = {}
    for project in (synthesized_example, second_project):
        ids = account_ids(project)
        for folder in layer_folders(project):
            account, region = folder.relative_to(project).parts[:2]
            for name, policy in PolicyRenderer(folder, ids[account], region).documents():
                policies[f"{folder.relative_to(project.parent)}: {name}"] = policy
    # Trust and inline policies of the Firehose and crawler roles, three bucket policies, two key policies.
    assert len([name for name in policies if "example/" in name]) >= 9
    result = subprocess.run([str(SCAN_VENV / "python"), "-c", PARLIAMENT], input=json.dumps(policies),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    findings = {name: found for name, found in json.loads(result.stdout).items() if found}
    assert findings == {}
