"""What applying fresh layers would do to one live resource (or a data source, a provider, an output): the refactor
guard's finding, as its report and its refusals show it."""
from __future__ import annotations

from dataclasses import dataclass

CREATE, IMPORT, UPDATE, REPLACE, DESTROY, MOVE, MANUAL, REPOINT = (
    "create", "import", "update", "replace", "destroy", "move", "manual", "repoint")
CONSEQUENCE = {CREATE: "create", IMPORT: "create (import)", UPDATE: "update in place", REPLACE: "destroy/replace",
               DESTROY: "destroy/replace", MOVE: "none, state only", MANUAL: "fails: replace it by hand",
               REPOINT: "points elsewhere"}


@dataclass(frozen=True)
class ResourceChange:
    layer: str  # folder relative to the Leverage root
    action: str  # create, import, update, replace, destroy, move, manual or repoint
    address: str  # where the resource is after the change (before it, for destroy); a data source or provider
    stateful: bool
    detail: str = ""
    from_address: str | None = None  # for moves, and for destroys that are undeclared moves
    undeclared_move: bool = False
    to_address: str | None = None  # for an undeclared move: where the resource appears
    name: str = ""  # the live resource's name as the user knows it, where it has one

    @property
    def consequence(self) -> str:
        return CONSEQUENCE[self.action]

    @property
    def destructive(self) -> bool:
        """Data would be lost, or a resource destroyed under one that was just created: a stateful resource is
        destroyed or replaced, must be replaced by hand, or any resource moves without a moved block."""
        return self.action == MANUAL or self.stateful and self.action in (REPLACE, DESTROY) or \
            self.undeclared_move and self.action == DESTROY

    @property
    def repointing(self) -> bool:
        return self.action == REPOINT

    @property
    def root_cause(self) -> bool:
        """A remote state or provider that moves: what makes the resources referring to it move."""
        return self.repointing and (self.address.startswith("data.") or self.address.startswith("provider "))

    def by_hand(self, where: bool = True) -> str:
        """What the user must do for a change the provider cannot apply (`where`: naming the layer's folder)."""
        folder = f" in {self.layer}" if where else ""
        return (f"replace it by hand: `leverage tf apply -replace={self.address}`{folder} (it is recreated "
                "empty: copy out what it holds first)") if self.action == MANUAL else ""

    def summary(self) -> str:
        """The change in one clause, as refusals and warnings print it."""
        if self.undeclared_move or self.repointing:
            return f"{self.address}: {self.detail}" if self.repointing else self.detail
        if self.action == MANUAL:
            return f"{self.address}: {self.detail}"
        return f"{self.action} of {self.address}: {self.detail}"
