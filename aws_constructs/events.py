"""EventBridge rules on the account's default bus."""
from __future__ import annotations

from functools import cached_property

import json

from bindings import CloudwatchEventRule, CloudwatchEventTarget, Construct
from aws_constructs.addresses import NamedConstruct
from aws_constructs.alarms import AlarmTopic
from aws_constructs.errors import ConstructPropsError
from aws_constructs.validation import check_name

# The end states without success that Glue sends as "Glue Job State Change" events (it sends SUCCEEDED, FAILED,
# TIMEOUT and STOPPED only: a run ending ERROR sends none, and a STOPPED run was stopped by someone).
GLUE_JOB_FAILED_STATES = ("FAILED", "TIMEOUT")


class GlueJobFailureNotification(NamedConstruct):
    """Runs of one Glue job that end FAILED or TIMEOUT notify an alarm topic (its policy is extended to
    admit this rule only). The message is the event itself: job name, run id, state and Glue's error message."""

    def __init__(self, scope: Construct, construct_id: str, name: str, job_name: str, topic: AlarmTopic,
                 account_id: str, states: tuple[str, ...] = GLUE_JOB_FAILED_STATES) -> None:
        super().__init__(scope, construct_id)
        check_name("EventBridge rule", name, 64, r"[\w.-]+", "letters, digits and _.-")
        unknown = sorted(set(states) - set(GLUE_JOB_FAILED_STATES))
        if not states or unknown:
            raise ConstructPropsError(f"EventBridge rule {name}: states {list(states)} must be some of "
                                      + ", ".join(GLUE_JOB_FAILED_STATES))
        pattern = {"source": ["aws.glue"], "detail-type": ["Glue Job State Change"],
                   "detail": {"jobName": [job_name], "state": list(states)}}
        self._rule = self._name(CloudwatchEventRule(
            self, "Resource", name=name, description=f"Glue job {job_name} ended {', '.join(states)}",
            event_pattern=json.dumps(pattern)))
        self._name(CloudwatchEventTarget(self, "Target", rule=self._rule.name, target_id="alarm-topic",
                                         arn=topic.arn))
        topic.allow_event_rule(self._rule.arn, account_id)

    @cached_property
    def arn(self) -> str:
        return self._rule.arn
