"""moto's server with the few AWS calls the layers need and moto 5.2 lacks, as bookkeeping.

Run as a program (`python tests/e2e/emulator.py`): it serves on a free loopback port, prints `port <n>` once ready
and stops when its standard input closes, so it never outlives the test process that started it.

Gaps filled here, never in the layers:
- DynamoDB's Kinesis streaming destination calls (Enable/Describe/Update/Disable) are missing: they are recorded per
  table and reported ACTIVE (or DISABLED) at once. Nothing is streamed.
- Kinesis CreateStream drops its `Tags`: they are added to the new stream, as AWS does, so a plan after apply does
  not show a tag change forever.
- S3 PutBucketLogging reads every statement of the target bucket's policy as if its `Principal` were a map and fails
  (HTTP 500, retried for minutes) on `"Principal": "*"`, which a TLS-only `Deny` has: the same check, reading the
  policy grammar as AWS does (a principal, action or resource may be one value or a list).
- CloudWatch Logs AssociateKmsKey / DisassociateKmsKey are missing (the provider retries the unknown call for its
  whole timeout): the key is recorded on the log group, as CreateLogGroup's `kmsKeyId` is. An adopted log group
  gains its key this way.
- DynamoDB UpdateTable ignores `SSESpecification`, and a table switched to on-demand billing keeps reporting its
  provisioned capacity (AWS reports 0, and the provider refuses to plan a PAY_PER_REQUEST table with a capacity):
  the key is recorded and the capacity reported as AWS does. An adopted provisioned table changes both this way.
- Glue UpdateCrawler is missing (HTTP 500, retried by the provider for its whole timeout): the given fields are
  recorded on the crawler, as CreateCrawler records them. A crawler that gains a security configuration (the
  layers applied with hashed addresses, regenerated) changes this way.
- Terraform's state lock is a conditional DynamoDB PutItem, and the AWS SDK retries a call whose answer it did not
  get (a connection error, or HTTP 500, 502, 503 or 504). On a loaded machine (twice in about a dozen suite runs)
  moto stored a lock whose write the SDK then retried: the retry found the lock its own first attempt took, and the
  plan or apply failed with "Error acquiring the state lock", held by itself. A lock write that repeats the stored
  item exactly (the same LockID and Info, whose ID is a fresh UUID per run) succeeds, as the first attempt did; any
  other run's lock, and any other conditional write, still fails the condition.
- SQS GetQueueAttributes returns `RedrivePolicy` as JSON with spaces after `,` and `:`; AWS returns it compact, and
  the provider compares it as text (every plan after apply would show a whitespace change): compact, as AWS.

One switch on its standard input: the line `hold access logs` (answered `held`) stops S3 server access logging, for
the destroys (`deliver access logs`, answered `delivered`, starts it again). moto writes a log object into the
target bucket during each request; AWS delivers access logs hours later, best effort, and drops those whose target
bucket is gone. So in AWS a destroy's own calls do not fill the log bucket it is about to delete; in moto, without
the switch, they do (BucketNotEmpty, and a second destroy).

One change is for speed only: moto routes every request by listing its own package folder (a `stat` of each of
~170 entries, a quarter of its CPU in a scenario); the folder does not change while it runs, so it is listed once.
"""
from __future__ import annotations

import functools
import json
import logging
import re
import sys
from typing import Any

from moto import backends

from moto.core.responses import ActionResult, EmptyResult
from moto.s3.exceptions import ReplicationConfigurationNotFoundError
from moto.dynamodb.exceptions import ConditionalCheckFailed, ResourceNotFoundException
from moto.core.utils import utcnow
from moto.dynamodb.responses import DynamoHandler, DynamoResult, include_consumed_capacity
from moto.glue.responses import GlueResponse
from moto.kinesis.responses import KinesisResponse
from moto.logs.exceptions import ResourceNotFoundException as LogGroupNotFound
from moto.logs.responses import LogsResponse
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.s3.models import FakeBucket, S3Backend
from moto.s3.responses import S3Response
from moto.sqs.models import Queue

