"""EventBridge delivering each rule's events to its target (an SQS queue, or an SNS topic with its key), and only
that rule's: another rule is refused."""
from __future__ import annotations

from aws_constructs.access.expressions import Unresolved
from aws_constructs.access.requests import ALLOWED, DENIED
from stacks.access_paths.aws_docs import EVENTBRIDGE_TARGETS, SNS_SERVICES_KEY
from stacks.access_paths.builder import CatalogueBuilder

TARGET = "aws_cloudwatch_event_target"
RULE = "aws_cloudwatch_event_rule"
DELIVERY_ACTIONS = {"sns": "sns:Publish", "sqs": "sqs:SendMessage"}


def eventbridge_targets(builder: CatalogueBuilder) -> None:
    for layer, name, _ in builder.layers.resources(TARGET):
        target = builder.attribute(layer, TARGET, name, "arn")
        rule_name = builder.attribute(layer, TARGET, name, "rule")
        rule = next(builder.attribute(owner, RULE, resource, "arn")
                    for owner, resource, _ in builder.layers.resources(RULE)
                    if owner is layer and builder.attribute(owner, RULE, resource, "name") == rule_name)
        service = target.split(":")[2]
        action = DELIVERY_ACTIONS.get(service)
        if action is None:
            raise Unresolved(target, "an EventBridge target the proof does not know")
        context = {"aws:SourceArn": rule, "aws:SourceAccount": layer.account_id}
        builder.add(f"EventBridge rule {rule_name} delivers to its target", "events.amazonaws.com", action, target,
                    ALLOWED, EVENTBRIDGE_TARGETS, context=context)
        builder.add("Another EventBridge rule delivers to the target", "events.amazonaws.com", action, target,
                    DENIED, EVENTBRIDGE_TARGETS, context={**context, "aws:SourceArn": rule.rsplit("/", 1)[0] + "/other"})
        key = builder.topic_key(target) if service == "sns" else None
        if key:
            # SNS's key-management guide: EventBridge's use of a topic's key carries no aws:SourceAccount or
            # aws:SourceArn that a key policy could check.
            builder.add(f"EventBridge rule {rule_name} encrypts what it publishes", "events.amazonaws.com",
                        "kms:GenerateDataKey", key, ALLOWED, SNS_SERVICES_KEY,
                        context={"kms:EncryptionContext:aws:sns:topicArn": target})
            builder.add("EventBridge publishes to another topic with this topic's key", "events.amazonaws.com",
                        "kms:GenerateDataKey", key, DENIED, SNS_SERVICES_KEY,
                        context={"kms:EncryptionContext:aws:sns:topicArn": f"{target}-other"})
