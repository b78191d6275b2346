"""The cdktf app: the command line. Which layers to build is data: stacks/plan.py plans them from the settings.

    python main.py [synth|list|graph|check] [-c key=value ...] [--format mermaid|dot] [--json] [--debug]
    python main.py new-layer <account>/<layer> [--dir FOLDER]

`cdktf synth` runs `python3 main.py`, which is `synth`.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported lazily at run time: loading jsii waits until the input is known to be good
    from leverage.render.generate import GeneratedLayers
    from leverage.render.layer_folder import SynthesizedLayer
    from leverage.project.graph import LayerGraph
    from leverage.project.model import Project
    from stacks.settings.model import Settings

APP_ROOT = Path(__file__).resolve().parent


def settings_file() -> Path:
    """cdktf.json: this checkout's, or (installed as a dependency) the one in the working folder, as cdktf runs it."""
    own = APP_ROOT / "cdktf.json"
    return own if own.is_file() else Path.cwd() / "cdktf.json"


CDKTF_JSON = settings_file()
EXIT_OK, EXIT_DRIFT, EXIT_ERROR = 0, 1, 2
EXIT_INTERRUPTED = 128 + 2  # as a shell reports a process ended by SIGINT
# Flags that mean something to one command only: given to another, they are refused rather than ignored.
COMMAND_FLAGS = {"json": ("--json", "check"), "format": ("--format", "graph"),
                 "allow_destroy": ("--allow-destroy", "synth")}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, like every other error
        from leverage.errors import UserError

        raise UserError(message, fix="see `python main.py --help`")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = _Parser(prog="main.py", description="Generate Leverage layers from cdktf stacks.")
    parser.add_argument("command", nargs="?", default="synth",
                        choices=("synth", "list", "graph", "check", "new-layer"),
                        help="synth: write the layers (default); list: layers in apply order; graph: the layers "
                             "and what each reads, as a diagram; check: drift, exit 1; new-layer: a starter layer "
                             "of your own and its test, registered in cdktf.json")
    parser.add_argument("target", nargs="?", metavar="ACCOUNT/LAYER", help="new-layer: where the layer goes")
    parser.add_argument("--dir", metavar="FOLDER",
                        help="new-layer: the folder of the layer module and its test (default: layers/ in the "
                             "Leverage project)")
    parser.add_argument("--format", choices=("mermaid", "dot"), default=None,
                        help="graph: Mermaid (GitHub renders it) or Graphviz DOT")
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting of cdktf.json's context for this run")
    parser.add_argument("--json", action="store_true", help="check: print findings as JSON")
    parser.add_argument("--allow-destroy", action="store_true",
                        help="synth: write layers even if applying them would destroy or replace a stateful resource")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    for flag, (shown, command) in COMMAND_FLAGS.items():
        if getattr(args, flag) not in (None, False) and args.command != command:
            parser.error(f"{shown} applies to `{command}` only, not to `{args.command}`")
    return args


