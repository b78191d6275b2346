"""The lakehouse layer as generated for the example: what the job's role and the reader policy may do, the shipped
script, the failure notification (least privilege read from the layer itself, as a reviewer would)."""
from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from stacks.lakehouse_demo import JOB_FOLDER, JOB_MODULES, JOB_SCRIPT, raw_root
from aws_constructs.errors import ConstructPropsError
from tests.layers import main_json

LAYER = "data-science/us-east-1/lakehouse-demo"
RAW = "${data.terraform_remote_state.datalake_demo.outputs.s3_bucket_data_raw_arn}"
PROCESSED = "${data.terraform_remote_state.datalake_demo.outputs.s3_bucket_data_processed_arn}"
TABLE = "${data.terraform_remote_state.databases_dynamodb.outputs.dynamodb_table_name}"


@pytest.fixture(scope="module")
def layer(synthesized_example: Path) -> dict[str, Any]:
    return main_json(synthesized_example / LAYER)


def statements(layer: dict[str, Any], document: str) -> dict[str, dict[str, Any]]:
    return {statement["sid"]: statement for statement in layer["data"]["aws_iam_policy_document"][document]["statement"]}


def encryption_contexts(statement: dict[str, Any]) -> list[str]:
    return next(condition["values"] for condition in statement["condition"]
                if condition["variable"] == "kms:EncryptionContext:aws:s3:arn")


def test_the_job_role_reads_only_the_tables_cdc_folders_and_writes_only_the_lakehouse_prefix(
        layer: dict[str, Any]) -> None:
    role = statements(layer, "cdc_merge_job_role_policy")
    assert role["ReadBucketObjects"]["actions"] == ["s3:GetObject"]
    assert role["ReadBucketObjects"]["resources"] == [f"{RAW}/dynamodb_data/{TABLE}/cdc_data/*"]  # not cdc_error/
    written = {resource for statement in role.values() if "s3:PutObject" in statement["actions"]
               for resource in statement["resources"]}
    assert written == {f"{PROCESSED}/lakehouse/*", "${aws_s3_bucket.artifacts_bucket.arn}/temporary/*"}
    listing = {(statement["resources"][0], condition["test"], value) for sid, statement in role.items()
               if sid.startswith("ListBucket") for condition in statement["condition"] for value in condition["values"]}
    # Below each folder, or no prefix at all: a HEAD of a missing key (Hadoop probing a folder as a file, Iceberg
    # before every write) answers 404 only to a caller S3 lets list, and that check names no prefix.
    assert listing == {(RAW, "StringLikeIfExists", f"dynamodb_data/{TABLE}/cdc_data"),
                       (RAW, "StringLikeIfExists", f"dynamodb_data/{TABLE}/cdc_data/*"),
                       (PROCESSED, "StringLikeIfExists", "lakehouse"), (PROCESSED, "StringLikeIfExists", "lakehouse/*"),
                       ("${aws_s3_bucket.artifacts_bucket.arn}", "StringLikeIfExists", "temporary"),
                       ("${aws_s3_bucket.artifacts_bucket.arn}", "StringLikeIfExists", "temporary/*")}
    probes = {resource for sid, statement in role.items() if sid.startswith("ProbeFolderKeys")
              for resource in statement["resources"]}
    assert probes == {f"{RAW}/dynamodb_data/{TABLE}/cdc_data", f"{PROCESSED}/lakehouse",
                      "${aws_s3_bucket.artifacts_bucket.arn}/temporary"}
    every_resource = [resource for sid, statement in role.items() for resource in statement["resources"]
                      if sid != "PublishJobMetrics"]
    assert "*" not in every_resource and not any(resource.endswith(":*:*") for resource in every_resource)
    # PutMetricData has no resource: "*", held to the job's namespace.
    assert role["PublishJobMetrics"] == {
        "sid": "PublishJobMetrics", "effect": "Allow", "actions": ["cloudwatch:PutMetricData"], "resources": ["*"],
        "condition": [{"test": "StringEquals", "variable": "cloudwatch:namespace",
                       "values": ["Lakehouse/bb_data_science_lakehouse"]}]}
    # The source account's item-count role, and no other role.
    assert role["ReadSourceItemCounts"]["actions"] == ["sts:AssumeRole"]
    assert role["ReadSourceItemCounts"]["resources"] == [
        "arn:aws:iam::555555555555:role/bb-apps-devstg-lakehouse-item-count-role"]
    for sid in ("ReadRawWithLakeKey", "UseLakeKey", "UseLakehouseKey"):  # keys only through S3
        assert {"test": "StringEquals", "variable": "kms:ViaService", "values": ["s3.us-east-1.amazonaws.com"]} \
            in role[sid]["condition"]
    kms = [sid for sid, statement in role.items() if any(a.startswith("kms:") for a in statement["actions"])]
    assert sorted(kms) == ["ReadRawWithLakeKey", "UseLakeKey", "UseLakehouseKey", "WriteEncryptedJobLogs"]
    # Its encrypted log groups: CloudWatch Logs uses the key on the role's behalf, for those two groups only.
    assert {"test": "StringEquals", "variable": "kms:ViaService", "values": ["logs.us-east-1.amazonaws.com"]} \
        in role["WriteEncryptedJobLogs"]["condition"]
    groups = next(condition["values"] for condition in role["WriteEncryptedJobLogs"]["condition"]
                  if condition["variable"] == "kms:EncryptionContext:aws:logs:arn")
    assert [group.rsplit("/", 1)[1] for group in groups] == ["output", "error"]
    assert role["ReadRawWithLakeKey"]["actions"] == ["kms:Decrypt"]  # the raw bucket is read, never written
    assert encryption_contexts(role["ReadRawWithLakeKey"]) == [RAW, f"{RAW}/dynamodb_data/{TABLE}/cdc_data/*"]
    assert encryption_contexts(role["UseLakeKey"]) == [PROCESSED, f"{PROCESSED}/lakehouse/*"]
    database = "bb_data_science_lakehouse"
    assert role["ManageCatalogTables"]["resources"] == [
        "arn:aws:glue:us-east-1:777777777777:catalog", f"arn:aws:glue:us-east-1:777777777777:database/{database}",
        f"arn:aws:glue:us-east-1:777777777777:table/{database}/*"]
    assert not any("Delete" in action for action in role["ManageCatalogTables"]["actions"])
    assert "aws_iam_role_policy_attachment" not in layer["resource"]  # no managed policy, AWS's or other


