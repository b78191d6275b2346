"""Settings: the `context` of cdktf.json, overridden per run with `-c key=value` (as the AWS CDK CLI does)."""
from __future__ import annotations

import dataclasses
import difflib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_constructs.schedules import runs_every_day, schedule_gaps_minutes
from aws_constructs.limits import (
    ATHENA_CUTOFF_MIB, GLUE_FLEX_WORKER_TYPES, GLUE_TIMEOUT_MINUTES, GLUE_WORKER_COUNT, GLUE_WORKER_TYPES,
    LOG_RETENTION_DAYS,
)
from leverage.errors import UserError
from leverage.hcl import DEFAULT_AWS_PROVIDER_VERSION, is_version_constraint
from leverage.project.layer import LAYER_NAME
from leverage.project.model import check_region
from leverage.project.tfvars import refuse_unless_regular_file
from stacks.settings.own_layers import ACCOUNT_SETTINGS, RegisteredLayer, parse_own_layers
from stacks.settings.pipelines import DEFAULT_TABLE, GeneratedTable, Pipeline, parse_pipelines
from stacks.settings.values import check_email, check_free_text, key_attribute, shown, shown_json

# Where Firehose's dynamic partitioning names a record's table in its prefix: the lake's grants (each source's
# tables' folders) and the lakehouse job (one folder per table) read the table's name there.
TABLE_KEY = "!{partitionKeyFromQuery:tableName}"
DEFAULT_PREFIX = (f"dynamodb_data/{TABLE_KEY}/cdc_data/"
                  "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/")
# `tableName` set to the DynamoDB record's `tableName` field, one entry of the query's object (JQ, as Firehose reads
# it; `{tableName}` is JQ's shorthand for it).
TABLE_NAME_ENTRY = re.compile(r'(?:^\s*\{|,)\s*(?:(?:tableName|"tableName")\s*:\s*\.tableName|tableName)\s*(?=[,}])')


@dataclass(frozen=True)
class LayerNames:
    """Layer folder names; a layer this app does not generate is read as it is."""

    datalake: str = "datalake"
    dynamodb: str = "databases-dynamodb"
    lake: str = "datalake-demo"
    keys: str = "security-keys"
    lakehouse: str = "lakehouse-demo"


@dataclass(frozen=True)
class FirehoseSettings:
    buffering_size_mib: int = 100
    buffering_interval_seconds: int = 100
    prefix: str = DEFAULT_PREFIX
    error_prefix: str = "dynamodb_data/cdc_error/"
    partition_query: str = "{tableName:.tableName}"
    log_retention_days: int = 365  # a year: what reviewers (and checkov) expect of logs


@dataclass(frozen=True)
class AlarmSettings:
    """Alarms of every pipeline (thresholds checked in pipelines.check_alarm_settings); a pipeline's own
    alarmEmail replaces `email` for its layer."""

    email: str = ""
    freshness_margin_seconds: int = 600
    iterator_age_seconds: int = 900
    write_throttled_records: int = 0
    replication_age_seconds: int = 300
    replication_failed_records: int = 0
    replication_throttled_records: int = 0