# (account, region, table name) -> {stream ARN -> destination description}
_STREAMING_DESTINATIONS: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}


def _destinations(handler: DynamoHandler) -> tuple[str, dict[str, dict[str, Any]]]:
    """The table's name and its destinations; the table must exist, as in AWS."""
    table = handler.dynamodb_backend.get_table(handler.body["TableName"])
    if table is None:
        raise ResourceNotFoundException(table_name=handler.body["TableName"])
    key = (handler.current_account, handler.region, table.name)
    return table.name, _STREAMING_DESTINATIONS.setdefault(key, {})


def _set_destination(handler: DynamoHandler, status: str) -> ActionResult:
    table_name, destinations = _destinations(handler)
    stream_arn = handler.body["StreamArn"]
    destination = destinations.setdefault(stream_arn, {"StreamArn": stream_arn})
    destination["DestinationStatus"] = status
    configuration = handler.body.get("EnableKinesisStreamingConfiguration") or {}
    if "ApproximateCreationDateTimePrecision" in configuration:
        destination["ApproximateCreationDateTimePrecision"] = configuration["ApproximateCreationDateTimePrecision"]
    result = {"TableName": table_name, "StreamArn": stream_arn, "DestinationStatus": status}
    if configuration:
        result["EnableKinesisStreamingConfiguration"] = configuration
    return ActionResult(result)


def enable_kinesis_streaming_destination(self: DynamoHandler) -> ActionResult:
    return _set_destination(self, "ACTIVE")


def disable_kinesis_streaming_destination(self: DynamoHandler) -> ActionResult:
    return _set_destination(self, "DISABLED")


def update_kinesis_streaming_destination(self: DynamoHandler) -> ActionResult:
    table_name, destinations = _destinations(self)
    stream_arn = self.body["StreamArn"]
    if stream_arn not in destinations:
        raise ResourceNotFoundException(table_name=table_name)
    configuration = self.body.get("UpdateKinesisStreamingConfiguration") or {}
    destinations[stream_arn].update(configuration)
    return ActionResult({"TableName": table_name, "StreamArn": stream_arn, "DestinationStatus": "ACTIVE",
                         "UpdateKinesisStreamingConfiguration": configuration})


def describe_kinesis_streaming_destination(self: DynamoHandler) -> ActionResult:
    table_name, destinations = _destinations(self)
    return ActionResult({"TableName": table_name,
                         "KinesisDataStreamDestinations": [dict(each) for each in destinations.values()]})


_update_table_without_encryption = DynamoHandler.update_table


def update_table(self: DynamoHandler) -> ActionResult:
    _update_table_without_encryption(self)
    table = self.dynamodb_backend.get_table(self.body["TableName"])
    if self.body.get("BillingMode") == "PAY_PER_REQUEST":
        table.throughput = {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0, "NumberOfDecreasesToday": 0}
    encryption = self.body.get("SSESpecification")
    if encryption is not None:
        table.sse_specification = dict(encryption) if encryption.get("Enabled") else None
        if table.sse_specification and "KMSMasterKeyId" not in table.sse_specification:
            table.sse_specification["KMSMasterKeyId"] = table._get_default_encryption_key(
                self.current_account, self.region)
    return DynamoResult(table.describe())


_moto_put_item = DynamoHandler.put_item.__wrapped__  # without its consumed-capacity wrapper, which put_item keeps
TERRAFORM_LOCK_CONDITION = "attribute_not_exists(LockID)"


def _repeats_stored_lock(handler: DynamoHandler) -> bool:
    """Whether this PutItem is Terraform's lock write and the table already holds exactly this item."""
    item = handler.body.get("Item") or {}
    if handler.body.get("ConditionExpression") != TERRAFORM_LOCK_CONDITION or set(item) != {"LockID", "Info"}:
        return False
    stored = handler.dynamodb_backend.get_item(handler.body["TableName"], {"LockID": item["LockID"]})
    return stored is not None and stored.to_json()["Attributes"] == item


