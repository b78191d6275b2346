"""Two source accounts, three tables, one lake, applied for real: every layer applies in `list` order (each after the
layers it reads, the others side by side) against moto with the real hashicorp/aws provider, plans again with no
change, and destroys in reverse order.

apps-devstg streams two tables its generated table layer creates; apps-prd streams one table a hand-written layer
of its own keeps (read through remote state, like every other read). Both Firehoses deliver into data-science's
raw bucket, whose policy grants each of their roles.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ProjectSpec
from tests.e2e.harness import Emulator, LayerLifecycle, LeverageProject, synthesize, write_security_keys_layer
from tests.e2e.toolchain import Toolchain

pytestmark = pytest.mark.e2e

ACCOUNTS = {"apps-devstg": "555555555555", "apps-prd": "666666666666", "data-science": "777777777777"}
SPEC = ProjectSpec(accounts=ACCOUNTS)
REGION = SPEC.region
PIPELINES = [
    {"sourceAccount": "apps-devstg", "tables": [{"name": "orders", "partitionKey": "orderId:S", "sortKey": "at:N"},
                                                {"name": "customers", "partitionKey": "customerId:S"}]},
    {"sourceAccount": "apps-prd", "alarmEmail": "data-oncall@example.com",
     "tables": [{"layer": "databases-legacy", "output": "users_table_name", "name": "users"}]},
]
SOURCES = ("apps-devstg", "apps-prd")
LAKE = "data-science"
LEGACY = f"apps-prd/{REGION}/databases-legacy"


def write_legacy_table_layer(root: Path) -> str:
    """apps-prd's own table layer (hand-written, not generated): one table and the output naming it. Its
    config.tf is that of apps-prd's hand-written security-keys layer (written first), with its own state key."""
    folder = root / LEGACY
    config = (root / f"apps-prd/{REGION}/security-keys/config.tf").read_text(encoding="utf-8")
    (folder / "config.tf").write_text(config.replace("apps-prd/security-keys/", "apps-prd/databases-legacy/"),
                                      encoding="utf-8")
    (folder / "main.tf").write_text(LEGACY_TABLE_TF, encoding="utf-8")
    (folder / "common-variables.tf").symlink_to("../../../config/common-variables.tf")
    return LEGACY


LEGACY_TABLE_TF = '''resource "aws_dynamodb_table" "users" {
  name         = "${var.project}-${var.environment}-users"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "userId"
  attribute {
    name = "userId"
    type = "S"
  }
}

output "users_table_name" {
  value = aws_dynamodb_table.users.name
}
'''


@dataclass
class Lifecycle(LayerLifecycle):
    generated: list[str] = field(default_factory=list)
    seen: dict[str, Any] = field(default_factory=dict)


def observe(project: LeverageProject) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for account in (*SOURCES, LAKE):
        backend = project.accounts[account]
        seen[account] = {
            "tables": sorted(table for table in project.client(account, "dynamodb").list_tables()["TableNames"]
                             if table != backend.lock_table),
            "streams": project.client(account, "kinesis").list_streams()["StreamNames"],
            "delivery streams": project.client(account, "firehose").list_delivery_streams()["DeliveryStreamNames"],
            "alarms": sorted(alarm["AlarmName"] for alarm in
                             project.client(account, "cloudwatch").describe_alarms()["MetricAlarms"]),
            "topics": [topic["TopicArn"] for topic in project.client(account, "sns").list_topics()["Topics"]],
        }
    raw = next(name for name in (bucket["Name"] for bucket in project.client(LAKE, "s3").list_buckets()["Buckets"])
               if name.endswith("-raw-bucket"))  # not its replica, listed in creation order
    seen["raw bucket policy"] = json.loads(project.client(LAKE, "s3").get_bucket_policy(Bucket=raw)["Policy"])
    return seen


