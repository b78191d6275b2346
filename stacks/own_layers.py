"""Your own layers: the modules the `layers` setting names, imported from wherever they live, their classes checked,
their settings typed, their stacks built.

Whatever goes wrong in the user's code (the module does not import, the class is missing or not a layer, the
settings do not match its `Settings`, its `build` raises) is one UserError naming the user's file and line and the
layer; the original exception is chained for `--debug`.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import sys
import traceback
import types
import typing
from pathlib import Path
from typing import Any

from aws_constructs.errors import ConstructPropsError
from bindings import App
from leverage.errors import UserError
from leverage.project.layer import LayerAddress
from leverage.project.model import Project
from leverage.stack import LeverageLayerStack
from stacks.settings.own_layers import BUILT_IN_SOURCES, RegisteredLayer, named_like_built_in
from stacks.settings.values import shown_json


def module_path(registered: RegisteredLayer, app_root: Path) -> Path:
    """The module's file: relative paths are relative to the folder of cdktf.json (the app's root)."""
    return (app_root / registered.module).resolve()


def load_class(registered: RegisteredLayer, app_root: Path, folder: str) -> type[LeverageLayerStack]:
    path = module_path(registered, app_root)
    context = {"layer": folder, "registration": registered.where}
    try:
        what = None if path.is_file() else "is not a regular file" if path.exists() else "does not exist"
    except OSError as exc:  # a folder on its way that cannot be searched
        what = f"cannot be read ({exc.strerror})"
    if what:  # a FIFO is not read: it could block
        raise UserError(f"module {registered.module} {what} ({path})",
                        fix="fix `module` in cdktf.json: a .py file, relative to cdktf.json's folder or absolute",
                        **context)
    if named_like_built_in(path, app_root):
        raise UserError(f"module {registered.module} is in the folder {BUILT_IN_SOURCES} beside cdktf.json, which the "
                        "generated files name only for the built-in layers: yours would be taken for one of them",
                        fix="move the module to a folder of your own (e.g. layers/) and update `module` in cdktf.json",
                        **context)
    module = _import(path, context)
    cls = getattr(module, registered.class_name, None)
    if cls is None:
        raise UserError(f"the module has no class {registered.class_name!r}",
                        fix="fix `class` in cdktf.json, or define the class in the module", **context, **_at(path))
    if not (isinstance(cls, type) and issubclass(cls, LeverageLayerStack)):
        raise UserError(f"{registered.class_name} is not a layer (a subclass of leverage.stack.LeverageLayerStack)",
                        fix="subclass LeverageLayerStack (docs/own-layers.md)", **context, **_at(path, cls))
    return cls


def build_own_layer(app: App, project: Project, address: LayerAddress, registered: RegisteredLayer,
                    app_root: Path) -> LeverageLayerStack:
    """The registered layer's stack for `address`, built with its typed settings."""
    cls = load_class(registered, app_root, address.folder)
    path = module_path(registered, app_root)
    context = {"layer": address.folder, "registration": registered.where}
    settings = typed_settings(cls, registered, path, context)
    try:
        stack = cls(app, project, address)
        stack.registration = registered.where
        stack.build(settings)
    except UserError as exc:  # the API's own checks (a name too long, an unknown account) already say what
        raise exc.in_context(**context, **_raised_at(exc, path))
    except ConstructPropsError as exc:
        raise UserError(str(exc), fix="adjust the layer or its settings", **context, **_raised_at(exc, path)) from exc
    except (Exception, SystemExit) as exc:  # noqa: BLE001  (anything the user's code raises, sys.exit too)
        raise UserError(f"{type(exc).__name__}: {_one_line(exc)}", fix="fix the layer's code (--debug shows the "
                        "traceback)", **context, **_raised_at(exc, path)) from exc
    return stack


