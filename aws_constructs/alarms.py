"""CloudWatch alarms and the encrypted SNS topic they notify.

Metric names and dimensions are those AWS documents: Firehose `DeliveryToS3.*` (namespace `AWS/Firehose`,
dimension `DeliveryStreamName`), Kinesis `GetRecords.IteratorAgeMilliseconds` and
`WriteProvisionedThroughputExceeded` (`AWS/Kinesis`, `StreamName`), and DynamoDB's Kinesis streaming destination
`AgeOfOldestUnreplicatedRecord`, `FailedToReplicateRecordCount` and `ThrottledPutRecordCount` (`AWS/DynamoDB`,
`TableName` and `DelegatedOperation`).

AWS documents what `DelegatedOperation` stands for (change data capture for Kinesis Data Streams) but not its
value, and an alarm on a dimension value that never occurs watches nothing and stays OK forever. So those metrics
are read with a CloudWatch Metrics Insights query over the schema (every metric with exactly these dimensions),
filtered by the table only.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cached_property

from bindings import (CloudwatchMetricAlarm, CloudwatchMetricAlarmMetricQuery, Construct, SnsTopic,
                          SnsTopicPolicy, SnsTopicSubscription)
from aws_constructs.env import AwsEnvironment
from aws_constructs.errors import ConstructPropsError
from aws_constructs.iam import Condition, Grantable, PolicyDocument, PolicyStatement
from aws_constructs.kms import DATA_KEY_ACTIONS, Key, KeyProps
from aws_constructs.addresses import NamedConstruct
from aws_constructs.validation import check_name, check_range

COMPARISONS = ("GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold",
               "LessThanOrEqualToThreshold")
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
MISSING_DATA = ("breaching", "notBreaching", "ignore", "missing")
# SNS refuses a topic policy over 30 KB: the alarms' ARNs are listed while they take at most this much of it (each
# about 16 bytes more as Terraform prints the document), the rest left to the other statements.
ALARM_ARNS_LISTED_BYTES = 20_000
ARN_PRINTED_OVERHEAD_BYTES = 16
# A statistic as a Metrics Insights aggregate function.
INSIGHTS_FUNCTIONS = {"SampleCount": "COUNT", "Average": "AVG", "Sum": "SUM", "Minimum": "MIN", "Maximum": "MAX"}
PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: dict[str, str]
    statistic: str
    period_seconds: int = 300
    # Dimensions the metric carries whose value is not fixed here: matched by a Metrics Insights query instead.
    any_value_dimensions: tuple[str, ...] = ()

    def insights_query(self) -> str:
        """`SELECT MAX(name) FROM SCHEMA("namespace", dimensions...) WHERE dimension = 'value' AND ...`."""
        schema = ", ".join([f'"{self.namespace}"',
                            *(_insights_name(name) for name in sorted({*self.dimensions, *self.any_value_dimensions}))])
        query = f"SELECT {INSIGHTS_FUNCTIONS[self.statistic]}({_insights_name(self.name)}) FROM SCHEMA({schema})"
        filters = []
        for name, value in self.dimensions.items():
            if "'" in value:
                raise ConstructPropsError(f"metric {self.name}: dimension {name} value {value!r} has a quote, which a "
                                          "Metrics Insights query cannot hold")
            filters.append(f"{_insights_name(name)} = '{value}'")
        return f"{query} WHERE {' AND '.join(filters)}" if filters else query


def _insights_name(name: str) -> str:
    """A metric or dimension name as Metrics Insights reads it: double-quoted unless a plain identifier."""
    return name if PLAIN_NAME.fullmatch(name) else f'"{name}"'


def firehose_metric(name: str, delivery_stream: str, statistic: str, period_seconds: int = 300) -> Metric:
    return Metric("AWS/Firehose", name, {"DeliveryStreamName": delivery_stream}, statistic, period_seconds)


def kinesis_metric(name: str, stream: str, statistic: str, period_seconds: int = 300) -> Metric:
    return Metric("AWS/Kinesis", name, {"StreamName": stream}, statistic, period_seconds)


def dynamodb_stream_metric(name: str, table: str, statistic: str, period_seconds: int = 300) -> Metric:
    """A metric of a table's Kinesis streaming destination (change data capture), whatever its DelegatedOperation."""
    return Metric("AWS/DynamoDB", name, {"TableName": table}, statistic, period_seconds,
                  any_value_dimensions=("DelegatedOperation",))


