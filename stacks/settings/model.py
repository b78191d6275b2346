"""Settings: the `context` of cdktf.json, overridden per run with `-c key=value` (as the AWS CDK CLI does)."""
from __future__ import annotations

import dataclasses
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leverage.errors import UserError
from leverage.project.layer import LAYER_NAME
from stacks.settings.pipelines import (DEFAULT_TABLE, GeneratedTable, Pipeline, check_alarm_settings, check_lake_account_names,
                       parse_pipelines)

DEFAULT_PREFIX = ("dynamodb_data/!{partitionKeyFromQuery:tableName}/cdc_data/"
                  "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/")


@dataclass(frozen=True)
class Settings:
    leverage_root: Path = Path("example")
    source_account: str = "apps-devstg"
    lake_account: str = "data-science"
    region: str | None = None  # None: region_primary of config/common.tfvars
    # Layer folder names; a layer this app does not generate is read as it is.
    datalake_layer: str = "datalake"
    dynamodb_layer: str = "databases-dynamodb"
    lake_layer: str = "datalake-demo"
    keys_layer: str = "security-keys"
    skip_layers: tuple[str, ...] = ()  # generated layers to leave out (the team keeps its own)
    # Generated layers whose named resources already exist in AWS: `import` blocks take them over.
    adopt_existing: tuple[str, ...] = ()
    dynamodb_partition_key: str = "id:S"
    dynamodb_sort_key: str = ""
    stream_retention_hours: int = 24
    firehose_buffering_size_mib: int = 100
    firehose_buffering_interval_seconds: int = 100
    firehose_prefix: str = DEFAULT_PREFIX
    firehose_error_prefix: str = "dynamodb_data/cdc_error/"
    firehose_partition_query: str = "{tableName:.tableName}"
    # Region the lake buckets replicate to: "" is the project's other region (region_secondary, or
    # region_primary for a layer outside it), "off" turns replication off, or a region name.
    lake_replica_region: str = ""
    firehose_log_retention_days: int = 365  # a year: what reviewers (and checkov) expect of logs
    # Many pipelines (see pipelines.py); empty: the single-pipeline shorthand of the settings above.
    pipelines: tuple[Pipeline, ...] = ()
    # Alarms of every pipeline (thresholds checked in pipelines.check_alarm_settings).
    alarm_email: str = ""
    alarm_freshness_margin_seconds: int = 600
    alarm_iterator_age_seconds: int = 900
    alarm_write_throttled_records: int = 0
    alarm_replication_age_seconds: int = 300
    alarm_replication_failed_records: int = 0
    alarm_replication_throttled_records: int = 0

    @property
    def pipeline_list(self) -> tuple[Pipeline, ...]:
        """The pipelines to generate: the `pipelines` setting, or the shorthand of one pipeline with one table."""
        if self.pipelines:
            return self.pipelines
        table = GeneratedTable(DEFAULT_TABLE, self.dynamodb_partition_key, self.dynamodb_sort_key, "dynamodbPartitionKey")
        return (Pipeline(self.source_account, (table,), self.alarm_email, "sourceAccount"),)


MAX_DIGITS = 9  # every numeric setting is far below a billion


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


# context key -> dataclass field: `firehoseBufferingSizeMib`, `skipLayers`, ...
CONTEXT_KEYS = {_camel(f.name): f for f in dataclasses.fields(Settings)}


def load_settings(cdktf_json: Path, overrides: list[str]) -> Settings:
    """Settings from cdktf.json's context, then each `-c key=value`, checked and typed."""
    context = _read_context(cdktf_json)
    # cdktf's own flags live in the same context; only our keys are settings.
    values = {key: value for key, value in context.items() if key in CONTEXT_KEYS}
    for item in overrides:
        key, equals, value = item.partition("=")
        if not equals:
            raise UserError(f"-c {item!r} is not key=value", fix="write e.g. -c sourceAccount=apps-prd")
        values[key.strip()] = value
    unknown = sorted(set(values) - set(CONTEXT_KEYS))
    if unknown:
        raise UserError(f"unknown setting {unknown[0]!r}", fix="known settings: " + ", ".join(sorted(CONTEXT_KEYS)))
    raw_pipelines = values.pop("pipelines", None)
    typed = {CONTEXT_KEYS[key].name: _typed(key, value) for key, value in values.items()}
    if raw_pipelines is not None:
        shorthand = sorted(set(values) & {"sourceAccount", "dynamodbPartitionKey", "dynamodbSortKey"})
        if shorthand:
            raise UserError(f"setting {shorthand[0]} is the single-pipeline shorthand, and `pipelines` is set too",
                            fix="give each pipeline its sourceAccount and each table its keys, and remove " + shorthand[0])
        typed["pipelines"] = parse_pipelines(raw_pipelines)
    settings = Settings(**typed)
    _check_names(settings)
    generated = (settings.dynamodb_layer, settings.lake_layer, settings.datalake_layer)
    if settings.dynamodb_layer == settings.datalake_layer:
        raise UserError("settings dynamodbLayer and datalakeLayer must be two different names: every source "
                        "account gets both layers", fix="rename one of them with -c")
    check_lake_account_names(settings)
    for key, names in (("skipLayers", settings.skip_layers), ("adoptExisting", settings.adopt_existing)):
        unknown = [name for name in names if name not in generated]
        if unknown:
            raise UserError(f"setting {key} names {unknown[0]!r}, which this app does not generate",
                            fix="use any of: " + ", ".join(generated))
    for key, value in (("dynamodbPartitionKey", settings.dynamodb_partition_key),
                       ("dynamodbSortKey", settings.dynamodb_sort_key)):
        if value or key == "dynamodbPartitionKey":
            key_attribute(key, value)
    check_alarm_settings(settings)
    return settings


