"""Checks of single setting values, shared by the settings and the pipeline model; each error names the setting."""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from leverage.errors import UserError

KEY_TYPES = {"S": "string", "N": "number", "B": "binary"}
# The lakehouse job's typed-column types (glue_jobs/cdc_columns.py) and its cap on typed columns per table.
TYPED_COLUMN_TYPES = ("string", "bigint", "decimal", "boolean", "binary", "json", "array<string>", "array<bigint>",
                      "array<decimal>", "array<binary>")
MAX_TYPED_COLUMNS = 1000
DEFAULT_MAX_TYPED_COLUMNS = 200  # the job's cap for a table that sets none (`--max-typed-columns`)
# Columns the job adds to every table (glue_jobs/cdc_settings.py): no key attribute may be named like them.
JOB_COLUMNS = ("item",)
JOB_COLUMN_PREFIX = "cdc_"
# What an attribute name cannot hold here: the names travel as text inside a Terraform expression (the job's
# `--tables`), where a quote or a backslash would end or change it. `${` and `%{` are taken literally in a key's
# name (escaped like any setting's text), but cdktf does not escape `${` in an object's key: a column's name.
UNSAFE_IN_EXPRESSION = ('"', "\\")
UNSAFE_IN_COLUMN_NAME = (*UNSAFE_IN_EXPRESSION, "${")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class TableKey:
    """A DynamoDB key attribute of a generated table, from a setting `name:type`."""

    name: str
    type: str = "S"


def key_attribute(setting: str, value: str) -> TableKey:
    """A DynamoDB key setting `name:type` (type S, N or B; S when left out), checked once, here."""
    check_free_text(setting, value)
    name, _, kind = value.partition(":")
    if not name:
        raise UserError(f"setting {setting}={value!r} has no attribute name", fix="write it as name:S, name:N or name:B")
    check_attribute_name(setting, name)
    if name.lower() in JOB_COLUMNS or name.lower().startswith(JOB_COLUMN_PREFIX):
        raise UserError(f"setting {setting}={value!r}: key attribute {name!r} is named like a column the lakehouse "
                        f"job adds to every table ({', '.join(JOB_COLUMNS)}, {JOB_COLUMN_PREFIX}*)",
                        fix="name the key attribute otherwise")
    kind = kind or "S"
    if kind not in KEY_TYPES:
        raise UserError(f"setting {setting}={value!r}: DynamoDB key attribute {name!r} has type {kind!r}; key "
                        "attributes must be S (string), N (number) or B (binary)", fix="write it as name:S, name:N or name:B")
    return TableKey(name, kind)


def typed_columns(setting: str, value: Any) -> tuple[tuple[str, str], ...]:
    """A table's declared lakehouse columns, `{"attribute": "type", ...}`: the types the job knows."""
    if not isinstance(value, dict):
        raise UserError(f"setting {setting} is {shown_json(value)}, not an object",
                        fix='write it as {"<attribute>": "<type>"}, e.g. {"amount": "decimal"}')
    for name, kind in value.items():
        if not name:
            raise UserError(f"setting {setting} has an empty attribute name", fix="name the attribute, or remove it")
        check_attribute_name(f"{setting}.{name}", name, UNSAFE_IN_COLUMN_NAME)
        if kind not in TYPED_COLUMN_TYPES:
            raise UserError(f"setting {setting}.{name}={shown_json(kind)} is not a lakehouse column type",
                            fix="use one of " + ", ".join(TYPED_COLUMN_TYPES))
    return tuple(value.items())


def check_attribute_name(setting: str, name: str, unsafe_parts: tuple[str, ...] = UNSAFE_IN_EXPRESSION) -> None:
    """A DynamoDB attribute name the layers can carry: no control character, and none of `unsafe_parts`."""
    check_free_text(setting, name)
    unsafe = next((part for part in unsafe_parts if part in name), None)
    if unsafe is not None:
        raise UserError(f"setting {setting}: attribute name {shown(name)} contains {unsafe!r}, which this app cannot "
                        "write into the layers", fix="rename the attribute in DynamoDB, or leave it to inference "
                        "(its value stays in `item`)")


def typed_column_cap(setting: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TYPED_COLUMNS:
        raise UserError(f"setting {setting}={shown_json(value)} is not a number of columns from 0 to "
                        f"{MAX_TYPED_COLUMNS}", fix="write a whole number, e.g. 100")
    return value


def whole_number(setting: str, value: Any, low: int, high: int, unit: str) -> int:
    """A whole number of a JSON setting within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UserError(f"setting {setting}={shown_json(value)} is out of range", fix=f"use {low} to {high} {unit}")
    return value


def check_free_text(key: str, value: str) -> None:
    bad = next((char for char in value if unicodedata.category(char).startswith("C")), None)
    if bad is not None:
        raise UserError(f"setting {key}={shown(value)} contains the control character {bad!r}",
                        fix="remove it (a pasted line break?)")


def check_email(value: Any, where: str) -> None:
    if not isinstance(value, str) or not EMAIL.fullmatch(value):
        raise UserError(f"setting {where}={shown_json(value)} is not an e-mail address",
                        fix="write one address such as data-oncall@example.com, or leave it out for no subscription")


def shown(value: Any) -> str:
    """A value as the user wrote it, cut short: an error stays one readable line."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**40 else "<a very large number>"
    return _cut(text)


def shown_json(value: Any) -> str:
    """A value of the JSON `pipelines` setting as JSON (strings quoted as Python does), cut short."""
    try:
        text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    except RecursionError:
        return "<lists or objects nested too deeply>"
    if any(unicodedata.category(char).startswith("C") for char in text):
        text = repr(value)
    return _cut(text)


def _cut(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."
