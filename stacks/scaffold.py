"""`main.py new-layer <account>/<layer> [--dir FOLDER]`: a starter layer module and its test, registered in cdktf.json.

The next `synth` writes the layer's folder; the test runs with cdktf's Testing API (leverage/testing.py). Nothing
is written when anything is wrong (an existing file, a layer already registered, an unknown account), and
cdktf.json is replaced whole, never left half-written.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leverage import interrupts
from leverage.errors import UserError
from leverage.write.files import is_generated
from leverage.naming import aws_name
from leverage.project.layer import LAYER_NAME
from leverage.project.tfvars import read_env_file
from stacks.settings.own_layers import BUILT_IN_SOURCES, named_like_built_in

APP_CODE = Path(__file__).resolve().parent.parent  # where the app's packages are (a checkout or site-packages)
APP_PACKAGES = ("stacks", "leverage", "aws_constructs", "bindings")

MODULE_TEMPLATE = '''"""`{account}/<region>/{layer}`: say here what this layer is for (its README shows this text)."""
from __future__ import annotations

from dataclasses import dataclass

from bindings.aws.sqs_queue import SqsQueue

from leverage.stack import LeverageLayerStack


@dataclass(frozen=True)
class {cls}Settings:
    """This layer's own settings: the `settings` of its entry in cdktf.json's `layers`."""

    retention_days: int = 4


class {cls}(LeverageLayerStack):
    """A queue: a starting point, replace it with your resources (docs/own-layers.md)."""

    Settings = {cls}Settings

    def build(self, settings: {cls}Settings) -> None:
        queue = SqsQueue(self, "queue", name=self.aws_name("{layer}", kind="sqs_queue"),
                         message_retention_seconds=settings.retention_days * 86_400, sqs_managed_sse_enabled=True)
        self.output("queue_arn", queue.arn, "ARN of the queue")
'''

TEST_TEMPLATE = '''"""{cls}, tested alone with cdktf's Testing API, from the app's folder (its cdktf.json registers the layer,
which loads the provider classes the layer imports): `python -m pytest {test_path}`."""
from __future__ import annotations

from pathlib import Path

from {module} import {cls}, {cls}Settings

from leverage.testing import Testing, synth_layer

LEVERAGE_ROOT = Path(__file__).resolve().parent / {root!r}


def test_the_queue_keeps_messages_as_set() -> None:
    synthesized = synth_layer({cls}, {cls}Settings(retention_days=2), leverage_root=LEVERAGE_ROOT,
                              account={account!r}, layer={layer!r})
    assert Testing.to_have_resource_with_properties(synthesized, "aws_sqs_queue", {{
        "message_retention_seconds": 2 * 86_400, "sqs_managed_sse_enabled": True}})
'''


@dataclass(frozen=True)
class Scaffold:
    module: Path
    test: Path
    entry: dict[str, Any]


def plan_scaffold(target: str, folder: Path, leverage_root: Path, cdktf_json: Path,
                  registered: list[dict[str, Any]], reserved: tuple[str, ...] = ()) -> Scaffold:
    """What `new-layer` writes, checked as `synth` will check it: `target` is `<account>/<layer>`, a layer folder no
    other layer uses (`reserved`: the built-in layers' names), and the starter's queue name within AWS's limits."""
    account, slash, layer = target.partition("/")
    if not slash or not LAYER_NAME.fullmatch(account) or not LAYER_NAME.fullmatch(layer):
        raise UserError(f"new-layer {target!r} is not <account>/<layer>",
                        fix="e.g. python main.py new-layer data-science/orders-queue")
    if not (leverage_root / account / "config").is_dir():
        raise UserError(f"new-layer {target}: the Leverage project {leverage_root} has no account folder {account}/",
                        fix="name an account of the project (setting leverageRoot names the project)")
    for entry in registered:
        if isinstance(entry, dict) and (entry.get("account"), entry.get("layer")) == (account, layer):
            raise UserError(f"new-layer {target}: cdktf.json registers that layer already", fix="choose another name")
    if layer in reserved:
        raise UserError(f"new-layer {target}: {layer!r} is the folder of a built-in layer", fix="choose another name")
    project = read_env_file(leverage_root / "build.env", leverage_root).get("PROJECT", "")
    try:
        aws_name(project, account, layer, kind="sqs_queue")
    except ValueError as exc:
        raise UserError(f"new-layer {target}: the starter's queue name would break AWS's limits: {exc}",
                        fix="choose a shorter layer name") from None
    taken = sorted(path for path in (leverage_root / account).glob(f"*/{layer}") if path.parent.name != "config")
    if taken:
        raise UserError(f"new-layer {target}: the layer folder {taken[0].relative_to(leverage_root)} exists already",
                        fix="choose another name (a layer folder belongs to one layer)")
    _check_folder(folder.resolve(), target)
    module_name = layer.replace("-", "_")
    if not module_name.isidentifier():
        module_name = f"layer_{module_name}"
    cls = "".join(part.capitalize() for part in module_name.split("_") if part) + "Layer"
    module, test = folder / f"{module_name}.py", folder / f"test_{module_name}.py"
    if named_like_built_in(module, cdktf_json.parent):
        raise UserError(f"new-layer {target}: --dir {folder} is inside the folder {BUILT_IN_SOURCES} beside cdktf.json, "
                        "which the generated files name only for the built-in layers",
                        fix="keep your layers in a folder of your own (e.g. layers/ beside cdktf.json)")
    for path in (module, test):
        if path.exists():
            raise UserError(f"new-layer {target}: {path} exists already", fix="remove it, or choose another --dir")
    # Relative to cdktf.json, as every path of the settings, so that CI and other checkouts find it too.
    relative = Path(os.path.relpath(module.resolve(), cdktf_json.parent.resolve())).as_posix()
    entry = {"module": relative, "class": cls, "account": account, "layer": layer, "settings": {"retention_days": 4}}
    return Scaffold(module, test, entry)


def _check_folder(folder: Path, target: str) -> None:
    """Not inside the app's own packages (an upgrade of the app replaces them, and a module there shadows the
    app's), nor inside a generated layer folder (the generator's own)."""
    for package in APP_PACKAGES:
        inside = APP_CODE / package
        if folder == inside or inside in folder.parents:
            raise UserError(f"new-layer {target}: --dir {folder} is inside the app's own package {package}/",
                            fix="keep your layers in a folder of your own (e.g. layers/ beside cdktf.json)")
    for candidate in (folder, *folder.parents):
        if any(is_generated(candidate / name) for name in ("main.tf.json", "config.tf")):
            raise UserError(f"new-layer {target}: --dir {folder} is inside the generated layer folder {candidate}",
                            fix="keep your layers in a folder of your own, outside the layer folders")


def write_scaffold(target: str, folder: Path, leverage_root: Path, cdktf_json: Path,
                   reserved: tuple[str, ...] = ()) -> Scaffold:
    document = _read(cdktf_json)
    context = document.setdefault("context", {})
    layers = context.setdefault("layers", [])
    if not isinstance(layers, list):
        raise UserError(f"{cdktf_json.name}: `layers` is not a list", fix="write it as \"layers\": [...]")
    scaffold = plan_scaffold(target, folder, leverage_root, cdktf_json, layers, reserved)
    account, layer = scaffold.entry["account"], scaffold.entry["layer"]
    values = {"account": account, "layer": layer, "cls": scaffold.entry["class"], "module": scaffold.module.stem,
              "test_path": Path(os.path.relpath(scaffold.test.resolve(), cdktf_json.resolve().parent)).as_posix(),
              "root": os.path.relpath(leverage_root.resolve(), folder.resolve())}
    # What this run made, removed again if it fails: each made and recorded at once (a signal waits), so that a
    # signal in between leaves nothing behind.
    created_folders: list[Path] = []
    written: list[Path] = []
    try:
        for parent in reversed([path for path in (folder, *folder.parents) if not path.exists()]):
            with interrupts.deferred():
                parent.mkdir()
                created_folders.append(parent)
        for path, template in ((scaffold.module, MODULE_TEMPLATE), (scaffold.test, TEST_TEMPLATE)):
            with interrupts.deferred():
                out = path.open("x", encoding="utf-8")  # never over a file that appeared meanwhile
                written.append(path)
            with out:
                out.write(template.format(**values))
        layers.append(scaffold.entry)
        written.append(partial := cdktf_json.with_name(f".{cdktf_json.name}.new"))
        partial.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        with interrupts.deferred():  # registered is done: a signal then ends nothing
            os.replace(partial, cdktf_json)
            interrupts.settle()
    except BaseException as exc:
        with interrupts.deferred():  # a second signal would leave part of it behind
            for path in written:
                path.unlink(missing_ok=True)
            for parent in reversed(created_folders):
                try:
                    parent.rmdir()
                except OSError:
                    pass  # something else is in it now, which is not ours to remove
        if isinstance(exc, OSError):
            raise UserError(f"new-layer {target}: cannot write {exc.filename}: {exc.strerror}",
                            fix="choose another --dir or a shorter name; nothing was written") from None
        raise
    return scaffold


def _read(cdktf_json: Path) -> dict[str, Any]:
    if not cdktf_json.is_file():
        return {"language": "python", "app": "python3 main.py", "context": {}}
    document = json.loads(cdktf_json.read_text(encoding="utf-8"))  # the settings loaded it already: valid
    return document
