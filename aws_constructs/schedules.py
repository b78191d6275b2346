"""Glue's cron schedules read without the CDK engine: the settings check them before the engine loads."""
from __future__ import annotations

import re

GLUE_CRON = re.compile(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)")
# Numbers of at most four digits: a minute, an hour or a step, never more.
CRON_PART = re.compile(r"(\*|([0-9]{1,4})(?:-([0-9]{1,4}))?)(?:/([0-9]{1,4}))?")


def cron_values(field: str, low: int, high: int) -> set[int] | None:
    """The values a cron field (`*`, `n`, `a-b`, `*/n`, `a/n`, `a-b/n`, comma-separated) selects; None for what this
    reading does not cover (names, L, W, #)."""
    values: set[int] = set()
    for part in field.split(","):
        match = CRON_PART.fullmatch(part)
        if not match:
            return None
        every, first, last, step = match.groups()
        start = low if every == "*" else int(first)
        end = high if every == "*" or (step and last is None) else int(last or first)
        if not low <= start <= end <= high or (step is not None and int(step) == 0):
            return None
        values.update(range(start, end + 1, int(step or 1)))
    return values


def schedule_gaps_minutes(schedule: str) -> tuple[int, int] | None:
    """The shortest and the longest time between two runs of a Glue cron schedule, within a day (day fields make
    some gaps longer still); None when the minutes or hours field is beyond this reading."""
    cron = GLUE_CRON.fullmatch(schedule)
    if not cron:
        return None
    minutes, hours = cron_values(cron.group(1), 0, 59), cron_values(cron.group(2), 0, 23)
    if not minutes or not hours:
        return None
    times = sorted(hour * 60 + minute for hour in hours for minute in minutes)
    gaps = [later - earlier for earlier, later in zip(times, times[1:])] + [times[0] + 1440 - times[-1]]
    return min(gaps), max(gaps)


MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def _selects_all(field: str, low: int, high: int, names: tuple[str, ...] = ()) -> bool:
    """`*`, `?`, or values (numbers, or the field's names: JAN-DEC, SUN-SAT) that cover the whole range."""
    if field in ("*", "?"):
        return True
    numbered = re.sub(r"[A-Z]{3}", lambda name: str(names.index(name.group()) + low)
                      if name.group() in names else name.group(), field.upper())
    return cron_values(numbered, low, high) == set(range(low, high + 1))


def runs_every_day(schedule: str) -> bool:
    """The day-of-month, month, day-of-week and year fields select every day (what `schedule_gaps_minutes`
    assumes): each `*`, `?` or its whole range (`1-31`, `JAN-DEC`, `SUN-SAT`...), one of the two day fields `?`."""
    cron = GLUE_CRON.fullmatch(schedule)
    if not cron:
        return False
    day_of_month, month, day_of_week, year = cron.group(3), cron.group(4), cron.group(5), cron.group(6)
    return "?" in (day_of_month, day_of_week) and _selects_all(day_of_month, 1, 31) \
        and _selects_all(month, 1, 12, MONTH_NAMES) and _selects_all(day_of_week, 1, 7, DAY_NAMES) and year == "*"
