"""DynamoDB items as plain JSON, and the facts the typed columns are made of (pure Python, run inside Spark UDFs).

An image as DynamoDB writes it (`{"amount": {"N": "12.50"}, "tags": {"SS": ["a"]}}`) becomes:
- `item`: plain JSON text, the exact source of truth (`unwrap_item`);
- `types`: each top-level attribute's DynamoDB type (`{"amount": "N", "tags": "SS"}`); with `item` it is a lossless
  copy of the image's top level (B and S are both text in `item`, SS and L both arrays; nested values keep only
  their plain JSON);
- `facts`: for each top-level attribute a *value kind* and a text the typed columns are cast from in Spark SQL.

Value kinds refine DynamoDB's types where a column type depends on the value, never on a float:

| kind | values | text |
|---|---|---|
| `S`, `B` | strings, binary | the string; the base64 text |
| `N_INT` | numbers that are integers within bigint's range | the integer's digits |
| `N_DEC` | other numbers that `decimal(38, 9)` holds exactly | the digits, without exponent |
| `N_WIDE` | numbers neither holds exactly (more than 9 decimals, 30+ integer digits) | the JSON number |
| `BOOL`, `NULL` | booleans, NULL | `true`/`false`; none |
| `SS`, `BS` | string and binary sets | a JSON array of the strings |
| `NS_INT`, `NS_DEC`, `NS_WIDE` | number sets, by the widest kind among their members | a JSON array of numbers |
| `L`, `M` | lists and maps | their plain JSON text |
"""
from __future__ import annotations

import base64
import json
import re
from decimal import ROUND_DOWN, Context, Decimal, InvalidOperation
from typing import Any

JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
DECIMAL_PRECISION, DECIMAL_SCALE = 38, 9  # the typed columns' decimal: 29 integer digits, 9 decimals
DECIMAL_LIMIT = Decimal(10) ** (DECIMAL_PRECISION - DECIMAL_SCALE)
DECIMAL_QUANTUM = Decimal(1).scaleb(-DECIMAL_SCALE)
# DynamoDB numbers have at most 38 digits and magnitudes up to 1E+126: with 200 digits nothing rounds.
EXACT = Context(prec=200, rounding=ROUND_DOWN)
NUMBER_KINDS = ("N_INT", "N_DEC", "N_WIDE")  # narrowest first
NUMBER_SET_KINDS = ("NS_INT", "NS_DEC", "NS_WIDE")
VALUE_KINDS = ("S", *NUMBER_KINDS, "B", "BOOL", "NULL", "SS", *NUMBER_SET_KINDS, "BS", "L", "M")
DYNAMODB_TYPES = ("S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M")


# ---------------------------------------------------------------- plain JSON


def _json_number(digits: str) -> str:
    """DynamoDB's number text as a JSON number with the same digits (never through a float)."""
    text = digits.strip()
    if JSON_NUMBER.fullmatch(text):
        return text
    try:  # forms JSON does not allow (`.5`, `+1`, `01`) with the same value
        canonical = str(Decimal(text))
    except InvalidOperation as error:
        raise ValueError(f"not a DynamoDB number: {digits!r}") from error
    if not JSON_NUMBER.fullmatch(canonical):
        raise ValueError(f"not a finite DynamoDB number: {digits!r}")
    return canonical


def _only_type(typed: dict[str, Any]) -> tuple[str, Any]:
    if not isinstance(typed, dict) or len(typed) != 1:
        raise ValueError(f"a DynamoDB attribute value has exactly one type, got {typed!r:.80}")
    (kind, value), = typed.items()
    if kind not in DYNAMODB_TYPES:
        raise ValueError(f"unknown DynamoDB type {kind!r}")
    return kind, value


def _unwrapped_json(typed: dict[str, Any]) -> str:
    kind, value = _only_type(typed)
    if kind in ("S", "B"):
        return json.dumps(value, ensure_ascii=False)
    if kind == "N":
        return _json_number(value)
    if kind == "BOOL":
        return "true" if value in (True, "true") else "false"
    if kind == "NULL":
        return "null"
    if kind in ("SS", "BS"):
        return "[" + ",".join(json.dumps(member, ensure_ascii=False) for member in set_members(kind, value)) + "]"
    if kind == "NS":
        return "[" + ",".join(_json_number(member) for member in set_members(kind, value)) + "]"
    if kind == "L":
        return "[" + ",".join(_unwrapped_json(member) for member in value) + "]"
    return _unwrapped_map(value)


def set_members(kind: str, members: list[Any]) -> list[Any]:
    """A set's members in their type's order (strings by code point, numbers by value, binary by its bytes): DynamoDB
    sets have no order, and the stream gives one item's set in different orders."""
    if kind == "NS":
        return sorted(members, key=lambda member: Decimal(_json_number(str(member))))
    if kind == "BS":
        return sorted(members, key=base64.b64decode)
    return sorted(members)