@dataclass(frozen=True)
class AlarmTopicProps:
    name: str
    env: AwsEnvironment
    email: str = ""  # subscribed when set; AWS e-mails a confirmation link first
    key_deletion_window_days: int = 30


class AlarmTopic(NamedConstruct):
    """An SNS topic for alarm notifications, encrypted with a customer-managed KMS key of its own.

    The key is the topic's own because CloudWatch can publish to an encrypted topic only when the key policy
    lets `cloudwatch.amazonaws.com` use the key: the AWS-managed `alias/aws/sns` key's policy cannot be changed
    (alarms would go silent), and a key managed in another layer would need that layer's policy edited.

    The topic's policy is written by the topic, and names each publisher: the alarms that notify it (an alarm
    registers itself) and the EventBridge rules given `allow_event_rule`. Writing a topic policy replaces SNS's
    default one, so a publisher left out of it is refused, whatever its key grant.
    """

    def __init__(self, scope: Construct, construct_id: str, props: AlarmTopicProps) -> None:
        super().__init__(scope, construct_id)
        check_name("SNS topic", props.name, 256, r"[A-Za-z0-9_-]+", "letters, digits, _ and -")
        check_range("KMS key deletion window", props.key_deletion_window_days, 7, 30, "days")
        self.key = Key(self, "Key", KeyProps(description=f"SNS topic {props.name}: alarm notifications",
                                             env=props.env, deletion_window_days=props.key_deletion_window_days))
        # SNS names the topic in every KMS call for it. Spelt out: a reference to the topic would make the key
        # depend on the topic, which depends on the key.
        self._key_context = ("aws:sns:topicArn", (props.env.arn("sns", props.name),))
        self.key.allow_service_principal("CloudWatchPublishesAlarms", "cloudwatch.amazonaws.com", DATA_KEY_ACTIONS,
                                         encryption_context=self._key_context)
        self._topic = self._name(SnsTopic(self, "Resource", name=props.name, kms_master_key_id=self.key.arn))
        self._env = props.env
        self._topic_name = props.name
        self._policy: PolicyDocument | None = None
        self._alarm_names: list[str] = []
        self._eventbridge_uses_key = False
        if props.email:
            self._name(SnsTopicSubscription(
                self, "Email", topic_arn=self._topic.arn, protocol="email", endpoint=props.email), "email")

    @cached_property
    def arn(self) -> str:
        return self._topic.arn

    def _topic_policy(self) -> PolicyDocument:
        if self._policy is None:
            self._policy = PolicyDocument(self, "PolicyDocument")
            self._name(SnsTopicPolicy(self, "Policy", arn=self._topic.arn, policy=self._policy.json))
        return self._policy

    def allow_alarm(self, alarm_name: str) -> None:
        """Let one CloudWatch alarm of the topic's account and region publish to it (`aws:SourceArn`: the alarm's
        ARN, which holds the account). One statement names every such alarm; when their ARNs would take more than
        `ALARM_ARNS_LISTED_BYTES`, it names their common prefix instead (`ArnLike`), which keeps the topic's policy
        within SNS's 30 KB."""
        if "*" in alarm_name or "?" in alarm_name:  # wildcards in an ARN condition: other alarms would match
            raise ConstructPropsError(f"alarm {alarm_name}: '*' and '?' would let other alarms publish to topic "
                                      f"{self._topic_name}; leave them out of the name")
        if alarm_name not in self._alarm_names:
            self._alarm_names.append(alarm_name)
        arns = tuple(self._env.arn("cloudwatch", f"alarm:{name}") for name in self._alarm_names)
        if sum(len(arn) + ARN_PRINTED_OVERHEAD_BYTES for arn in arns) <= ALARM_ARNS_LISTED_BYTES:
            condition = Condition("ArnEquals", "aws:SourceArn", arns)
        else:
            prefix = os.path.commonprefix(self._alarm_names)
            condition = Condition("ArnLike", "aws:SourceArn", (self._env.arn("cloudwatch", f"alarm:{prefix}*"),))
        self._topic_policy().put_statement(PolicyStatement(
            sid="AlarmsPublish", actions=("sns:Publish",), resources=(self._topic.arn,),
            principals=(("Service", ("cloudwatch.amazonaws.com",)),), conditions=(condition,)))

    def allow_event_rule(self, rule_arn: str, account_id: str) -> None:
        """Let one EventBridge rule of this account publish to the topic: the topic's policy admits EventBridge for
        that rule only (`aws:SourceArn`), and the key's policy lets EventBridge encrypt (no condition: EventBridge
        sends none that KMS could check, see `Key.allow_service_principal`)."""
        if not self._eventbridge_uses_key:
            self.key.allow_service_principal("EventBridgePublishesEvents", "events.amazonaws.com", DATA_KEY_ACTIONS,
                                             source_account=False, encryption_context=self._key_context)
            self._eventbridge_uses_key = True
        self._topic_policy().add_statement(PolicyStatement(
            sid="EventRulePublishes", actions=("sns:Publish",), resources=(self._topic.arn,),
            principals=(("Service", ("events.amazonaws.com",)),),
            conditions=(Condition("ArnEquals", "aws:SourceArn", (rule_arn,)),
                        Condition("StringEquals", "aws:SourceAccount", (account_id,)))))