def typed_settings(cls: type[LeverageLayerStack], registered: RegisteredLayer, path: Path,
                   context: dict[str, str]) -> Any:
    """The `settings` object of the registration as an instance of the class's `Settings` dataclass."""
    declared = cls.Settings
    values = registered.settings
    if declared is None:
        if values:
            raise UserError(f"{cls.__name__} declares no Settings, and cdktf.json gives it settings {sorted(values)}",
                            fix="remove `settings`, or declare a Settings dataclass", **context, **_at(path, cls))
        return None
    if not dataclasses.is_dataclass(declared):
        raise UserError(f"{cls.__name__}.Settings is not a dataclass", fix="decorate it with @dataclass", **context,
                        **_at(path, declared))
    fields = {field.name: field for field in dataclasses.fields(declared) if field.init}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise UserError(f"settings.{unknown[0]} is not a field of {cls.__name__}.Settings",
                        fix="known: " + (", ".join(fields) or "none"), **context, **_at(path, declared))
    missing = [name for name, field in fields.items() if name not in values
               and field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING]
    if missing:
        raise UserError(f"settings.{missing[0]} is required by {cls.__name__}.Settings",
                        fix=f'give it in cdktf.json: "settings": {{"{missing[0]}": ...}}', **context, **_at(path, declared))
    try:
        hints = typing.get_type_hints(declared)
    except Exception:  # noqa: BLE001  (an annotation that does not resolve: values are passed unchecked)
        hints = {}
    typed = {}
    for name, value in values.items():
        expected = hints.get(name, Any)
        converted = _convert(value, expected)
        if converted is _WRONG:
            raise UserError(f"settings.{name} is {shown_json(value)}, not {_type_name(expected)}",
                            fix=f"give {name} as {_type_name(expected)} in cdktf.json", **context, **_at(path, declared))
        typed[name] = converted
    try:
        return declared(**typed)
    except Exception as exc:  # noqa: BLE001  (the dataclass's own __post_init__ checks)
        raise UserError(f"settings refused: {_one_line(exc)}", fix="fix the settings in cdktf.json", **context,
                        **_raised_at(exc, path)) from exc


_WRONG = object()


def _convert(value: Any, expected: Any) -> Any:
    """`value` (from JSON) as `expected`, or _WRONG. Plain types, Optional, tuple/list/dict of them, Literal."""
    if expected is Any:
        return value
    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if origin in (typing.Union, types.UnionType):
        for option in args:
            converted = _convert(value, option)
            if converted is not _WRONG:
                return converted
        return _WRONG
    if origin is typing.Literal:
        return value if value in args else _WRONG
    if expected is type(None):
        return None if value is None else _WRONG
    if expected is bool:
        return value if isinstance(value, bool) else _WRONG
    if expected is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _WRONG
    if expected is float:
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else _WRONG
    if expected is str:
        return value if isinstance(value, str) else _WRONG
    if origin in (tuple, list) and isinstance(value, list):
        item = args[0] if args and (origin is list or (len(args) == 2 and args[1] is Ellipsis)) else Any
        items = [_convert(part, item) for part in value]
        return _WRONG if any(part is _WRONG for part in items) else origin(items)
    if origin is dict and isinstance(value, dict):
        item = args[1] if len(args) == 2 else Any
        converted = {key: _convert(part, item) for key, part in value.items()}
        return _WRONG if any(part is _WRONG for part in converted.values()) else converted
    if isinstance(expected, type) and not origin:
        return value if isinstance(value, expected) else _WRONG
    return _WRONG


def _type_name(expected: Any) -> str:
    return getattr(expected, "__name__", None) if not typing.get_args(expected) else str(expected).replace("typing.", "")


def _import(path: Path, context: dict[str, str]) -> types.ModuleType:
    """The module at `path`, imported under its file name with its folder on sys.path (so that its test and its
    helpers import it the same way); imported once per process."""
    name = path.stem
    loaded = sys.modules.get(name)
    if loaded is not None:
        if Path(getattr(loaded, "__file__", "") or "").resolve() == path:
            return loaded
        raise UserError(f"the module name {name!r} is taken by {loaded.__name__} "
                        f"({getattr(loaded, '__file__', 'built in')})", fix="rename the layer's file", **context,
                        **_at(path))
    if not name.isidentifier():
        raise UserError(f"{path.name} is not an importable module name",
                        fix="use letters, digits and '_' in the file name", **context, **_at(path))
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        del sys.modules[name]
        raise UserError(f"the module does not import: SyntaxError: {exc.msg}", fix="fix the syntax", **context,
                        file=_shown(Path(exc.filename or path)), line=exc.lineno or 1) from exc
    except (Exception, SystemExit) as exc:  # noqa: BLE001  (whatever the module raises at import, sys.exit too)
        del sys.modules[name]
        raise UserError(f"the module does not import: {type(exc).__name__}: {_one_line(exc)}",
                        fix="fix the import (--debug shows the traceback)", **context, **_raised_at(exc, path)) from exc
    return module


def _raised_at(exc: BaseException, path: Path) -> dict[str, Any]:
    """File and line of the innermost frame of the user's code (the layer module's folder) that `exc` passed."""
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__)
              if Path(frame.filename).resolve().is_relative_to(path.parent)]
    if not frames:
        return {"file": _shown(path), "line": 1}
    return {"file": _shown(Path(frames[-1].filename)), "line": frames[-1].lineno or 1}


def _at(path: Path, obj: Any = None) -> dict[str, Any]:
    """File and line where `obj` (a class) is defined in the module at `path`; its first line without one."""
    try:
        line = inspect.getsourcelines(obj)[1] if obj is not None else 1
    except (OSError, TypeError):
        line = 1
    return {"file": _shown(path), "line": line}


def _shown(path: Path) -> str:
    """A path as the user knows it: relative to the working folder when below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("..." if len(text) > 300 else "")
