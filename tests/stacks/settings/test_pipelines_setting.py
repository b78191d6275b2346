"""Pipeline settings that are almost right: one `error:` line, exit 2, nothing written."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

import main as app_main
from tests.conftest import assert_refused, run_cli


def pipelines(*items: dict[str, Any]) -> str:
    return "pipelines=" + json.dumps(list(items))


def devstg(*tables: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"sourceAccount": "apps-devstg", "tables": list(tables), **extra}


def unchanged(root: Path) -> None:
    pass


def hand_written_layer_without_output(root: Path) -> None:
    folder = root / "apps-devstg/us-east-1/databases-legacy"
    folder.mkdir(parents=True)
    (folder / "config.tf").write_text(
        'terraform {\n  backend "s3" {\n    key = "apps-devstg/databases-legacy/terraform.tfstate"\n  }\n}\n')
    (folder / "outputs.tf").write_text('output "table_arn" {\n  value = "x"\n}\n')


ORDERS = {"name": "orders", "partitionKey": "orderId:S"}
READ = {"layer": "databases-legacy", "output": "table_name"}

# case -> (how to break the project, -c settings, what the message names)
BAD_PIPELINES: dict[str, tuple[Callable[[Path], None], tuple[str, ...], str]] = {
    "a table listed twice": (unchanged, (pipelines(devstg(ORDERS, {"name": "orders"})),),
                             "pipelines[0].tables[1]: table 'orders' is listed twice in pipelines[0] "
                             "(also pipelines[0].tables[0])"),
    "two names with one address": (unchanged, (pipelines(devstg({"name": "app-data"}, {"name": "app_data"})),),
                                   "table 'app_data' is listed twice"),
    "a read table listed twice": (unchanged, (pipelines(devstg(READ, {**READ, "name": "other"})),),
                                  "table read from output 'table_name' of layer 'databases-legacy' is listed twice"),
    "the same table in two pipelines": (
        unchanged, (pipelines(devstg(ORDERS), devstg({"name": "customers"}, ORDERS)),),
        "pipelines[1].tables[1]: table 'orders' of account 'apps-devstg' is in two pipelines (also pipelines[0]"),
    "two pipelines whose names collide": (
        unchanged, (pipelines(devstg(ORDERS), devstg({"name": "customers"})),),
        "pipelines[0] and pipelines[1] are two pipelines of account 'apps-devstg': they would generate the same "
        "layers and the same stream, Firehose and role names"),
    "an unknown account": (unchanged, (pipelines({"sourceAccount": "apps-prd", "tables": [ORDERS]}),),
                           "setting pipelines[0].sourceAccount='apps-prd': example/config/common.tfvars has no "
                           "account 'apps-prd'"),
    "a table the lakehouse would take for a history": (
        unchanged, (pipelines(devstg({"name": "orders__history"})),),
        "pipelines[0].tables[0].name: DynamoDB table 'bb-apps-devstg-orders__history' would be lakehouse table "
        "'bb_apps_devstg_orders__history', which ends like the lakehouse job's own tables"),
    "a table the lakehouse would take for an archive": (
        unchanged, (pipelines(devstg({"name": "orders--v2"})),),
        "would be lakehouse table 'bb_apps_devstg_orders__v2', which ends like the lakehouse job's own tables"),
    "an empty list of tables": (unchanged, (pipelines(devstg()),),
                                "pipelines[0].tables is []: a pipeline streams at least one table"),
    "no tables at all": (unchanged, (pipelines({"sourceAccount": "apps-devstg"}),), "pipelines[0] has no 'tables'"),
    "an empty list of pipelines": (unchanged, ("pipelines=[]",), "pipelines must be a non-empty list"),
    "pipelines not JSON": (unchanged, ('pipelines=[{"sourceAccount": ',), "setting pipelines is not JSON"),
    "a misspelt table key": (unchanged, (pipelines(devstg({"name": "orders", "partitionkey": "id:S"})),),
                             "pipelines[0].tables[0] has the unknown key 'partitionkey'"),
    "a table name with a space": (unchanged, (pipelines(devstg({"name": "my orders"})),),
                                  "pipelines[0].tables[0].name='my orders' is not a table name"),
    "a table name with template syntax": (unchanged, (pipelines(devstg({"name": "${var.x}"})),), "is not a table name"),
    "a key type DynamoDB lacks": (unchanged, (pipelines(devstg({"name": "orders", "partitionKey": "id:X"})),),
                                  "setting pipelines[0].tables[0].partitionKey='id:X'"),
    "a key with a line break": (unchanged, (pipelines(devstg({"name": "orders", "sortKey": "at\n:N"})),),
                                "contains the control character '\\n'"),
    "a read table without its output": (unchanged, (pipelines(devstg({"layer": "databases-legacy"})),),
                                        "pipelines[0].tables[0] has no 'output'"),
    "an output the hand-written layer lacks": (
        hand_written_layer_without_output, (pipelines(devstg(READ)),), "table_name"),
    "the shorthand and pipelines together": (unchanged, (pipelines(devstg(ORDERS)), "sourceAccount=apps-devstg"),
                                             "setting sourceAccount is the single-pipeline shorthand"),
    "the lake account as a source, where layer names collide": (
        unchanged, ("lakeAccount=apps-devstg", "lakeLayer=datalake"),
        "setting sourceAccount='apps-devstg' is the lake account, and lakeLayer and datalakeLayer are both "
        "'datalake'"),
    "a pipeline in the lake account, where layer names collide": (
        unchanged, (pipelines({"sourceAccount": "data-science", "tables": [ORDERS]}), "lakeLayer=databases-dynamodb"),
        "setting pipelines[0].sourceAccount='data-science' is the lake account, and lakeLayer and dynamodbLayer are both"),
    "a negative throttling threshold": (unchanged, ("alarmWriteThrottledRecords=-1",),
                                        "setting alarmWriteThrottledRecords=-1 is out of range"),
    "a negative replication throttling threshold": (unchanged, ("alarmReplicationThrottledRecords=-1",),
                                                    "setting alarmReplicationThrottledRecords=-1 is out of range; use "
                                                    "records, 0 or more"),
    "an iterator age past the retention": (unchanged, ("alarmIteratorAgeSeconds=86400",),
                                           "setting alarmIteratorAgeSeconds=86400 is out of range; use seconds, "
                                           "from 60 to below the stream's retention"),
    "a freshness margin of no time": (unchanged, ("alarmFreshnessMarginSeconds=0",), "alarmFreshnessMarginSeconds=0"),
    "a threshold that is no number": (unchanged, ("alarmReplicationAgeSeconds=5m",), "is not a whole number"),
    "an e-mail that is no address": (unchanged, ("alarmEmail=oncall",), "setting alarmEmail='oncall' is not an e-mail"),
    "a pipeline's e-mail that is no address": (unchanged, (pipelines(devstg(ORDERS, alarmEmail="a@b")),),
                                               "pipelines[0].alarmEmail='a@b' is not an e-mail address"),
    "a column type the lakehouse lacks": (unchanged, (pipelines(devstg({**ORDERS, "columns": {"total": "float"}})),),
                                          "setting pipelines[0].tables[0].columns.total='float' is not a lakehouse "
                                          "column type; use one of string, bigint, decimal"),
    "columns that are no object": (unchanged, (pipelines(devstg({**READ, "columns": ["total"]})),),
                                   "setting pipelines[0].tables[0].columns is [\"total\"], not an object"),
    "a declared key attribute": (unchanged, (pipelines(devstg({**ORDERS, "columns": {"orderId": "string"}})),),
                                 "pipelines[0].tables[0].columns.orderId names a key attribute"),
    "a cap out of range": (unchanged, (pipelines(devstg({**ORDERS, "maxTypedColumns": 5000})),),
                           "setting pipelines[0].tables[0].maxTypedColumns=5000 is not a number of columns from 0 "
                           "to 1000"),
    "a history that is no boolean": (unchanged, (pipelines(devstg({**ORDERS, "history": "yes"})),),
                                     "setting pipelines[0].tables[0].history is 'yes', not true or false"),
    "a negative change age": (unchanged, (pipelines(devstg({**READ, "maxChangeAgeHours": -1})),),
                              "setting pipelines[0].tables[0].maxChangeAgeHours=-1 is out of range; use 0 to 8760 "
                              "hours (0: unchecked)"),
    "a tolerance over 100 percent": (unchanged, (pipelines(devstg({**ORDERS, "itemCountTolerancePercent": 101})),),
                                     "setting pipelines[0].tables[0].itemCountTolerancePercent=101 is out of range"),
    "more declared columns than the cap": (
        unchanged, (pipelines(devstg({**ORDERS, "columns": {"a": "json", "b": "json"}, "maxTypedColumns": 1})),),
        "pipelines[0].tables[0].columns declares 2 columns, more than maxTypedColumns=1"),
    # What the job would refuse on every run, refused before anything is written.
    "more declared columns than the job's default cap": (
        unchanged, (pipelines(devstg({**READ, "columns": {f"c{n}": "json" for n in range(201)}})),),
        "pipelines[0].tables[0].columns declares 201 columns, more than the default cap of 200"),
    "a key attribute named like a column of the job": (
        unchanged, (pipelines(devstg({**ORDERS, "sortKey": "cdc_event_id:S"})),),
        "setting pipelines[0].tables[0].sortKey='cdc_event_id:S': key attribute 'cdc_event_id' is named like a column "
        "the lakehouse job adds"),
    "a sort key that is the partition key but for case": (
        unchanged, (pipelines(devstg({**ORDERS, "sortKey": "ORDERID:N"})),),
        "setting pipelines[0].tables[0].sortKey names the partition key's attribute 'orderId'"),
    "an empty column name": (unchanged, (pipelines(devstg({**ORDERS, "columns": {"": "string"}})),),
                             "setting pipelines[0].tables[0].columns has an empty attribute name"),
    # Names that would end or change the Terraform expression they are written into.
    **{f"a column name with {shown}": (
        unchanged, (pipelines(devstg({**ORDERS, "columns": {f"a{part}b": "string"}})),),
        f"attribute name {f'a{part}b'!r} contains {part!r}, which this app cannot write into the layers")
       for shown, part in (("a quote", '"'), ("a backslash", "\\"), ("an interpolation", "${"))},
    "a key name with a quote": (unchanged, (pipelines(devstg({**ORDERS, "partitionKey": 'i"d:S'})),),
                                "attribute name 'i\"d' contains '\"'"),
}


@pytest.mark.parametrize("command", ["synth", "check"])
@pytest.mark.parametrize("case", sorted(BAD_PIPELINES))
def test_bad_pipeline_settings_are_one_error_line_exit_2_and_change_nothing(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, project_copy: Path,
        case: str, command: str) -> None:
    break_input, settings, message = BAD_PIPELINES[case]
    monkeypatch.setattr(app_main, "CDKTF_JSON", project_copy.parent / "cdktf.json")  # none: only these settings
    break_input(project_copy)
    assert_refused(capsys, command, project_copy, settings, message)


def test_pipelines_in_cdktf_json_are_read_like_any_setting(capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch, project_copy: Path) -> None:
    cdktf_json = project_copy.parent / "cdktf.json"
    cdktf_json.write_text(json.dumps({"context": {"pipelines": [devstg(ORDERS, {"name": "customers"})]}}))
    monkeypatch.setattr(app_main, "CDKTF_JSON", cdktf_json)
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={project_copy}")
    assert result.code == 0, result.err
    text = (project_copy / "apps-devstg/us-east-1/databases-dynamodb/main.tf.json").read_text()
    assert '"bb-apps-devstg-orders"' in text and '"bb-apps-devstg-customers"' in text


def test_the_settings_apply_the_jobs_own_rules() -> None:
    """The job's columns and default cap, as the settings check them (the app never imports the job)."""
    from stacks.lakehouse_demo import JOB_FOLDER
    from stacks.settings.values import DEFAULT_MAX_TYPED_COLUMNS, JOB_COLUMN_PREFIX, JOB_COLUMNS

    columns, settings = ((JOB_FOLDER / name).read_text() for name in ("cdc_columns.py", "cdc_settings.py"))
    assert f'JOB_PREFIX = "{JOB_COLUMN_PREFIX}"' in columns
    assert f"DEFAULT_MAX_COLUMNS = {DEFAULT_MAX_TYPED_COLUMNS}" in columns
    assert "RESERVED_COLUMNS = (" + "".join(f"\"{name}\"," for name in JOB_COLUMNS) + ")" in settings
