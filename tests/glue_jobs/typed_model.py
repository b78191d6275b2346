"""An independent model of the typed columns, written from the documented rules (docs/lakehouse.md, "Typed
columns"), not from the job's code: the columns a table has after each run, and what each live row holds in them.

The job keeps every row's typed columns a function of the table's columns now and the row's item (a widening or a
newly typed attribute rewrites the stored rows), so a row's expected values come from the final columns.

Pure standard library: the test process computes it; rows come from the scenario runner's pyiceberg dump, where
decimals are text, binary is `{"base64": ...}` and timestamps ISO text.
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from tests.glue_jobs.cdc_records import Typed, plain_value

BIGINT_RANGE = (-(2**63), 2**63 - 1)
FAMILY_ORDER = ("string", "number", "boolean", "binary", "json", "string set", "number set", "binary set")
TYPE_OF_FAMILY = {"string": "string", "boolean": "boolean", "binary": "binary", "json": "json",
                  "string set": "array<string>", "binary set": "array<binary>"}
TAKEN_BY_THE_JOB = {"item"}  # and every name starting with cdc_


def number_width(digits: str) -> str:
    """`int` (a bigint holds it), `decimal` (a decimal(38,9) holds it exactly) or `wide`."""
    value = Decimal(digits)
    if value == int(value) and BIGINT_RANGE[0] <= value <= BIGINT_RANGE[1]:
        return "int"
    with localcontext() as exact:  # the default context's 28 digits would round 38-digit numbers
        exact.prec = 200
        scaled = value * 10**9
        return "decimal" if scaled == int(scaled) and abs(value) < Decimal(10) ** 29 else "wide"


def value_class(typed: Typed) -> tuple[str | None, str | None]:
    """(family, width): family None for NULL; width int/decimal/wide for numbers and number sets."""
    (kind, value), = typed.items()
    if kind == "NULL":
        return None, None
    if kind == "N":
        return "number", number_width(value)
    if kind == "NS":
        widths = {number_width(member) for member in value}
        return "number set", "wide" if "wide" in widths else "decimal" if "decimal" in widths else "int"
    family = {"S": "string", "B": "binary", "BOOL": "boolean", "SS": "string set", "BS": "binary set",
              "L": "json", "M": "json"}[kind]
    return family, None


def holds(column_type: str, declared: bool, typed: Typed) -> bool:
    family, width = value_class(typed)
    if family is None:
        return True
    if declared and column_type == "json":
        return True
    if column_type in ("bigint", "array<bigint>"):
        return family == ("number" if column_type == "bigint" else "number set") and width == "int"
    if column_type in ("decimal", "array<decimal>"):
        return family == ("number" if column_type == "decimal" else "number set") and width != "wide"
    return TYPE_OF_FAMILY.get(family) == column_type


def column_name_base(attribute: str) -> str:
    name = "".join(char if "a" <= char <= "z" or "0" <= char <= "9" or char == "_" else "_"
                   for char in attribute.lower())[:120]
    return name if re.match(r"[a-z]", name) and not name.startswith("cdc_") else "a_" + name


@dataclass
class Column:
    name: str
    attribute: str
    type: str
    declared: bool = False


@dataclass
class ColumnModel:
    """A table's typed columns as runs add and widen them."""
    key_names: set[str]
    declared: dict[str, str] = field(default_factory=dict)
    cap: int = 200
    columns: dict[str, Column] = field(default_factory=dict)  # attribute -> column, in table order
    untyped: set[str] = field(default_factory=set)

    def taken(self) -> set[str]:
        return {name.lower() for name in self.key_names} | TAKEN_BY_THE_JOB | {c.name for c in self.columns.values()}

    def name_for(self, attribute: str) -> str:
        base, taken = column_name_base(attribute), self.taken()
        name, number = base, 1
        while name in taken:
            number += 1
            name = f"{base}_{number}"
        return name

    def run(self, images: list[dict[str, Typed]]) -> dict[str, int]:
        """One run's merged images (REMOVEs left out): columns evolve; returns the conflicts counted per attribute."""
        values: dict[str, list[Typed]] = {}
        for image in images:
            for attribute, typed in image.items():
                if attribute not in self.key_names:
                    values.setdefault(attribute, []).append(typed)
        order = lambda attribute: (column_name_base(attribute) != attribute, attribute)  # noqa: E731
        for attribute in sorted(self.declared, key=order):
            if attribute not in self.columns:
                self.columns[attribute] = Column(self.name_for(attribute), attribute, self.declared[attribute], True)
        for column in self.columns.values():
            widths = {value_class(typed)[1] for typed in values.get(column.attribute, [])}
            if not column.declared and column.type in ("bigint", "array<bigint>") and "decimal" in widths:
                column.type = column.type.replace("bigint", "decimal")
        fresh = {}
        for attribute, typed_values in values.items():
            if attribute in self.columns:
                continue
            families: dict[str, int] = {}
            for typed in typed_values:
                family = value_class(typed)[0]
                if family is not None:
                    families[family] = families.get(family, 0) + 1
            if not families:
                continue  # only NULLs: no type yet
            family = max(FAMILY_ORDER, key=lambda name: (families.get(name, 0), -FAMILY_ORDER.index(name)))
            if family in ("number", "number set"):
                integral = all(value_class(typed)[1] == "int" for typed in typed_values
                               if value_class(typed)[0] == family)
                scalar = "bigint" if integral else "decimal"
                fresh[attribute] = scalar if family == "number" else f"array<{scalar}>"
            else:
                fresh[attribute] = TYPE_OF_FAMILY[family]
        room = max(self.cap - len(self.columns), 0)
        by_use = sorted(fresh, key=lambda attribute: (-len(values[attribute]), order(attribute)))
        for attribute in sorted(by_use[:room], key=order):
            self.columns[attribute] = Column(self.name_for(attribute), attribute, fresh[attribute])
        self.untyped = (self.untyped | set(by_use[room:])) - set(self.columns)
        conflicts: dict[str, int] = {}
        for column in self.columns.values():
            count = sum(not holds(column.type, column.declared, typed) for typed in values.get(column.attribute, []))
            if count:
                conflicts[column.attribute] = count
        return conflicts

    def expected(self, image: dict[str, Typed]) -> tuple[dict[str, Any], list[str] | None]:
        """The row's typed columns (as the dump shows them, decimals as Decimal) and its conflicts."""
        row, conflicts = {}, []
        for column in self.columns.values():
            typed = image.get(column.attribute)
            if typed is None or value_class(typed)[0] is None:
                row[column.name] = None
            elif not holds(column.type, column.declared, typed):
                row[column.name] = None
                conflicts.append(column.attribute)
            else:
                row[column.name] = converted(column.type, typed)
        return row, conflicts or None


