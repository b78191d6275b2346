"""The cdktf app: settings, command line, and which layer stacks to build.

    python main.py [synth|list|check] [-c key=value ...] [--json] [--debug]

`cdktf synth` runs `python3 main.py`, which is `synth`.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported lazily at run time: loading jsii waits until the input is known to be good
    from cdk_bindings import App
    from leverage.generate import GeneratedLayers
    from leverage.graph import LayerGraph
    from leverage.project import Project
    from leverage.stack import LeverageLayerStack
    from settings import Settings

APP_ROOT = Path(__file__).resolve().parent
EXIT_OK, EXIT_DRIFT, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, like every other error
        from leverage.errors import UserError

        raise UserError(message, fix="see `python main.py --help`")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = _Parser(prog="main.py", description="Generate Leverage layers from cdktf stacks.")
    parser.add_argument("command", nargs="?", default="synth", choices=("synth", "list", "check"),
                        help="synth: write the layers (default); list: layers in apply order; check: drift, exit 1")
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting of cdktf.json's context for this run")
    parser.add_argument("--json", action="store_true", help="check: print findings as JSON")
    parser.add_argument("--allow-destroy", action="store_true",
                        help="synth: write layers even if applying them would destroy or replace a stateful resource")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser.parse_args(argv)


def build_stacks(app: App, settings: Settings, project: Project, region: str) -> list[LeverageLayerStack]:
    """Which layers to generate, and the props each stack gets from the settings."""
    from aws_constructs.dynamodb import KeyAttribute
    from aws_constructs.errors import ConstructPropsError
    from leverage.errors import UserError
    from leverage.stack import RemoteLayer
    from settings import key_attribute
    from stacks.databases_dynamodb import DynamoDbLayer, DynamoDbLayerProps
    from stacks.datalake import DatalakeLayer, DatalakeLayerProps, FirehoseSettings
    from stacks.datalake_demo import LakeLayerProps, LakeStorageLayer

    source = project.accounts[settings.source_account]
    lake = project.accounts[settings.lake_account]
    keys = RemoteLayer(source, settings.keys_layer, region)
    table = RemoteLayer(source, settings.dynamodb_layer, region)
    lake_storage = RemoteLayer(lake, settings.lake_layer, region)

    def key(setting: str, value: str) -> KeyAttribute:
        try:
            return KeyAttribute(*key_attribute(setting, value))
        except ConstructPropsError as exc:
            raise UserError(f"setting {setting}={value!r}: {exc}", fix="write it as name:S, name:N or name:B") from None

    sort_key = settings.dynamodb_sort_key
    adopt = settings.adopt_existing
    layers = {
        settings.dynamodb_layer: (source, lambda address: DynamoDbLayer(app, project, address, DynamoDbLayerProps(
            keys_layer=keys,
            partition_key=key("dynamodbPartitionKey", settings.dynamodb_partition_key),
            sort_key=key("dynamodbSortKey", sort_key) if sort_key else None,
            adopt_existing=settings.dynamodb_layer in adopt,
        ))),
        settings.lake_layer: (lake, lambda address: LakeStorageLayer(app, project, address, LakeLayerProps(
            source_account=source,
            firehose_prefix=settings.firehose_prefix,
            firehose_error_prefix=settings.firehose_error_prefix,
            adopt_existing=settings.lake_layer in adopt,
            replica_region=replica_region(settings, project, region),
        ))),
        settings.datalake_layer: (source, lambda address: DatalakeLayer(app, project, address, DatalakeLayerProps(
            keys_layer=keys,
            table_layer=table,
            lake_layer=lake_storage,
            stream_retention_hours=settings.stream_retention_hours,
            firehose=FirehoseSettings(
                buffering_size_mib=settings.firehose_buffering_size_mib,
                buffering_interval_seconds=settings.firehose_buffering_interval_seconds,
                prefix=settings.firehose_prefix,
                error_prefix=settings.firehose_error_prefix,
                partition_query=settings.firehose_partition_query,
                log_retention_days=settings.firehose_log_retention_days,
            ),
            adopt_existing=settings.datalake_layer in adopt,
        ))),
    }
    stacks = []
    for name, (account, build) in layers.items():
        if name in settings.skip_layers:
            continue
        address = project.address(account.name, region, name)
        try:
            stacks.append(build(address))
        except ConstructPropsError as exc:
            raise UserError(f"layer {address.folder}: {exc}", fix="adjust the settings in cdktf.json or pass -c") from None
    return stacks


def replica_region(settings: Settings, project: Project, region: str) -> str | None:
    """Where the lake replicates to (setting lakeReplicaRegion): by default the project's other region."""
    from leverage.errors import UserError
    from leverage.project import check_region

    chosen = settings.lake_replica_region
    if chosen == "off":
        return None
    if not chosen:
        other = project.region_secondary if region == project.region_primary else project.region_primary
        return other if other and other != region else None
    check_region(chosen, "setting lakeReplicaRegion")
    if chosen == region:
        raise UserError(f"setting lakeReplicaRegion={chosen!r} is the lake's own region",
                        fix="name another region, or 'off'")
    return chosen


