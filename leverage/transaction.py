"""One run of the app against a Leverage project: the synth transaction, and the commands that only read.

Every command reads the project and synthesizes its layers under the project's lock (`synth` exclusively,
the others shared), in this order, and stops at the first problem with nothing written:

1. `synth` first rolls back a run that was interrupted (the journal, leverage/write/journal.py);
2. the project is read (the accounts the layers use in full), and the layers' stacks are built and synthesized;
3. no generated layer may use a state key another folder of the project uses;
4. the layers' folders are rendered, and every output a layer reads must be declared by the layer that keeps it;
5. the review (`review`): what applying the new layers would do to live resources (refactor_guard.py; its
   refusals and lines, guard_report.py), and what happens to the layer folders an earlier synth wrote and these
   settings do not (orphans.py), each refusal an error with its fields;
6. `synth` writes every layer file or none (leverage/write/files.py), and swaps cdktf's own output folder.

The caller (the settings, stacks/app.py) says what to build and adds what only it knows: the settings naming each
layer, the fix that applies to what the user edited, and its own checks of the earlier layers.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leverage import interrupts
from leverage.errors import UserError
from leverage.project import scan
from leverage.project.model import Project, load_project
from leverage.render.generate import GeneratedLayers
from leverage.review import drift, guard_report, orphans, refactor_guard
from leverage.review.changes import ResourceChange
from leverage.review.guard_report import Allowances
from leverage.review.refactor_guard import ResourceLifecycle
from leverage.write import files, journal, lock
from leverage.write.cdktf_out import Swap

if TYPE_CHECKING:
    from bindings import App
    from leverage.render.layer_folder import SynthesizedLayer
    from leverage.stack import LeverageLayerStack

EXIT_OK, EXIT_DRIFT = 0, 1
# Where the provider cache looks for the provider submodules your own layers import (bindings/__init__.py).
LAYER_MODULES_VARIABLE = "LEVERAGE_CDKTF_LAYER_MODULES"


@dataclass(frozen=True)
class Policy:
    """What only the settings know about the review."""

    # The fix for a refused resource change, for what the user edited (a setting, or a layer's code); None: the
    # fix for code.
    change_advice: guard_report.Advice | None = None
    # The fix for an earlier layer a change breaks; None: the generic one.
    earlier_advice: orphans.Advice | None = None
    # More refusals about the earlier layers (an own layer whose registration is gone).
    earlier_checks: Callable[[list[orphans.EarlierLayer]], list[UserError]] | None = None


@dataclass(frozen=True)
class Request:
    """What one command reads and builds."""

    root: Path  # the Leverage project
    app_root: Path  # the folder of cdktf.json, where the paths of the settings start
    accounts: tuple[tuple[str, str], ...]  # (account, setting) of the accounts the layers use
    region: str | None  # None: the project's region_primary
    region_setting: str  # how the user names the region, for a refusal
    build: Callable[[App, Project, str], list[LeverageLayerStack]]
    layer_settings: Mapping[str, str]  # layer name -> the setting that names it, for a refusal
    lifecycle: ResourceLifecycle
    layer_modules: tuple[Path, ...] = ()  # the modules of your own layers
    policy: Policy = Policy()
    # Refuses synthesized layers the settings cannot carry (an argument the declared provider range may lack).
    check_layers: Callable[[list[SynthesizedLayer]], None] | None = None


@dataclass
class Run:
    """The synthesized layers of one command, while its lock is held."""

    project: Project
    generated: GeneratedLayers
    outdir: Path  # cdktf's own output of this synth
    warnings: list[str] = field(default_factory=list)
    registrations: dict[str, str] = field(default_factory=dict)  # folder -> entry of `layers`, of your own layers


@dataclass(frozen=True)
class Review:
    changes: list[ResourceChange]
    refusals: list[UserError]
    allowed: list[str] = field(default_factory=list)  # what an --allow flag lets through beyond `changes`


@contextmanager
def synthesized(request: Request, *, writes: bool) -> Iterator[Run]:
    """The project read and its layers synthesized, under the lock (exclusive when the run `writes`)."""
    with lock.exclusive(request.root) if writes else lock.shared(request.root):
        warnings = []
        if writes:
            recovered = journal.recover(request.root)
            if recovered is not None:
                warnings.append(f"an earlier synth was interrupted; rolled back its run {recovered.run} "
                                f"({len(recovered.steps)} files as they were before it)")
        project = load_project(request.root, list(request.accounts))
        warnings += project.warnings
        region = request.region or project.region_primary
        project.check_layer_region(region, request.region_setting)
        app_type = _engine(request)
        from leverage.synth import built, synthesize

        with interrupts.temporary_folder("leverage-cdktf-") as outdir:
            app = app_type(outdir=str(outdir))
            stacks = built(lambda: request.build(app, project, region))
            layers = synthesize(app, stacks, outdir, request.app_root)
            if request.check_layers is not None:
                request.check_layers(layers)
            scan.check_state_keys(project.layers, {layer.address.backend_key: layer.address for layer in layers},
                                  request.layer_settings)  # before the graph: a shared key is no cycle
            from leverage.render.generate import generate

            with _read_sites(stacks):
                generated = generate(layers, project, request.lifecycle)
                warnings += scan.check_reads(project.root, project.layers, generated.graph.external_reads_by_layer())
                _check_unused_reads(stacks, layers, project)
            yield Run(project, generated, outdir, warnings,
                      {stack.address.folder: stack.registration for stack in stacks if stack.registration})


def _engine(request: Request) -> type[App]:
    """The CDK engine, loaded only once the input is known to be good (it takes seconds); the provider submodules
    your own layers import are loaded with the app's (bindings/__init__.py)."""
    os.environ[LAYER_MODULES_VARIABLE] = os.pathsep.join(str(path) for path in request.layer_modules)
    first = "bindings" not in sys.modules
    with interrupts.private_temporary_folder_for_children("leverage-cdktf-engine-") if first else _nothing():
        try:
            from bindings import App
        except ImportError as exc:  # no CDK engine installed, or two (bindings/engine_choice.py says which, and the fix)
            raise UserError(f"cannot load the CDK bindings: {exc}") from exc
    return App


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _check_unused_reads(stacks: list[LeverageLayerStack], layers: list[SynthesizedLayer], project: Project) -> None:
    """A `read_layer` whose value the layer does not use names no output in the configuration, so the reads found
    there miss it: its output must exist all the same (a misspelt name is a mistake whether or not it is used)."""
    by_key = {layer.address.backend_key: layer for layer in layers}
    external = []
    for stack in stacks:
        for key, output in stack.read_sites:
            target = by_key.get(key)
            if target is None:
                external.append((stack.address.folder, key, (output,)))
            elif output not in target.config.get("output", {}) and output not in scan.declared_outputs(
                    project.root, target.address.folder, hand_written_only=True):
                raise UserError(f"reads output {output!r} of {target.address.folder}, which does not have it",
                                layer=stack.address.folder,
                                details={"reads": target.address.folder, "key": key, "output": output})
    # Its warnings (a state no folder keeps) are dropped: the read's remote state is in the configuration, so the
    # reads found there have given them already.
    scan.check_reads(project.root, project.layers, external, used=False)


