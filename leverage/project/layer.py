"""Where a layer lives in the Leverage tree and where its state lives in the account's backend."""
from __future__ import annotations

import re
from dataclasses import dataclass

from leverage.errors import UserError

LAYER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")  # used with fullmatch: "$" would let a trailing newline in
STATE_FILE = "terraform.tfstate"
MAX_FILE_NAME = 255  # bytes, on every file system the tools run on


@dataclass(frozen=True, order=True)
class LayerAddress:
    account: str
    region: str  # a region code, or "global"
    layer: str
    # A layer outside the primary region keeps its state under `<layer>-dr`, as the reference does.
    disaster_recovery: bool = False

    def __post_init__(self) -> None:
        if not LAYER_NAME.fullmatch(self.layer):
            raise UserError(
                f"layer name {self.layer!r} is not a valid folder name",
                fix="use lowercase letters, digits, '-' and '_'",
            )
        # The layer's folder, and cdktf's folder of its stack (`<account>--<region>--<layer>`), are file names.
        longest = len(self.folder.replace("/", "--").encode())
        if longest > MAX_FILE_NAME:
            raise UserError(
                f"layer name {self.layer[:40]!r}... ({len(self.layer)} characters) is too long: with its account and "
                f"region it names a folder of {longest} characters, more than the {MAX_FILE_NAME} a file name may have",
                fix="choose a shorter layer name")

    @property
    def folder(self) -> str:
        return f"{self.account}/{self.region}/{self.layer}"

    @property
    def backend_key(self) -> str:
        """The key `leverage tf validate-layout` expects: the account, then the layer path without the region."""
        return f"{self.account}/{self.state_path_in_account}"

    @property
    def state_path_in_account(self) -> str:
        return f"{state_name(self.layer)}{'-dr' if self.disaster_recovery else ''}/{STATE_FILE}"


def state_name(layer: str) -> str:
    """A layer's name in its backend key: Leverage drops a `base-` or `tools-` prefix."""
    for prefix in ("base-", "tools-"):
        if layer.startswith(prefix):
            return layer[len(prefix):]
    return layer