def run(args: argparse.Namespace) -> int:
    from leverage.errors import UserError
    from leverage.write import lock
    from leverage.write.cdktf_out import output_folder
    from leverage.project.model import load_project, require_project_folder
    from stacks.settings.model import load_settings

    if (args.target or args.dir) and args.command != "new-layer":
        raise UserError(f"{args.command} takes no ACCOUNT/LAYER or --dir", fix="see `python main.py --help`")
    settings = load_settings(CDKTF_JSON, args.context)
    app_folder = CDKTF_JSON.parent
    root = (app_folder / settings.leverage_root).resolve()
    if root == app_folder or root in app_folder.parents and not (root / "build.env").is_file():
        raise UserError(f"setting leverageRoot={settings.leverage_root.as_posix()!r} is {root.as_posix()}, this app's "
                        "folder or one above it, not a Leverage project",
                        fix="point leverageRoot at the folder holding build.env and config/")
    require_project_folder(root)
    if args.command == "new-layer":
        return new_layer(args, root, settings)
    writes = args.command == "synth"
    # Checked before anything is written: an error leaves everything as it was.
    cdktf_out = output_folder(os.environ, CDKTF_JSON.parent, root) if writes else None
    with lock.exclusive(root) if writes else lock.shared(root):
        if writes:
            recover_interrupted_run(root)
        project = load_project(root, [*((pipeline.source_account, pipeline.source_setting)
                                        for pipeline in settings.pipeline_list),
                                      (settings.lake_account, "lakeAccount"),
                                      *((settings.own_layer_account(registered), f"{registered.where}.account")
                                        for registered in settings.own_layers)])
        region = settings.region or project.region_primary
        project.check_layer_region(region, "setting region")

        # Loading jsii and the bindings takes seconds: only once the input is known to be good. The provider
        # submodules your own layers import are loaded with the app's (bindings/__init__.py).
        os.environ["LEVERAGE_CDKTF_LAYER_MODULES"] = os.pathsep.join(
            str((CDKTF_JSON.parent / registered.module).resolve()) for registered in settings.own_layers)
        try:
            from bindings import App
        except ImportError as exc:  # no CDK engine installed, or two (bindings/engine_choice.py says which, and the fix)
            raise UserError(f"cannot load the CDK bindings: {exc}") from exc
        from leverage.project.scan import check_reads
        from leverage.render.generate import generate
        from leverage.synth import synthesize
        from stacks.plan import build_stacks

        with tempfile.TemporaryDirectory(prefix="leverage-cdktf-") as scratch:
            outdir = Path(scratch)
            app = App(outdir=str(outdir))
            layers = synthesize(app, build_stacks(app, settings, project, region, CDKTF_JSON.parent), outdir,
                                CDKTF_JSON.parent)
            check_provider_arguments(layers)
            check_state_keys(project, layers, settings)  # before the graph: a shared key is no cycle
            generated = generate(layers, project)
            warnings = check_reads(project.root, project.layers, generated.graph.external_states())
            if cdktf_out is not None:
                from aws_constructs.lifecycle import AWS_PROVIDER
                from leverage.review import refactor_guard

                check_earlier_layers(project, generated, settings, region)
                changes = refactor_guard.compare(root, generated.files, AWS_PROVIDER)
                if not args.allow_destroy:
                    refactor_guard.refuse_destruction(changes)
                code = write_layers(root, generated, outdir, cdktf_out)
                # Every time: what --allow-destroy let through, for the review before `leverage tf apply`.
                warnings += [f"--allow-destroy: {line}" for line in refactor_guard.allowed(changes)]
        if args.command == "list":
            code = print_apply_order(generated.graph)
        elif args.command == "graph":
            code = print_graph(generated.graph, args.format)
        elif args.command == "check":
            code = report_drift(root, generated, args.json)
    for warning in warnings:  # only when there was no error: an error is one line
        print(f"warning: {warning}", file=sys.stderr)
    return code


def new_layer(args: argparse.Namespace, root: Path, settings: Settings) -> int:
    from leverage.errors import UserError
    from stacks.scaffold import write_scaffold

    if not args.target:
        raise UserError("new-layer needs <account>/<layer>", fix="e.g. python main.py new-layer data-science/orders-queue")
    folder = Path(args.dir).resolve() if args.dir else root / "layers"
    layers = settings.layers
    reserved = (layers.datalake, layers.dynamodb, layers.lake, layers.lakehouse, layers.keys)
    scaffold = write_scaffold(args.target, folder, root, CDKTF_JSON, reserved)
    print(f"wrote {scaffold.module}\nwrote {scaffold.test}")
    print(f"registered {args.target} in {CDKTF_JSON.name} (layers); next: python main.py synth, and "
          f"python -m pytest {scaffold.test}")
    return EXIT_OK


def check_provider_arguments(layers: list[SynthesizedLayer]) -> None:
    """No layer sets an argument (or a resource type) the oldest hashicorp/aws release its range allows may lack."""
    from aws_constructs.provider_versions import OLDEST_PROVEN_VERSION, uncarried_arguments, version_key
    from bindings import aws_provider_version
    from leverage.errors import UserError

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


