"""Where a Terraform interpolation ends, and the error for a value the access proof cannot know: plain text work,
without the HCL parser (aws_constructs/access/expressions.py), so that the review of a synth's references does not
load it."""
from __future__ import annotations

import re


class Unresolved(Exception):
    """A value the access proof cannot know from the layers: the expression and why."""

    def __init__(self, expression: str, reason: str) -> None:
        super().__init__(f"cannot resolve {expression!r}: {reason}")
        self.expression = expression
        self.reason = reason


_BRACES_AND_QUOTES = re.compile(r'[{}"\\]')


def closing_brace(text: str, start: int) -> int:
    """The index of the `}` that closes the interpolation whose body starts at `start` (after its `${`), braces inside
    quoted strings and escaped characters not counted."""
    depth, quoted, skip = 0, False, -1
    for found in _BRACES_AND_QUOTES.finditer(text, start):
        index, char = found.start(), found.group()
        if index == skip:
            continue
        if quoted:
            if char == "\\":
                skip = index + 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return index
            depth -= 1
    raise Unresolved(text, "an interpolation is not closed")
