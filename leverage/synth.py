"""Stacks -> synthesized Terraform JSON, one configuration per layer, with what its folder's README says of it."""
from __future__ import annotations

import inspect
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

from bindings import App
from bindings.engine import engine_failure
from leverage.errors import UserError
from leverage.render.layer_folder import SynthesizedLayer
from leverage.stack import LeverageLayerStack


def built(build: Callable[[], list[LeverageLayerStack]]) -> list[LeverageLayerStack]:
    """The stacks `build` makes. Your own layers report their own errors (naming file and line); what stops the
    engine itself while the built-in ones are made (say jsii's kernel lost its files: the cache folder deleted
    during the run) is one line too."""
    with _engine_failures("the CDK engine stopped while the layers were built",
                          "run the command again (was the cache folder removed during the run?)"):
        return build()


def synthesize(app: App, stacks: list[LeverageLayerStack], outdir: Path, app_root: Path) -> list[SynthesizedLayer]:
    with _engine_failures("the CDK engine could not synthesize the layers", "fix the construct or value it names "
                          "(a `Lazy` producer that raised is known by its message only)", stacks):
        app.synth()
    layers = []
    for stack in stacks:
        config = json.loads((outdir / "stacks" / stack.node.id / "cdk.tf.json").read_text(encoding="utf-8"))
        stack.check_addresses(config)
        layers.append(SynthesizedLayer(stack.address, config, inspect.getdoc(type(stack)) or "", _source(stack, app_root),
                                       stack.diagram))
    return layers


@contextmanager
def _engine_failures(what: str, fix: str, stacks: Sequence[LeverageLayerStack] = ()) -> Iterator[None]:
    """What the engine says when it fails, as one error line naming the layer whose construct it names; any other
    error goes on as it is."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001  (jsii raises its kernel's faults as plain Exceptions)
        said = engine_failure(exc)
        if said is None:
            raise
        named = next((stack for stack in stacks if f"{stack.node.id}/" in said or f"[{stack.node.id}]" in said), None)
        raise UserError(f"{what}: {said}", fix=f"{fix}; nothing was written",
                        layer=named.address.folder if named else None,
                        registration=named.registration if named else None) from exc


def _source(stack: LeverageLayerStack, app_root: Path) -> str:
    """The stack's module as its README names it: a module of a package by its dotted path (`stacks/datalake.py`,
    the same from a checkout or an installed package); a layer module of your own relative to `app_root`, the
    folder of cdktf.json (`example/layers/change_events_queue.py`), else by its file name."""
    name = type(stack).__module__
    if "." in name:
        return name.replace(".", "/") + ".py"
    module = Path(inspect.getfile(type(stack))).resolve()
    return module.relative_to(app_root).as_posix() if app_root in module.parents else module.name
