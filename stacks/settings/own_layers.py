"""Your own layers, registered as data: the `layers` list of cdktf.json's context.

```json
"layers": [
  {"module": "example/layers/change_events_queue.py", "class": "ChangeEventsQueueLayer",
   "account": "lakeAccount", "layer": "change-events-queue", "settings": {"retention_days": 4}}
]
```

`module` is a Python file, relative to the folder of cdktf.json or absolute; `class` a LeverageLayerStack subclass
in it; `account` an account of the project, or `lakeAccount` / `sourceAccount` for the account those settings name;
`layer` the layer's folder name; `region` (optional) the region folder, by default setting `region`; `settings`
(optional) the layer's own settings, checked against the dataclass its class declares as `Settings`
(stacks/own_layers.py). This module checks only the shape; the file, the class and the settings are checked
when the layer is built.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leverage.errors import UserError
from stacks.settings.values import shown_json

BUILT_IN_SOURCES = "stacks/"  # the modules of the built-in layers, as their generated-file marker names them
REQUIRED_KEYS = ("module", "class", "account", "layer")
OPTIONAL_KEYS = ("region", "settings")
# Account references: the account another setting names.
ACCOUNT_SETTINGS = ("lakeAccount", "sourceAccount")


@dataclass(frozen=True)
class RegisteredLayer:
    """One entry of `layers`, shape-checked."""

    index: int
    module: str
    class_name: str
    account: str  # an account name or one of ACCOUNT_SETTINGS
    layer: str
    region: str | None = None
    settings: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def where(self) -> str:
        return f"layers[{self.index}]"


def parse_own_layers(raw: Any) -> tuple[RegisteredLayer, ...]:
    """The `layers` setting (a JSON list, or JSON text from `-c layers=...`), each entry checked."""
    if isinstance(raw, str):
        import json

        try:
            raw = json.loads(raw) if raw.strip() else []
        except ValueError:
            raise UserError("setting layers is not valid JSON", fix='write it as [{"module": ..., "class": ...}]') from None
        except RecursionError:
            raise UserError("setting layers nests lists or objects too deeply to be layers",
                            fix='write it as [{"module": ..., "class": ...}]') from None
    if not isinstance(raw, list):
        raise UserError(f"setting layers is {shown_json(raw)}, not a list",
                        fix='write it as "layers": [{"module": ..., "class": ..., "account": ..., "layer": ...}]')
    return tuple(_parse_entry(index, entry) for index, entry in enumerate(raw))


def _parse_entry(index: int, entry: Any) -> RegisteredLayer:
    where = f"layers[{index}]"
    if not isinstance(entry, dict):
        raise UserError(f"setting {where} is {shown_json(entry)}, not an object",
                        fix='write it as {"module": ..., "class": ..., "account": ..., "layer": ...}')
    unknown = sorted(set(entry) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise UserError(f"setting {where} has the unknown key {unknown[0]!r}",
                        fix="known keys: " + ", ".join(REQUIRED_KEYS + OPTIONAL_KEYS))
    for key in REQUIRED_KEYS + ("region",):
        if key not in entry and key in REQUIRED_KEYS:
            raise UserError(f"setting {where} has no {key!r}", fix="give module, class, account and layer")
        if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
            raise UserError(f"setting {where}.{key} is {shown_json(entry[key])}, not a non-empty string",
                            fix=f"give {key} as text")
    for key, valid, what, fix in (
            ("class", str.isidentifier, "a Python class name", "name the class as written in the module"),
            ("module", lambda path: path.endswith(".py"), "a Python file",
             "give the path of a .py file, relative to cdktf.json's folder or absolute")):
        if not valid(entry[key]):
            raise UserError(f"setting {where}.{key}={shown_json(entry[key])} is not {what}", fix=fix)
    # account and layer are checked as folder names with every other name of the settings (model._check_names)
    settings = entry.get("settings", {})
    if not isinstance(settings, dict):
        raise UserError(f"setting {where}.settings is {shown_json(settings)}, not an object",
                        fix="give the layer's own settings as a JSON object of its Settings fields")
    return RegisteredLayer(index, entry["module"], entry["class"], entry["account"], entry["layer"],
                           entry.get("region"), dict(settings))


def named_like_built_in(module: Path, app_root: Path) -> bool:
    """Whether the generated files would name a module of your own as they name a built-in layer's (a `stacks/`
    folder beside cdktf.json, as an app that installs this one as a dependency may have): its layer would then be
    taken for a built-in one, and left unmanaged when unregistered or moved."""
    path, root = module.resolve(), app_root.resolve()
    return path.is_relative_to(root) and path.relative_to(root).as_posix().startswith(BUILT_IN_SOURCES)