@contextmanager
def _read_sites(stacks: list[LeverageLayerStack]) -> Iterator[None]:
    """An output read that no layer declares: the error names the reading layer's registration and, for your own
    layers, the line of the `read_layer` call and its fix."""
    try:
        yield
    except UserError as exc:
        reader = next((stack for stack in stacks if stack.address.folder == exc.layer), None)
        key, output = exc.details.get("key"), exc.details.get("output")
        if reader is None or key is None or reader.registration is None:
            raise
        site = reader.read_sites.get((key, output))
        exc.in_context(registration=reader.registration, file=_shown(site.file) if site else None,
                       line=site.line if site else None)
        exc.fix = (f"read an output that {exc.details.get('reads')} declares (the `read_layer` call), or declare "
                   f"output {output!r} there")
        raise


def _shown(path: str) -> str:
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path


def review(request: Request, run: Run, allowances: Allowances = Allowances()) -> Review:
    """What applying the new layers would do, and what `synth` refuses of it (with these allowances)."""
    root = request.root
    keys = {layer.key: layer.folder for layer in run.project.layers}
    keys.update({address.backend_key: address.folder for address in run.generated.graph.order})
    written = {address.folder for address in run.generated.graph.order}
    earlier = orphans.earlier_layers(root, run.project.layers, written)
    surroundings = refactor_guard.Surroundings(keys, {layer.folder: layer.config for layer in earlier},
                                               _variables(run.project))
    parsed = {layer.folder: layer.config for layer in run.project.layers}
    pairs = {folder: (refactor_guard.committed_config(root / folder, parsed.get(folder)), config)
             for folder, config in run.generated.configs.items()}
    changes = refactor_guard.compare_configs(pairs, request.lifecycle, surroundings)
    # What moves first (a lake in another account is the news, the layers it leaves behind follow from it).
    refusals = [guard_report.refusal(change, request.policy.change_advice)
                .in_context(registration=run.registrations.get(change.layer))
                for change in guard_report.refused(changes, allowances)]
    left_behind = orphans.refusals(earlier, pairs, request.lifecycle, request.policy.earlier_advice)
    allowed = []
    if allowances.repoint and any(change.repointing for change in changes):
        # The layers a re-pointing leaves behind lose what the moved layers granted them: the move was allowed.
        allowed = [f"--allow-repoint: layer {error.layer}: {error.what}" for error in left_behind
                   if orphans.revoked(error)]
        left_behind = [error for error in left_behind if not orphans.revoked(error)]
    refusals += left_behind
    if request.policy.earlier_checks is not None:
        refusals += request.policy.earlier_checks(earlier)
    return Review(changes, refusals, allowed)


