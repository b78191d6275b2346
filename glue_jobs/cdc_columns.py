"""Typed columns: which top-level attributes get a column, under which name and type, and how each column's value
is read from an item's facts (cdc_items.py) in Spark SQL. Pure Python: the job applies the plan.

Type policy (inferred; a column declared in the settings has the declared type instead):

| DynamoDB values | column type |
|---|---|
| S | `string` |
| N, every value an integer within bigint's range | `bigint` |
| N, otherwise | `decimal(38,9)`: exact up to 29 integer digits and 9 decimals |
| BOOL | `boolean` |
| B | `binary` |
| SS, BS | `array<string>`, `array<binary>` |
| NS | `array<bigint>` or `array<decimal(38,9)>`, by the rule of N |
| L, M | `string` holding the value's plain JSON (as in `item`) |
| NULL | decides nothing: null in any column |

A new attribute's type comes from the values this run merges: the family (string, number, boolean, binary, json,
string set, number set, binary set) with the most values wins, ties in that order. Later values of another family
are *conflicts*: null in the column, named in the row's `cdc_type_conflicts`, counted in the run's summary; the
exact value stays in `item`. So are numbers a column cannot hold exactly (N_WIDE), and every value of a declared
column that its type cannot hold. A run never fails on a type.

Widening: Iceberg changes a column's type in place only from int to long, float to double and decimal(P,S) to
decimal(P',S) with P' > P. The one widening this policy needs, bigint to decimal(38,9) (a number with decimals, or
an integer beyond bigint, arrives in a bigint column), is none of them: the column is replaced by a decimal column of
the same name and every row's value is read again from `item` (a *backfill*, one rewrite of the table). Decimals are
always decimal(38,9), so they never widen. Declared columns never widen.

Names: the attribute name lowercased, each character other than a-z, 0-9 and `_` replaced by `_`, cut to 120
characters, prefixed `a_` unless it starts with a letter (or when it starts with `cdc_`, which the job's own columns
use). A name already taken (a key column, `item`, a `cdc_` column, an earlier typed column, whatever its case) gets
the smallest free suffix `_2`, `_3`, ... Names are given once and kept: within a run, an attribute whose name is
already its column name goes first, then the others in code-point order (`status` before `Status`, which becomes
`status_2`). Each column's comment is its attribute's exact name where Glue's catalog can hold it (`column_comment`);
`cdc.columns` always holds the exact name.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

from cdc_items import DECIMAL_PRECISION, DECIMAL_SCALE, NUMBER_KINDS, NUMBER_SET_KINDS

DECIMAL_SQL = f"DECIMAL({DECIMAL_PRECISION},{DECIMAL_SCALE})"
COLUMN_TYPES = {  # the column types a declaration may name, and their Spark SQL types
    "string": "STRING", "bigint": "BIGINT", "decimal": DECIMAL_SQL, "boolean": "BOOLEAN", "binary": "BINARY",
    "json": "STRING", "array<string>": "ARRAY<STRING>", "array<bigint>": "ARRAY<BIGINT>",
    "array<decimal>": f"ARRAY<{DECIMAL_SQL}>", "array<binary>": "ARRAY<BINARY>",
}
ACCEPTS = {  # value kinds a column of each type holds exactly
    "string": ("S",), "bigint": ("N_INT",), "decimal": ("N_INT", "N_DEC"), "boolean": ("BOOL",), "binary": ("B",),
    "json": ("L", "M"), "array<string>": ("SS",), "array<bigint>": ("NS_INT",),
    "array<decimal>": ("NS_INT", "NS_DEC"), "array<binary>": ("BS",),
}
FAMILIES = ("string", "number", "boolean", "binary", "json", "string set", "number set", "binary set")  # tie order
FAMILY_OF = {"S": "string", "B": "binary", "BOOL": "boolean", "L": "json", "M": "json", "SS": "string set",
             "BS": "binary set", **{kind: "number" for kind in NUMBER_KINDS},
             **{kind: "number set" for kind in NUMBER_SET_KINDS}}
WIDENINGS = {"bigint": "decimal", "array<bigint>": "array<decimal>"}
MAX_BASE_LENGTH = 120
JOB_PREFIX = "cdc_"
DEFAULT_MAX_COLUMNS = 200

Profile = dict[str, dict[str, int]]  # attribute -> value kind -> number of this run's values


@dataclass(frozen=True)
class TypedColumn:
    name: str
    attribute: str
    type: str  # a key of COLUMN_TYPES
    declared: bool = False

    @property
    def sql_type(self) -> str:
        return COLUMN_TYPES[self.type]

    @property
    def accepts(self) -> tuple[str, ...]:
        if self.declared and self.type == "json":  # a declared JSON column holds any value, as JSON
            return tuple(FAMILY_OF) + ("NULL",)
        return ACCEPTS[self.type]

    def as_json(self) -> dict:
        return {"name": self.name, "attribute": self.attribute, "type": self.type, "declared": self.declared}


@dataclass(frozen=True)
class ColumnPlan:
    columns: tuple[TypedColumn, ...]  # the table's typed columns after the run, in table order
    added: tuple[TypedColumn, ...] = ()
    retyped: tuple[TypedColumn, ...] = ()  # replaced by a column of another type (widened, or declared anew)
    untyped: tuple[str, ...] = ()  # attributes seen without a column (over the cap), this run and before
    conflicts: dict[str, int] = field(default_factory=dict)  # attribute -> this run's values its column cannot hold
    backfill: bool = False  # rows already stored must have their typed columns read again from `item`

    @property
    def changed(self) -> bool:
        return bool(self.added or self.retyped)


GLUE_COMMENT_LIMIT = 255  # Glue's Column.Comment, in UTF-16 code units
# What Glue's Column.Comment pattern leaves out: control characters but tab, U+FFFE/U+FFFF, lone surrogates.
GLUE_COMMENT_REFUSES = re.compile("[\x00-\x08\x0a-\x1f\ud800-\udfff\ufffe\uffff]")


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def column_comment(attribute: str) -> str:
    """The column's comment: its attribute's exact name, where Glue's catalog can hold it (the Iceberg table's schema
    goes there on every change, and Glue refuses the whole change for one comment). Otherwise the name with the
    characters Glue refuses written as `\\uXXXX`, cut to Glue's length ending in `...`."""
    comment = GLUE_COMMENT_REFUSES.sub(lambda match: f"\\u{ord(match.group()):04x}", attribute)
    if comment == attribute and _utf16_length(comment) <= GLUE_COMMENT_LIMIT:
        return attribute
    if _utf16_length(comment) <= GLUE_COMMENT_LIMIT:
        return comment
    comment = comment[:GLUE_COMMENT_LIMIT - 3]
    while _utf16_length(comment) > GLUE_COMMENT_LIMIT - 3:
        comment = comment[:-1]
    return comment + "..."


