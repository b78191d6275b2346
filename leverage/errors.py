from __future__ import annotations


class UserError(Exception):
    """Bad input the user can fix. Printed as one line: `error: <what and where>; <how to fix>`."""

    def __init__(self, what: str, fix: str | None = None) -> None:
        super().__init__(f"{what}; {fix}" if fix else what)