def _unwrapped_map(attributes: dict[str, Any]) -> str:
    # Sorted names: the same item always gives the same text, whatever order the stream wrote its attributes in.
    members = (json.dumps(name, ensure_ascii=False) + ":" + _unwrapped_json(attributes[name])
               for name in sorted(attributes))
    return "{" + ",".join(members) + "}"


def unwrap_item(json_text: str | None) -> str | None:
    """A DynamoDB image (`{"a": {"N": "1"}, ...}`) as plain JSON: numbers as JSON numbers with their exact digits,
    SS/NS/BS as arrays, B as its base64 text, NULL as null, BOOL as a boolean, M and L nested."""
    if json_text is None:
        return None
    return _unwrapped_map(json.loads(json_text))


class StoredNumber(Decimal):
    """A number read from a stored `item`, with the text it was stored as: written back unchanged (a Decimal's own
    text turns 0.0000001 into 1E-7)."""

    text: str

    def __new__(cls, text: str) -> "StoredNumber":
        number = super().__new__(cls, text)
        number.text = text
        return number


def plain_json(value: Any) -> str:
    """A value of a stored `item` (parsed with its numbers as StoredNumber) written back as `unwrap_item` wrote it."""
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(name, ensure_ascii=False) + ":" + plain_json(value[name])
                              for name in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(plain_json(member) for member in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, StoredNumber):
        return value.text
    return json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------- facts


def number_fact(digits: str) -> tuple[str, str]:
    """The kind of a DynamoDB number and the text its typed column is cast from (exactly)."""
    value = Decimal(_json_number(digits))
    if value == value.to_integral_value() and BIGINT_MIN <= value <= BIGINT_MAX:
        return "N_INT", str(int(value))
    # copy_abs, not abs(): abs() rounds to the default context's 28 digits (29 nines and a half become 1E+29).
    if value.copy_abs() < DECIMAL_LIMIT and value == EXACT.quantize(value, DECIMAL_QUANTUM):
        return "N_DEC", format(value, "f")
    return "N_WIDE", _json_number(digits)


def number_set_fact(members: list[str]) -> tuple[str, str]:
    facts = [number_fact(member) for member in members]
    widest = max((NUMBER_KINDS.index(kind) for kind, _ in facts), default=0)
    return NUMBER_SET_KINDS[widest], "[" + ",".join(text for _, text in facts) + "]"


def value_fact(kind: str, value: Any, plain: str | None = None) -> tuple[str, str | None]:
    """(value kind, text) of one top-level attribute; `value` as in the image (`kind` its DynamoDB type), or parsed
    from plain JSON, with `plain` its plain JSON text when the caller has it."""
    if kind in ("S", "B"):
        return kind, value
    if kind == "N":
        return number_fact(str(value))
    if kind == "BOOL":
        return "BOOL", "true" if value in (True, "true") else "false"
    if kind == "NULL":
        return "NULL", None
    if kind == "NS":
        return number_set_fact([str(member) for member in set_members(kind, value)])
    if kind in ("SS", "BS"):
        return kind, "[" + ",".join(json.dumps(member, ensure_ascii=False) for member in set_members(kind, value)) + "]"
    return kind, plain  # L, M


def item_facts(image_json: str | None) -> tuple[str, dict[str, str], dict[str, tuple[str, str | None]]] | None:
    """`item`, `types` and `facts` of one image (see the module's docstring); None for no image (a REMOVE)."""
    if image_json is None:
        return None
    attributes = json.loads(image_json)
    types, facts, members = {}, {}, []
    for name in sorted(attributes):
        kind, value = _only_type(attributes[name])
        plain = _unwrapped_json(attributes[name])
        members.append(json.dumps(name, ensure_ascii=False) + ":" + plain)
        types[name] = kind
        facts[name] = value_fact(kind, value, plain if kind in ("L", "M") else None)
    return "{" + ",".join(members) + "}", types, facts


def inferred_type(value: Any) -> str:
    """The DynamoDB type a plain JSON value most likely had: for items stored without their types."""
    if isinstance(value, bool):
        return "BOOL"
    if value is None:
        return "NULL"
    if isinstance(value, (Decimal, int)):
        return "N"
    if isinstance(value, str):
        return "S"
    return "L" if isinstance(value, list) else "M"


def stored_item_facts(item: str | None, types: dict[str, str] | None) -> dict[str, tuple[str, str | None]] | None:
    """The facts of an item already stored (`item` and its `types`), to fill typed columns of existing rows: the
    same facts `item_facts` gave for its image. Rows stored without types get the types their JSON suggests."""
    if item is None:
        return None
    attributes = json.loads(item, parse_float=StoredNumber, parse_int=StoredNumber)
    facts = {}
    for name, value in attributes.items():
        kind = (types or {}).get(name) or inferred_type(value)
        facts[name] = value_fact(kind, value, plain_json(value) if kind in ("L", "M") else None)
    return facts