def test_the_reader_policy_queries_through_the_workgroup_and_reads_nothing_else(layer: dict[str, Any]) -> None:
    reader = statements(layer, "reader_policy_document")
    assert reader["QueryInWorkgroup"]["resources"] == ["${aws_athena_workgroup.workgroup.arn}"]
    assert "athena:StartQueryExecution" in reader["QueryInWorkgroup"]["actions"]
    assert reader["ReadBucketObjects"]["resources"] == [f"{PROCESSED}/lakehouse/*"]
    # Athena lists the databases with glue:GetDatabases: on the catalog and this database only.
    assert "glue:GetDatabases" in reader["ReadCatalogDatabase"]["actions"]
    assert reader["ReadCatalogDatabase"]["resources"][:2] == [
        "arn:aws:glue:us-east-1:777777777777:catalog",
        "arn:aws:glue:us-east-1:777777777777:database/bb_data_science_lakehouse"]
    results = "${aws_s3_bucket.results_bucket.arn}"
    assert reader["WriteQueryResults"]["resources"] == [f"{results}/results/*"]
    assert not any("s3:DeleteObject" in statement["actions"] for statement in reader.values())
    assert [condition["values"] for condition in reader["ListQueryResults"]["condition"]] == [["results/*"]]
    assert encryption_contexts(reader["UseResultsKey"]) == [results, f"{results}/results/*"]
    assert all(not any(action.startswith(("glue:Create", "glue:Update", "glue:Delete")) for action in s["actions"])
               for s in reader.values())
    written = {resource for statement in reader.values() if "s3:PutObject" in statement["actions"]
               for resource in statement["resources"]}
    assert written == {f"{results}/results/*"}
    policy = layer["resource"]["aws_iam_policy"]["reader_policy"]
    assert policy["name"] == "bb-data-science-lakehouse-reader" and policy["path"] == "/"