def base_name(attribute: str) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", attribute.lower())[:MAX_BASE_LENGTH]
    if not re.match(r"[a-z]", name) or name.startswith(JOB_PREFIX):
        name = "a_" + name
    return name


def free_name(attribute: str, taken: set[str]) -> str:
    base = base_name(attribute)
    name, suffix = base, 1
    while name in taken:
        suffix += 1
        name = f"{base}_{suffix}"
    return name


def naming_order(attribute: str) -> tuple[bool, str]:
    return base_name(attribute) != attribute, attribute


def inferred_type(kinds: dict[str, int]) -> str | None:
    """The column type the values of a new attribute ask for (None: only NULLs so far)."""
    families: dict[str, int] = {}
    for kind, count in kinds.items():
        if kind in FAMILY_OF:
            families[FAMILY_OF[kind]] = families.get(FAMILY_OF[kind], 0) + count
    if not families:
        return None
    family = max(FAMILIES, key=lambda name: (families.get(name, 0), -FAMILIES.index(name)))
    if family == "number":
        return "bigint" if set(kinds) & set(NUMBER_KINDS) <= {"N_INT"} else "decimal"
    if family == "number set":
        return "array<bigint>" if set(kinds) & set(NUMBER_SET_KINDS) <= {"NS_INT"} else "array<decimal>"
    return {"string set": "array<string>", "binary set": "array<binary>"}.get(family, family)


def widened(column: TypedColumn, kinds: dict[str, int]) -> TypedColumn:
    """The column, widened when this run's values need it (bigint -> decimal, for numbers with decimals)."""
    wider = WIDENINGS.get(column.type)
    if column.declared or wider is None:
        return column
    needs = {"decimal": ("N_DEC",), "array<decimal>": ("NS_DEC",)}[wider]
    return replace(column, type=wider) if any(kinds.get(kind) for kind in needs) else column