def run(args: argparse.Namespace) -> int:
    from leverage.project import check_region, load_project
    from settings import load_settings

    settings = load_settings(APP_ROOT / "cdktf.json", args.context)
    root = (APP_ROOT / settings.leverage_root).resolve()
    project = load_project(root, [(settings.source_account, "sourceAccount"), (settings.lake_account, "lakeAccount")])
    region = settings.region or project.region_primary
    check_region(region, "setting region")

    # Loading jsii and the bindings takes seconds: only once the input is known to be good.
    from cdk_bindings import App
    from leverage.generate import generate, synthesize

    with tempfile.TemporaryDirectory(prefix="leverage-cdktf-") as scratch:
        outdir = Path(scratch)
        app = App(outdir=str(outdir))
        generated = generate(synthesize(app, build_stacks(app, settings, project, region), outdir, APP_ROOT), project)
        if args.command == "synth":
            if not args.allow_destroy:
                from leverage import addresses

                addresses.refuse_destruction(addresses.compare(root, generated.files))
            return write_layers(root, generated, outdir)
    if args.command == "list":
        return print_apply_order(generated.graph)
    return report_drift(root, generated, args.json)


def write_layers(root: Path, generated: GeneratedLayers, outdir: Path) -> int:
    from leverage import files
    from leverage.errors import UserError

    # cdktf's own output also goes where the cdktf CLI expects it: staged first, swapped in after the layers.
    cdktf_out = Path(os.environ.get("CDKTF_OUTDIR", APP_ROOT / "cdktf.out")).resolve()
    staged = cdktf_out.with_name(f".{cdktf_out.name}.new")
    try:
        shutil.rmtree(staged, ignore_errors=True)
        shutil.copytree(outdir, staged)
    except OSError as exc:
        raise UserError(f"cannot write cdktf's output folder {cdktf_out}: {exc.strerror}",
                        fix="set CDKTF_OUTDIR to a writable folder; nothing was written") from None
    try:
        applied = files.apply(files.plan(root, generated.files))
    except UserError:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    shutil.rmtree(cdktf_out, ignore_errors=True)
    try:
        staged.rename(cdktf_out)
    except OSError as exc:
        raise UserError(f"the layers were written, but {cdktf_out} could not be replaced: {exc.strerror}",
                        fix=f"remove {cdktf_out} and run synth again") from None
    for relative in applied.written:
        print(f"wrote {relative}")
    for relative in applied.removed:
        print(f"removed {relative}")
    changed = len(applied.written) + len(applied.removed)
    print(f"{len(generated.graph.order)} layers in {root.name}: {changed} files changed")
    return EXIT_OK


def print_apply_order(graph: LayerGraph) -> int:
    for address in graph.order:
        reads = ", ".join(graph.describe(read) for read in graph.reads[address])
        print(f"{address.folder}\t{address.backend_key}\treads: {reads or '-'}")
    return EXIT_OK


def report_drift(root: Path, generated: GeneratedLayers, as_json: bool) -> int:
    from leverage import addresses, drift, files

    plan = files.plan(root, generated.files)
    found = drift.findings(plan, generated.files)
    changes = addresses.compare(root, generated.files)
    found["resources"] = addresses.as_json(changes)  # what applying the new layers would do, by consequence
    sys.stdout.write(drift.as_json(found) if as_json else drift.as_text(found) + addresses.as_text(changes))
    if plan.clean and not as_json:
        print(f"no drift: {len(generated.files)} generated files match the stacks")
    return EXIT_OK if plan.clean else EXIT_DRIFT


def main(argv: list[str] | None = None) -> int:
    from leverage.errors import UserError

    argv = sys.argv[1:] if argv is None else argv
    try:
        return run(parse_args(argv))
    except UserError as exc:
        if "--debug" in argv:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