@pytest.fixture(scope="module")
def lifecycle(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Lifecycle:
    root = SPEC.write(tmp_path_factory.mktemp("e2e-pipelines") / "bb")
    with (root / "config" / "common.tfvars").open("a", encoding="utf-8") as common:  # what common-variables.tf needs
        common.write('sso_enabled = true\nsso_start_url = "https://bb.awsapps.com/start"\nsso_region = "us-east-1"\n')
    (root / LEGACY).mkdir(parents=True)  # declared before synth: the read of its output is checked there
    (root / LEGACY / "main.tf").write_text('output "users_table_name" {\n  value = ""\n}\n', encoding="utf-8")
    listed = synthesize(root, "-c", "pipelines=" + json.dumps(PIPELINES))
    result = Lifecycle(generated=listed.layers)
    with Emulator.start() as emulator:
        project = LeverageProject(root, toolchain, emulator, tmp_path_factory.mktemp("e2e-pipelines-aws"))
        result.log = project.log
        try:
            project.bootstrap()
            own = [write_security_keys_layer(root, account, REGION) for account in listed.security_keys_accounts]
            result.layers = [*own, write_legacy_table_layer(root), *listed.layers]
            result.reads = listed.reads
            result.apply_in_order(project)
            result.seen = observe(project)
            result.destroy_in_reverse(project)
        except Exception as exc:  # recorded; the tests report it
            result.error = exc
    return result


def test_two_sources_and_three_tables_apply_in_list_order(lifecycle: Lifecycle) -> None:
    lifecycle.check()
    assert lifecycle.applied == lifecycle.layers
    assert sorted(lifecycle.generated) == sorted([f"apps-devstg/{REGION}/databases-dynamodb",
                                                  f"apps-devstg/{REGION}/datalake", f"apps-prd/{REGION}/datalake",
                                                  f"{LAKE}/{REGION}/datalake-demo", f"{LAKE}/{REGION}/lakehouse-demo",
                                                  f"{LAKE}/{REGION}/change-events-queue"])  # the example's own


def test_a_plan_after_every_apply_is_empty(lifecycle: Lifecycle) -> None:
    lifecycle.check()
    changed = {layer: plan.changes or plan.text[-3000:] for layer, plan in lifecycle.plans.items() if plan.code != 0}
    assert changed == {}


def test_every_table_streams_into_its_accounts_stream_and_both_roles_reach_the_lake(lifecycle: Lifecycle) -> None:
    lifecycle.check()
    seen = lifecycle.seen
    assert seen["apps-devstg"]["tables"] == ["bb-apps-devstg-customers", "bb-apps-devstg-orders"]
    assert seen["apps-prd"]["tables"] == ["bb-apps-prd-users"]
    for account in SOURCES:
        assert seen[account]["streams"] == [f"bb-{account}-ddb-lakehouse-stream"]
        assert seen[account]["delivery streams"] == [f"bb-{account}-ddb-lakehouse-firehose"]
    assert not seen[LAKE]["tables"] and not seen[LAKE]["streams"] and not seen[LAKE]["alarms"]
    roles = {lifecycle.outputs[f"{account}/{REGION}/datalake"]["kinesis_firehose_role_arn"] for account in SOURCES}
    granted = {statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]
               for statement in seen["raw bucket policy"]["Statement"] if statement["Effect"] == "Allow"}
    assert granted == roles
    names = lifecycle.outputs[f"apps-devstg/{REGION}/databases-dynamodb"]["dynamodb_table_names"]
    assert names == {"orders": "bb-apps-devstg-orders", "customers": "bb-apps-devstg-customers"}


def test_each_source_has_its_alarms_and_topic(lifecycle: Lifecycle) -> None:
    lifecycle.check()
    for account, tables in (("apps-devstg", ("orders", "customers")), ("apps-prd", ("users",))):
        alarms = lifecycle.seen[account]["alarms"]
        assert len(alarms) == 4 + 3 * len(tables)
        assert all(any(alarm.startswith(f"bb-{account}-{table}-cdc-") for alarm in alarms) for table in tables)
        topic = lifecycle.outputs[f"{account}/{REGION}/datalake"]["alarm_topic_arn"]
        assert lifecycle.seen[account]["topics"] == [topic]


def test_destroy_in_reverse_order_leaves_only_the_protected_tables(lifecycle: Lifecycle) -> None:
    lifecycle.check()
    assert list(lifecycle.destroyed) == list(reversed(lifecycle.layers))
    failed = [layer for layer, run in lifecycle.destroyed.items() if run.code != 0]
    tables = f"apps-devstg/{REGION}/databases-dynamodb"
    assert failed == [tables]  # deletion protection, on purpose
    assert "DeletionProtectionEnabled" in lifecycle.destroyed[tables].text
    left = {layer: addresses for layer, addresses in lifecycle.left.items() if addresses}
    assert list(left) == [tables] and set(left[tables]) <= {"aws_dynamodb_table.orders", "aws_dynamodb_table.customers"}
