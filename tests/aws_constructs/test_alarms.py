"""Alarm topics and metric alarms."""
from __future__ import annotations

import re

import pytest

from aws_constructs.errors import ConstructPropsError
from tests.aws_constructs.support import metric_alarm_with, new_stack, only, synth


# --- alarms ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, message", [
    ({"comparison": "GreaterThan"}, "comparison 'GreaterThan' is not one of GreaterThanThreshold, "
     "GreaterThanOrEqualToThreshold, LessThanThreshold, LessThanOrEqualToThreshold"),
    ({"statistic": "p99"}, "statistic 'p99' is not one of SampleCount, Average, Sum, Minimum, Maximum"),
    ({"treat_missing_data": "zero"}, "missing-data treatment 'zero' is not one of breaching, notBreaching, ignore, "
     "missing"),
    ({"period_seconds": 45}, "period 45 s must be 10, 20, 30 or a multiple of 60"),
    ({"period_seconds": 90}, "period 90 s must be 10, 20, 30 or a multiple of 60"),
    ({"threshold": -0.5}, "threshold -0.5 must not be negative"),
], ids=["comparison", "statistic", "missing-data", "period-45", "period-90", "negative-threshold"])
def test_metric_alarm_refuses_what_cloudwatch_rejects(overrides, message):
    with pytest.raises(ConstructPropsError, match=f"^{re.escape(f'alarm bb-iterator-age: {message}')}$"):
        metric_alarm_with(new_stack(), **overrides)


@pytest.mark.parametrize("period", [10, 20, 30, 60, 120])
def test_metric_alarm_accepts_high_resolution_periods_and_whole_minutes(period):
    stack = new_stack()
    metric_alarm_with(stack, period_seconds=period, threshold=0.0)
    alarm = only(synth(stack), "resource", "aws_cloudwatch_metric_alarm")
    assert (alarm["period"], alarm["threshold"], alarm["datapoints_to_alarm"]) == (period, 0, 1)

def test_a_metric_with_a_dimension_of_any_value_is_a_metrics_insights_query() -> None:
    from aws_constructs.alarms import Metric, dynamodb_stream_metric
    assert dynamodb_stream_metric("ThrottledPutRecordCount", "orders", "Maximum").insights_query() == (
        'SELECT MAX(ThrottledPutRecordCount) FROM SCHEMA("AWS/DynamoDB", DelegatedOperation, TableName) '
        "WHERE TableName = 'orders'")
    # Names that are not plain identifiers are double-quoted; every statistic has its aggregate function.
    metric = Metric("AWS/Kinesis", "GetRecords.Bytes", {"StreamName": "s"}, "SampleCount", any_value_dimensions=("X",))
    assert metric.insights_query() == ('SELECT COUNT("GetRecords.Bytes") FROM SCHEMA("AWS/Kinesis", StreamName, X) '
                                       "WHERE StreamName = 's'")
    with pytest.raises(ConstructPropsError, match="has a quote"):
        dynamodb_stream_metric("AgeOfOldestUnreplicatedRecord", "o'rders", "Maximum").insights_query()


# --- the topic's policy --------------------------------------------------------------------------------------------

def test_a_topic_policy_admits_each_alarm_that_notifies_it_since_it_replaces_the_default_one() -> None:
    from aws_constructs.alarms import Metric, MetricAlarm, MetricAlarmProps
    from tests.aws_constructs.support import ACCOUNT, REGION, alarm_topic_with, by_sid, policy_statements
    stack = new_stack()
    topic = alarm_topic_with(stack)
    for name in ("bb-first", "bb-second"):
        MetricAlarm(stack, name, MetricAlarmProps(
            name=name, description="d", metric=Metric("AWS/Kinesis", "m", {"StreamName": "s"}, "Maximum", 300),
            comparison="GreaterThanThreshold", threshold=1.0, topic=topic))
    synthesized = synth(stack)
    policy = only(synthesized, "resource", "aws_sns_topic_policy")
    assert re.fullmatch(r"\$\{aws_sns_topic\.\w+\.arn\}", policy["arn"])
    publish = by_sid(policy_statements(synthesized, policy["policy"]))["AlarmsPublish"]
    assert publish["principals"] == [{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com"]}]
    assert publish["actions"] == ["sns:Publish"]
    assert publish["condition"] == [{"test": "ArnEquals", "variable": "aws:SourceArn", "values": [
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}" for name in ("bb-first", "bb-second")]}]


def test_the_services_may_use_the_topic_key_for_that_topic_only_and_eventbridge_without_a_source() -> None:
    """EventBridge sends KMS no aws:SourceAccount; SNS names the topic in every call for it, whoever publishes."""
    import json

    from tests.aws_constructs.support import ACCOUNT, REGION, alarm_topic_with
    stack = new_stack()
    alarm_topic_with(stack).allow_event_rule("arn:aws:events:us-east-1:123456789012:rule/r", "123456789012")
    key_policy = json.loads(only(synth(stack), "resource", "aws_kms_key")["policy"])
    topic = only(synth(stack), "resource", "aws_sns_topic")["name"]
    services = {statement["Principal"]["Service"]: statement for statement in key_policy["Statement"]
                if "Service" in statement["Principal"]}
    for service in ("events.amazonaws.com", "cloudwatch.amazonaws.com"):
        assert services[service]["Condition"]["StringEquals"]["kms:EncryptionContext:aws:sns:topicArn"] == \
            f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic}", service
        assert services[service]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert "aws:SourceAccount" not in services["events.amazonaws.com"]["Condition"]["StringEquals"]
    assert services["cloudwatch.amazonaws.com"]["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT


def test_alarms_too_many_to_list_in_the_topic_policy_are_named_by_their_common_prefix() -> None:
    """SNS refuses a topic policy over 30 KB: 200 alarms of 100-character names would take about 32 KB."""
    from tests.aws_constructs.support import ACCOUNT, REGION, alarm_topic_with, by_sid, policy_statements
    stack = new_stack()
    topic = alarm_topic_with(stack)
    for number in range(200):
        topic.allow_alarm(f"bb-apps-devstg-table{number:03}-{'x' * 70}-cdc-age")
    synthesized = synth(stack)
    policy = only(synthesized, "resource", "aws_sns_topic_policy")
    publish = by_sid(policy_statements(synthesized, policy["policy"]))["AlarmsPublish"]
    assert publish["condition"] == [{"test": "ArnLike", "variable": "aws:SourceArn",
                                     "values": [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:bb-apps-devstg-table*"]}]


def test_an_alarm_name_with_a_wildcard_is_refused_since_the_topic_policy_would_admit_other_alarms() -> None:
    from tests.aws_constructs.support import alarm_topic_with
    with pytest.raises(ConstructPropsError, match=r"^alarm bb-\*-age: '\*' and '\?' would let other alarms publish "
                                                  r"to topic bb-alarms; leave them out of the name$"):
        alarm_topic_with(new_stack()).allow_alarm("bb-*-age")
