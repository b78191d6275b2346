"""The runtime requests of the built-in layers' principals, derived from the synthesized layers (every name and ARN
resolved from the layers themselves), each with the decision AWS must reach and the AWS documentation of the call.

One module per principal or service, each a function adding that principal's requests (its docstring says what is
derived from what):

| module | principal |
| --- | --- |
| `firehose` | each Firehose delivery stream's role |
| `glue_crawlers` | each Glue crawler's role |
| `glue_jobs` | each Glue job's role, the lakehouse job's reads and writes of the lake |
| `athena_readers` | a person holding a managed policy of an Athena workgroup's layer |
| `s3_service` | S3 replication's role, S3 server access log delivery |
| `cloudwatch` | CloudWatch Logs and CloudWatch alarms using the keys |
| `eventbridge` | EventBridge delivering to its targets |
| `dynamodb_streaming` | DynamoDB's service-linked role streaming into Kinesis |
| `outsiders` | anonymous callers, another account's administrator |

Shared by them: `builder` (the requests so far, the requests several principals make alike, what the layers say
about buckets, streams, log groups and topics), `deliveries` (Firehose's delivery streams resolved: the keys
Firehose writes), `lakehouse` (the raw change records and the warehouse, from the lakehouse job's arguments) and
`aws_docs` (the documentation each request cites). A new principal gets a module of its own, called below; a new
request of a principal that is there goes into its module.
"""
from __future__ import annotations

from aws_constructs.access.layers import Layers
from aws_constructs.access.requests import AccessRequest
from stacks.access_paths.athena_readers import athena_readers
from stacks.access_paths.builder import CatalogueBuilder
from stacks.access_paths.cloudwatch import cloudwatch_alarm_topics, cloudwatch_logs_keys
from stacks.access_paths.deliveries import deliveries
from stacks.access_paths.dynamodb_streaming import dynamodb_streaming
from stacks.access_paths.eventbridge import eventbridge_targets
from stacks.access_paths.firehose import firehose_role
from stacks.access_paths.glue_crawlers import glue_crawlers
from stacks.access_paths.glue_jobs import glue_jobs
from stacks.access_paths.outsiders import outsiders
from stacks.access_paths.s3_service import s3_access_log_delivery, s3_replication


def catalogue(layers: Layers, outsider_account: str) -> list[AccessRequest]:
    """Every runtime request of the layers' principals, with the decision AWS must reach."""
    builder = CatalogueBuilder(layers, outsider_account)
    delivery_streams = list(deliveries(layers))
    for delivery in delivery_streams:
        firehose_role(builder, delivery, delivery_streams)
    glue_crawlers(builder, delivery_streams)
    glue_jobs(builder, delivery_streams)
    athena_readers(builder)
    s3_replication(builder)
    s3_access_log_delivery(builder)
    cloudwatch_logs_keys(builder)
    cloudwatch_alarm_topics(builder)
    eventbridge_targets(builder)
    dynamodb_streaming(builder)
    outsiders(builder)
    return builder.requests