@dataclass(frozen=True)
class LakehouseSettings:
    """The lakehouse layer's Glue job and Athena workgroup (ranges checked in check_lakehouse_settings)."""

    # UTC, Glue's cron: 15 minutes past every hour, once Firehose has closed the hour's partition.
    schedule: str = "cron(15 * * * ? *)"
    worker_type: str = "G.1X"
    worker_count: int = 2
    flex: bool = True  # Glue's Flex execution class: spare capacity, about a third cheaper, may start later
    timeout_minutes: int = 60
    athena_bytes_scanned_cutoff_mib: int = 10240  # a query stops after scanning 10 GiB
    athena_results_retention_days: int = 30
    log_retention_days: int = 365
    # The "no successful run" alarm fires after this long without one; 0: the schedule's longest gap plus an hour.
    no_success_alarm_minutes: int = 0

    def no_success_window_minutes(self) -> int:
        """The alarm's window, a multiple of its 15-minute period."""
        if self.no_success_alarm_minutes:
            return self.no_success_alarm_minutes
        gaps = schedule_gaps_minutes(self.schedule)
        longest = gaps[1] if gaps else 24 * 60
        return min(-(-(longest + 60) // 15) * 15, MAX_NO_SUCCESS_MINUTES)


LAKEHOUSE_SHORTEST_INTERVAL_MINUTES = 15  # a run every 15 minutes at most: zero-ETL's default refresh
MAX_NO_SUCCESS_MINUTES = 24 * 60  # CloudWatch evaluates at most a day of periods


@dataclass(frozen=True)
class Settings:
    leverage_root: Path = Path("example")
    source_account: str = "apps-devstg"
    lake_account: str = "data-science"
    region: str | None = None  # None: region_primary of config/common.tfvars
    layers: LayerNames = LayerNames()
    skip_layers: tuple[str, ...] = ()  # generated layers to leave out (the team keeps its own)
    # Generated layers whose named resources already exist in AWS: `import` blocks take them over.
    adopt_existing: tuple[str, ...] = ()
    dynamodb_partition_key: str = "id:S"
    dynamodb_sort_key: str = ""
    stream_retention_hours: int = 24
    firehose: FirehoseSettings = FirehoseSettings()
    # Region the lake buckets replicate to: "" is the project's other region (region_secondary, or
    # region_primary for a layer outside it), "off" turns replication off, or a region name.
    lake_replica_region: str = ""
    # Many pipelines (see pipelines.py); empty: the single-pipeline shorthand of the settings above.
    pipelines: tuple[Pipeline, ...] = ()
    alarms: AlarmSettings = AlarmSettings()
    lakehouse: LakehouseSettings = LakehouseSettings()
    # The hashicorp/aws versions the layers declare; a team may narrow the default (e.g. ">= 5.100, < 6.0").
    aws_provider_version: str = DEFAULT_AWS_PROVIDER_VERSION
    # Your own layers (context key `layers`, see own_layers.py).
    own_layers: tuple[RegisteredLayer, ...] = ()

    @property
    def pipeline_list(self) -> tuple[Pipeline, ...]:
        """The pipelines to generate: the `pipelines` setting, or the shorthand of one pipeline with one table."""
        if self.pipelines:
            return self.pipelines
        table = GeneratedTable(DEFAULT_TABLE, key_attribute("dynamodbPartitionKey", self.dynamodb_partition_key),
                               key_attribute("dynamodbSortKey", self.dynamodb_sort_key)
                               if self.dynamodb_sort_key else None, "dynamodbPartitionKey")
        return (Pipeline(self.source_account, (table,), self.alarms.email, "sourceAccount"),)

    def own_layer_account(self, registered: RegisteredLayer) -> str:
        """The account a registered layer lives in: its `account`, or the account `lakeAccount`/`sourceAccount` names."""
        if registered.account == "lakeAccount":
            return self.lake_account
        if registered.account == "sourceAccount":
            if self.pipelines:
                raise UserError(f"setting {registered.where}.account is sourceAccount, and `pipelines` names several "
                                "source accounts", fix="name the account itself")
            return self.source_account
        return registered.account


MAX_DIGITS = 9  # every numeric setting is far below a billion


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


@dataclass(frozen=True)
class SettingField:
    """Where a context key lands: a field of Settings, or a field of one of its groups."""

    field: dataclasses.Field[Any]
    group: str | None = None  # the Settings field holding the group


def _context_keys() -> dict[str, SettingField]:
    """The context keys users write stay flat (`firehoseBufferingSizeMib`, `alarmEmail`, `datalakeLayer`); each
    group's keys are its prefix or suffix around the field's name."""
    keys: dict[str, SettingField] = {}
    groups = {"layers": lambda name: _camel(name) + "Layer",
              "firehose": lambda name: "firehose" + _camel(name)[0].upper() + _camel(name)[1:],
              "alarms": lambda name: "alarm" + _camel(name)[0].upper() + _camel(name)[1:],
              "lakehouse": lambda name: "lakehouse" + _camel(name)[0].upper() + _camel(name)[1:]}
    for field in dataclasses.fields(Settings):
        if field.name in groups:
            for inner in dataclasses.fields(field.default):
                keys[groups[field.name](inner.name)] = SettingField(inner, field.name)
        else:
            keys["layers" if field.name == "own_layers" else _camel(field.name)] = SettingField(field)
    return keys


# context key -> where it lands: `firehoseBufferingSizeMib`, `skipLayers`, ...
CONTEXT_KEYS = _context_keys()
# What the CDK engine (cdktf, CDK Terrain) and its CLI read from the same context: its own keys, and the feature
# flags its `init` writes into a new cdktf.json. Any other key there is a setting, spelt right or not.
ENGINE_CONTEXT_KEYS = frozenset({"excludeStackIdFromLogicalIds", "allowSepCharsInLogicalIds",
                                 "failOnConstructsOutsideOfStacks", "canonicalAssetHashes", "targetVersions"})
ENGINE_CONTEXT_PREFIXES = ("cdktf", "@")  # `cdktfVersion`, `cdktfRelativeModules`; `@cdktf/...`
# JSON has no comments: a key starting with `//` is one by convention (as cdktf writes in its own output).
COMMENT_PREFIX = "//"


def load_settings(cdktf_json: Path, overrides: list[str]) -> Settings:
    """Settings from cdktf.json's context, then each `-c key=value`, checked and typed."""
    context = _read_context(cdktf_json)
    values = {key: value for key, value in context.items()
              if not _is_engine_key(key) and not key.startswith(COMMENT_PREFIX)}
    _check_known(values, f"in {cdktf_json.name}'s context")
    for item in overrides:
        key, equals, value = item.partition("=")
        if not equals:
            raise UserError(f"-c {item!r} is not key=value", fix="write e.g. -c sourceAccount=apps-prd")
        _check_known({key.strip(): value}, "given with -c")
        values[key.strip()] = value
    raw_pipelines = values.pop("pipelines", None)
    raw_own_layers = values.pop("layers", None)
    typed: dict[str, Any] = {}
    grouped: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        target = CONTEXT_KEYS[key]
        (grouped.setdefault(target.group, {}) if target.group else typed)[target.field.name] = _typed(key, value)
    for group, fields in grouped.items():
        typed[group] = dataclasses.replace(getattr(Settings, group), **fields)
    if raw_pipelines is not None:
        shorthand = sorted(set(values) & {"sourceAccount", "dynamodbPartitionKey", "dynamodbSortKey"})
        if shorthand:
            raise UserError(f"setting {shorthand[0]} is the single-pipeline shorthand, and `pipelines` is set too",
                            fix="give each pipeline its sourceAccount and each table its keys, and remove " + shorthand[0])
        typed["pipelines"] = parse_pipelines(raw_pipelines)
    if raw_own_layers is not None:
        typed["own_layers"] = parse_own_layers(raw_own_layers)
    settings = Settings(**typed)
    _check_names(settings)
    layers = settings.layers
    generated = (layers.dynamodb, layers.lake, layers.datalake, layers.lakehouse)
    if layers.dynamodb == layers.datalake:
        raise UserError("settings dynamodbLayer and datalakeLayer must be two different names: every source "
                        "account gets both layers", fix="rename one of them with -c")
    if layers.lakehouse == layers.lake:
        raise UserError(f"settings lakehouseLayer and lakeLayer are both {layers.lake!r}: the lake account gets both "
                        "layers", fix="rename one of them with -c")
    check_lake_account_names(settings)
    # The lakehouse layer has no counterpart in the reference architecture to adopt.
    adoptable = (layers.dynamodb, layers.lake, layers.datalake)
    own = tuple(registered.layer for registered in settings.own_layers)
    for key, names, allowed in (("skipLayers", settings.skip_layers, generated + own),
                                ("adoptExisting", settings.adopt_existing, adoptable)):
        unknown = [name for name in names if name not in allowed]
        if unknown:
            raise UserError(f"setting {key} names {unknown[0]!r}, which this app does not generate"
                            + (" or cannot adopt" if key == "adoptExisting" else ""),
                            fix="use any of: " + ", ".join(allowed))
    settings.pipeline_list  # the shorthand's keys, checked as every table's are
    check_alarm_settings(settings)
    check_lakehouse_settings(settings.lakehouse)
    check_partition_query(settings.firehose)
    return settings


def check_partition_query(firehose: FirehoseSettings) -> None:
    """A prefix that puts each table in its own folder needs the query to name the table as DynamoDB's records do
    (`.tableName`): any other value (`.TableName`, which is null, or `.eventName`) delivers into folders the lake
    grants no source, so every record goes to the error prefix, which the lakehouse job never reads."""
    if TABLE_KEY in firehose.prefix and not TABLE_NAME_ENTRY.search(firehose.partition_query):
        raise UserError(f"setting firehosePartitionQuery={shown(firehose.partition_query)} does not set tableName to "
                        ".tableName, the DynamoDB table's name in each record, which firehosePrefix's "
                        f"{TABLE_KEY} folders hold",
                        fix="keep tableName:.tableName in the query, e.g. {tableName:.tableName}, other keys after it")


def _is_engine_key(key: str) -> bool:
    return key in ENGINE_CONTEXT_KEYS or key.startswith(ENGINE_CONTEXT_PREFIXES)


def _check_known(values: dict[str, Any], where: str) -> None:
    """Every key is a setting; a misspelt one is refused with the setting it is closest to."""
    unknown = sorted(set(values) - set(CONTEXT_KEYS))
    if not unknown:
        return
    # Close: a letter or two off (`lakeAcount`); looser matches suggest unrelated settings (`retention`, `region`).
    close = difflib.get_close_matches(unknown[0], CONTEXT_KEYS, n=1, cutoff=0.8)
    meant = f"did you mean {close[0]}? " if close else ""
    raise UserError(f"unknown setting {unknown[0]!r} {where}",
                    fix=meant + "known settings: " + ", ".join(sorted(CONTEXT_KEYS)))


def _read_context(cdktf_json: Path) -> dict[str, Any]:
    """cdktf.json's `context` object ({} without the file or the key)."""
    if not cdktf_json.exists():
        return {}
    refuse_unless_regular_file(cdktf_json, cdktf_json.name)
    data = cdktf_json.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        raise UserError(f"{cdktf_json.name} starts with a UTF-8 byte-order mark, which the cdktf CLI cannot read",
                        fix="save it as UTF-8 without a byte-order mark")
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{cdktf_json.name} is not UTF-8 text", fix="save it as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{cdktf_json.name} is not valid JSON (line {exc.lineno})", fix="fix its syntax") from None
    except ValueError as exc:  # e.g. a number with more digits than Python converts
        raise UserError(f"{cdktf_json.name} cannot be read: {exc}", fix="fix the value it names") from None
    except RecursionError:
        raise UserError(f"{cdktf_json.name} nests lists or objects too deeply to be settings",
                        fix="fix the file: settings nest a few levels at most") from None
    if not isinstance(document, dict):
        raise UserError(f"{cdktf_json.name} is a JSON {type(document).__name__}, not an object",
                        fix='write it as {"app": ..., "context": {...}} as cdktf does')
    context = document.get("context", {})
    if not isinstance(context, dict):
        raise UserError(f"{cdktf_json.name}: `context` is {json.dumps(context)[:40]}, not an object",
                        fix='write it as "context": {"key": value, ...}')
    return context


LAYER_SETTINGS = ("datalakeLayer", "dynamodbLayer", "lakeLayer", "keysLayer", "lakehouseLayer")


def _check_names(settings: Settings) -> None:
    names = {
        "sourceAccount": settings.source_account,
        "lakeAccount": settings.lake_account,
        **{key: _value(settings, key) for key in LAYER_SETTINGS},
        **{f"skipLayers[{index}]": name for index, name in enumerate(settings.skip_layers)},
        **{f"{own.where}.layer": own.layer for own in settings.own_layers},
        **{f"{own.where}.account": own.account for own in settings.own_layers if own.account not in ACCOUNT_SETTINGS},
    }
    for key, name in names.items():
        if not LAYER_NAME.fullmatch(name):  # no whitespace, path separators or template syntax
            raise UserError(f"setting {key}={shown(name)} is not a valid folder name",
                            fix="use lowercase letters, digits, '-' and '_', starting with a letter or digit")
    if settings.region is not None:
        check_region(settings.region, "setting region")
    if not is_version_constraint(settings.aws_provider_version):
        raise UserError(f"setting awsProviderVersion={shown(settings.aws_provider_version)} is not a Terraform version "
                        "constraint", fix=f'write it like "{DEFAULT_AWS_PROVIDER_VERSION}"')
    for key in ("firehosePrefix", "firehoseErrorPrefix", "firehosePartitionQuery",
                "dynamodbPartitionKey", "dynamodbSortKey", "alarmEmail", "lakehouseSchedule", "lakehouseWorkerType"):
        check_free_text(key, _value(settings, key))
    for key in ("firehosePrefix", "firehoseErrorPrefix"):
        value = _value(settings, key)
        if value != value.strip():  # S3 keeps it in every key: a folder named " " nobody reads
            raise UserError(f"setting {key}={shown(value)} begins or ends with whitespace, which S3 would keep in every "
                            "object's key", fix="remove it (quote the value for your shell instead)")


def _value(settings: Settings, key: str) -> Any:
    target = CONTEXT_KEYS[key]
    holder = getattr(settings, target.group) if target.group else settings
    return getattr(holder, target.field.name)


def _typed(key: str, value: Any) -> Any:
    default = CONTEXT_KEYS[key].field.default
    if isinstance(default, bool):
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if isinstance(value, bool):
            return value
    elif isinstance(default, int):
        # ASCII digits only ("²".isdigit() is true), and few of them: a limit, not a bignum.
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**MAX_DIGITS:
            return value
        if isinstance(value, str) and re.fullmatch(rf"-?[0-9]{{1,{MAX_DIGITS}}}", value):
            return int(value)
        raise UserError(f"setting {key}={shown(value)} is not a whole number", fix=f"e.g. -c {key}={default}")
    elif isinstance(default, tuple):
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, list) and all(isinstance(part, str) for part in value):
            return tuple(value)
    elif isinstance(default, Path):
        if isinstance(value, str) and value.strip():
            check_free_text(key, value)
            return Path(value)
        if isinstance(value, str):
            raise UserError(f"setting {key} is empty", fix="set it to the Leverage project's folder, relative to the "
                            "app's folder or absolute")
    elif isinstance(value, str):
        return value
    elif value is None and default is None:
        return None
    described = _json_type(value) if value is None else f"{_json_type(value)}, {shown_json(value)}"
    raise UserError(f"setting {key} has the wrong type ({described})",
                    fix=f"give it like its default, {_as_json(default)}")


def _json_type(value: Any) -> str:
    """What a value is, in the words of JSON (cdktf.json) rather than Python's."""
    names = {bool: "a boolean", int: "a number", float: "a number", str: "text", list: "a list", dict: "an object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _as_json(default: Any) -> str:
    """A default as it is written in cdktf.json."""
    if isinstance(default, Path):
        return json.dumps(default.as_posix())
    if isinstance(default, tuple):
        return json.dumps(list(default))
    return "a text value (or leave it out)" if default is None else json.dumps(default)


def check_lake_account_names(settings: Settings) -> None:
    """The lake layer may share a name with a source account's layers, as long as no source is the lake account:
    there both would be one folder with one state key."""
    for pipeline in settings.pipeline_list:
        if pipeline.source_account != settings.lake_account:
            continue
        for key, layer in (("datalakeLayer", settings.layers.datalake), ("dynamodbLayer", settings.layers.dynamodb)):
            if layer == settings.layers.lake:
                raise UserError(
                    f"setting {pipeline.source_setting}={pipeline.source_account!r} is the lake account, and lakeLayer and "
                    f"{key} are both {layer!r}: the lake layer and the pipeline's layer would be one folder",
                    fix=f"give lakeLayer or {key} another name")


def check_alarm_settings(settings: Settings) -> None:
    """Thresholds the alarms can use; each bad one is the user's to fix."""
    # A retention Kinesis refuses is the stream's own error to report (and name streamRetentionHours), not this one's.
    retention_seconds = max(settings.stream_retention_hours, 24) * 3600
    limits = {
        # setting: (value, lowest, highest, why)
        "alarmFreshnessMarginSeconds": (settings.alarms.freshness_margin_seconds, 60, 86_400,
                                        "seconds beyond the buffering interval, 60 to 86400"),
        "alarmIteratorAgeSeconds": (settings.alarms.iterator_age_seconds, 60, retention_seconds - 1,
                                    "seconds, from 60 to below the stream's retention (streamRetentionHours)"),
        "alarmWriteThrottledRecords": (settings.alarms.write_throttled_records, 0, 10**9, "records, 0 or more"),
        "alarmReplicationAgeSeconds": (settings.alarms.replication_age_seconds, 60, 86_400, "seconds, 60 to 86400"),
        "alarmReplicationFailedRecords": (settings.alarms.replication_failed_records, 0, 10**9, "records, 0 or more"),
        "alarmReplicationThrottledRecords": (settings.alarms.replication_throttled_records, 0, 10**9,
                                             "records, 0 or more"),
    }
    for key, (value, low, high, unit) in limits.items():
        if not low <= value <= high:
            raise UserError(f"setting {key}={value} is out of range", fix=f"use {unit}")
    if settings.alarms.email:
        check_email(settings.alarms.email, "alarmEmail")


def check_lakehouse_settings(lakehouse: LakehouseSettings) -> None:
    """The lakehouse job's and workgroup's settings, each refused with the range it must lie in."""
    if not re.fullmatch(r"cron\(\S+( \S+){5}\)", lakehouse.schedule):
        raise UserError(f"setting lakehouseSchedule={shown(lakehouse.schedule)} is not a Glue schedule",
                        fix="write cron(minutes hours day-of-month month day-of-week year), e.g. cron(15 * * * ? *)")
    if not runs_every_day(lakehouse.schedule):
        raise UserError(f"setting lakehouseSchedule={shown(lakehouse.schedule)} does not run every day: the "
                        "no-successful-run alarm would fire on the days without a run",
                        fix="write * for the day of month, month and year and ? for the day of week (or ? and *), "
                            "e.g. cron(15 * * * ? *); pause the trigger in Glue for days the job must not run")
    gaps = schedule_gaps_minutes(lakehouse.schedule)
    if gaps is None:
        raise UserError(f"setting lakehouseSchedule={shown(lakehouse.schedule)} has minutes or hours this app cannot "
                        "read", fix="write them as n, a-b, */n, a/n or lists of those, e.g. cron(0/15 * * * ? *)")
    if gaps[0] < LAKEHOUSE_SHORTEST_INTERVAL_MINUTES:
        raise UserError(f"setting lakehouseSchedule={shown(lakehouse.schedule)} runs the job {gaps[0]} minutes apart",
                        fix=f"run it at most every {LAKEHOUSE_SHORTEST_INTERVAL_MINUTES} minutes (each run costs at "
                            "least a minute of every worker: docs/lakehouse.md, Freshness and cost), e.g. "
                            "cron(0/15 * * * ? *)")
    window = lakehouse.no_success_alarm_minutes
    shortest_window = min(-(-(gaps[1] + 15) // 15) * 15, MAX_NO_SUCCESS_MINUTES)
    if window and (window % 15 or not shortest_window <= window <= MAX_NO_SUCCESS_MINUTES):
        raise UserError(f"setting lakehouseNoSuccessAlarmMinutes={window} does not fit the schedule, whose runs are "
                        f"up to {gaps[1]} minutes apart",
                        fix=f"use a multiple of 15 from {shortest_window} to {MAX_NO_SUCCESS_MINUTES}, or 0 for the "
                            "longest gap plus an hour")
    if lakehouse.worker_type not in GLUE_WORKER_TYPES:
        raise UserError(f"setting lakehouseWorkerType={shown(lakehouse.worker_type)} is not a Glue Spark worker type",
                        fix="use one of " + ", ".join(GLUE_WORKER_TYPES))
    if lakehouse.flex and lakehouse.worker_type not in GLUE_FLEX_WORKER_TYPES:
        raise UserError("setting lakehouseFlex=true needs " + " or ".join(GLUE_FLEX_WORKER_TYPES)
                        + f" workers, not {lakehouse.worker_type}",
                        fix=f"set lakehouseFlex=false or lakehouseWorkerType={GLUE_FLEX_WORKER_TYPES[-1]}")
    limits = {
        "lakehouseWorkerCount": (lakehouse.worker_count, *GLUE_WORKER_COUNT, "workers"),
        "lakehouseTimeoutMinutes": (lakehouse.timeout_minutes, *GLUE_TIMEOUT_MINUTES, "minutes"),
        "lakehouseAthenaBytesScannedCutoffMib": (lakehouse.athena_bytes_scanned_cutoff_mib, *ATHENA_CUTOFF_MIB,
                                                 "MiB (Athena's minimum is 10)"),
        "lakehouseAthenaResultsRetentionDays": (lakehouse.athena_results_retention_days, 1, 3650, "days"),
    }
    for key, (value, low, high, unit) in limits.items():
        if not low <= value <= high:
            raise UserError(f"setting {key}={value} is out of range", fix=f"use {low} to {high} {unit}")
    if lakehouse.log_retention_days not in LOG_RETENTION_DAYS:
        raise UserError(f"setting lakehouseLogRetentionDays={lakehouse.log_retention_days} is not a CloudWatch "
                        "retention", fix="use one of " + ", ".join(map(str, LOG_RETENTION_DAYS)))
