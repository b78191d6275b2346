"""The job's data-quality checks and its metric sinks, without Spark: each check's rule on measured facts, the source
item counts read through an assumed role, and PutMetricData, against moto's AWS (in-process)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from cdc_checks import (COUNT_LAG_HOURS, CheckSettings, ChecksInputError, CountSource, ItemCounts, TableFacts, evaluate,
                        parse_item_counts)
from cdc_metrics import CLOUDWATCH_BATCH, CloudWatchMetrics, Datum, FileMetrics, MetricsInputError, metric_sink
from cdc_settings import JobInputError, parse_arguments

HOUR_US = 3_600_000_000
NOW_US = 1_800_000_000_000_000
HEALTHY = TableFacts(live_rows=1000, duplicate_keys=0, rows_without_keys=0, newest_change_us=NOW_US - HOUR_US,
                     now_us=NOW_US, item_count=1000)


def outcomes(facts: TableFacts, settings: CheckSettings = CheckSettings()) -> dict[str, str]:
    return {result.check: result.outcome for result in evaluate(facts, settings)}


def test_a_healthy_table_passes_every_check() -> None:
    assert outcomes(HEALTHY) == dict.fromkeys(("unique_keys", "key_attributes", "freshness", "item_count"), "passed")


@pytest.mark.parametrize("fault, failed", [
    ({"duplicate_keys": 1}, "unique_keys"), ({"rows_without_keys": 2}, "key_attributes"),
    ({"newest_change_us": NOW_US - 25 * HOUR_US}, "freshness"), ({"item_count": 1100}, "item_count")])
def test_each_fault_fails_its_check_alone(fault: dict, failed: str) -> None:
    facts = TableFacts(**{**HEALTHY.__dict__, **fault})
    assert {check for check, outcome in outcomes(facts).items() if outcome != "passed"} == {failed}


def test_the_count_allows_the_tolerance_and_every_change_of_the_lag() -> None:
    """ItemCount lags up to six hours: each change merged since may move the true count by one."""
    settings = CheckSettings(item_count_tolerance_percent=2)
    at_limit = TableFacts(**{**HEALTHY.__dict__, "live_rows": 1000 + 20 + 30, "recent_changes": 30})
    beyond = TableFacts(**{**at_limit.__dict__, "live_rows": 1051})
    assert outcomes(at_limit, settings)["item_count"] == "passed"
    result = next(result for result in evaluate(beyond, settings) if result.check == "item_count")
    assert (result.outcome, result.observed, result.threshold) == ("failed", 51, 50)
    assert f"last {COUNT_LAG_HOURS} hours" in result.detail


def test_checks_without_what_they_compare_are_skipped_and_say_why() -> None:
    facts = TableFacts(**{**HEALTHY.__dict__, "item_count": None, "item_count_note": "DescribeTable denied",
                          "newest_change_us": None})
    results = {result.check: result for result in evaluate(facts, CheckSettings())}
    assert (results["item_count"].outcome, results["item_count"].detail) == ("skipped", "DescribeTable denied")
    assert results["freshness"].outcome == "skipped"
    assert outcomes(HEALTHY, CheckSettings(max_change_age_hours=0))["freshness"] == "skipped"


def test_a_table_whose_changes_never_arrive_goes_stale_from_the_jobs_first_run_for_it() -> None:
    """Without this its freshness metric would be missing for good, and a missing metric pages no one."""
    waiting = TableFacts(**{**HEALTHY.__dict__, "newest_change_us": None, "first_run_us": NOW_US - 25 * HOUR_US})
    result = next(result for result in evaluate(waiting, CheckSettings()) if result.check == "freshness")
    assert (result.outcome, result.observed) == ("failed", 25 * 3600)
    assert result.detail == "no change merged yet, 25.0 hours after the job's first run for the table (limit 24)"
    recent = TableFacts(**{**waiting.__dict__, "first_run_us": NOW_US - HOUR_US})
    assert outcomes(recent)["freshness"] == "passed" and recent.change_age_seconds == 3600
    # Once a change is merged, its age counts, not the first run's.
    merged = TableFacts(**{**waiting.__dict__, "newest_change_us": NOW_US - HOUR_US})
    assert outcomes(merged)["freshness"] == "passed"


def test_check_settings_and_counts_out_of_range_are_refused() -> None:
    with pytest.raises(ChecksInputError):
        CheckSettings(max_change_age_hours=-1)
    with pytest.raises(ChecksInputError):
        CheckSettings(item_count_tolerance_percent=101)
    assert parse_item_counts('{"Orders": 3}') == {"Orders": 3}
    for text in ('{"Orders": -1}', '{"Orders": true}', "[1]", "{"):
        with pytest.raises(ChecksInputError):
            parse_item_counts(text)
    base = ["--raw-path", "r", "--warehouse", "w", "--database", "d"]
    for wrong in (["--metrics", "kafka"], ["--metrics-namespace", "AWS/Glue"], ["--item-counts", "{"],
                  ["--tables", '[{"source": "A", "histroy": true}]']):
        with pytest.raises(JobInputError):
            parse_arguments(base + wrong)


@mock_aws
def test_item_counts_are_read_through_the_source_accounts_role() -> None:
    region = "us-east-1"
    dynamodb = boto3.client("dynamodb", region_name=region)
    dynamodb.create_table(TableName="Orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    for number in range(3):
        dynamodb.put_item(TableName="Orders", Item={"id": {"S": str(number)}})
    iam = boto3.client("iam", region_name=region)
    role = iam.create_role(RoleName="counts", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}]}))["Role"]
    counts = ItemCounts({"Given": 7})
    assert counts.count("Orders", CountSource(role["Arn"], region)) == (3, "")
    assert counts.count("Given", None) == (7, "")
    assert counts.count("Orders", None) == (None, "no source item count configured for this table")
    missing, note = counts.count("Gone", CountSource(role["Arn"], region))
    assert missing is None and note.startswith(f"DescribeTable of Gone through {role['Arn']} failed: ")


def test_the_file_sink_appends_one_line_per_datum(tmp_path: Path) -> None:
    sink = metric_sink(f"file:{tmp_path}/m/metrics.jsonl", "Lakehouse")
    assert isinstance(sink, FileMetrics)
    moment = datetime(2026, 12, 1, tzinfo=timezone.utc)
    sink.publish([Datum("LiveRows", 3, dimensions=(("Table", "orders"),)), Datum("NewestChangeAgeSeconds", 1.5,
                                                                                "Seconds")], moment)
    sink.publish([Datum("SuccessfulRuns", 1)], moment)
    lines = [json.loads(line) for line in (tmp_path / "m" / "metrics.jsonl").read_text().splitlines()]
    assert [(line["name"], line["value"], line["unit"], line["dimensions"]) for line in lines] == [
        ("LiveRows", 3, "Count", {"Table": "orders"}), ("NewestChangeAgeSeconds", 1.5, "Seconds", {}),
        ("SuccessfulRuns", 1, "Count", {})]
    assert {line["timestamp"] for line in lines} == {moment.isoformat()}
    for wrong in ("file:", "cloud", ""):
        with pytest.raises(MetricsInputError):
            metric_sink(wrong, "Lakehouse")


@mock_aws
def test_the_cloudwatch_sink_puts_every_datum_in_batches() -> None:
    client = boto3.client("cloudwatch", region_name="us-east-1")
    moment = datetime.now(timezone.utc).replace(microsecond=0)
    data = [Datum("LiveRows", number, dimensions=(("Database", "db"), ("Table", f"t{number}")))
            for number in range(CLOUDWATCH_BATCH + 5)]
    CloudWatchMetrics("Lakehouse/db", client).publish(data, moment)
    listed = client.list_metrics(Namespace="Lakehouse/db")["Metrics"]
    assert len(listed) == CLOUDWATCH_BATCH + 5
    statistics = client.get_metric_statistics(
        Namespace="Lakehouse/db", MetricName="LiveRows", Dimensions=[{"Name": "Database", "Value": "db"},
                                                                    {"Name": "Table", "Value": "t7"}],
        StartTime=moment.replace(minute=0, second=0), EndTime=moment.replace(minute=59, second=59), Period=3600,
        Statistics=["Maximum"])
    assert [point["Maximum"] for point in statistics["Datapoints"]] == [7.0]