def _read_context(cdktf_json: Path) -> dict[str, Any]:
    """cdktf.json's `context` object ({} without the file or the key)."""
    if not cdktf_json.is_file():
        return {}
    try:
        document = json.loads(cdktf_json.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{cdktf_json.name} is not UTF-8 text", fix="save it as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{cdktf_json.name} is not valid JSON (line {exc.lineno})", fix="fix its syntax") from None
    except ValueError as exc:  # e.g. a number with more digits than Python converts
        raise UserError(f"{cdktf_json.name} cannot be read: {exc}", fix="fix the value it names") from None
    if not isinstance(document, dict):
        raise UserError(f"{cdktf_json.name} is a JSON {type(document).__name__}, not an object",
                        fix='write it as {"app": ..., "context": {...}} as cdktf does')
    context = document.get("context", {})
    if not isinstance(context, dict):
        raise UserError(f"{cdktf_json.name}: `context` is {json.dumps(context)[:40]}, not an object",
                        fix='write it as "context": {"key": value, ...}')
    return context


LAYER_SETTINGS = ("datalakeLayer", "dynamodbLayer", "lakeLayer", "keysLayer")


def _check_names(settings: Settings) -> None:
    names = {
        "sourceAccount": settings.source_account,
        "lakeAccount": settings.lake_account,
        **{key: getattr(settings, CONTEXT_KEYS[key].name) for key in LAYER_SETTINGS},
        **{f"skipLayers[{index}]": name for index, name in enumerate(settings.skip_layers)},
    }
    for key, name in names.items():
        if not LAYER_NAME.fullmatch(name):  # no whitespace, path separators or template syntax
            raise UserError(f"setting {key}={_shown(name)} is not a valid folder name",
                            fix="use lowercase letters, digits, '-' and '_', starting with a letter or digit")
    if settings.region is not None and not re.fullmatch(r"[a-z0-9-]+", settings.region):
        raise UserError(f"setting region={_shown(settings.region)} is not an AWS region", fix="use a region code such as us-east-1")
    for key in ("firehosePrefix", "firehoseErrorPrefix", "firehosePartitionQuery",
                "dynamodbPartitionKey", "dynamodbSortKey", "alarmEmail"):
        check_free_text(key, getattr(settings, CONTEXT_KEYS[key].name))


def check_free_text(key: str, value: str) -> None:
    bad = next((char for char in value if unicodedata.category(char).startswith("C")), None)
    if bad is not None:
        raise UserError(f"setting {key}={_shown(value)} contains the control character {bad!r}",
                        fix="remove it (a pasted line break?)")


def key_attribute(setting: str, value: str) -> tuple[str, str]:
    """A DynamoDB key setting `name:type` (type S, N or B; S when left out) as (name, type)."""
    name, _, kind = value.partition(":")
    if not name:
        raise UserError(f"setting {setting}={value!r} has no attribute name", fix="write it as name:S, name:N or name:B")
    return name, kind or "S"


def _typed(key: str, value: Any) -> Any:
    default = CONTEXT_KEYS[key].default
    if isinstance(default, bool):
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if isinstance(value, bool):
            return value
    elif isinstance(default, int):
        # ASCII digits only ("²".isdigit() is true), and few of them: a limit, not a bignum.
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**MAX_DIGITS:
            return value
        if isinstance(value, str) and re.fullmatch(rf"-?[0-9]{{1,{MAX_DIGITS}}}", value.strip()):
            return int(value)
        raise UserError(f"setting {key}={_shown(value)} is not a whole number", fix=f"e.g. -c {key}={default}")
    elif isinstance(default, tuple):
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, list) and all(isinstance(part, str) for part in value):
            return tuple(value)
    elif isinstance(default, Path):
        if isinstance(value, str) and value:
            return Path(value)
    elif isinstance(value, str):
        return value
    elif value is None and default is None:
        return None
    raise UserError(f"setting {key} has the wrong type ({_shown(value)})", fix=f"give it like its default, {default!r}")


def _shown(value: Any) -> str:
    """A value as the user wrote it, cut short: an error stays one readable line."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**40 else "<a very large number>"
    return text if len(text) <= 60 else text[:57] + "..."