def test_the_layers_key_serves_s3_for_its_own_buckets_only(layer: dict[str, Any]) -> None:
    """The tables' files take the processed bucket's key (Iceberg's S3 client leaves Glue's security configuration
    aside); S3 needs no kms:Encrypt of a bucket's own key."""
    policy = json.loads(layer["resource"]["aws_kms_key"]["lakehouse_key"]["policy"])
    through_s3 = next(statement for statement in policy["Statement"] if statement["Sid"] == "AccountUsesKeyThroughS3")
    contexts = through_s3["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"]
    assert not any(context.startswith(PROCESSED) for context in contexts), contexts
    assert sorted(through_s3["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    roles = layer["data"]["aws_iam_policy_document"]
    for document in ("cdc_merge_job_role_policy", "reader_policy_document"):
        lakehouse_key_contexts = [value for statement in roles[document]["statement"]
                                  if statement["resources"] == ["${aws_kms_key.lakehouse_key.arn}"]
                                  for condition in statement.get("condition", []) for value in condition["values"]
                                  if condition["variable"] == "kms:EncryptionContext:aws:s3:arn"]
        assert not any(value.startswith(PROCESSED) for value in lakehouse_key_contexts), (document, lakehouse_key_contexts)


def test_the_script_shipped_is_the_job_file_tracked_by_its_hash(layer: dict[str, Any]) -> None:
    script = layer["resource"]["aws_s3_object"]["job_script"]
    text = JOB_SCRIPT.read_text(encoding="utf-8")
    assert script["content"] == text.replace("${", "$${").replace("%{", "%%{")
    assert script["metadata"] == {"sha256": hashlib.sha256(text.encode()).hexdigest()}
    assert script["key"] == "scripts/cdc_merge.py" and script["server_side_encryption"] == "aws:kms"
    job = next(iter(layer["resource"]["aws_glue_job"].values()))
    assert job["command"]["script_location"] == "s3://bb-data-science-lakehouse-artifacts/scripts/cdc_merge.py"


def job_modules_imported(path: Path, found: set[str] | None = None) -> set[str]:
    """The glue_jobs modules a module imports, and theirs."""
    found = set() if found is None else found
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        for name in names:
            module = JOB_FOLDER / f"{name}.py"
            if module.exists() and module.name not in found:
                found.add(module.name)
                job_modules_imported(module, found)
    return found


def test_the_modules_the_script_imports_are_shipped_beside_it_and_readable(layer: dict[str, Any]) -> None:
    objects = layer["resource"]["aws_s3_object"]
    shipped = {body["key"]: body for name, body in objects.items() if name.startswith("job_module_")}
    assert set(shipped) == {f"scripts/{name}" for name in job_modules_imported(JOB_SCRIPT)} \
        == {f"scripts/{path.name}" for path in JOB_MODULES}
    for module in JOB_MODULES:
        text = module.read_text(encoding="utf-8")
        assert shipped[f"scripts/{module.name}"]["metadata"] == {"sha256": hashlib.sha256(text.encode()).hexdigest()}
    job = next(iter(layer["resource"]["aws_glue_job"].values()))
    assert job["default_arguments"]["--extra-py-files"] == ",".join(
        f"s3://bb-data-science-lakehouse-artifacts/scripts/{path.name}" for path in JOB_MODULES)
    readable = statements(layer, "cdc_merge_job_role_policy")["ReadJobScript"]["resources"]
    assert readable == ["${aws_s3_bucket.artifacts_bucket.arn}/" + key for key in ["scripts/cdc_merge.py", *shipped]]


def test_failed_runs_notify_the_topic_through_one_rule(layer: dict[str, Any]) -> None:
    rule = layer["resource"]["aws_cloudwatch_event_rule"]["job_failed"]
    assert json.loads(rule["event_pattern"]) == {
        "source": ["aws.glue"], "detail-type": ["Glue Job State Change"],
        "detail": {"jobName": ["bb-data-science-lakehouse-cdc-merge"], "state": ["FAILED", "TIMEOUT"]}}
    target = layer["resource"]["aws_cloudwatch_event_target"]["job_failed"]
    assert target["arn"] == "${aws_sns_topic.alarms.arn}"
    publish = statements(layer, "alarms_policy_document")["EventRulePublishes"]
    assert publish["principals"] == [{"type": "Service", "identifiers": ["events.amazonaws.com"]}]
    assert {"test": "ArnEquals", "variable": "aws:SourceArn", "values": ["${aws_cloudwatch_event_rule.job_failed.arn}"]} \
        in publish["condition"]
    key_policy = json.loads(layer["resource"]["aws_kms_key"]["alarms_key"]["policy"])
    assert any(statement["Principal"] == {"Service": "events.amazonaws.com"} for statement in key_policy["Statement"])


@pytest.mark.parametrize("prefix, root", [
    ("dynamodb_data/!{partitionKeyFromQuery:tableName}/cdc_data/year=!{timestamp:yyyy}/", "dynamodb_data/"),
    ("!{partitionKeyFromQuery:tableName}/cdc_data/", ""),
    ("a/b/!{partitionKeyFromQuery:tableName}/cdc_data/!{timestamp:HH}/", "a/b/"),
])
def test_raw_root_is_the_folder_above_the_tables(prefix: str, root: str) -> None:
    assert raw_root(prefix) == root


@pytest.mark.parametrize("prefix", ["a/!{partitionKeyFromQuery:tableName}/", "a!{partitionKeyFromQuery:tableName}/cdc_data/",
                                    "a/!{timestamp:yyyy}/!{partitionKeyFromQuery:tableName}/cdc_data/"])
def test_raw_root_refuses_other_layouts(prefix: str) -> None:
    with pytest.raises(ConstructPropsError, match="skipLayers"):
        raw_root(prefix)


def alarms(layer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {body["alarm_name"]: body for body in layer["resource"]["aws_cloudwatch_metric_alarm"].values()}


def test_the_lakes_alarms_watch_the_jobs_metrics_and_notify_its_topic(layer: dict[str, Any]) -> None:
    """No successful run for two hours (hourly runs: the longest gap plus an hour, no data breaching), the table's
    newest change older than a day, any failed data-quality check; each notifying the layer's topic."""
    found = alarms(layer)
    namespace = "Lakehouse/bb_data_science_lakehouse"
    table = {"Database": "bb_data_science_lakehouse", "Table": f"${{replace(lower({TABLE[2:-1]}), \"/[^a-z0-9_]/\", \"_\")}}"}
    no_success = found["bb-data-science-lakehouse-no-successful-run"]
    assert {key: no_success[key] for key in ("namespace", "metric_name", "dimensions", "statistic", "period",
                                              "evaluation_periods", "datapoints_to_alarm", "comparison_operator",
                                              "threshold", "treat_missing_data")} == {
        "namespace": namespace, "metric_name": "SuccessfulRuns", "dimensions": {"Database": table["Database"]},
        "statistic": "Sum", "period": 900, "evaluation_periods": 8, "datapoints_to_alarm": 8,
        "comparison_operator": "LessThanThreshold", "threshold": 1, "treat_missing_data": "breaching"}
    stale = found["bb-data-science-lakehouse-app-data-stale"]
    assert (stale["metric_name"], stale["dimensions"], stale["statistic"], stale["threshold"],
            stale["comparison_operator"]) == ("NewestChangeAgeSeconds", table, "Maximum", 86400, "GreaterThanThreshold")
    quality = found["bb-data-science-lakehouse-app-data-quality"]
    assert (quality["metric_name"], quality["dimensions"], quality["threshold"], quality["treat_missing_data"]) == (
        "QualityChecksFailed", table, 0, "ignore")  # no measurement is no recovery
    assert set(found) - {f"bb-data-science-lakehouse-{bucket}-replication-failed"
                         for bucket in ("artifacts", "athena-results", "access-logs")} == {
        "bb-data-science-lakehouse-no-successful-run", "bb-data-science-lakehouse-app-data-stale",
        "bb-data-science-lakehouse-app-data-quality"}
    assert all(body["alarm_actions"] == body["ok_actions"] == ["${aws_sns_topic.alarms.arn}"] for body in found.values())
    readme = (JOB_FOLDER.parent / "example" / LAYER / "README.md").read_text()
    assert all(f"`<project>-<account>-lakehouse-{kind}`" in readme
               for kind in ("no-successful-run", "<table>-stale", "<table>-quality"))


def test_the_job_is_told_its_checks_history_metrics_and_item_count_role(layer: dict[str, Any]) -> None:
    job = next(iter(layer["resource"]["aws_glue_job"].values()))["default_arguments"]
    assert (job["--metrics"], job["--metrics-namespace"]) == ("cloudwatch", "Lakehouse/bb_data_science_lakehouse")
    assert ('"history" = false, "max_change_age_hours" = 24, "item_count_tolerance_percent" = 1, "item_count_role" = '
            '"arn:aws:iam::555555555555:role/bb-apps-devstg-lakehouse-item-count-role", "item_count_region" = '
            '"us-east-1"') in job["--tables"]
