"""The pipeline model: which source accounts stream which DynamoDB tables into the one lake.

Settings describe pipelines as data (`pipelines` in cdktf.json's context); this module turns that data into
typed, checked pipelines, and stacks/pipelines.py turns those into layer stacks. Adding a table or a source
account is a settings change: nothing here or there names a particular pipeline.

```json
"pipelines": [
  {"sourceAccount": "apps-devstg", "tables": [{"name": "orders", "partitionKey": "orderId:S", "sortKey": "at:N",
                                              "columns": {"total": "decimal"}, "maxTypedColumns": 100,
                                              "history": true, "maxChangeAgeHours": 6},
                                             {"name": "customers", "partitionKey": "customerId:S"}]},
  {"sourceAccount": "apps-prd", "alarmEmail": "data-oncall@example.com",
   "tables": [{"layer": "databases-dynamodb--", "output": "dynamodb_table_name"}]}
]
```

A table is either generated (in the source account's table layer, with its key schema) or read: an output of a
hand-written layer of the source account that holds the table's name. Either may declare typed columns of its
lakehouse table (`columns`, attribute -> type) and cap them (`maxTypedColumns`), keep its every change
(`history`), and set its data-quality limits: how old its newest change may be (`maxChangeAgeHours`, 0: unchecked)
and how far its row count may be from DynamoDB's ItemCount (`itemCountTolerancePercent`).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Union

from leverage.errors import UserError
from leverage.project.layer import LAYER_NAME
from stacks.settings.values import (DEFAULT_MAX_TYPED_COLUMNS, TableKey, check_email, key_attribute, shown_json,
                                    typed_column_cap, typed_columns, whole_number)

DEFAULT_TABLE = "app-data"  # the table of the single-pipeline shorthand, `<project>-<account>-app-data`
TABLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")  # leaves room for the `<project>-<account>-` prefix
OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,127}")
# What the lakehouse makes of the table (glue_jobs/cdc_columns.py, cdc_checks.py).
LAKEHOUSE_KEYS = {"columns", "maxTypedColumns", "history", "maxChangeAgeHours", "itemCountTolerancePercent"}
DEFAULT_MAX_CHANGE_AGE_HOURS = 24  # a day: a quiet night pages nobody; a table with no change all day does
MAX_CHANGE_AGE_HOURS = 24 * 365
GENERATED_KEYS = {"name", "partitionKey", "sortKey"} | LAKEHOUSE_KEYS
READ_KEYS = {"layer", "output", "name", "renamedFrom"} | LAKEHOUSE_KEYS
PIPELINE_KEYS = {"sourceAccount", "tables", "alarmEmail"}


@dataclass(frozen=True)
class LakehouseTableSettings:
    """A table in the lakehouse: its declared typed columns (attribute, type) and their cap (None: the job's), its
    history, and the limits of its data-quality checks."""

    declared: tuple[tuple[str, str], ...] = ()
    max_columns: int | None = None
    history: bool = False
    max_change_age_hours: int = DEFAULT_MAX_CHANGE_AGE_HOURS  # 0: no freshness check nor alarm
    item_count_tolerance_percent: int = 1


@dataclass(frozen=True)
class GeneratedTable:
    """A table the source account's table layer creates, named `<project>-<account>-<name>`."""

    name: str
    partition_key: TableKey = TableKey("id")
    sort_key: TableKey | None = None
    where: str = ""  # the setting it came from, for messages
    lakehouse: LakehouseTableSettings = LakehouseTableSettings()

    @property
    def key(self) -> str:
        return self.name

    def describe(self) -> str:
        return f"table {self.name!r}"


@dataclass(frozen=True)
class ReadTable:
    """A table that exists already: its name is output `output` of the hand-written layer `layer`."""

    layer: str
    output: str
    name: str = ""  # what the addresses of its streaming destination and alarms are named after
    where: str = ""
    # The `name` it had before (or, without one, its `<layer>-<output>`): its streaming destination is moved, not
    # destroyed and recreated, which would leave a gap in the changes the lake receives.
    renamed_from: str = ""
    lakehouse: LakehouseTableSettings = LakehouseTableSettings()

    @property
    def key(self) -> str:
        return self.name or f"{self.layer}-{self.output}"

    def describe(self) -> str:
        return f"table read from output {self.output!r} of layer {self.layer!r}"


Table = Union[GeneratedTable, ReadTable]


@dataclass(frozen=True)
class Pipeline:
    source_account: str
    tables: tuple[Table, ...]
    alarm_email: str = ""
    where: str = ""

    @property
    def source_setting(self) -> str:
        """The setting that names the source account: `pipelines[1].sourceAccount`, or the shorthand's."""
        return f"{self.where}.sourceAccount" if self.where.startswith("pipelines[") else self.where

    @property
    def generated_tables(self) -> tuple[GeneratedTable, ...]:
        return tuple(table for table in self.tables if isinstance(table, GeneratedTable))


def address_key(text: str) -> str:
    """What a Terraform address makes of a table's key: `app-data`, `app_data` and `App.Data` are one."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def parse_pipelines(raw: Any) -> tuple[Pipeline, ...]:
    """The `pipelines` setting (a JSON list in cdktf.json, or JSON text after `-c pipelines=`), checked."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise UserError("setting pipelines is not JSON", fix='write -c \'pipelines=[{"sourceAccount": ...}]\'') from None
        except RecursionError:
            raise UserError("setting pipelines nests lists or objects too deeply to be pipelines",
                            fix='write -c \'pipelines=[{"sourceAccount": ...}]\'') from None
    if not isinstance(raw, list) or not raw:
        raise UserError(f"setting pipelines must be a non-empty list of pipelines, not {shown_json(raw)}",
                        fix='write "pipelines": [{"sourceAccount": "<account>", "tables": [...]}]')
    pipelines = tuple(_pipeline(item, f"pipelines[{index}]") for index, item in enumerate(raw))
    _check_across_pipelines(pipelines)
    return pipelines


def _pipeline(item: Any, where: str) -> Pipeline:
    _object(item, where, PIPELINE_KEYS, required={"sourceAccount", "tables"})
    account = _name(item["sourceAccount"], f"{where}.sourceAccount", LAYER_NAME, "an account folder name")
    tables_raw = item["tables"]
    if not isinstance(tables_raw, list) or not tables_raw:
        raise UserError(f"setting {where}.tables is {shown_json(tables_raw)}: a pipeline streams at least one table",
                        fix='list its tables, e.g. "tables": [{"name": "orders", "partitionKey": "id:S"}]')
    tables = tuple(_table(table, f"{where}.tables[{index}]") for index, table in enumerate(tables_raw))
    seen: dict[str, Table] = {}
    for table in tables:
        for identity in _identities(table):
            if identity in seen:
                raise UserError(f"setting {table.where}: {table.describe()} is listed twice in {where} "
                                f"(also {seen[identity].where})", fix="remove one, or give them different names")
            seen[identity] = table
    by_address = {address_key(table.key): table for table in tables}
    renamed: dict[str, ReadTable] = {}
    for table in (table for table in tables if isinstance(table, ReadTable) and table.renamed_from):
        earlier = renamed.setdefault(address_key(table.renamed_from), table)
        if earlier is not table:
            raise UserError(f"setting {table.where}.renamedFrom={table.renamed_from!r} is also {earlier.where}'s: "
                            "one table's addresses can move to one table only", fix="keep it on the table that had "
                            "the name, and remove it from the other")
        other = by_address.get(address_key(table.renamed_from))
        if other is not None:
            raise UserError(f"setting {table.where}.renamedFrom={table.renamed_from!r} is the name of {other.where} "
                            f"({other.describe()}), whose addresses those are now: Terraform refuses to move what is "
                            "still declared", fix="remove renamedFrom once its rename has been applied (the next apply "
                            "needs it no more), or give the other table another name")
    email = item.get("alarmEmail", "")
    if email:
        check_email(email, f"{where}.alarmEmail")
    return Pipeline(account, tables, email, where)


def _table(item: Any, where: str) -> Table:
    if isinstance(item, dict) and "layer" in item:
        _object(item, where, READ_KEYS, required={"layer", "output"},
                hint="a table read from a layer has `layer`, `output` and optionally `name`, `renamedFrom` and "
                     "the lakehouse's " + ", ".join(f"`{key}`" for key in sorted(LAKEHOUSE_KEYS)))
        name, renamed_from = (_name(item[key], f"{where}.{key}", TABLE_NAME, "a table name") if key in item else ""
                              for key in ("name", "renamedFrom"))
        table = ReadTable(_name(item["layer"], f"{where}.layer", LAYER_NAME, "a layer folder name"),
                          _name(item["output"], f"{where}.output", OUTPUT_NAME, "a Terraform output name"), name, where,
                          renamed_from, _lakehouse(item, where))
        if renamed_from and address_key(renamed_from) == address_key(table.key):
            raise UserError(f"setting {where}.renamedFrom={renamed_from!r} is the name its addresses have now",
                            fix="give the name it had before, or remove renamedFrom")
        return table
    _object(item, where, GENERATED_KEYS, required=set(),
            hint="a generated table has `name`, `partitionKey`, `sortKey` and the lakehouse's "
                 + ", ".join(f"`{key}`" for key in sorted(LAKEHOUSE_KEYS)) + "; a read one `layer` and `output`")
    name = _name(item.get("name", DEFAULT_TABLE), f"{where}.name", TABLE_NAME,
                 "a table name (letters, digits and _.-, up to 200)")
    keys: dict[str, TableKey | None] = {}
    for key, default in (("partitionKey", "id:S"), ("sortKey", "")):
        value = item.get(key, default)
        if not isinstance(value, str):
            raise UserError(f"setting {where}.{key} is {shown_json(value)}, not text", fix="write it as name:S, name:N or name:B")
        keys[key] = key_attribute(f"{where}.{key}", value) if value or key == "partitionKey" else None
    assert keys["partitionKey"] is not None
    if keys["sortKey"] is not None and keys["sortKey"].name.lower() == keys["partitionKey"].name.lower():
        raise UserError(f"setting {where}.sortKey names the partition key's attribute "
                        f"{keys['partitionKey'].name!r} (the lakehouse's columns ignore case)",
                        fix="use another attribute for the sort key, or leave it out")
    lakehouse = _lakehouse(item, where)
    key = next((key for key in (keys["partitionKey"], keys["sortKey"]) if key and key.name in dict(lakehouse.declared)),
               None)
    if key is not None:
        raise UserError(f"setting {where}.columns.{key.name} names a key attribute, which has a column of its own",
                        fix=f"remove {key.name!r} from the columns")
    return GeneratedTable(name, keys["partitionKey"], keys["sortKey"], where, lakehouse)


def _lakehouse(item: dict, where: str) -> LakehouseTableSettings:
    declared = typed_columns(f"{where}.columns", item["columns"]) if "columns" in item else ()
    cap = typed_column_cap(f"{where}.maxTypedColumns", item["maxTypedColumns"]) if "maxTypedColumns" in item else None
    if len(declared) > (DEFAULT_MAX_TYPED_COLUMNS if cap is None else cap):
        limit = f"maxTypedColumns={cap}" if cap is not None else f"the default cap of {DEFAULT_MAX_TYPED_COLUMNS}"
        raise UserError(f"setting {where}.columns declares {len(declared)} columns, more than {limit}",
                        fix="raise maxTypedColumns or declare fewer columns")
    history = item.get("history", False)
    if not isinstance(history, bool):
        raise UserError(f"setting {where}.history is {shown_json(history)}, not true or false",
                        fix="write true to keep every change of the table, or remove it")
    defaults = LakehouseTableSettings()
    age = whole_number(f"{where}.maxChangeAgeHours", item.get("maxChangeAgeHours", defaults.max_change_age_hours),
                       0, MAX_CHANGE_AGE_HOURS, "hours (0: unchecked)")
    tolerance = whole_number(f"{where}.itemCountTolerancePercent",
                             item.get("itemCountTolerancePercent", defaults.item_count_tolerance_percent),
                             0, 100, "percent")
    return LakehouseTableSettings(declared, cap, history, age, tolerance)


def _identities(table: Table) -> list[str]:
    """What makes two entries the same table (or give them one Terraform address)."""
    found = [f"key:{address_key(table.key)}"]
    if isinstance(table, ReadTable):
        found.append(f"read:{table.layer}:{table.output}")
    return found


def _check_across_pipelines(pipelines: tuple[Pipeline, ...]) -> None:
    """One pipeline per source account: a second would generate the same layers, stream and Firehose names."""
    by_account: dict[str, Pipeline] = {}
    for pipeline in pipelines:
        other = by_account.get(pipeline.source_account)
        if other is None:
            by_account[pipeline.source_account] = pipeline
            continue
        shared = {identity: table for table in other.tables for identity in _identities(table)}
        for table in pipeline.tables:
            twin = next((shared[identity] for identity in _identities(table) if identity in shared), None)
            if twin is not None:
                raise UserError(
                    f"setting {table.where}: {table.describe()} of account {pipeline.source_account!r} is in two "
                    f"pipelines (also {twin.where}); its changes would reach the lake twice",
                    fix="keep it in one pipeline")
        raise UserError(
            f"settings {other.where} and {pipeline.where} are two pipelines of account {pipeline.source_account!r}: "
            "they would generate the same layers and the same stream, Firehose and role names",
            fix=f"merge their tables into {other.where}")


def _object(item: Any, where: str, allowed: set[str], required: set[str], hint: str = "") -> None:
    if not isinstance(item, dict):
        raise UserError(f"setting {where} is {shown_json(item)}, not an object", fix=hint or "write it as {\"key\": value}")
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise UserError(f"setting {where} has the unknown key {unknown[0]!r}",
                        fix=hint or "known keys: " + ", ".join(sorted(allowed)))
    missing = sorted(required - set(item))
    if missing:
        raise UserError(f"setting {where} has no {missing[0]!r}", fix=hint or "add it")


def _name(value: Any, where: str, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise UserError(f"setting {where}={shown_json(value)} is not {what}",
                        fix="use letters, digits, '-' and '_', starting with a letter or digit")
    return value
