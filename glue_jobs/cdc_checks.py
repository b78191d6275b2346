"""The data-quality checks the job runs on every merged table, and the source item counts they compare with.
Standard library; boto3 (on Glue) only where DynamoDB is asked for a count.

Checks, on the live rows after the run's merge:
  unique_keys      no key value is held by more than one live row (a MERGE keeps one row per key; two mean a write
                   outside the job or a bug).
  key_attributes   no live row lacks a key attribute (DynamoDB has no item without its key).
  freshness        the newest merged change is at most `max_change_age_hours` old (0: not checked). A stuck
                   watermark, a Firehose delivering elsewhere or a source that stopped streaming all look the same here.
                   A table with no change merged yet is as old as the job's first run for it: one whose changes
                   never arrive fails once that is more than the limit ago.
  item_count       the live row count is within tolerance of the source table's `ItemCount`. DynamoDB refreshes
                   ItemCount about every six hours, so the count may lag the table by that long: the allowance is
                   `item_count_tolerance_percent` of the count plus every change merged in the last
                   `COUNT_LAG_HOURS` hours (each change moves the true count by one at most). Without a count (no
                   source configured, or it could not be read) the check is skipped and says why.

Each check ends `passed`, `failed` or `skipped`, with what it observed and the limit it compared with.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

CHECKS = ("unique_keys", "key_attributes", "freshness", "item_count")
# Checks whose failure the per-table quality alarm counts; freshness has an alarm of its own on the change's age.
QUALITY_CHECKS = ("unique_keys", "key_attributes", "item_count")
COUNT_LAG_HOURS = 7  # DynamoDB's "about every six hours", and an hour to spare
DEFAULT_MAX_CHANGE_AGE_HOURS = 24
DEFAULT_COUNT_TOLERANCE_PERCENT = 1.0
HOUR_US = 3_600_000_000


class ChecksInputError(ValueError):
    """Check settings the job refuses."""


@dataclass(frozen=True)
class CheckSettings:
    max_change_age_hours: int = DEFAULT_MAX_CHANGE_AGE_HOURS
    item_count_tolerance_percent: float = DEFAULT_COUNT_TOLERANCE_PERCENT

    def __post_init__(self) -> None:
        if not 0 <= self.max_change_age_hours <= 24 * 365:
            raise ChecksInputError(f"max_change_age_hours {self.max_change_age_hours} is not between 0 (off) "
                                   "and 8760")
        if not 0 <= self.item_count_tolerance_percent <= 100:
            raise ChecksInputError(f"item_count_tolerance_percent {self.item_count_tolerance_percent} is not "
                                   "between 0 and 100")


@dataclass(frozen=True)
class TableFacts:
    """What the checks look at, measured after the table's merge."""

    live_rows: int
    duplicate_keys: int  # key values held by more than one live row
    rows_without_keys: int
    newest_change_us: int | None
    now_us: int
    item_count: int | None = None  # the source table's ItemCount, None when unknown
    item_count_note: str = ""  # why it is unknown
    recent_changes: int = 0  # changes merged in the last COUNT_LAG_HOURS hours, this run's included
    first_run_us: int | None = None  # the job's first run for the table: its age while no change is merged

    @property
    def change_age_seconds(self) -> float | None:
        since = self.newest_change_us if self.newest_change_us is not None else self.first_run_us
        return None if since is None else max(0, self.now_us - since) / 1_000_000


@dataclass(frozen=True)
class CheckResult:
    check: str
    outcome: str  # passed, failed, skipped
    observed: float | None
    threshold: float | None
    detail: str

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"


def _result(check: str, bad: bool, observed: float, threshold: float, detail: str) -> CheckResult:
    return CheckResult(check, "failed" if bad else "passed", observed, threshold, detail)


