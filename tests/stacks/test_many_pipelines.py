"""Many tables, many source accounts, one lake (issue 10): layers planned from the `pipelines` setting."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ProjectSpec, app_main, run_cli
from tests.layers import backend_key, layer_folders, load_config_dir, main_json, remote_states

ACCOUNTS = {"apps-devstg": "555555555555", "apps-prd": "666666666666", "data-science": "777777777777"}
SPEC = ProjectSpec(accounts=ACCOUNTS)
# Two source accounts, three tables: two generated in apps-devstg, one apps-prd keeps in a hand-written layer.
PIPELINES = [
    {"sourceAccount": "apps-devstg", "tables": [{"name": "orders", "partitionKey": "orderId:S", "sortKey": "at:N"},
                                                {"name": "customers", "partitionKey": "customerId:S"}]},
    {"sourceAccount": "apps-prd", "alarmEmail": "data-oncall@example.com",
     "tables": [{"layer": "databases-legacy", "output": "users_table_name", "name": "users"}]},
]
LEGACY_LAYER = "apps-prd/us-east-1/databases-legacy"

# The pipeline layers alone: the example's own layer (cdktf.json `layers`) is tested in tests/stacks/test_own_layers.py.
pytestmark = pytest.mark.usefixtures("pipeline_layers_only")


def write_project(root: Path) -> Path:
    SPEC.write(root)
    legacy = root / LEGACY_LAYER
    legacy.mkdir(parents=True)
    (legacy / "config.tf").write_text(
        'terraform {\n  backend "s3" {\n    key = "apps-prd/databases-legacy/terraform.tfstate"\n  }\n}\n')
    (legacy / "outputs.tf").write_text('output "users_table_name" {\n  value = "bb-apps-prd-users"\n}\n')
    return root


def pipelines_setting(pipelines: list[dict[str, Any]]) -> str:
    return "pipelines=" + json.dumps(pipelines)


@pytest.fixture(scope="module")
def two_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_project(tmp_path_factory.mktemp("pipelines") / "bb")
    code = app_main.main(["synth", "-c", f"leverageRoot={root}", "-c", "layers=[]", "-c", pipelines_setting(PIPELINES)])
    assert code == 0
    return root


def resources(folder: Path, kind: str) -> dict[str, Any]:
    return main_json(folder).get("resource", {}).get(kind, {})


def test_every_source_gets_its_layers_and_the_lake_one(two_sources: Path) -> None:
    folders = {folder.relative_to(two_sources).as_posix() for folder in layer_folders(two_sources)}
    assert folders == {"apps-devstg/us-east-1/databases-dynamodb", "apps-devstg/us-east-1/datalake",
                       "apps-prd/us-east-1/datalake", "data-science/us-east-1/datalake-demo"}
    for folder in layer_folders(two_sources):
        if folder.name != "databases-legacy":
            _, diagnostics = load_config_dir(folder)
            assert not diagnostics, (folder, diagnostics)


def test_the_table_layer_holds_every_generated_table_and_names_each(two_sources: Path) -> None:
    layer = two_sources / "apps-devstg/us-east-1/databases-dynamodb"
    tables = resources(layer, "aws_dynamodb_table")
    assert {name: body["name"] for name, body in tables.items()} == {
        "orders": "bb-apps-devstg-orders", "customers": "bb-apps-devstg-customers"}
    assert tables["orders"]["range_key"] == "at"
    outputs = main_json(layer)["output"]
    assert outputs["dynamodb_table_name"]["value"] == "${aws_dynamodb_table.orders.name}"  # the first table
    assert outputs["dynamodb_table_names"]["value"] == {"orders": "${aws_dynamodb_table.orders.name}",
                                                        "customers": "${aws_dynamodb_table.customers.name}"}


def test_each_datalake_layer_streams_every_table_of_its_pipeline(two_sources: Path) -> None:
    devstg = two_sources / "apps-devstg/us-east-1/datalake"
    destinations = resources(devstg, "aws_dynamodb_kinesis_streaming_destination")
    assert {name: body["table_name"] for name, body in destinations.items()} == {
        "orders_changes": "${data.terraform_remote_state.databases_dynamodb.outputs.dynamodb_table_name}",
        "customers_changes": "${data.terraform_remote_state.databases_dynamodb.outputs.dynamodb_table_names.customers}",
    }
    assert all(body["stream_arn"] == "${aws_kinesis_stream.change_stream.arn}" for body in destinations.values())
    assert len(resources(devstg, "aws_kinesis_stream")) == 1 == len(resources(devstg, "aws_kinesis_firehose_delivery_stream"))

    prd = two_sources / "apps-prd/us-east-1/datalake"
    destinations = resources(prd, "aws_dynamodb_kinesis_streaming_destination")
    assert list(destinations) == ["users_changes"]
    assert destinations["users_changes"]["table_name"] == \
        "${data.terraform_remote_state.databases_legacy.outputs.users_table_name}"
    # The hand-written layer is read at the key its config.tf declares, like every other read.
    assert remote_states(prd)["databases_legacy"]["key"] == "${var.environment}/databases-legacy/terraform.tfstate"
    assert "databases_dynamodb" not in remote_states(prd)
    # Names stay unique across sources: each carries its account.
    names = {resources(folder, "aws_kinesis_stream")["change_stream"]["name"] for folder in (devstg, prd)}
    assert names == {"bb-apps-devstg-ddb-lakehouse-stream", "bb-apps-prd-ddb-lakehouse-stream"}


def test_the_lake_grants_every_sources_firehose_role_by_arn_and_crawls_their_prefix(two_sources: Path) -> None:
    lake = two_sources / "data-science/us-east-1/datalake-demo"
    documents = main_json(lake)["data"]["aws_iam_policy_document"]
    granted = {value for document in documents.values() for statement in document["statement"]
               if statement.get("sid", "").startswith("FirehoseDelivery")
               for condition in statement["condition"] if condition["variable"] == "aws:PrincipalArn"
               for value in condition["values"]}
    expected = set()
    for account in ("apps-devstg", "apps-prd"):
        role = resources(two_sources / account / "us-east-1/datalake", "aws_iam_role")["delivery_role"]["name"]
        expected.add(f"arn:aws:iam::{ACCOUNTS[account]}:role/{role}")
    assert granted == expected
    crawler = resources(lake, "aws_glue_crawler")["cdc_crawler"]
    firehose_prefixes = {resources(two_sources / account / "us-east-1/datalake",
                                   "aws_kinesis_firehose_delivery_stream")["delivery"]["extended_s3_configuration"]["prefix"]
                         for account in ("apps-devstg", "apps-prd")}
    target = crawler["s3_target"][0]["path"]
    assert [f"s3://${{aws_s3_bucket.raw_bucket.bucket}}/{prefix.split('!{')[0]}" for prefix in firehose_prefixes] == \
        [target]  # one prefix for every source, partitioned by table below it
    assert "terraform_remote_state" not in json.dumps(main_json(lake))


def test_each_pipeline_has_its_alarms_on_an_encrypted_topic(two_sources: Path) -> None:
    for account, tables, email in (("apps-devstg", ("orders", "customers"), None),
                                   ("apps-prd", ("users",), "data-oncall@example.com")):
        folder = two_sources / account / "us-east-1/datalake"
        alarms = resources(folder, "aws_cloudwatch_metric_alarm")
        expected = {"delivery_freshness_alarm", "delivery_success_alarm", "stream_iterator_age_alarm",
                    "stream_write_throttled_alarm"}
        expected |= {f"{table}_replication_{kind}_alarm" for table in tables for kind in ("age", "failed", "throttled")}
        assert set(alarms) == expected
        assert all(alarm["alarm_actions"] == ["${aws_sns_topic.alarms.arn}"] for alarm in alarms.values())
        topic = resources(folder, "aws_sns_topic")["alarms"]
        assert topic["kms_master_key_id"] == "${aws_kms_key.alarms_key.arn}"
        policy = json.loads(resources(folder, "aws_kms_key")["alarms_key"]["policy"])
        cloudwatch = [statement for statement in policy["Statement"]
                      if statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
        assert cloudwatch == [{"Sid": "CloudWatchPublishesAlarms", "Effect": "Allow",
                               "Principal": {"Service": "cloudwatch.amazonaws.com"},
                               "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
                               "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNTS[account]}}}]
        subscriptions = resources(folder, "aws_sns_topic_subscription")
        assert ({name: body["endpoint"] for name, body in subscriptions.items()} ==
                ({"alarms_email": email} if email else {}))
        metrics = {alarm["metric_name"]: alarm for alarm in alarms.values() if "metric_name" in alarm}
        assert metrics["DeliveryToS3.DataFreshness"]["threshold"] == 100 + 600  # buffering interval + margin
        assert metrics["DeliveryToS3.DataFreshness"]["dimensions"] == {
            "DeliveryStreamName": f"bb-{account}-ddb-lakehouse-firehose"}
        assert metrics["GetRecords.IteratorAgeMilliseconds"]["dimensions"] == {
            "StreamName": f"bb-{account}-ddb-lakehouse-stream"}
        failed = alarms[f"{tables[0]}_replication_failed_alarm"]
        # Whatever value AWS gives DelegatedOperation: a Metrics Insights query over the schema, by table only.
        assert "namespace" not in failed and "dimensions" not in failed
        table_name = resources(folder, "aws_dynamodb_kinesis_streaming_destination")[f"{tables[0]}_changes"]["table_name"]
        assert failed["metric_query"] == [{
            "id": "query", "period": 60, "return_data": True,
            "expression": 'SELECT SUM(FailedToReplicateRecordCount) FROM SCHEMA("AWS/DynamoDB", DelegatedOperation, '
                          f"TableName) WHERE TableName = '{table_name}'"}]


def test_list_and_graph_cover_every_layer(capsys: pytest.CaptureFixture[str], two_sources: Path) -> None:
    common = ["-c", f"leverageRoot={two_sources}", "-c", pipelines_setting(PIPELINES)]
    listed = run_cli(capsys, "list", *common)
    assert listed.code == 0, listed.err
    order = [line.split("\t")[0] for line in listed.out.splitlines()]
    assert sorted(order) == ["apps-devstg/us-east-1/databases-dynamodb", "apps-devstg/us-east-1/datalake",
                             "apps-prd/us-east-1/datalake", "data-science/us-east-1/datalake-demo"]
    lake = order.index("data-science/us-east-1/datalake-demo")
    assert lake < order.index("apps-devstg/us-east-1/datalake") and lake < order.index("apps-prd/us-east-1/datalake")
    assert order.index("apps-devstg/us-east-1/databases-dynamodb") < order.index("apps-devstg/us-east-1/datalake")

    mermaid = run_cli(capsys, "graph", *common)
    assert mermaid.code == 0 and mermaid.out.startswith("flowchart LR\n"), mermaid.err
    nodes = dict(re.findall(r'^\s+(\w+)\["([^"]+)"\]', mermaid.out, re.M))
    edges = set(re.findall(r"^\s+(\w+) --> (\w+)$", mermaid.out, re.M))
    by_label = {label: node for node, label in nodes.items()}
    accounts = re.findall(r'subgraph \w+\["([^"]+)"\]', mermaid.out)
    assert sorted(accounts) == ["apps-devstg", "apps-prd", "data-science"]
    lake_node = by_label["us-east-1/datalake-demo"]
    datalakes = [node for node, label in nodes.items() if label == "us-east-1/datalake"]
    assert len(datalakes) == 2 and {(lake_node, node) for node in datalakes} <= edges
    assert (by_label["us-east-1/databases-dynamodb"], datalakes[0]) in edges
    legacy = by_label["apps-prd/databases-legacy/terraform.tfstate (not generated)"]
    assert (legacy, datalakes[1]) in edges and (legacy, datalakes[0]) not in edges

    dot = run_cli(capsys, "graph", "--format", "dot", *common)
    assert dot.code == 0 and dot.out.startswith("digraph layers {\n") and dot.out.endswith("}\n")
    dot_nodes = dict(re.findall(r'^\s+(\w+) \[label="([^"]+)"', dot.out, re.M))
    dot_edges = set(re.findall(r"^\s+(\w+) -> (\w+);$", dot.out, re.M))
    assert dot_nodes == nodes and dot_edges == edges  # the same graph in both languages


def test_each_readme_shows_its_pipeline_and_the_apply_order(two_sources: Path) -> None:
    readme = (two_sources / "apps-devstg/us-east-1/datalake/README.md").read_text()
    pipeline, order = re.findall(r"```mermaid\n(.*?)```", readme, re.S)
    assert "table orders" in pipeline and "table customers" in pipeline and "bb-apps-devstg-ddb-lakehouse-stream" in pipeline
    assert re.search(r"class layer\d current", order)
    current = re.search(r"class (layer\d) current", order).group(1)
    assert f'{current}["us-east-1/datalake"]' in order
    for folder in layer_folders(two_sources):
        if folder.name != "databases-legacy":
            assert "```mermaid\nflowchart LR\n" in (folder / "README.md").read_text()


def test_adding_a_table_or_a_source_changes_no_existing_address(capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path, two_sources: Path) -> None:
    root = write_project(tmp_path / "bb")
    smaller = [{"sourceAccount": "apps-devstg", "tables": [PIPELINES[0]["tables"][0]]}]
    assert run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", pipelines_setting(smaller)).code == 0
    for folder in layer_folders(root):
        if folder.name == "databases-legacy":
            continue
        before = main_json(folder)["resource"]
        after = main_json(two_sources / folder.relative_to(root))["resource"]
        for kind, items in before.items():
            assert set(items) <= set(after[kind]), (folder, kind)
            for name in items:
                if kind not in ("aws_s3_bucket_policy", "aws_kms_key"):  # the lake's grants gain statements
                    assert items[name] == after[kind][name], (folder, kind, name)


def test_the_shorthand_is_the_pipeline_of_one_generated_table(capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    shorthand = ProjectSpec().write(tmp_path / "a")
    explicit = ProjectSpec().write(tmp_path / "b")
    assert run_cli(capsys, "synth", "-c", f"leverageRoot={shorthand}", "-c", "dynamodbPartitionKey=pk:N").code == 0
    one = [{"sourceAccount": "apps-devstg", "tables": [{"name": "app-data", "partitionKey": "pk:N"}]}]
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={explicit}", "-c", pipelines_setting(one))
    assert result.code == 0, result.err
    for folder in layer_folders(shorthand):
        for name in ("main.tf.json", "config.tf", "README.md"):
            assert (folder / name).read_bytes() == (explicit / folder.relative_to(shorthand) / name).read_bytes()
    assert resources(shorthand / "apps-devstg/us-east-1/databases-dynamodb", "aws_dynamodb_table")["app_data"]["hash_key"] == "pk"


def test_a_pipeline_in_the_lake_account_and_one_reading_a_skipped_table_layer(capsys: pytest.CaptureFixture[str],
                                                                            tmp_path: Path) -> None:
    """The lake account may stream its own tables; skipLayers leaves a table layer to its team, still read."""
    root = SPEC.write(tmp_path / "bb")
    pipelines = [{"sourceAccount": "data-science", "tables": [{"name": "events"}]},
                 {"sourceAccount": "apps-devstg", "tables": [{"name": "app-data"}]}]
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", pipelines_setting(pipelines),
                     "-c", "skipLayers=databases-dynamodb")
    assert result.code == 0, result.err
    folders = {folder.relative_to(root).as_posix() for folder in layer_folders(root)}
    assert folders == {"data-science/us-east-1/datalake", "data-science/us-east-1/datalake-demo",
                       "apps-devstg/us-east-1/datalake"}
    assert backend_key(root / "data-science/us-east-1/datalake") == "data-science/datalake/terraform.tfstate"
    assert "not generated" in run_cli(capsys, "list", "-c", f"leverageRoot={root}", "-c", pipelines_setting(pipelines),
                                      "-c", "skipLayers=databases-dynamodb").out


def test_the_lake_layer_may_share_a_name_with_the_sources_layers_in_another_account(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = ProjectSpec().write(tmp_path / "bb")
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", "lakeLayer=datalake")
    assert result.code == 0, result.err
    keys = sorted(backend_key(folder) for folder in layer_folders(root))
    assert keys == ["apps-devstg/databases-dynamodb/terraform.tfstate", "apps-devstg/datalake/terraform.tfstate",
                    "data-science/datalake/terraform.tfstate"]
    reads = remote_states(root / "apps-devstg/us-east-1/datalake")
    assert reads["datalake"]["key"] == "data-science/datalake/terraform.tfstate"


def test_alarm_thresholds_are_settings(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = ProjectSpec().write(tmp_path / "bb")
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", "alarmFreshnessMarginSeconds=300",
                     "-c", "alarmIteratorAgeSeconds=3600", "-c", "alarmWriteThrottledRecords=50",
                     "-c", "alarmReplicationAgeSeconds=120", "-c", "alarmReplicationFailedRecords=5",
                     "-c", "alarmReplicationThrottledRecords=7",
                     "-c", "firehoseBufferingIntervalSeconds=60", "-c", "alarmEmail=ops@example.com")
    assert result.code == 0, result.err
    folder = root / "apps-devstg/us-east-1/datalake"
    thresholds = {name: alarm["threshold"] for name, alarm in resources(folder, "aws_cloudwatch_metric_alarm").items()}
    assert thresholds == {"delivery_freshness_alarm": 360, "delivery_success_alarm": 1,
                          "stream_iterator_age_alarm": 3_600_000, "stream_write_throttled_alarm": 50,
                          "app_data_replication_age_alarm": 120_000, "app_data_replication_failed_alarm": 5,
                          "app_data_replication_throttled_alarm": 7}
    assert resources(folder, "aws_sns_topic_subscription")["alarms_email"]["protocol"] == "email"


def test_the_drift_check_covers_every_pipeline_layer(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                     two_sources: Path) -> None:
    root = Path(shutil.copytree(two_sources, tmp_path / "bb", symlinks=True))
    common = ["-c", f"leverageRoot={root}", "-c", pipelines_setting(PIPELINES)]
    clean = run_cli(capsys, "check", *common)
    assert clean.code == 0 and "no drift: " in clean.out, clean.out + clean.err
    edited = root / "apps-prd/us-east-1/datalake/main.tf.json"
    edited.write_text(edited.read_text().replace("-cdc-failed", "-cdc-broken"))
    drift = run_cli(capsys, "check", *common)
    assert drift.code == 1 and "apps-prd/us-east-1/datalake/main.tf.json" in drift.out
