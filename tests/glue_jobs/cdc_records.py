"""Realistic DynamoDB change records as the Kinesis streaming destination writes them and Firehose stores them.

Pure standard library: the tests (main venv), the scenario runner (spark venv) and the benchmark all use it.
"""
from __future__ import annotations

import base64
import json
import os
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
EVENT_RANK = {"INSERT": 1, "MODIFY": 2, "REMOVE": 3}  # the job's documented tie-break, restated independently
LONG_NUMBER = "12345678901234567890.123456789"

Typed = dict[str, Any]  # a DynamoDB attribute value: {"S": "x"}, {"N": "1"}, {"M": {...}}, ...


@dataclass(frozen=True)
class Change:
    table: str
    keys: dict[str, Typed]
    event_name: str
    time_us: int
    event_id: str
    new_image: dict[str, Typed] | None = None
    old_image: dict[str, Typed] | None = None
    ttl_delete: bool = False

    @property
    def key(self) -> tuple[tuple[str, str, str], ...]:
        """The item's identity: (name, type, value) of each key attribute, sorted by name."""
        return tuple((name, *next(iter(typed.items()))) for name, typed in sorted(self.keys.items()))

    @property
    def position(self) -> tuple[int, int, str]:
        return self.time_us, EVENT_RANK[self.event_name], self.event_id

    def record(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ApproximateCreationDateTime": self.time_us, "Keys": self.keys}
        if self.new_image is not None:
            body["NewImage"] = self.new_image
        if self.old_image is not None:
            body["OldImage"] = self.old_image
        body["SizeBytes"] = len(json.dumps(self.keys)) + len(json.dumps(self.new_image or self.old_image or {}))
        record: dict[str, Any] = {"awsRegion": "us-east-1", "eventID": self.event_id, "eventName": self.event_name}
        if self.ttl_delete:
            record["userIdentity"] = TTL_IDENTITY
        record.update({"recordFormat": "application/json", "tableName": self.table, "dynamodb": body,
                       "eventSource": "aws:dynamodb"})
        return record


@dataclass
class FirehoseFile:
    """One object as Firehose writes it: `<table>/cdc_data/year=/month=/day=/hour=/<stream>-<n>-<time>-<uuid>`."""
    relative_path: str
    changes: list[Change]
    modified_at: float  # seconds since the epoch: the object's LastModified (file modification time locally)

    def text(self) -> str:
        return "".join(json.dumps(change.record()) + "\n" for change in self.changes)

    def write(self, raw: Path) -> Path:
        path = raw / self.relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.text(), encoding="utf-8")
        os.utime(path, (self.modified_at, self.modified_at))
        return path


def firehose_path(table: str, arrival: datetime, sequence: int, rng: random.Random) -> str:
    hour_folder = arrival.strftime("year=%Y/month=%m/day=%d/hour=%H")
    suffix = "%08x-%04x-%04x-%04x-%012x" % tuple(rng.getrandbits(bits) for bits in (32, 16, 16, 16, 48))
    return f"{table}/cdc_data/{hour_folder}/lake-cdc-stream-1-{arrival.strftime('%Y-%m-%d-%H-%M-%S')}-{suffix}"


