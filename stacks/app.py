"""The commands over the settings: what each reads and builds, and what the settings know that the review needs.

main.py parses the command line and calls `run`; the transaction itself (lock, journal, review, writes) is
leverage/transaction.py. What only the settings know, given to it as data and functions:

- which accounts the layers use, and how the user names each (`lakeAccount`, `pipelines[1].sourceAccount`);
- which setting names each layer, for a refusal of a state key;
- the fix for a refused change, by what the user edited: a built-in layer changes with the settings (a settings user
  cannot write `moved(...)`; a read table's rename has its `renamedFrom`), your own layer with its code;
- the earlier layers only the settings can judge: an own layer whose registration is gone.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aws_constructs.lifecycle import AWS_PROVIDER
from leverage import transaction
from leverage.errors import UserError
from leverage.project.model import require_project_folder
from leverage.review.changes import MANUAL, ResourceChange
from leverage.review.guard_report import Allowances
from leverage.review.orphans import EarlierLayer
from leverage.write.cdktf_out import output_folder
from stacks.settings.model import Settings, load_settings
from stacks.settings.own_layers import BUILT_IN_SOURCES

if TYPE_CHECKING:
    from leverage.render.layer_folder import SynthesizedLayer

STREAMING_DESTINATION = "aws_dynamodb_kinesis_streaming_destination"


@dataclass(frozen=True)
class Options:
    """The command line, parsed (main.py)."""

    command: str
    context: tuple[str, ...] = ()
    allow_destroy: bool = False
    allow_repoint: bool = False
    as_json: bool = False
    diagram_format: str = "mermaid"
    target: str | None = None
    folder: str | None = None


def run(options: Options, cdktf_json: Path) -> int:
    settings = load_settings(cdktf_json, list(options.context))
    app_root = cdktf_json.parent
    root = (app_root / settings.leverage_root).resolve()
    if root == app_root or root in app_root.parents and not (root / "build.env").is_file():
        raise UserError(f"setting leverageRoot={settings.leverage_root.as_posix()!r} is {root.as_posix()}, this app's "
                        "folder or one above it, not a Leverage project",
                        fix="point leverageRoot at the folder holding build.env and config/")
    require_project_folder(root)
    if options.command == "new-layer":
        return new_layer(options, root, settings, cdktf_json)
    request = build_request(settings, root, app_root)
    if options.command == "synth":
        cdktf_out = output_folder(os.environ, app_root, root)  # checked before anything is written
        return transaction.synth(request, Allowances(options.allow_destroy, options.allow_repoint), cdktf_out)
    if options.command == "list":
        return transaction.list_layers(request)
    if options.command == "graph":
        return transaction.graph(request, options.diagram_format)
    return transaction.check(request, options.as_json)


def build_request(settings: Settings, root: Path, app_root: Path) -> transaction.Request:
    def build(app, project, region):  # the stacks import the engine: only once the transaction has loaded it
        from stacks.plan import build_stacks

        return build_stacks(app, settings, project, region, app_root)

    accounts = (*((pipeline.source_account, pipeline.source_setting) for pipeline in settings.pipeline_list),
                (settings.lake_account, "lakeAccount"),
                *((settings.own_layer_account(registered), f"{registered.where}.account")
                  for registered in settings.own_layers))
    layers = settings.layers
    layer_settings = {layers.datalake: "datalakeLayer", layers.dynamodb: "dynamodbLayer", layers.lake: "lakeLayer",
                      **{own.layer: f"{own.where}.layer" for own in settings.own_layers}}
    return transaction.Request(
        root=root, app_root=app_root, accounts=accounts, region=settings.region, region_setting="setting region",
        build=build,
        layer_settings=layer_settings, lifecycle=AWS_PROVIDER,
        layer_modules=tuple((app_root / registered.module).resolve() for registered in settings.own_layers),
        policy=transaction.Policy(_ChangeAdvice(settings), _EarlierAdvice(settings), _UnregisteredLayers(settings)),
        check_layers=check_provider_arguments)


def check_provider_arguments(layers: list[SynthesizedLayer]) -> None:
    """No layer sets an argument (or a resource type) the oldest hashicorp/aws release its range allows may lack."""
    from aws_constructs.provider_versions import OLDEST_PROVEN_VERSION, uncarried_arguments, version_key
    from bindings import aws_provider_version

    bindings_version = aws_provider_version()
    for layer in layers:
        for found in uncarried_arguments(layer.config, bindings_version):
            declared = layer.config["terraform"]["required_providers"]["aws"]["version"]
            what = f"sets {found.argument!r}" if found.argument else "is a resource type"
            raise UserError(
                f"layer {layer.address.folder}: {found.address} {what}, which hashicorp/aws {OLDEST_PROVEN_VERSION} "
                f"(the release the layers are proven with) lacks, and the layers declare hashicorp/aws {declared!r}, "
                f"which starts below {bindings_version} (the release the provider bindings were generated for)",
                fix=f"leave it out, or set awsProviderVersion to a range starting there (e.g. '>= {bindings_version}, "
                    f"< {version_key(bindings_version)[0] + 1}.0') and apply the layers with such a release; nothing "
                    "was written")


def _own_layers(settings: Settings) -> set[tuple[str, str]]:
    """(account, layer) of every registered layer of your own."""
    return {(settings.own_layer_account(registered), registered.layer) for registered in settings.own_layers}


@dataclass(frozen=True)
class _ChangeAdvice:
    """A built-in layer changes with the settings: its fix is a settings change, never a `moved(...)`."""

    settings: Settings

    def __call__(self, change: ResourceChange) -> str | None:
        account, _region, layer = change.layer.split("/")
        if (account, layer) in _own_layers(self.settings):
            return None  # your own layer: the fix in its code
        if change.undeclared_move and change.address.startswith(f"{STREAMING_DESTINATION}."):
            old = change.address.split(".", 1)[1].removesuffix("_changes")
            return (f"a table's `name` changed in `pipelines`: add \"renamedFrom\": \"{old}\" to that table, and its "
                    "streaming destination moves instead (docs/addresses.md); or undo the change")
        if change.undeclared_move:
            return None  # no setting moves a built-in layer's resource: a change of the stack's code did
        undo = "undo the change that makes it (a setting, or the stack's code)"
        if change.repointing:
            return (f"{undo}; if the move is intended, pass --allow-repoint and move or keep what stays behind "
                    "(docs/safety.md#what-moves-elsewhere)")
        if change.action == MANUAL:
            return f"{undo}, or pass --allow-destroy to write it and then " + change.by_hand(False)
        return f"{undo}, or pass --allow-destroy if losing the data is intended"


@dataclass(frozen=True)
class _EarlierAdvice:
    settings: Settings

    def __call__(self, layer: EarlierLayer) -> str | None:
        settings, address = self.settings, layer.address
        destroy = f"first destroy it (`leverage tf destroy` in {layer.folder}) and remove its folder"
        sources = {pipeline.source_account for pipeline in settings.pipeline_list}
        if address.layer in (settings.layers.datalake, settings.layers.dynamodb) and address.account not in sources:
            return (f"put {address.account} back in `pipelines` (sourceAccount), or first destroy its layers "
                    f"(`leverage tf destroy` in {layer.folder}, then its table layer) and remove their folders")
        if not layer.source.startswith(BUILT_IN_SOURCES):
            return f"keep its entry in `layers` (skipLayers leaves it as it is), or {destroy}"
        return None


@dataclass(frozen=True)
class _UnregisteredLayers:
    """An own layer's folder stays while its registration is gone: refused, as docs/own-layers.md says."""

    settings: Settings

    def __call__(self, earlier: list[EarlierLayer]) -> list[UserError]:
        registered = _own_layers(self.settings)
        found = []
        for layer in earlier:
            address = layer.address
            if layer.source.startswith(BUILT_IN_SOURCES) or address.layer in self.settings.skip_layers:
                continue  # skipped: generated nowhere now, its folder left as it is
            same_name = [entry for entry in self.settings.own_layers if entry.layer == address.layer]
            if (address.account, address.layer) in registered:
                # An entry without a region follows the run's (another configuration's folder stays); one that
                # names its region generates it there in every configuration, so a folder elsewhere is left behind.
                entries = [entry for entry in same_name if self.settings.own_layer_account(entry) == address.account]
                if any(entry.region in (None, address.region) for entry in entries):
                    continue
                # Neutral on purpose: the entry may have moved, or been the other one of two.
                now = (f"no entry of `layers` in cdktf.json generates it in region {address.region} now "
                       f"({entries[0].where} generates it in region {entries[0].region})")
            elif same_name:
                entry = same_name[0]
                now = (f"no entry of `layers` in cdktf.json generates it in account {address.account} now "
                       f"({entry.where} generates it in account {self.settings.own_layer_account(entry)})")
            else:
                now = "no entry of `layers` in cdktf.json generates it now"
            found.append(UserError(
                f"was generated from {layer.source} by an earlier synth, and {now}: its resources stay live, and "
                "no layer manages them any more",
                fix=("keep its registration as it was (skipLayers leaves a registered layer as it is), or first destroy "
                     f"it (`leverage tf destroy` in {layer.folder}) and remove its folder"),
                layer=layer.folder, details={"earlier": layer.folder, "source": layer.source}))
        return found


def new_layer(options: Options, root: Path, settings: Settings, cdktf_json: Path) -> int:
    from stacks.scaffold import write_scaffold

    if not options.target:
        raise UserError("new-layer needs <account>/<layer>", fix="e.g. python main.py new-layer data-science/orders-queue")
    folder = Path(options.folder).resolve() if options.folder else root / "layers"
    layers = settings.layers
    reserved = (layers.datalake, layers.dynamodb, layers.lake, layers.lakehouse, layers.keys)
    scaffold = write_scaffold(options.target, folder, root, cdktf_json, reserved)
    print(f"wrote {scaffold.module}\nwrote {scaffold.test}")
    print(f"registered {options.target} in {cdktf_json.name} (layers); next: python main.py synth, and "
          f"python -m pytest {scaffold.test}")
    return transaction.EXIT_OK
