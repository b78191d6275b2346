"""The refactor guard's findings as the user meets them: what `synth` refuses (and the fix), what an `--allow` flag
or a harmless replacement let it write (one line each), and `check`'s listing in text and JSON."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from leverage.errors import UserError
from leverage.review.changes import MANUAL, MOVE, REPLACE, ResourceChange


@dataclass(frozen=True)
class Allowances:
    """What `synth` was told to write anyway."""

    destroy: bool = False  # --allow-destroy
    repoint: bool = False  # --allow-repoint


Advice = Callable[[ResourceChange], "str | None"]


def refused(changes: list[ResourceChange], allowances: Allowances = Allowances()) -> list[ResourceChange]:
    """The changes `synth` refuses, what makes the others happen first: a remote state or provider that moves, an
    undeclared move, what loses data, then what points elsewhere."""
    found = [change for change in changes
             if (change.destructive and not allowances.destroy) or (change.repointing and not allowances.repoint)]
    return sorted(found, key=lambda change: (not change.root_cause, not change.undeclared_move,
                                              not change.destructive))


def refusal(change: ResourceChange, advice: Advice | None = None) -> UserError:
    """The error for one refused change: what would happen, and the fix that applies to what the user edited
    (`advice`, from whoever knows whether the layer comes from settings or from code)."""
    fix = (advice(change) if advice else None) or default_fix(change)
    return UserError(change.summary(), fix=fix, layer=change.layer,
                     details={"action": change.action, "address": change.address, "consequence": change.consequence,
                              **({"name": change.name} if change.name else {})})


def default_fix(change: ResourceChange) -> str:
    """The fix for whoever writes the layer's code."""
    if change.action == MANUAL:
        return "undo the change, or pass --allow-destroy to write it and then " + change.by_hand(where=False)
    if change.repointing:
        return ("undo the change; if the move is intended, pass --allow-repoint, and move or keep what stays behind "
                "(docs/safety.md#what-moves-elsewhere)")
    if change.undeclared_move and change.to_address and "another layer" not in change.detail:
        old = change.address.split(".", 1)[1]
        return (f"declare the move: `.renamed_from({old!r})` on the construct, or `self.moved({change.address!r}, "
                f"{change.to_address!r})` in the layer; or pass --allow-destroy if that is intended")
    if change.undeclared_move:
        return ("move the state by hand (`terraform state mv` between the two states) or adopt it there "
                "(docs/addresses.md), or pass --allow-destroy if that is intended")
    return "undo the change, or pass --allow-destroy if losing the data is intended"


def allowed(changes: list[ResourceChange], allowances: Allowances) -> list[str]:
    """What `synth --allow-destroy` / `--allow-repoint` wrote that would otherwise be refused: one line each."""
    lines = []
    for change in changes:
        flag = "--allow-destroy" if change.destructive and allowances.destroy else \
            "--allow-repoint" if change.repointing and allowances.repoint else None
        if flag:
            summary = f"manual of {change.address}: {change.detail}" if change.action == MANUAL else change.summary()
            lines.append(f"{flag}: layer {change.layer}: {summary}"
                         + (f"; {change.by_hand()}" if change.by_hand() else ""))
    return lines


def replacements(changes: list[ResourceChange]) -> list[str]:
    """What `synth` wrote that replaces a resource holding no data, which it writes without a flag: one line each,
    since what depends on it from outside the layer may notice (an e-mail subscription waits for its confirmation
    again)."""
    return [f"layer {change.layer}: {change.summary()}; nothing it holds is lost, but the next apply destroys and "
            "recreates it" for change in changes if change.action == REPLACE and not change.destructive]


def as_text(changes: list[ResourceChange]) -> str:
    if not changes:
        return ""
    out = ["resources (what `leverage tf apply` of the new layers would do):\n"]
    layer = None
    for change in changes:
        if change.layer != layer:
            layer = change.layer
            out.append(f"  {layer}\n")
        subject = f"{change.from_address} -> {change.address}" if change.action == MOVE else change.address
        flag = "  DESTRUCTIVE" if change.destructive else "  REPOINTS" if change.repointing else ""
        detail = f": {change.detail}" if change.detail else ""
        detail += f"; {change.by_hand()}" if change.by_hand() else ""
        out.append(f"    {change.action:<8} {subject} [{change.consequence}]{detail}{flag}\n")
    destructive = sum(change.destructive for change in changes)
    if destructive:
        out.append(f"{destructive} destructive change(s): a resource would be destroyed and recreated\n")
    repointing = sum(change.repointing for change in changes)
    if repointing:
        out.append(f"{repointing} change(s) point live resources elsewhere\n")
    return "".join(out)


def as_json(changes: list[ResourceChange]) -> list[dict[str, Any]]:
    return [{**asdict(change), "consequence": change.consequence, "destructive": change.destructive,
             "repointing": change.repointing} for change in changes]
