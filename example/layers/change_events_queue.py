"""`<lake account>/<region>/change-events-queue`: a queue for the consumers of the lake's change events.

A layer of the example project's own, registered in cdktf.json (`layers`), not part of the app: every object the
Firehose delivers to the raw bucket becomes a message here (the bucket sends its events to EventBridge; a rule
forwards its "Object Created" events), so a consumer reacts to new change records without listing the bucket.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from bindings.aws.cloudwatch_event_rule import CloudwatchEventRule
from bindings.aws.cloudwatch_event_target import CloudwatchEventTarget
from bindings.aws.sqs_queue import SqsQueue
from bindings.aws.sqs_queue_policy import SqsQueuePolicy

from leverage.stack import LeverageLayerStack


@dataclass(frozen=True)
class QueueSettings:
    lake_layer: str = "datalake-demo"  # the layer of the raw bucket, in this layer's account
    retention_days: int = 4
    max_receive_count: int = 5  # deliveries of a message before it moves to the dead-letter queue

    def __post_init__(self) -> None:
        if not 1 <= self.retention_days <= 14:
            raise ValueError(f"retention_days={self.retention_days}: SQS keeps messages 1 to 14 days")


class ChangeEventsQueueLayer(LeverageLayerStack):
    """A queue of the raw bucket's new objects, for the consumers of the lake's change events.

    EventBridge forwards the raw bucket's "Object Created" events to an SQS queue (encrypted with SQS-managed
    keys, TLS only); a message delivered `max_receive_count` times without success moves to a dead-letter queue.
    """

    Settings = QueueSettings
    diagram = 'flowchart LR\n  raw[("raw bucket")] -- "Object Created" --> rule["EventBridge rule"] --> queue[("SQS queue")]'

    def build(self, settings: QueueSettings) -> None:
        raw_bucket_arn = self.read_layer(self.account.name, settings.lake_layer, "s3_bucket_data_raw_arn")
        retention = settings.retention_days * 86_400
        dead_letters = SqsQueue(self, "dead_letters", name=self.aws_name("change-events-dlq", kind="sqs_queue"),
                                message_retention_seconds=14 * 86_400, sqs_managed_sse_enabled=True)
        queue = SqsQueue(self, "change_events", name=self.aws_name("change-events", kind="sqs_queue"),
                         message_retention_seconds=retention, sqs_managed_sse_enabled=True,
                         redrive_policy=json.dumps({"deadLetterTargetArn": dead_letters.arn,
                                                    "maxReceiveCount": settings.max_receive_count}))
        rule = CloudwatchEventRule(self, "raw_objects", name=self.aws_name("raw-objects", kind="cloudwatch_event_rule"),
                                   description="New objects in the lake's raw bucket",
                                   event_pattern=json.dumps({"source": ["aws.s3"], "detail-type": ["Object Created"],
                                                             "resources": [raw_bucket_arn]}))
        CloudwatchEventTarget(self, "raw_objects_to_queue", rule=rule.name, arn=queue.arn)
        SqsQueuePolicy(self, "change_events_policy", queue_url=queue.url, policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "EventBridgeSends", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                 "Action": "sqs:SendMessage", "Resource": queue.arn,
                 "Condition": {"ArnEquals": {"aws:SourceArn": rule.arn}}},
                {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": queue.arn,
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            ],
        }))
        self.output("queue_arn", queue.arn, "ARN of the queue of the raw bucket's new objects")
        self.output("queue_url", queue.url, "URL of the queue, for consumers")
        self.output("dead_letter_queue_arn", dead_letters.arn, "ARN of the dead-letter queue")
