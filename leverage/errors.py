"""Errors are data: what went wrong, where, and how to fix it, with the context each caller adds on the way out.

A check raises `UserError(what, fix=...)` (and `where=` when the place is not already part of `what`); a caller
that knows more adds it with `in_context` (the layer being built, its registration in cdktf.json, the file and line
of the user's code) instead of editing the text. Every refusal is printed from the fields the same way, one line:

    error: <file>:<line>: layer <folder> (<registration>): <where>: <what>; <fix>

and `check --json` reports the same fields.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(eq=False)
class UserError(Exception):
    """Bad input the user can fix. Printed as one line: `error: <what and where>; <how to fix>`."""

    what: str
    fix: str | None = None
    where: str | None = None  # the setting or file the problem is in, when `what` does not say it
    layer: str | None = None  # the layer folder being built or checked
    registration: str | None = None  # the layer's entry in cdktf.json (`layers[0]`)
    file: str | None = None  # the user's code that raised it or made the call
    line: int | None = None
    # What the refusal is about, for programs reading `check --json` (e.g. {"address": ..., "action": ...}).
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.what)

    def in_context(self, *, layer: str | None = None, registration: str | None = None, file: str | None = None,
                   line: int | None = None) -> UserError:
        """The same error with what the caller knows added; what the raiser said already is kept."""
        self.layer = self.layer or layer
        self.registration = self.registration or registration
        if self.file is None and file is not None:
            self.file, self.line = file, line
        return self

    @property
    def message(self) -> str:
        """The one line after `error: `."""
        location = f"{self.file}:{self.line or 1}" if self.file else ""
        subject = ""
        if self.layer:
            subject = f"layer {self.layer}" + (f" ({self.registration})" if self.registration else "")
        elif self.registration:
            subject = f"setting {self.registration}"
        text = ": ".join(part for part in (location, subject, self.where, self.what) if part)
        return (f"{text}; {self.fix}" if self.fix else text).replace("\n", " ")

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, Any]:
        """The fields and the printed line, for `check --json`."""
        fields = {key: value for key, value in asdict(self).items() if value not in (None, {})}
        return {"message": self.message, **fields}