def plan_columns(existing: tuple[TypedColumn, ...], profile: Profile, *, reserved: set[str],
                 declared: dict[str, str] | None = None, max_columns: int = DEFAULT_MAX_COLUMNS,
                 untyped: tuple[str, ...] = (), stored_rows_untyped: bool = False) -> ColumnPlan:
    """The typed columns after a run: `existing` as stored, this run's `profile` (key attributes left out by the
    caller), the column names the job keeps for itself (`reserved`, lowercase), the declared types
    (attribute -> type), the cap on typed columns, the attributes an earlier run left untyped, and whether rows
    already stored may hold attributes no column shows (a table from before typed columns)."""
    declared = declared or {}
    columns = {column.attribute: column for column in existing}
    taken = {name.lower() for name in reserved} | {column.name for column in existing}
    added, retyped = [], []

    def backfilled(attribute: str) -> bool:
        return stored_rows_untyped or attribute in untyped

    for attribute in sorted(declared, key=naming_order):
        kind = declared[attribute]
        current = columns.get(attribute)
        if current is None:
            column = TypedColumn(free_name(attribute, taken), attribute, kind, declared=True)
            taken.add(column.name)
            columns[attribute] = column
            added.append(column)
        elif current.type != kind or not current.declared:
            column = replace(current, type=kind, declared=True)
            columns[attribute] = column
            if current.type != kind:
                retyped.append(column)
    for attribute, column in list(columns.items()):
        wider = widened(column, profile.get(attribute, {}))
        if wider != column:
            columns[attribute] = wider
            retyped.append(wider)
    room = max(max_columns - len(columns), 0)
    candidates = [(attribute, inferred_type(kinds)) for attribute, kinds in profile.items()
                  if attribute not in columns]
    candidates = [(attribute, kind) for attribute, kind in candidates if kind is not None]
    by_use = sorted(candidates, key=lambda pair: (-sum(profile[pair[0]].values()), naming_order(pair[0])))
    chosen, left_out = by_use[:room], [attribute for attribute, _ in by_use[room:]]
    for attribute, kind in sorted(chosen, key=lambda pair: naming_order(pair[0])):
        column = TypedColumn(free_name(attribute, taken), attribute, kind)
        taken.add(column.name)
        columns[attribute] = column
        added.append(column)
    still_untyped = tuple(sorted((set(untyped) | set(left_out)) - set(columns)))
    order = [column.attribute for column in existing] + [column.attribute for column in added]
    final = tuple(columns[attribute] for attribute in order)
    conflicts = {}
    for column in final:
        count = sum(number for kind, number in profile.get(column.attribute, {}).items()
                    if kind != "NULL" and kind not in column.accepts)
        if count:
            conflicts[column.attribute] = count
    backfill = bool(retyped) or any(backfilled(column.attribute) for column in added)
    return ColumnPlan(final, tuple(added), tuple(retyped), still_untyped, conflicts, backfill)


# ---------------------------------------------------------------- stored as a table property


def columns_to_json(columns: tuple[TypedColumn, ...]) -> str:
    return json.dumps([column.as_json() for column in columns], ensure_ascii=False, separators=(",", ":"))


def columns_from_json(text: str | None) -> tuple[TypedColumn, ...]:
    if not text:
        return ()
    return tuple(TypedColumn(entry["name"], entry["attribute"], entry["type"], bool(entry.get("declared")))
                 for entry in json.loads(text))


# ---------------------------------------------------------------- Spark SQL


def quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def sql_text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _in(kinds: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def _converted(column_type: str, text: str, kind: str) -> str:
    if column_type == "string":
        return text
    return {
        "bigint": f"CAST({text} AS BIGINT)",
        "decimal": f"CAST({text} AS {DECIMAL_SQL})",
        "boolean": f"({text} = 'true')",
        "binary": f"unbase64({text})",
        "array<string>": f"from_json({text}, 'array<string>')",
        "array<bigint>": f"from_json({text}, 'array<bigint>')",
        "array<decimal>": f"from_json({text}, 'array<{DECIMAL_SQL.lower()}>')",
        "array<binary>": f"transform(from_json({text}, 'array<string>'), member -> unbase64(member))",
        # JSON text: strings (S, B) become JSON strings, everything else already is JSON.
        "json": f"CASE WHEN {kind} IN ('S', 'B') THEN regexp_extract(to_json(array({text})), '^\\\\[(.*)\\\\]$', 1)"
                f" ELSE {text} END",
    }[column_type]


def value_sql(column: TypedColumn, facts: str) -> str:
    """The column's value from the map `facts` (attribute -> struct<kind, text>): null unless the column holds the
    attribute's value exactly."""
    fact = f"{facts}[{sql_text(column.attribute)}]"
    accepted = tuple(kind for kind in column.accepts if kind != "NULL")
    return (f"CASE WHEN {fact}.kind IN {_in(accepted)} THEN {_converted(column.type, f'{fact}.text', f'{fact}.kind')}"
            " END")


def conflicts_sql(columns: tuple[TypedColumn, ...], facts: str) -> str:
    """`cdc_type_conflicts`: the attributes whose value this row's typed column cannot hold; null when none."""
    if not columns:
        return "CAST(NULL AS ARRAY<STRING>)"
    flags = ", ".join(f"CASE WHEN {facts}[{sql_text(column.attribute)}].kind NOT IN {_in(column.accepts + ('NULL',))}"
                      f" THEN {sql_text(column.attribute)} END" for column in columns)
    found = f"filter(array({flags}), attribute -> attribute IS NOT NULL)"
    return f"CASE WHEN size({found}) > 0 THEN {found} END"
