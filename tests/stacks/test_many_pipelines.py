"""Many tables, many source accounts, one lake layers planned from the `pipelines` setting."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, ProjectSpec, app_main, run_cli
from tests.layers import backend_key, layer_folders, load_config_dir, main_json, remote_states

ACCOUNTS = {"apps-devstg": "555555555555", "apps-prd": "666666666666", "data-science": "777777777777"}
SPEC = ProjectSpec(accounts=ACCOUNTS)
# Two source accounts, three tables: two generated in apps-devstg, one apps-prd keeps in a hand-written layer.
PIPELINES = [
    {"sourceAccount": "apps-devstg", "tables": [{"name": "orders", "partitionKey": "orderId:S", "sortKey": "at:N",
                                                 "columns": {"total": "decimal", "lines": "json"}, "maxTypedColumns": 50},
                                                {"name": "customers", "partitionKey": "customerId:S"}]},
    {"sourceAccount": "apps-prd", "alarmEmail": "data-oncall@example.com",
     "tables": [{"layer": "databases-legacy", "output": "users_table_name", "name": "users", "maxTypedColumns": 0,
                 "history": True, "maxChangeAgeHours": 0, "itemCountTolerancePercent": 5}]},
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
                       "apps-prd/us-east-1/datalake", "data-science/us-east-1/datalake-demo",
                       "data-science/us-east-1/lakehouse-demo"}
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
        "orders_changes": "${data.terraform_remote_state.databases_dynamodb.outputs.dynamodb_table_names.orders}",
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


def test_the_lakes_bucket_policy_waits_for_every_sources_tables_to_have_distinct_names(two_sources: Path) -> None:
    """Table names come from the tables' layers at apply time: Terraform checks them (a precondition)."""
    lake = two_sources / "data-science/us-east-1/datalake-demo"
    [precondition] = resources(lake, "aws_s3_bucket_policy")["raw_bucket"]["lifecycle"]["precondition"]
    names = re.fullmatch(r"\$\{\(length\(distinct\(\[(.*)\]\)\) == (\d+)\)\}", precondition["condition"])
    assert names is not None, precondition
    read = names[1].split(", ")
    assert int(names[2]) == len(read) == sum(len(pipeline["tables"]) for pipeline in PIPELINES)
    assert all(name.startswith("data.terraform_remote_state.") for name in read)
    assert "same name" in precondition["error_message"]
    assert "lifecycle" not in resources(REPO / "example/data-science/us-east-1/datalake-demo",
                                        "aws_s3_bucket_policy")["raw_bucket"]  # one source: nothing to keep apart


def test_each_source_may_write_only_its_own_tables_and_its_own_error_folder(two_sources: Path) -> None:
    """The lake grants each source's role the folders of the tables that source's datalake layer streams (their
    names read from the tables' layers, as the datalake layer reads them) and an error folder of its own; the
    source's role asks for the same, and its Firehose writes its errors there."""
    lake = two_sources / "data-science/us-east-1/datalake-demo"
    raw = "${aws_s3_bucket.raw_bucket.arn}/"
    granted: dict[str, set[str]] = {}
    for document in main_json(lake)["data"]["aws_iam_policy_document"].values():
        for statement in document["statement"]:
            if statement.get("sid", "").startswith("FirehoseDeliveryObjects"):
                [role] = next(c["values"] for c in statement["condition"] if c["variable"] == "aws:PrincipalArn")
                granted[role.split(":")[4]] = {resource.removeprefix(raw) for resource in statement["resources"]}
    for account in ("apps-devstg", "apps-prd"):
        datalake = two_sources / account / "us-east-1/datalake"
        tables = [destination["table_name"] for destination in
                  resources(datalake, "aws_dynamodb_kinesis_streaming_destination").values()]
        expected = {f"dynamodb_data/{table}/cdc_data/*" for table in tables} | {f"dynamodb_data/cdc_error/{account}/*"}
        assert granted[ACCOUNTS[account]] == expected
        role_policy = main_json(datalake)["data"]["aws_iam_policy_document"]["delivery_role_policy"]["statement"]
        writes = next(statement["resources"] for statement in role_policy if statement["sid"] == "WriteBucketObjects")
        lake_arn = "${data.terraform_remote_state.datalake_demo.outputs.s3_bucket_data_raw_arn}/"
        assert {resource.removeprefix(lake_arn) for resource in writes} == expected
        delivery = resources(datalake, "aws_kinesis_firehose_delivery_stream")["delivery"]["extended_s3_configuration"]
        assert delivery["error_output_prefix"] == f"dynamodb_data/cdc_error/{account}/"
    # The lake reads the tables' layers, never the datalake layers' state (they read the lake's: a cycle).
    assert set(remote_states(lake)) == {"databases_dynamodb", "databases_legacy"}


