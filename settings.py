"""Settings: the `context` of cdktf.json, overridden per run with `-c key=value` (as the AWS CDK CLI does)."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leverage.errors import UserError

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


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


# context key -> dataclass field: `firehoseBufferingSizeMib`, `skipLayers`, ...
CONTEXT_KEYS = {_camel(f.name): f for f in dataclasses.fields(Settings)}


def load_settings(cdktf_json: Path, overrides: list[str]) -> Settings:
    """Settings from cdktf.json's context, then each `-c key=value`, checked and typed."""
    context: dict[str, Any] = {}
    if cdktf_json.is_file():
        try:
            context = json.loads(cdktf_json.read_text(encoding="utf-8")).get("context", {})
        except json.JSONDecodeError as exc:
            raise UserError(f"{cdktf_json.name} is not valid JSON (line {exc.lineno})", fix="fix its syntax") from None
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
    typed = {CONTEXT_KEYS[key].name: _typed(key, value) for key, value in values.items()}
    settings = Settings(**typed)
    generated = (settings.dynamodb_layer, settings.lake_layer, settings.datalake_layer)
    if len(set(generated)) < len(generated):
        raise UserError("settings dynamodbLayer, lakeLayer and datalakeLayer must be three different names",
                        fix="rename one of them with -c")
    for key, names in (("skipLayers", settings.skip_layers), ("adoptExisting", settings.adopt_existing)):
        unknown = [name for name in names if name not in generated]
        if unknown:
            raise UserError(f"setting {key} names {unknown[0]!r}, which this app does not generate",
                            fix="use any of: " + ", ".join(generated))
    for key, value in (("dynamodbPartitionKey", settings.dynamodb_partition_key),
                       ("dynamodbSortKey", settings.dynamodb_sort_key)):
        if value or key == "dynamodbPartitionKey":
            key_attribute(key, value)
    return settings


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
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise UserError(f"setting {key}={value!r} is not a whole number", fix=f"e.g. -c {key}={default}")
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
    raise UserError(f"setting {key} has the wrong type ({value!r})", fix=f"give it like its default, {default!r}")
