"""The cdktf app: settings, command line, and which layer stacks to build.

    python main.py [synth|list|check] [-c key=value ...] [--json] [--debug]

`cdktf synth` runs `python3 main.py`, which is `synth`.
"""
from __future__ import annotations

import argparse
import os
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
CDKTF_JSON = APP_ROOT / "cdktf.json"
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
    """Which layers to generate, and the props each stack gets from the settings.

    Free text from the settings enters the stacks here, escaped (`hcl.literal`): Terraform takes it literally.
    Names (accounts, layers, project, regions) are checked to hold no template syntax at all.
    """
    from aws_constructs.dynamodb import KeyAttribute
    from aws_constructs.errors import ConstructPropsError
    from leverage.errors import UserError
    from leverage.hcl import literal
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
            name, kind = key_attribute(setting, value)
            return KeyAttribute(literal(name), kind)
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
            firehose_prefix=literal(settings.firehose_prefix),
            firehose_error_prefix=literal(settings.firehose_error_prefix),
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
                prefix=literal(settings.firehose_prefix),
                error_prefix=literal(settings.firehose_error_prefix),
                partition_query=literal(settings.firehose_partition_query),
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
    from leverage import lock
    from leverage.cdktf_out import output_folder
    from leverage.project import load_project, require_project_folder
    from settings import load_settings

    settings = load_settings(CDKTF_JSON, args.context)
    root = (APP_ROOT / settings.leverage_root).resolve()
    require_project_folder(root)
    writes = args.command == "synth"
    # Checked before anything is written: an error leaves everything as it was.
    cdktf_out = output_folder(os.environ, APP_ROOT, root) if writes else None
    with lock.exclusive(root) if writes else lock.shared(root):
        if writes:
            recover_interrupted_run(root)
        project = load_project(root, [(settings.source_account, "sourceAccount"),
                                      (settings.lake_account, "lakeAccount")])
        region = settings.region or project.region_primary
        project.check_layer_region(region, "setting region")

        # Loading jsii and the bindings takes seconds: only once the input is known to be good.
        from cdk_bindings import App
        from leverage.generate import generate, synthesize

        with tempfile.TemporaryDirectory(prefix="leverage-cdktf-") as scratch:
            outdir = Path(scratch)
            app = App(outdir=str(outdir))
            generated = generate(synthesize(app, build_stacks(app, settings, project, region), outdir, APP_ROOT), project)
            warnings = check_other_layers(project, generated.graph, settings)
            if cdktf_out is not None:
                if not args.allow_destroy:
                    from leverage import addresses

                    addresses.refuse_destruction(addresses.compare(root, generated.files))
                code = write_layers(root, generated, outdir, cdktf_out)
        if args.command == "list":
            code = print_apply_order(generated.graph)
        elif args.command == "check":
            code = report_drift(root, generated, args.json)
    for warning in warnings:  # only when there was no error: an error is one line
        print(f"warning: {warning}", file=sys.stderr)
    return code


def check_other_layers(project: Project, graph: LayerGraph, settings: Settings) -> list[str]:
    """The generated layers against every layer folder of the project: no shared state key; every output
    read from a layer that is not generated is declared there. Returns warnings."""
    from leverage.scan import check_reads, check_state_keys

    check_state_keys(project.layers, graph.generated_by_key, {settings.datalake_layer: "datalakeLayer",
                                                              settings.dynamodb_layer: "dynamodbLayer",
                                                              settings.lake_layer: "lakeLayer"})
    return check_reads(project.root, project.layers, graph.external_states())


def recover_interrupted_run(root: Path) -> None:
    from leverage import journal

    record = journal.recover(root)
    if record is not None:
        print(f"warning: an earlier synth was interrupted; rolled back its run {record.run} "
              f"({len(record.steps)} files as they were before it)", file=sys.stderr)


def write_layers(root: Path, generated: GeneratedLayers, outdir: Path, cdktf_out: Path) -> int:
    from leverage import files
    from leverage.cdktf_out import Swap

    plan = files.plan(root, generated.files)
    # cdktf's own output also goes where the cdktf CLI expects it: swapped in first, swapped back on any failure.
    swap = Swap(cdktf_out)
    swap.stage(outdir)
    try:
        applied = files.apply(plan)
    except BaseException:
        swap.undo()
        raise
    swap.commit()
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