def _variables(project: Project) -> Callable[[str, str], str | None]:
    """The Leverage variables a provider's region is written with, by layer folder."""
    return lambda folder, name: project.region_variable(folder.split("/")[0], name)


def synth(request: Request, allowances: Allowances, cdktf_out: Path) -> int:
    """Write the layers (and cdktf's output folder), or nothing."""
    with synthesized(request, writes=True) as run:
        found = review(request, run, allowances)
        if found.refusals:
            first = found.refusals[0]
            more = f" (and {len(found.refusals) - 1} more; `main.py check` lists them)" if len(found.refusals) > 1 else ""
            first.what = f"{first.what}{more}; {orphans.NOTHING_WRITTEN}"
            raise first
        _write(request.root, run, cdktf_out)
        # Every time: what an --allow flag let through, for the review before `leverage tf apply`.
        run.warnings += guard_report.allowed(found.changes, allowances) + found.allowed \
            + guard_report.replacements(found.changes)
    _warn(run.warnings)
    return EXIT_OK


def _write(root: Path, run: Run, cdktf_out: Path) -> None:
    plan = files.plan(root, run.generated.files)
    # cdktf's own output also goes where the cdktf CLI expects it: swapped in first, swapped back on any failure.
    swap = Swap(cdktf_out)
    swap.stage(run.outdir)
    try:
        applied = files.apply(plan)
        interrupts.settle()  # also when there was nothing to write: cdktf's output is in place
    except BaseException:
        with interrupts.deferred():
            swap.undo()
        raise
    swap.commit()
    for relative in applied.written:
        print(f"wrote {relative}")
    for relative in applied.removed:
        print(f"removed {relative}")
    changed = len(applied.written) + len(applied.removed)
    print(f"{len(run.generated.graph.order)} layers in {root.name}: {changed} files changed")


def list_layers(request: Request) -> int:
    """The generated layers in apply order: folder, backend key, what each reads."""
    with synthesized(request, writes=False) as run:
        graph = run.generated.graph
        for address in graph.order:
            reads = ", ".join(graph.describe(read) for read in graph.reads[address])
            print(f"{address.folder}\t{address.backend_key}\treads: {reads or '-'}")
    _warn(run.warnings)
    return EXIT_OK


def graph(request: Request, diagram_format: str) -> int:
    from leverage.render.diagram import dot, mermaid

    with synthesized(request, writes=False) as run:
        sys.stdout.write(dot(run.generated.graph) if diagram_format == "dot" else mermaid(run.generated.graph))
    _warn(run.warnings)
    return EXIT_OK


def check(request: Request, as_json: bool) -> int:
    """Drift between the committed layers and the stacks, what applying them would do, and what `synth` would
    refuse: exit 0 when there is nothing, 1 otherwise."""
    with synthesized(request, writes=False) as run:
        plan = files.plan(request.root, run.generated.files)
        found: dict[str, Any] = drift.findings(plan, run.generated.files)
        result = review(request, run)
        # What applying the new layers would do, by consequence, and what synth would refuse of it.
        found["resources"] = guard_report.as_json(result.changes)
        found["refusals"] = [error.as_dict() for error in result.refusals]
        if as_json:
            sys.stdout.write(drift.as_json(found))
        else:
            sys.stdout.write(drift.as_text(found) + guard_report.as_text(result.changes)
                             + "".join(f"synth refuses: {error.message}\n" for error in result.refusals))
            if plan.clean and not result.refusals:
                print(f"no drift: {len(run.generated.files)} generated files match the stacks")
    _warn(run.warnings)
    return EXIT_OK if plan.clean and not result.refusals else EXIT_DRIFT


def _warn(warnings: list[str]) -> None:
    """Only when there was no error: an error is one line."""
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