def test_several_sources_need_the_table_first_in_the_prefix(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = write_project(tmp_path / "bb")
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", "layers=[]", "-c", pipelines_setting(PIPELINES),
                     "-c", "firehosePrefix=cdc/!{timestamp:yyyy}/!{partitionKeyFromQuery:tableName}/cdc_data/",
                     "-c", "skipLayers=lakehouse-demo")
    assert result.code == 2 and result.err.count("\n") == 1
    assert "cannot let each source account write only its own tables" in result.err


def test_each_pipeline_has_its_alarms_on_an_encrypted_topic(two_sources: Path) -> None:
    for account, tables, email in (("apps-devstg", ("orders", "customers"), None),
                                   ("apps-prd", ("users",), "data-oncall@example.com")):
        folder = two_sources / account / "us-east-1/datalake"
        alarms = resources(folder, "aws_cloudwatch_metric_alarm")
        expected = {"delivery_freshness_alarm", "delivery_success_alarm", "delivery_partition_limit_alarm",
                    "stream_iterator_age_alarm", "stream_write_throttled_alarm"}
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
                               "Condition": {"StringEquals": {
                                   "aws:SourceAccount": ACCOUNTS[account],
                                   "kms:EncryptionContext:aws:sns:topicArn":
                                       f"arn:aws:sns:us-east-1:{ACCOUNTS[account]}:{topic['name']}"}}}]
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
                             "apps-prd/us-east-1/datalake", "data-science/us-east-1/datalake-demo",
                             "data-science/us-east-1/lakehouse-demo"]
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
        if folder.name != "databases-legacy":
            before = main_json(folder)["resource"]
            after = main_json(two_sources / folder.relative_to(root))["resource"]
            assert all(set(items) <= set(after[kind]) for kind, items in before.items()), folder
    # What applying the bigger pipelines would do to what exists: the lake's grants and the Firehose role's policy
    # gain the new table's folder, the item-count role may describe it, the lakehouse job (and its role) is told one
    # more table, the alarm topics admit the new table's alarms; nothing else changes. (The
    # first table is read by its name once the table layer holds two: another reference to the same table, which the
    # guard resolves.)
    found = json.loads(run_cli(capsys, "check", "--json", "-c", f"leverageRoot={root}",
                               "-c", pipelines_setting(PIPELINES)).out)
    changed = {(item["layer"], item["action"], item["address"]) for item in found["resources"]
               if item["action"] != "create"}
    assert changed == {("apps-devstg/us-east-1/datalake", "update", "aws_iam_role_policy.delivery_role"),
                       ("apps-devstg/us-east-1/datalake", "update", "aws_iam_role_policy.item_count_role"),
                       ("apps-devstg/us-east-1/datalake", "update", "aws_sns_topic_policy.alarms"),
                       ("data-science/us-east-1/lakehouse-demo", "update", "aws_sns_topic_policy.alarms"),
                       ("data-science/us-east-1/datalake-demo", "update", "aws_kms_key.data_key"),
                       ("data-science/us-east-1/datalake-demo", "update", "aws_s3_bucket_policy.raw_bucket"),
                       ("data-science/us-east-1/lakehouse-demo", "update", "aws_glue_job.cdc_merge_job"),
                       ("data-science/us-east-1/lakehouse-demo", "update", "aws_iam_role_policy.cdc_merge_job_role")}
    assert found["refusals"] == []


