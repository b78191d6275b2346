"""CloudWatch's services using the layers' keys: CloudWatch Logs encrypting and reading each encrypted log group
(that group only, not another account's), and CloudWatch publishing each alarm to its topic, through the topic's
policy and its key (not another account's alarm). A role writing its own log stream is
`CatalogueBuilder.write_log_stream`."""
from __future__ import annotations

from aws_constructs.access.requests import ALLOWED, DENIED
from stacks.access_paths.aws_docs import ALARM_TOPIC_POLICY, LOGS_KEY, SNS_SERVICES_KEY
from stacks.access_paths.builder import CatalogueBuilder, regional_endpoint

LOG_GROUP = "aws_cloudwatch_log_group"
ALARM = "aws_cloudwatch_metric_alarm"


def cloudwatch_logs_keys(builder: CatalogueBuilder) -> None:
    for layer, name, body in builder.layers.resources(LOG_GROUP):
        if "kms_key_id" not in body:
            continue
        key = builder.attribute(layer, LOG_GROUP, name, "kms_key_id")
        group = builder.attribute(layer, LOG_GROUP, name, "arn")
        logs = regional_endpoint("logs", builder.region(layer, body.get("provider")))
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            builder.add(f"CloudWatch Logs encrypts and reads log group {group.rsplit(':', 1)[1]}", logs, action, key,
                        ALLOWED, LOGS_KEY, context={"kms:EncryptionContext:aws:logs:arn": group})
        builder.add("CloudWatch Logs encrypts another account's group with the key", logs, "kms:GenerateDataKey",
                    key, DENIED, LOGS_KEY, context={
                        "kms:EncryptionContext:aws:logs:arn": builder.in_outsider_account(group, layer.account_id)})


def cloudwatch_alarm_topics(builder: CatalogueBuilder) -> None:
    # The topic's policy names each alarm; the topic key's names the account: the first alarm proves it.
    published: set[str] = set()
    for layer, name, _ in builder.layers.resources(ALARM):
        alarm = builder.attribute(layer, ALARM, name, "arn")
        for topic in builder.attribute(layer, ALARM, name, "alarm_actions"):
            builder.add(f"CloudWatch publishes alarm {alarm.rsplit(':', 1)[1]} to its topic",
                        "cloudwatch.amazonaws.com", "sns:Publish", topic, ALLOWED, ALARM_TOPIC_POLICY,
                        context={"aws:SourceArn": alarm})
            key = builder.topic_key(topic)
            if key is None or topic in published:
                continue
            published.add(topic)
            builder.add("CloudWatch publishes another account's alarm to the topic", "cloudwatch.amazonaws.com",
                        "sns:Publish", topic, DENIED, ALARM_TOPIC_POLICY,
                        context={"aws:SourceArn": builder.in_outsider_account(alarm, layer.account_id)})
            context = {"aws:SourceAccount": layer.account_id, "aws:SourceArn": alarm,
                       "kms:EncryptionContext:aws:sns:topicArn": topic}
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                builder.add("CloudWatch publishes an alarm to its encrypted topic", "cloudwatch.amazonaws.com",
                            action, key, ALLOWED, SNS_SERVICES_KEY, context=context)
            builder.add("CloudWatch publishes another account's alarm with the topic's key",
                        "cloudwatch.amazonaws.com", "kms:GenerateDataKey", key, DENIED, SNS_SERVICES_KEY,
                        context={**context, "aws:SourceAccount": builder.outsider_account,
                                 "aws:SourceArn": builder.in_outsider_account(alarm, layer.account_id)})
            builder.add("CloudWatch publishes to another topic of the account with this topic's key",
                        "cloudwatch.amazonaws.com", "kms:GenerateDataKey", key, DENIED, SNS_SERVICES_KEY,
                        context={**context, "kms:EncryptionContext:aws:sns:topicArn": f"{topic}-other"})
