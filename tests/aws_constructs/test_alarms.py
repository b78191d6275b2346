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
