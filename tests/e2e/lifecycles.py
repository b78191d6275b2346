"""The projects the end-to-end suite applies, each applied once per test process and shared by the tests that read it.

`example` (the embedded example project) is applied once for `test_apply.py` and `test_security_apply.py`: after
every layer applied (each after the layers it reads, see `LayerLifecycle`), the security review's reads and the
cross-account write happen on the same emulator, then every layer is planned (the plans must be empty), before the
layers are destroyed in reverse order. `pipelines` (another project name, account names and ids, region eu-west-1,
SSO settings; two source accounts and three tables into one lake, one table kept by a hand-written layer) is applied
the same way for `test_apply.py` and `test_apply_pipelines.py`.

Each is a session fixture (tests/e2e/conftest.py) and its tests one scenario (tests/e2e/scheduling.py), so under
pytest-xdist each project runs on one worker, beside the other scenarios on theirs, each with its own emulator.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import boto3

from tests.conftest import ProjectSpec, copy_example
from tests.e2e.harness import (Emulator, LayerLifecycle, LeverageProject, Listed, synthesize,
                               write_security_keys_layer)
from tests.e2e.toolchain import Toolchain

PROBE = "dynamodb_data/cdc_error/{source}/e2e_probe/record.json"  # the source's own error folder: it may write there

# The pipelines project: other names, ids and region than the example. core-prd streams two tables its generated
# table layer creates; legacy-prd streams one table a hand-written layer of its own keeps (read through remote state,
# like every other read). Both Firehoses deliver into lake-prd's raw bucket.
PIPELINES_SPEC = ProjectSpec(name="acme", region="eu-west-1", accounts={
    "core-prd": "210987654321", "legacy-prd": "456789012345", "lake-prd": "345678901234"})
PIPELINES_REGION = PIPELINES_SPEC.region
PIPELINES = [
    {"sourceAccount": "core-prd", "tables": [{"name": "orders", "partitionKey": "orderId:S", "sortKey": "at:N"},
                                             {"name": "customers", "partitionKey": "customerId:S"}]},
    {"sourceAccount": "legacy-prd", "alarmEmail": "data-oncall@example.com",
     "tables": [{"layer": "databases-legacy", "output": "users_table_name", "name": "users", "history": True}]},
]
PIPELINES_LAKE = "lake-prd"
LEGACY_LAYER = f"legacy-prd/{PIPELINES_REGION}/databases-legacy"
SSO_SETTINGS = 'sso_enabled = true\nsso_start_url = "https://acme.awsapps.com/start"\nsso_region = "eu-west-1"\n'


@dataclass
class Source:
    """A project on disk, synthesized, and the hand-written layers (beyond each account's `security-keys`) its
    layers read, written just before the first apply."""

    root: Path
    source_accounts: tuple[str, ...]
    lake_account: str
    region: str
    listed: Listed
    hand_written: tuple[Callable[[Path], str], ...] = ()


@dataclass
class Lifecycle(LayerLifecycle):
    """One project's run, with the emulator's view of each account after apply and after destroy."""

    source: Source | None = None
    seen: dict[str, Any] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # account name -> id
    inspected: dict[str, Any] = field(default_factory=dict)  # what `inspect` read, applied and before destroy

    @property
    def generated(self) -> list[str]:
        assert self.source is not None
        return self.source.listed.layers


Inspection = Callable[[LeverageProject, Lifecycle], dict[str, Any]]


def run_lifecycle(source: Source, toolchain: Toolchain, scratch: Path, inspect: Inspection | None = None) -> Lifecycle:
    """Bootstrap, apply every layer in order, observe, `inspect`, plan every layer, destroy in reverse."""
    lifecycle = Lifecycle(name=source.root.name, source=source)
    with Emulator.start() as emulator:
        project = LeverageProject(source.root, toolchain, emulator, scratch)
        lifecycle.log = project.log
        lifecycle.ids = {name: account.id for name, account in project.accounts.items()}
        try:
            project.bootstrap()
            own = [write_security_keys_layer(source.root, account, source.region)
                   for account in source.listed.security_keys_accounts]
            own += [write(source.root) for write in source.hand_written]
            lifecycle.layers = own + source.listed.layers
            lifecycle.reads = source.listed.reads
            lifecycle.apply_in_order(project)
            lifecycle.seen = observe(project, source)
            if inspect is not None:
                lifecycle.inspected = inspect(project, lifecycle)
            lifecycle.plan_every_layer(project)
            lifecycle.destroy_in_reverse(project)
            lifecycle.seen["after destroy"] = observe(project, source)
        except Exception as exc:  # recorded; the tests report it
            lifecycle.error = exc
    return lifecycle


def observe(project: LeverageProject, source: Source) -> dict[str, Any]:
    """Each account's resources as the emulator keeps them apart, through that account's own role."""
    seen: dict[str, Any] = {}
    for account in (*source.source_accounts, source.lake_account):
        backend = project.accounts[account]  # the state bucket and lock table are not the layers'
        seen[account] = {
            "buckets": sorted(bucket["Name"] for bucket in project.client(account, "s3").list_buckets()["Buckets"]
                              if bucket["Name"] != backend.bucket),
            "streams": project.client(account, "kinesis").list_streams()["StreamNames"],
            "delivery streams": project.client(account, "firehose").list_delivery_streams()["DeliveryStreamNames"],
            "roles": sorted(role["Arn"] for role in project.client(account, "iam").list_roles()["Roles"]),
            "tables": sorted(table for table in project.client(account, "dynamodb").list_tables()["TableNames"]
                             if table != backend.lock_table),
            "alarms": sorted(alarm["AlarmName"] for alarm in
                             project.client(account, "cloudwatch").describe_alarms()["MetricAlarms"]),
            "topics": [topic["TopicArn"] for topic in project.client(account, "sns").list_topics()["Topics"]],
        }
    lake = project.client(source.lake_account, "s3")
    raw = [name for name in seen[source.lake_account]["buckets"] if name.endswith("-raw-bucket")]
    if raw:
        seen["raw bucket policy"] = json.loads(lake.get_bucket_policy(Bucket=raw[0])["Policy"])
    return seen


def as_role(project: LeverageProject, account: str, role_arn: str, service: str) -> Any:
    """A client acting as `role_arn`, assumed from the account's own role (moto does not check trust policies)."""
    credentials = project.client(account, "sts").assume_role(
        RoleArn=role_arn, RoleSessionName="e2e-security")["Credentials"]
    return boto3.client(service, endpoint_url=project.emulator.endpoint, region_name=project.accounts[account].region,
                        aws_access_key_id=credentials["AccessKeyId"],
                        aws_secret_access_key=credentials["SecretAccessKey"],
                        aws_session_token=credentials["SessionToken"])


def inspect_security(project: LeverageProject, lifecycle: Lifecycle) -> dict[str, Any]:
    """The security review's fixes as AWS was told them, read with every layer applied; then, as Firehose
    writes, the source account's delivery role puts an object into the lake's raw bucket encrypted with the lake
    account's key (the plans that follow, `run_lifecycle`, must still be empty)."""
    assert lifecycle.source is not None
    [source], lake = lifecycle.source.source_accounts, lifecycle.source.lake_account
    layers = lifecycle.layers
    seen: dict[str, Any] = {}
    outputs = {layer.split("/")[-1]: lifecycle.outputs[layer] for layer in layers}
    lake_outputs, datalake_outputs = outputs["datalake-demo"], outputs["datalake"]
    key_arn = lake_outputs["s3_bucket_data_kms_key_arn"]
    raw = lake_outputs["s3_bucket_data_raw_arn"].split(":::")[1]
    lake_s3, lake_kms = project.client(lake, "s3"), project.client(lake, "kms")
    seen["key arn"] = key_arn
    seen["rotation"] = lake_kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"]
    seen["key policy"] = json.loads(lake_kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
    seen["encryption"] = lake_s3.get_bucket_encryption(Bucket=raw)["ServerSideEncryptionConfiguration"]["Rules"]
    seen["logging"] = lake_s3.get_bucket_logging(Bucket=raw).get("LoggingEnabled")
    seen["replication"] = lake_s3.get_bucket_replication(Bucket=raw)["ReplicationConfiguration"]["Rules"]
    seen["firehose role"] = datalake_outputs["kinesis_firehose_role_arn"]
    delivery = project.client(source, "firehose").describe_delivery_stream(
        DeliveryStreamName=datalake_outputs["kinesis_firehose_arn"].split("/")[-1])["DeliveryStreamDescription"]
    seen["delivery"] = delivery["Destinations"][0]["ExtendedS3DestinationDescription"]
    seen["delivery logs"] = project.client(source, "logs").describe_log_groups(
        logGroupNamePrefix="/aws/kinesisfirehose/")["logGroups"]
    glue = project.client(lake, "glue")
    crawler = glue.get_crawler(Name=next(iter(glue.get_crawlers()["Crawlers"]))["Name"])["Crawler"]
    seen["crawler"] = crawler
    seen["security configuration"] = glue.get_security_configuration(
        Name=crawler["CrawlerSecurityConfiguration"])["SecurityConfiguration"]
    seen["crawler logs"] = project.client(lake, "logs").describe_log_groups(
        logGroupNamePrefix="/aws-glue/crawlers-role/")["logGroups"]
    # Cross-account key use, as Firehose writes: its role in the source account puts an object into the lake's raw
    # bucket, encrypted with the lake account's key.
    firehose_s3 = as_role(project, source, seen["firehose role"], "s3")
    probe = PROBE.format(source=source)
    firehose_s3.put_object(Bucket=raw, Key=probe, Body=b'{"tableName": "probe"}',
                           ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
    seen["probe"] = lake_s3.head_object(Bucket=raw, Key=probe)
    return seen


def example_lifecycle(toolchain: Toolchain, tmp_path_factory: Any) -> Lifecycle:
    """The example project (synthesized here, in the main thread), applied, inspected, destroyed."""
    example = copy_example(tmp_path_factory.mktemp("e2e-example") / "example")
    source = Source(example, ("apps-devstg",), "data-science", "us-east-1", synthesize(example))
    return run_lifecycle(source, toolchain, tmp_path_factory.mktemp("e2e-example-aws"), inspect=inspect_security)


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


def write_legacy_table_layer(root: Path) -> str:
    """legacy-prd's own table layer (hand-written, not generated): one table and the output naming it. Its
    config.tf is that of legacy-prd's hand-written security-keys layer (written first), with its own state key."""
    folder = root / LEGACY_LAYER
    config = (root / f"legacy-prd/{PIPELINES_REGION}/security-keys/config.tf").read_text(encoding="utf-8")
    (folder / "config.tf").write_text(config.replace("legacy-prd/security-keys/", "legacy-prd/databases-legacy/"),
                                      encoding="utf-8")
    (folder / "main.tf").write_text(LEGACY_TABLE_TF, encoding="utf-8")
    (folder / "common-variables.tf").symlink_to("../../../config/common-variables.tf")
    return LEGACY_LAYER


def pipelines_lifecycle(toolchain: Toolchain, tmp_path_factory: Any) -> Lifecycle:
    """The pipelines project (other names, ids and region than the example, SSO settings), applied and destroyed."""
    root = PIPELINES_SPEC.write(tmp_path_factory.mktemp("e2e-pipelines") / "acme")
    with (root / "config" / "common.tfvars").open("a", encoding="utf-8") as common:  # what common-variables.tf needs
        common.write(SSO_SETTINGS)
    (root / LEGACY_LAYER).mkdir(parents=True)  # declared before synth: the read of its output is checked there
    (root / LEGACY_LAYER / "main.tf").write_text('output "users_table_name" {\n  value = ""\n}\n', encoding="utf-8")
    listed = synthesize(root, "-c", f"lakeAccount={PIPELINES_LAKE}", "-c", "pipelines=" + json.dumps(PIPELINES))
    source = Source(root, ("core-prd", "legacy-prd"), PIPELINES_LAKE, PIPELINES_REGION, listed,
                    hand_written=(write_legacy_table_layer,))
    return run_lifecycle(source, toolchain, tmp_path_factory.mktemp("e2e-pipelines-aws"))