@include_consumed_capacity()
def put_item(self: DynamoHandler) -> ActionResult:
    try:
        return _moto_put_item(self)
    except ConditionalCheckFailed:
        if not _repeats_stored_lock(self):
            raise
        return DynamoResult({})


# UpdateCrawler parameter -> the attribute CreateCrawler stores it in
_CRAWLER_FIELDS = {"Role": "role", "DatabaseName": "database_name", "Description": "description",
                   "Targets": "targets", "Schedule": "schedule", "Classifiers": "classifiers",
                   "TablePrefix": "table_prefix", "SchemaChangePolicy": "schema_change_policy",
                   "RecrawlPolicy": "recrawl_policy", "LineageConfiguration": "lineage_configuration",
                   "Configuration": "configuration", "CrawlerSecurityConfiguration": "crawler_security_configuration"}


def update_crawler(self: GlueResponse) -> EmptyResult:
    crawler = self.glue_backend.get_crawler(self.parameters.get("Name"))  # CrawlerNotFound, as AWS
    for parameter, attribute in _CRAWLER_FIELDS.items():
        if parameter in self.parameters:
            setattr(crawler, attribute, self.parameters[parameter])
    crawler.last_updated = utcnow()
    crawler.version += 1
    return EmptyResult()


_create_stream_without_tags = KinesisResponse.create_stream


def create_stream_with_tags(self: KinesisResponse) -> ActionResult:
    result = _create_stream_without_tags(self)
    tags = self._get_param("Tags")
    if tags:
        self.kinesis_backend.add_tags_to_stream(stream_arn=None, stream_name=self._get_param("StreamName"), tags=tags)
    return result


def _set_log_group_key(handler: LogsResponse, key_id: str | None) -> str:
    group = handler.logs_backend.groups.get(handler._get_param("logGroupName"))
    if group is None:
        raise LogGroupNotFound()
    group.kms_key_id = key_id
    return ""


def associate_kms_key(self: LogsResponse) -> str:
    return _set_log_group_key(self, self._get_param("kmsKeyId"))


def disassociate_kms_key(self: LogsResponse) -> str:
    return _set_log_group_key(self, None)


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def log_permissions_enabled_policy(target_bucket: FakeBucket, target_prefix: str | None) -> bool:
    """Whether the target bucket's policy lets S3's log delivery put objects below the prefix (moto's rule)."""
    if not target_bucket.policy:
        return False
    bucket_arn = f"arn:{target_bucket.partition}:s3:::{target_bucket.name}"
    accepted = {f"{bucket_arn}/{target_prefix or ''}*", f"{bucket_arn}/*", bucket_arn}
    for statement in _values(json.loads(target_bucket.policy.decode())["Statement"]):
        principal = statement.get("Principal")
        services = _values(principal.get("Service", [])) if isinstance(principal, dict) else []
        if ("logging.s3.amazonaws.com" in services and statement.get("Effect") == "Allow"
                and "s3:PutObject" in _values(statement.get("Action", []))
                and accepted & set(_values(statement.get("Resource", [])))):
            return True
    return False


_get_bucket_notification_without_event_bridge = S3Response.get_bucket_notification


def get_bucket_notification(self: S3Response) -> Any:
    status, headers, body = _get_bucket_notification_without_event_bridge(self)
    configuration = self.backend.get_bucket_notification_configuration(self.bucket_name)
    if configuration is not None and configuration.event_bridge is not None:
        text = body.decode() if isinstance(body, bytes) else body
        text = re.sub(r"<NotificationConfiguration([^>]*)/>",
                      r"<NotificationConfiguration\1></NotificationConfiguration>", text)
        text = text.replace("</NotificationConfiguration>",
                            "<EventBridgeConfiguration></EventBridgeConfiguration></NotificationConfiguration>")
        body = text.encode() if isinstance(body, bytes) else text
    return status, headers, body


