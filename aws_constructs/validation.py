"""Checks of what AWS would otherwise reject minutes into an apply."""
from __future__ import annotations

import re

from aws_constructs.errors import ConstructPropsError


def check_name(kind: str, name: str, max_length: int, pattern: str, allowed: str, min_length: int = 1) -> None:
    if not min_length <= len(name) <= max_length:
        raise ConstructPropsError(
            f"{kind} name {name!r} has {len(name)} characters, AWS allows {min_length} to {max_length}; "
            "shorten the project, account or layer naming settings"
        )
    if not re.fullmatch(pattern, name, flags=re.ASCII):
        raise ConstructPropsError(f"{kind} name {name!r} is not valid; AWS allows only {allowed}")


def check_range(what: str, value: int, low: int, high: int, unit: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConstructPropsError(f"{what} is {value!r}; AWS accepts a whole number of {unit} from {low} to {high}")