def evaluate(facts: TableFacts, settings: CheckSettings) -> list[CheckResult]:
    """Every check's outcome, in CHECKS order."""
    results = [
        _result("unique_keys", facts.duplicate_keys > 0, facts.duplicate_keys, 0,
                f"{facts.duplicate_keys} key values are held by more than one live row"),
        _result("key_attributes", facts.rows_without_keys > 0, facts.rows_without_keys, 0,
                f"{facts.rows_without_keys} live rows lack a key attribute"),
    ]
    age = facts.change_age_seconds
    limit_hours = settings.max_change_age_hours
    if limit_hours == 0:
        results.append(CheckResult("freshness", "skipped", age, None, "max_change_age_hours is 0: not checked"))
    elif age is None:
        results.append(CheckResult("freshness", "skipped", None, limit_hours * 3600.0,
                                   "no change merged yet"))
    elif facts.newest_change_us is None:
        results.append(_result("freshness", age > limit_hours * 3600, age, limit_hours * 3600.0,
                               f"no change merged yet, {age / 3600:.1f} hours after the job's first run for the "
                               f"table (limit {limit_hours})"))
    else:
        results.append(_result("freshness", age > limit_hours * 3600, age, limit_hours * 3600.0,
                               f"the newest merged change is {age / 3600:.1f} hours old (limit {limit_hours})"))
    if facts.item_count is None:
        results.append(CheckResult("item_count", "skipped", None, None,
                                   facts.item_count_note or "no source item count"))
    else:
        difference = abs(facts.live_rows - facts.item_count)
        allowed = settings.item_count_tolerance_percent / 100 * facts.item_count + facts.recent_changes
        results.append(_result(
            "item_count", difference > allowed, difference, allowed,
            f"{facts.live_rows} live rows, the source's ItemCount is {facts.item_count}; allowed "
            f"{settings.item_count_tolerance_percent:g}% of it plus {facts.recent_changes} changes merged in the "
            f"last {COUNT_LAG_HOURS} hours"))
    return results


# ---------------------------------------------------------------- source item counts


@dataclass(frozen=True)
class CountSource:
    """Where a table's ItemCount is read: DynamoDB's DescribeTable through a role of the source account."""

    role_arn: str
    region: str


class ItemCounts:
    """The source tables' item counts: given (`--item-counts`, local runs and tests) or read from DynamoDB."""

    def __init__(self, given: dict[str, int] | None = None,
                 client_factory: Callable[[CountSource], Any] | None = None) -> None:
        self.given = dict(given or {})
        self.client_factory = client_factory or assumed_role_dynamodb

    def count(self, source: str, where: CountSource | None) -> tuple[int | None, str]:
        """(the count, "") or (None, why not). Never raises: a count that cannot be read skips one check."""
        if source in self.given:
            return self.given[source], ""
        if where is None:
            return None, "no source item count configured for this table"
        try:
            table = self.client_factory(where).describe_table(TableName=source)["Table"]
            return int(table["ItemCount"]), ""
        except Exception as error:  # denied, throttled, the table gone: the other checks still run
            first_line = next(iter(str(error).splitlines()), "")[:300]
            return None, f"DescribeTable of {source} through {where.role_arn} failed: {type(error).__name__} " \
                         f"{first_line}".rstrip()


def assumed_role_dynamodb(where: CountSource) -> Any:
    """A DynamoDB client with the source account's read-only role's credentials."""
    import boto3

    credentials = boto3.client("sts", region_name=where.region).assume_role(
        RoleArn=where.role_arn, RoleSessionName="lakehouse-item-count", DurationSeconds=900)["Credentials"]
    return boto3.client("dynamodb", region_name=where.region, aws_access_key_id=credentials["AccessKeyId"],
                        aws_secret_access_key=credentials["SecretAccessKey"],
                        aws_session_token=credentials["SessionToken"])


def parse_item_counts(text: str) -> dict[str, int]:
    """`--item-counts '{"Orders": 120}'`: the counts to compare with, by source table."""
    try:
        counts = json.loads(text) if text.strip() else {}
    except ValueError:
        raise ChecksInputError(f"--item-counts {text[:80]!r} is not a JSON object") from None
    if not isinstance(counts, dict) or not all(
            isinstance(value, int) and not isinstance(value, bool) and value >= 0 for value in counts.values()):
        raise ChecksInputError('--item-counts must map source tables to counts, e.g. {"Orders": 120}')
    return counts