def converted(column_type: str, typed: Typed) -> Any:
    (kind, value), = typed.items()
    if column_type == "json":
        return plain_value(typed)
    if column_type == "bigint":
        return int(value)
    if column_type == "decimal":
        return Decimal(value)
    if column_type == "array<bigint>":
        return sorted(int(member) for member in value)
    if column_type == "array<decimal>":
        return sorted(Decimal(member) for member in value)
    if column_type == "binary":
        return base64.b64decode(value)
    if column_type == "array<binary>":
        return sorted(base64.b64decode(member) for member in value)
    if column_type == "array<string>":
        return sorted(value)
    return value


def dumped(column_type: str, value: Any) -> Any:
    """A value of the scenario runner's dump in the model's terms."""
    if value is None:
        return None
    if column_type == "json":
        return json.loads(value, parse_float=Decimal, parse_int=Decimal)
    if column_type == "decimal":
        return Decimal(value)
    # Arrays as stored: the model's sets are sorted, so this checks the job's order too.
    if column_type == "array<decimal>":
        return [Decimal(member) for member in value]
    if column_type == "array<bigint>":
        return list(value)
    if column_type == "binary":
        return base64.b64decode(value["base64"])
    if column_type == "array<binary>":
        return [base64.b64decode(member["base64"]) for member in value]
    if column_type == "array<string>":
        return list(value)
    return value
