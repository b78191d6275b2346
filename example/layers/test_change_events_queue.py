"""The example's own layer, tested alone with cdktf's Testing API (run by `make test-fast`)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from change_events_queue import ChangeEventsQueueLayer, QueueSettings

from leverage.testing import ALLOWED, ANONYMOUS, DENIED, AccessPath, Testing, assert_access, synth_layer

PROJECT = Path(__file__).resolve().parent.parent  # the example Leverage project


def synth(settings: QueueSettings = QueueSettings()) -> str:
    return synth_layer(ChangeEventsQueueLayer, settings, leverage_root=PROJECT, account="data-science",
                       layer="change-events-queue")


def test_the_queue_is_named_by_the_project_and_keeps_messages_as_set() -> None:
    synthesized = synth(QueueSettings(retention_days=2))
    assert Testing.to_have_resource_with_properties(synthesized, "aws_sqs_queue", {
        "name": "bb-data-science-change-events", "message_retention_seconds": 2 * 86_400,
        "sqs_managed_sse_enabled": True})


def test_the_rule_matches_the_raw_buckets_new_objects_read_from_the_lake_layer() -> None:
    config = json.loads(synth())
    pattern = json.loads(config["resource"]["aws_cloudwatch_event_rule"]["raw_objects"]["event_pattern"])
    assert pattern["resources"] == ["${data.terraform_remote_state.datalake_demo.outputs.s3_bucket_data_raw_arn}"]
    assert config["data"]["terraform_remote_state"]["datalake_demo"]["config"]["key"].endswith(
        "/datalake-demo/terraform.tfstate")


def test_only_the_rule_may_send_and_only_over_tls() -> None:
    config = json.loads(synth())
    policy = json.loads(config["resource"]["aws_sqs_queue_policy"]["change_events_policy"]["policy"])
    allow, deny = policy["Statement"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"] == "${aws_cloudwatch_event_rule.raw_objects.arn}"
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# EventBridge delivering to SQS: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html
EVENTBRIDGE_TO_SQS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html"
QUEUE, RULE = "${aws_sqs_queue.change_events.arn}", "${aws_cloudwatch_event_rule.raw_objects.arn}"


def test_only_the_rule_can_send_and_nobody_else_reaches_the_queue() -> None:
    """The queue's access paths as AWS decides them (identity and queue policies, across accounts), in the IAM
    simulator (`make access-simulator`); `${...}` are resolved in the layer, the raw bucket's rule included."""
    from_rule = {"aws:SourceArn": RULE, "aws:SourceAccount": "777777777777"}
    assert_access(synth(), [
        AccessPath("the rule forwards a new raw object", "events.amazonaws.com", "sqs:SendMessage", QUEUE, ALLOWED,
                   EVENTBRIDGE_TO_SQS, context=from_rule),
        AccessPath("another rule sends to the queue", "events.amazonaws.com", "sqs:SendMessage", QUEUE, DENIED,
                   EVENTBRIDGE_TO_SQS, context={**from_rule, "aws:SourceArn": RULE + "-other"}),
        AccessPath("the rule sends over plain HTTP", "events.amazonaws.com", "sqs:SendMessage", QUEUE, DENIED,
                   EVENTBRIDGE_TO_SQS, context={**from_rule, "aws:SecureTransport": "false"}),
        AccessPath("an anonymous caller sends", ANONYMOUS, "sqs:SendMessage", QUEUE, DENIED,
                   "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-basic-examples-of-sqs-policies.html"),
        AccessPath("another account reads the messages", "arn:aws:iam::999999999999:role/administrator",
                   "sqs:ReceiveMessage", QUEUE, DENIED,
                   "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html",
                   identity=({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},)),
    ], leverage_root=PROJECT, account="data-science", layer="change-events-queue")


def test_a_retention_sqs_refuses_is_refused() -> None:
    with pytest.raises(ValueError, match="1 to 14 days"):
        QueueSettings(retention_days=15)