@dataclass
class ItemFactory:
    """Items with every DynamoDB type: nested maps, lists, sets, binary, NULL, BOOL, long numbers, and attribute names
    the typed columns must rename (`Status`/`status`, `Item`, `PK`, `order-total`, `1st`, `cdc_note`).

    `fractional_prices` and `priority` change what later items look like: a number attribute that was integral
    gains decimals (its column widens), a new attribute appears (its column is added)."""
    rng: random.Random
    fractional_prices: bool = False
    priority: bool = False

    def number(self) -> str:
        choices = [LONG_NUMBER, "-0.000000001", "99999999999999999999999999999999999999", "0", "42", "-17.25",
                   str(self.rng.randint(-10**12, 10**12)), f"{self.rng.randint(0, 10**9)}.{self.rng.randint(1, 999)}"]
        return self.rng.choice(choices)

    def blob(self) -> str:
        return base64.b64encode(self.rng.randbytes(self.rng.randint(1, 24))).decode()

    def image(self, keys: dict[str, Typed], version: int) -> dict[str, Typed]:
        rng = self.rng
        image: dict[str, Typed] = dict(keys)
        image["Status"] = {"S": rng.choice(["OPEN", "CLOSED", "PENDING"])}
        image["status"] = {"S": rng.choice(["open", "closed", "pending"])}
        image["amount"] = {"N": LONG_NUMBER if version % 2 else self.number()}
        image["version"] = {"N": str(version)}
        image["price"] = {"N": f"{rng.randint(1, 500)}.{rng.randint(10, 99)}" if self.fractional_prices
                          else str(rng.randint(1, 500))}
        image["mixed"] = {"N": str(version * 7)} if rng.random() < 0.8 else {"S": "n/a"}  # a type conflict
        image["note"] = {"S": rng.choice(["ñandú 🚀", "line\nbreak \"quoted\"", "plain", "back\\slash"])}
        image["Item"] = {"S": "shadowed by the item column"}
        image["PK"] = {"S": "not the key"}
        image["order-total"] = {"N": str(rng.randint(0, 10**6))}
        image["1st"] = {"BOOL": True}
        image["cdc_note"] = {"S": "not the job's"}
        image["${spark.app.name}"] = {"S": "not a variable"}
        image["receiptUrl"] = {"S": "https://example.com/receipts"}  # Spark hides properties naming a URL, a token...
        if self.priority:
            image["priority"] = {"N": str(rng.randint(1, 5))}
        if rng.random() < 0.7:
            image["tags"] = {"SS": sorted({rng.choice("abcdefgh") * rng.randint(1, 3) for _ in range(3)})}
        if rng.random() < 0.7:
            image["scores"] = {"NS": sorted({self.number() for _ in range(3)})}
        if rng.random() < 0.5:
            image["blobs"] = {"BS": sorted({self.blob() for _ in range(2)})}
        if rng.random() < 0.6:
            image["payload"] = {"B": self.blob()}
        image["deleted_at"] = {"NULL": True}
        image["active"] = {"BOOL": rng.random() < 0.5}
        image["address"] = {"M": {
            "street": {"S": f"{rng.randint(1, 999)} Main St"},
            "geo": {"M": {"lat": {"N": "-34.603722"}, "lng": {"N": "-58.381592"}}},
            "lines": {"L": [{"S": "floor 2"}, {"N": self.number()}, {"M": {"door": {"S": "B"}}}, {"NULL": True}]},
        }}
        image["history"] = {"L": [{"M": {"at": {"N": str(version * 1000)}, "by": {"S": "system"}}},
                                  {"L": [{"BOOL": True}, {"SS": ["x", "y"]}]}]}
        return image


# ---------------------------------------------------------------- the oracle


def plain_value(typed: Typed) -> Any:
    """The oracle's own unwrapping, to Python values (Decimal for numbers): independent of the job's unwrap_item."""
    from decimal import Decimal

    (kind, value), = typed.items()
    if kind == "N":
        return Decimal(value)
    # Sets in their members' order (DynamoDB's sets have none): strings by code point, numbers by value, binary by
    # its bytes.
    if kind == "NS":
        return sorted(Decimal(member) for member in value)
    if kind == "BS":
        return sorted(value, key=base64.b64decode)
    if kind in ("S", "B", "SS", "BOOL"):
        return sorted(value) if kind == "SS" else value
    if kind == "NULL":
        return None
    if kind == "L":
        return [plain_value(member) for member in value]
    if kind == "M":
        return {name: plain_value(member) for name, member in value.items()}
    raise ValueError(kind)


def utc_microseconds(moment: datetime) -> int:
    return int(moment.astimezone(timezone.utc).timestamp() * 1_000_000)
