"""Reading Leverage's HCL var-files and env files with the parser the Leverage CLI uses."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from leverage.errors import UserError
from leverage.project import hcl_cache


def read_hcl(path: Path, root: Path) -> dict[str, Any]:
    """Parse an HCL file (tfvars or tf) into python-hcl2's dict form."""
    shown = display_path(path, root)
    refuse_unless_regular_file(path, shown)
    if not path.is_file():
        raise UserError(f"missing file {shown}", fix="create it as in a Leverage project, or fix leverageRoot")
    data = path.read_bytes()
    if b"\x00" in data:
        raise UserError(f"{shown} is a binary file, not HCL", fix="restore it from version control")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{shown} is not UTF-8 text (byte {exc.start})", fix="save it as UTF-8") from None
    return parse_hcl(text, shown)


def refuse_unless_regular_file(path: Path, shown: str) -> None:
    """Refuse what stands where a file of the project goes but is none: a folder, or a FIFO, a socket, a device (a
    read could block or never end). A missing file is the caller's to judge."""
    if path.is_dir():
        raise UserError(f"{shown} is a folder, not a file", fix="move that folder away and put the file there")
    if path.exists() and not path.is_file():
        raise UserError(f"{shown} is not a regular file", fix="move it away and put the file there")


def parse_hcl(text: str, shown: str) -> dict[str, Any]:
    """HCL text (of the file `shown`) in python-hcl2's dict form."""
    try:
        return hcl_cache.loads(text)
    except Exception as exc:  # python-hcl2 raises lark's exceptions, and plain ones for some malformed input
        import lark  # imported with the parser, which raised this

        if isinstance(exc, lark.exceptions.UnexpectedInput):
            raise UserError(
                f"cannot parse {shown} at line {exc.line}, column {exc.column}",
                fix="fix the HCL syntax there (`terraform fmt` shows the problem)",
            ) from None
        reason = " ".join(str(exc).split())  # one line, whatever python-hcl2 says
        raise UserError(f"cannot parse {shown}: {reason}", fix="fix the HCL syntax") from None


def blocks(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The `kind` blocks of a parsed file. python-hcl2 gives them as a list of dicts; an attribute of that name
    (`terraform = 1`, which Terraform rejects) gives anything else, and holds no block."""
    found = document.get(kind, [])
    return [block for block in found if isinstance(block, dict)] if isinstance(found, list) else []


def required_string(values: dict[str, Any], key: str, path: Path, root: Path) -> str:
    value = values.get(key)
    if not isinstance(value, str) or not value:
        raise UserError(
            f"{display_path(path, root)} has no `{key}`",
            fix=f'add `{key} = "..."` as Leverage expects',
        )
    return value


def read_env_file(path: Path, root: Path) -> dict[str, str]:
    """`build.env` is a shell-style KEY=value file."""
    shown = display_path(path, root)
    if not path.is_file():
        raise UserError(
            f"{shown} not found: this is not a Leverage project",
            fix="point leverageRoot at the folder holding build.env and config/",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{shown} is not UTF-8 text", fix="save it as UTF-8") from None
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("\"'")
    return values


def display_path(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root.parent).as_posix()
    except ValueError:
        return path.as_posix()