def test_reordering_the_source_accounts_moves_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The lake layers' remote states of the sources' table layers are named by position: reordered, their names
    read each other's layer, and every resource still resolves to the same tables and roles, listed in the new
    order: updates, nothing to refuse."""
    root = write_project(tmp_path / "bb")
    sources = [{"sourceAccount": "apps-devstg", "tables": [{"name": "orders", "partitionKey": "orderId:S"}]},
               {"sourceAccount": "apps-prd", "tables": [{"name": "customers", "partitionKey": "id:S"}]}]
    assert run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", pipelines_setting(sources)).code == 0
    found = json.loads(run_cli(capsys, "check", "--json", "-c", f"leverageRoot={root}",
                               "-c", pipelines_setting(sources[::-1])).out)
    assert found["refusals"] == []
    assert {item["action"] for item in found["resources"]} == {"update"}
    assert {item["address"] for item in found["resources"]} >= {"aws_kms_key.data_key", "aws_glue_job.cdc_merge_job"}
    # A source added first shifts every name by one: the same.
    added = [{"sourceAccount": "data-science", "tables": [{"name": "events", "partitionKey": "id:S"}]}] + sources
    found = json.loads(run_cli(capsys, "check", "--json", "-c", f"leverageRoot={root}",
                               "-c", pipelines_setting(added)).out)
    assert found["refusals"] == [] and "repoint" not in {item["action"] for item in found["resources"]}
    # The first source removed, with its layers: the second's remote states take the first names.
    for folder in ("databases-dynamodb", "datalake"):
        shutil.rmtree(root / "apps-devstg/us-east-1" / folder)
    found = json.loads(run_cli(capsys, "check", "--json", "-c", f"leverageRoot={root}",
                               "-c", pipelines_setting(sources[1:])).out)
    assert found["refusals"] == [] and "repoint" not in {item["action"] for item in found["resources"]}


def test_a_source_with_a_table_of_an_existing_name_renames_nothing(capsys: pytest.CaptureFixture[str],
                                                                   tmp_path: Path) -> None:
    """A second source account streaming a table of a name the first one streams: the first table's lakehouse alarms
    keep their addresses and names, and only the new one's are named after its account. Alarms of such a pair named
    after their accounts by earlier releases move, with `moved` blocks, to the first one's plain name."""
    root = write_project(tmp_path / "bb")
    orders = {"name": "orders", "partitionKey": "orderId:S"}
    first = [{"sourceAccount": "apps-devstg", "tables": [orders]}]
    assert run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", pipelines_setting(first)).code == 0
    both = first + [{"sourceAccount": "apps-prd", "tables": [orders]}]
    found = json.loads(run_cli(capsys, "check", "--json", "-c", f"leverageRoot={root}",
                               "-c", pipelines_setting(both)).out)
    assert [item for item in found["resources"] if item["action"] not in ("create", "update")] == []
    created = {item["address"] for item in found["resources"] if item["action"] == "create"
               and item["layer"] == "data-science/us-east-1/lakehouse-demo"}
    assert created == {f"aws_cloudwatch_metric_alarm.apps_prd_orders_{kind}_alarm" for kind in ("stale", "quality")}
    assert run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", pipelines_setting(both)).code == 0
    lakehouse = root / "data-science/us-east-1/lakehouse-demo"
    alarms = resources(lakehouse, "aws_cloudwatch_metric_alarm")
    assert alarms["orders_stale_alarm"]["alarm_name"] == "bb-data-science-lakehouse-orders-stale"
    moved = re.findall(r"from = (\S+)\n\s*to   = (\S+)", (lakehouse / "addresses.tf").read_text())
    assert {(before, after) for before, after in moved if "orders" in after} == {
        (f"aws_cloudwatch_metric_alarm.apps_devstg_orders_{kind}_alarm", f"aws_cloudwatch_metric_alarm.orders_{kind}_alarm")
        for kind in ("stale", "quality")}


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
                       "apps-devstg/us-east-1/datalake", "data-science/us-east-1/lakehouse-demo"}
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
                    "data-science/datalake/terraform.tfstate", "data-science/lakehouse-demo/terraform.tfstate"]
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
    assert thresholds == {"delivery_freshness_alarm": 360, "delivery_success_alarm": 1, "delivery_partition_limit_alarm": 1,
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


def test_renaming_a_read_table_is_refused_unless_it_says_what_it_was_named(capsys: pytest.CaptureFixture[str],
                                                                          tmp_path: Path) -> None:
    """The name of a read table names its streaming destination's address: a new address without a moved block
    would destroy and recreate the destination, and the changes of the table in between never reach the lake."""
    from tests.conftest import tree_digest

    root = write_project(tmp_path / "bb")

    def read_table(**extra: str) -> list[dict[str, Any]]:
        return [PIPELINES[0], {"sourceAccount": "apps-prd",
                               "tables": [{"layer": "databases-legacy", "output": "users_table_name", **extra}]}]

    assert run_cli(capsys, "synth", "-c", f"leverageRoot={root}",
                   "-c", pipelines_setting(read_table(name="legacy_orders"))).code == 0
    before = tree_digest(root)
    renamed = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", pipelines_setting(read_table(name="legacy")))
    assert renamed.code == 2 and renamed.err.count("\n") == 1
    assert renamed.err.startswith("error: layer apps-prd/us-east-1/datalake: would destroy and recreate "
                                  "aws_dynamodb_kinesis_streaming_destination "), renamed.err
    assert "it leaves aws_dynamodb_kinesis_streaming_destination.legacy_orders_changes and appears at " \
           "aws_dynamodb_kinesis_streaming_destination.legacy_changes without a moved block" in renamed.err
    assert tree_digest(root) == before
    setting = pipelines_setting(read_table(name="legacy", renamedFrom="legacy_orders"))
    check = run_cli(capsys, "check", "-c", f"leverageRoot={root}", "-c", setting)
    assert "move     aws_dynamodb_kinesis_streaming_destination.legacy_orders_changes -> " \
           "aws_dynamodb_kinesis_streaming_destination.legacy_changes [none, state only]" in check.out
    assert "DESTRUCTIVE" not in check.out
    assert run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", setting).code == 0
    addresses = (root / "apps-prd/us-east-1/datalake/addresses.tf").read_text()
    assert "moved {\n  from = aws_dynamodb_kinesis_streaming_destination.legacy_orders_changes\n" \
           "  to   = aws_dynamodb_kinesis_streaming_destination.legacy_changes\n}" in addresses
    # The first table's: its oldest address (one table a pipeline) is chained to its previous one, as Terraform
    # refuses two moves into one address.
    assert "moved {\n  from = aws_dynamodb_kinesis_streaming_destination.table_changes\n" \
           "  to   = aws_dynamodb_kinesis_streaming_destination.legacy_orders_changes\n}" in addresses


def test_dropping_a_source_whose_layers_stay_in_the_tree_is_refused(capsys: pytest.CaptureFixture[str],
                                                                      tmp_path: Path) -> None:
    """The lake would revoke the dropped account's grant while its Firehose keeps delivering."""
    from tests.conftest import tree_digest

    root = write_project(tmp_path / "bb")
    assert run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", pipelines_setting(PIPELINES)).code == 0
    before = tree_digest(root)
    dropped = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", pipelines_setting(PIPELINES[:1]))
    assert dropped.code == 2 and dropped.err.count("\n") == 1, dropped.err
    # What breaks the layer left behind: the lake stops naming its Firehose role, whose grant it revokes.
    assert dropped.err.startswith("error: layer data-science/us-east-1/datalake-demo: would stop naming aws_iam_role "
                                  "bb-apps-prd-ddb-lakehouse-firehose-role (aws_iam_role.delivery_role of "
                                  "apps-prd/us-east-1/datalake, generated earlier"), dropped.err
    assert "put apps-prd back in `pipelines` (sourceAccount), or first destroy its layers" in dropped.err
    assert tree_digest(root) == before
    shutil.rmtree(root / "apps-prd/us-east-1/datalake")  # destroyed, then removed
    assert run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", pipelines_setting(PIPELINES[:1])).code == 0


def test_renaming_the_lake_layer_while_its_old_folder_declares_the_buckets_is_refused(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from tests.conftest import copy_example, tree_digest

    root = copy_example(tmp_path / "example")
    assert run_cli(capsys, "synth", "-c", f"leverageRoot={root}").code == 0
    before = tree_digest(root)
    renamed = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", "lakeLayer=lake-storage")
    assert renamed.code == 2 and renamed.err.count("\n") == 1, renamed.err
    assert re.match(r"error: layer data-science/us-east-1/lake-storage: would declare aws_\w+ \S+, "
                    r"which data-science/us-east-1/datalake-demo \(generated earlier, no longer by these settings\) "
                    r"still declares", renamed.err), renamed.err
    assert tree_digest(root) == before


def test_the_lakehouse_merges_every_pipelines_tables(two_sources: Path) -> None:
    """One job for every table of every pipeline: generated tables with their keys, read tables by the output the
    datalake layer reads (their keys come from the change records), each with its declared typed columns and cap,
    its history and check limits, and its source account's item-count role; the role reads only those tables'
    folders, and assumes only those roles."""
    folder = two_sources / "data-science/us-east-1/lakehouse-demo"
    config = main_json(folder)
    states = "data.terraform_remote_state"
    orders = f"{states}.databases_dynamodb.outputs.dynamodb_table_names.orders"
    customers = f"{states}.databases_dynamodb.outputs.dynamodb_table_names.customers"
    users = f"{states}.databases_legacy.outputs.users_table_name"
    job = next(iter(resources(folder, "aws_glue_job").values()))
    def operated(account: str, history: str = "false", age: int = 24, tolerance: int = 1) -> str:
        return (f'"history" = {history}, "max_change_age_hours" = {age}, "item_count_tolerance_percent" = {tolerance}, '
                f'"item_count_role" = "arn:aws:iam::{ACCOUNTS[account]}:role/bb-{account}-lakehouse-item-count-role", '
                '"item_count_region" = "us-east-1"')

    assert job["default_arguments"]["--tables"] == (
        "${jsonencode(["
        f'{{"source" = {orders}, "keys" = [{{"name" = "orderId", "type" = "S"}}, {{"name" = "at", "type" = "N"}}], '
        f'"columns" = {{"total" = "decimal", "lines" = "json"}}, "max_columns" = 50, {operated("apps-devstg")}}}, '
        f'{{"source" = {customers}, "keys" = [{{"name" = "customerId", "type" = "S"}}], {operated("apps-devstg")}}}, '
        f'{{"source" = {users}, "max_columns" = 0, {operated("apps-prd", "true", 0, 5)}}}'
        "])}")
    reads = config["data"]["aws_iam_policy_document"]["cdc_merge_job_role_policy"]["statement"]
    assumed = next(statement for statement in reads if statement["sid"] == "ReadSourceItemCounts")
    assert assumed["resources"] == [f"arn:aws:iam::{ACCOUNTS[account]}:role/bb-{account}-lakehouse-item-count-role"
                                    for account in ("apps-devstg", "apps-prd")]
    # Only the history of the table that keeps one may be dropped (after its copy, when its DynamoDB table is
    # replaced); no live table, no other history.
    dropped = next(statement for statement in reads if statement["sid"] == "DropReplacedHistories")
    database = "arn:aws:glue:us-east-1:777777777777:database/bb_data_science_lakehouse"
    assert dropped["actions"] == ["glue:DeleteTable"]
    assert dropped["resources"] == ["arn:aws:glue:us-east-1:777777777777:catalog", database,
                                    f'arn:aws:glue:us-east-1:777777777777:table/bb_data_science_lakehouse/'
                                    f'${{replace(lower({users}), "/[^a-z0-9_]/", "_")}}__history']
    from stacks.lakehouse_demo import HISTORY_TABLE_SUFFIX, JOB_FOLDER

    assert f'HISTORY_SUFFIX = "{HISTORY_TABLE_SUFFIX}"' in (JOB_FOLDER / "cdc_settings.py").read_text()
    alarms = {body["alarm_name"] for body in resources(folder, "aws_cloudwatch_metric_alarm").values()
              if body.get("namespace") != "AWS/S3"}  # the replicated buckets' (tests/stacks/test_security.py)
    assert alarms == {"bb-data-science-lakehouse-no-successful-run", "bb-data-science-lakehouse-users-quality",
                      *(f"bb-data-science-lakehouse-{table}-{kind}" for table in ("orders", "customers")
                        for kind in ("stale", "quality"))}  # users: maxChangeAgeHours 0, no freshness alarm
    raw = next(statement for statement in reads if statement["sid"] == "ReadBucketObjects")
    assert [resource.split("}", 1)[1] for resource in raw["resources"]] == [
        f"/dynamodb_data/${{{name}}}/cdc_data/*" for name in (orders, customers, users)]
    remote = remote_states(folder)
    assert remote["databases_legacy"]["key"] == "apps-prd/databases-legacy/terraform.tfstate"
    assert remote["databases_legacy"]["profile"] == "bb-apps-prd-devops"
    assert set(remote) == {"datalake_demo", "databases_dynamodb", "databases_legacy"}
    table_names = config["output"]["lakehouse_table_names"]["value"]
    assert table_names.startswith("${zipmap([") and all(f"replace(lower({name})" in table_names
                                                         for name in (orders, customers, users))


@pytest.mark.parametrize("setting, message", [
    ("lakehouseSchedule=hourly", "setting lakehouseSchedule='hourly' is not a Glue schedule; write cron("),
    ("lakehouseWorkerType=G.16X", "setting lakehouseWorkerType='G.16X' is not a Glue Spark worker type; use one of"),
    ("lakehouseWorkerCount=1", "setting lakehouseWorkerCount=1 is out of range; use 2 to 1000 workers"),
    ("lakehouseTimeoutMinutes=2881", "setting lakehouseTimeoutMinutes=2881 is out of range"),
    ("lakehouseAthenaBytesScannedCutoffMib=9", "setting lakehouseAthenaBytesScannedCutoffMib=9 is out of range; use "
                                               "10 to 100000000 MiB (Athena's minimum is 10)"),
    ("lakehouseAthenaBytesScannedCutoffMib=100000001", "setting lakehouseAthenaBytesScannedCutoffMib=100000001 is out "
                                                       "of range; use 10 to 100000000 MiB"),
    ("lakehouseAthenaResultsRetentionDays=0", "setting lakehouseAthenaResultsRetentionDays=0 is out of range"),
    ("lakehouseLogRetentionDays=2", "setting lakehouseLogRetentionDays=2 is not a CloudWatch retention"),
    ("lakehouseWorkerType=G.4X", "setting lakehouseFlex=true needs G.1X or G.2X workers, not G.4X"),
    ("lakehouseLayer=datalake-demo", "settings lakehouseLayer and lakeLayer are both 'datalake-demo'"),
    ("lakehouseSchedule=cron(0/10 * * * ? *)", "setting lakehouseSchedule='cron(0/10 * * * ? *)' runs the job 10 "
                                               "minutes apart; run it at most every 15 minutes"),
    ("lakehouseSchedule=cron(0 L * * ? *)", "setting lakehouseSchedule='cron(0 L * * ? *)' has minutes or hours"),
    ("lakehouseSchedule=cron(15 8 ? * MON-FRI *)", "setting lakehouseSchedule='cron(15 8 ? * MON-FRI *)' does not run "
                                                  "every day: the no-successful-run alarm would fire on the days"),
    ("lakehouseSchedule=cron(15 * * * ? 2020-2021)", "setting lakehouseSchedule='cron(15 * * * ? 2020-2021)' does not "
                                                     "run every day"),
    (f"lakehouseSchedule=cron({'9' * 5000} * * * ? *)", "setting lakehouseSchedule='cron(999"),
    ("lakehouseNoSuccessAlarmMinutes=60", "setting lakehouseNoSuccessAlarmMinutes=60 does not fit the schedule, whose "
                                          "runs are up to 60 minutes apart; use a multiple of 15 from 75 to 1440"),
    ("lakehouseNoSuccessAlarmMinutes=100", "setting lakehouseNoSuccessAlarmMinutes=100 does not fit the schedule"),
])
def test_lakehouse_settings_out_of_range_are_one_line_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                            setting: str, message: str) -> None:
    root = ProjectSpec().write(tmp_path / "bb")
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", setting)
    assert result.code == 2 and result.err.count("\n") == 1
    assert result.err.startswith(f"error: {message}"), result.err


def test_lakehouse_settings_reach_the_job_the_trigger_and_the_workgroup(capsys: pytest.CaptureFixture[str],
                                                                       tmp_path: Path) -> None:
    root = ProjectSpec().write(tmp_path / "bb")
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", "lakehouseSchedule=cron(5 */2 * * ? *)",
                     "-c", "lakehouseWorkerType=G.4X", "-c", "lakehouseWorkerCount=10", "-c", "lakehouseFlex=false",
                     "-c", "lakehouseTimeoutMinutes=240", "-c", "lakehouseAthenaBytesScannedCutoffMib=100",
                     "-c", "lakehouseAthenaResultsRetentionDays=7", "-c", "lakehouseLogRetentionDays=90",
                     "-c", "lakehouseLayer=lakehouse")
    assert result.code == 0, result.err
    folder = root / "data-science/us-east-1/lakehouse"
    job = resources(folder, "aws_glue_job")["cdc_merge_job"]
    assert (job["worker_type"], job["number_of_workers"], job["execution_class"], job["timeout"]) == (
        "G.4X", 10, "STANDARD", 240)
    assert job["execution_property"] == {"max_concurrent_runs": 1} and job["glue_version"] == "5.0"
    assert resources(folder, "aws_glue_trigger")["cdc_merge_job_schedule"]["schedule"] == "cron(5 */2 * * ? *)"
    workgroup = resources(folder, "aws_athena_workgroup")["workgroup"]["configuration"]
    assert workgroup["bytes_scanned_cutoff_per_query"] == 100 * 1024 * 1024
    assert workgroup["enforce_workgroup_configuration"] is True
    assert workgroup["engine_version"] == {"selected_engine_version": "Athena engine version 3"}
    lifecycle = resources(folder, "aws_s3_bucket_lifecycle_configuration")
    assert lifecycle["results_bucket"]["rule"][0]["expiration"] == [{"days": 7}]
    # Runs two hours apart: no success for three hours (twelve 15-minute periods, none with a success) alarms.
    alarm = resources(folder, "aws_cloudwatch_metric_alarm")["no_successful_run_alarm"]
    assert (alarm["metric_name"], alarm["period"], alarm["evaluation_periods"], alarm["datapoints_to_alarm"],
            alarm["treat_missing_data"], alarm["comparison_operator"], alarm["threshold"]) == (
        "SuccessfulRuns", 900, 12, 12, "breaching", "LessThanThreshold", 1)
    assert "transition" not in lifecycle["artifacts_bucket"]["rule"][0]  # the script is never archived
    groups = resources(folder, "aws_cloudwatch_log_group")
    assert {group["retention_in_days"] for group in groups.values()} == {90}
    assert all(group["kms_key_id"] == "${aws_kms_key.lakehouse_key.arn}" for group in groups.values())
    assert backend_key(folder) == "data-science/lakehouse/terraform.tfstate"