@dataclass(frozen=True)
class MetricAlarmProps:
    name: str
    description: str
    metric: Metric
    comparison: str
    threshold: float
    topic: AlarmTopic
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None  # all evaluation periods when None
    # No data points means nothing flowed, not that something broke.
    treat_missing_data: str = "notBreaching"
    tags: dict[str, str] = field(default_factory=dict)


class MetricAlarm(NamedConstruct):
    """A CloudWatch alarm on one metric that notifies a topic when it fires and when it recovers."""

    def __init__(self, scope: Construct, construct_id: str, props: MetricAlarmProps) -> None:
        super().__init__(scope, construct_id)
        check_name("CloudWatch alarm", props.name, 255, r"[^\x00-\x1f]+", "printable characters")
        metric = props.metric
        for what, value, allowed in (("comparison", props.comparison, COMPARISONS),
                                     ("statistic", metric.statistic, STATISTICS),
                                     ("missing-data treatment", props.treat_missing_data, MISSING_DATA)):
            if value not in allowed:
                raise ConstructPropsError(f"alarm {props.name}: {what} {value!r} is not one of {', '.join(allowed)}")
        if metric.period_seconds not in (10, 20, 30) and metric.period_seconds % 60:
            raise ConstructPropsError(f"alarm {props.name}: period {metric.period_seconds} s must be 10, 20, 30 or a "
                                      "multiple of 60")
        check_range(f"alarm {props.name} evaluation periods", props.evaluation_periods, 1, 100, "periods")
        datapoints = props.datapoints_to_alarm or props.evaluation_periods
        check_range(f"alarm {props.name} datapoints", datapoints, 1, props.evaluation_periods, "data points")
        if props.threshold < 0:
            raise ConstructPropsError(f"alarm {props.name}: threshold {props.threshold} must not be negative")
        if metric.any_value_dimensions:
            watched = {"metric_query": [CloudwatchMetricAlarmMetricQuery(
                id="query", expression=metric.insights_query(), period=metric.period_seconds, return_data=True)]}
        else:
            watched = {"namespace": metric.namespace, "metric_name": metric.name, "dimensions": metric.dimensions,
                       "statistic": metric.statistic, "period": metric.period_seconds}
        self._alarm = self._name(CloudwatchMetricAlarm(
            self,
            "Resource",
            alarm_name=props.name,
            alarm_description=props.description,
            **watched,
            evaluation_periods=props.evaluation_periods,
            datapoints_to_alarm=datapoints,
            comparison_operator=props.comparison,
            threshold=props.threshold,
            treat_missing_data=props.treat_missing_data,
            alarm_actions=[props.topic.arn],
            ok_actions=[props.topic.arn],
            tags=props.tags or None,
        ))
        props.topic.allow_alarm(props.name)

    @cached_property
    def arn(self) -> str:
        return self._alarm.arn


def grant_put_metric_data(principal: Grantable, sid: str, namespace: str) -> None:
    """Publish custom metrics of one namespace. PutMetricData names no resource, so IAM authorizes it on "*" only;
    the `cloudwatch:namespace` condition keeps the principal to its own namespace."""
    if not namespace or namespace.startswith("AWS/"):
        raise ConstructPropsError(f"metric namespace {namespace!r} must be a custom one (not empty, not AWS/...)")
    principal.add_to_principal_policy(PolicyStatement(
        sid=sid, actions=("cloudwatch:PutMetricData",), resources=("*",),
        conditions=(Condition("StringEquals", "cloudwatch:namespace", (namespace,)),)))