def get_bucket_replication(self: S3Response) -> Any:
    self.data["Action"] = "GetBucketReplication"
    replication = self.backend.get_bucket_replication(self.bucket_name)
    if not replication:
        raise ReplicationConfigurationNotFoundError(bucket_name=self.bucket_name)
    rules = []
    for rule in replication["Rule"]:
        returned = {"ID": rule["ID"], "Priority": rule["Priority"], "Status": rule["Status"],
                    "DeleteMarkerReplication": rule.get("DeleteMarkerReplication") or {"Status": "Disabled"},
                    "Filter": {"Prefix": ""}, "Destination": rule["Destination"]}
        if rule.get("SourceSelectionCriteria"):
            returned["SourceSelectionCriteria"] = rule["SourceSelectionCriteria"]
        rules.append(returned)
    return self.serialized(ActionResult({"ReplicationConfiguration": {"Role": replication["Role"], "Rules": rules}}))


_get_permission_with_every_statement = FakeBucket.get_permission


def _denies_plain_http(statement: dict[str, Any]) -> bool:
    condition = statement.get("Condition", {})
    return statement.get("Effect") == "Deny" and list(condition) == ["Bool"] and \
        {key: _values(value) for key, value in condition["Bool"].items()} == {"aws:SecureTransport": ["false"]}


def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
    if self.policy is None:
        return _get_permission_with_every_statement(self, action, resource)
    from moto.iam.access_control import IAMPolicy

    policy = json.loads(self.policy.decode())
    kept = [statement for statement in _values(policy["Statement"]) if not _denies_plain_http(statement)]
    return IAMPolicy(json.dumps({**policy, "Statement": kept})).is_action_permitted(action, resource)


_QUEUE_ATTRIBUTES = Queue.attributes.fget


def queue_attributes(self: Queue) -> dict[str, Any]:
    result = _QUEUE_ATTRIBUTES(self)
    if self.redrive_policy:
        result["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
    return result


_ACCESS_LOGS = {"held": False}
_LOG_INCOMING_REQUEST = S3Backend.log_incoming_request


def log_incoming_request(self: S3Backend, request: Any, bucket_name: str) -> None:
    if not _ACCESS_LOGS["held"]:
        _LOG_INCOMING_REQUEST(self, request, bucket_name)


@functools.cache
def moto_modules() -> tuple[str, ...]:
    return tuple(_LIST_OF_MOTO_MODULES())


_LIST_OF_MOTO_MODULES = backends.list_of_moto_modules


def install_shims() -> None:
    Queue.attributes = property(queue_attributes)
    DynamoHandler.enable_kinesis_streaming_destination = enable_kinesis_streaming_destination
    DynamoHandler.disable_kinesis_streaming_destination = disable_kinesis_streaming_destination
    DynamoHandler.update_kinesis_streaming_destination = update_kinesis_streaming_destination
    DynamoHandler.describe_kinesis_streaming_destination = describe_kinesis_streaming_destination
    DynamoHandler.update_table = update_table
    DynamoHandler.put_item = put_item
    GlueResponse.update_crawler = update_crawler
    KinesisResponse.create_stream = create_stream_with_tags
    FakeBucket._log_permissions_enabled_policy = staticmethod(log_permissions_enabled_policy)
    S3Response.get_bucket_notification = get_bucket_notification
    S3Response.get_bucket_replication = get_bucket_replication
    FakeBucket.get_permission = get_permission
    LogsResponse.associate_kms_key = associate_kms_key
    LogsResponse.disassociate_kms_key = disassociate_kms_key
    S3Backend.log_incoming_request = log_incoming_request
    backends.list_of_moto_modules = moto_modules


def main() -> int:
    install_shims()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(f"port {server.get_host_and_port()[1]}", flush=True)
    for line in sys.stdin:  # until the parent closes the pipe (or dies)
        if line.strip() in ("hold access logs", "deliver access logs"):
            _ACCESS_LOGS["held"] = line.startswith("hold")
            print("held" if _ACCESS_LOGS["held"] else "delivered", flush=True)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