def check_state_keys(project: Project, layers: list[SynthesizedLayer], settings: Settings) -> None:
    """No generated layer on a state key another layer folder of the project already uses."""
    from leverage.project import scan

    scan.check_state_keys(project.layers, {layer.address.backend_key: layer.address for layer in layers},
                          {settings.layers.datalake: "datalakeLayer", settings.layers.dynamodb: "dynamodbLayer",
                           settings.layers.lake: "lakeLayer",
                           **{own.layer: f"{own.where}.layer" for own in settings.own_layers}})


def check_earlier_layers(project: Project, generated: GeneratedLayers, settings: Settings, region: str) -> None:
    """Layer folders an earlier synth generated and these settings do not: none may lose what it depends on."""
    from aws_constructs.lifecycle import AWS_PROVIDER
    from leverage.errors import UserError
    from leverage.review.orphans import earlier_layers, refuse_shared_names

    earlier = earlier_layers(project.root, project.layers, generated.files)
    refuse_shared_names(earlier, generated.files, AWS_PROVIDER)
    # The lake grants the Firehose role of each source account of the pipelines, and only those.
    lake = next((address for address in generated.graph.order if address.account == settings.lake_account
                 and address.layer == settings.layers.lake and address.region == region), None)
    sources = {pipeline.source_account for pipeline in settings.pipeline_list}
    for layer in earlier:
        if lake is not None and layer.address.account not in sources and lake.backend_key in layer.reads:
            raise UserError(
                f"account {layer.address.account} is no longer a source of the pipelines, but its layer "
                f"{layer.address.folder} (generated earlier) is still in the tree and reads the lake: {lake.folder} "
                "would revoke its Firehose's grant while the stream keeps delivering, into AccessDenied",
                fix=f"put {layer.address.account} back in pipelines, or first destroy its layers (`leverage tf "
                    f"destroy` in {layer.address.folder}, then its table layer) and remove their folders; nothing was "
                    "written")


def recover_interrupted_run(root: Path) -> None:
    from leverage.write import journal

    record = journal.recover(root)
    if record is not None:
        print(f"warning: an earlier synth was interrupted; rolled back its run {record.run} "
              f"({len(record.steps)} files as they were before it)", file=sys.stderr)


def write_layers(root: Path, generated: GeneratedLayers, outdir: Path, cdktf_out: Path) -> int:
    from leverage.write import files
    from leverage.write.cdktf_out import Swap

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


def print_graph(graph: LayerGraph, diagram_format: str) -> int:
    from leverage.render.diagram import dot, mermaid

    sys.stdout.write(dot(graph) if diagram_format == "dot" else mermaid(graph))
    return EXIT_OK


def report_drift(root: Path, generated: GeneratedLayers, as_json: bool) -> int:
    from aws_constructs.lifecycle import AWS_PROVIDER
    from leverage.review import drift, refactor_guard
    from leverage.write import files

    plan = files.plan(root, generated.files)
    found = drift.findings(plan, generated.files)
    changes = refactor_guard.compare(root, generated.files, AWS_PROVIDER)
    found["resources"] = refactor_guard.as_json(changes)  # what applying the new layers would do, by consequence
    sys.stdout.write(drift.as_json(found) if as_json else drift.as_text(found) + refactor_guard.as_text(changes))
    if plan.clean and not as_json:
        print(f"no drift: {len(generated.files)} generated files match the stacks")
    return EXIT_OK if plan.clean else EXIT_DRIFT


def main(argv: list[str] | None = None) -> int:
    from leverage.errors import UserError

    argv = sys.argv[1:] if argv is None else argv
    # A run creates some hundred thousand objects in a second or two (the engine's and the provider's classes, the
    # stacks) and keeps them to the end: the cyclic collector's passes over them cost about a seventh of its CPU
    # and free next to nothing (measured: same peak memory). Off for the run, back on after (tests call main()).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return run(parse_args(argv))
    except UserError as exc:
        if "--debug" in argv:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # a write in progress has been rolled back on its way out
        if "--debug" in argv:
            raise
        print("error: interrupted; nothing was written (files a write had begun were restored)", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if collecting:
            gc.enable()


if __name__ == "__main__":
    sys.exit(main())
