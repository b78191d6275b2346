"""A synthesized stack's JSON -> the files of a Leverage layer folder."""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jinja2
import jinja2.bccache

from leverage import hcl
from leverage.render import state_blocks
from leverage.render.diagram import mermaid
from leverage.project.graph import LayerGraph
from leverage.project.layer import LayerAddress
from leverage.project.model import Project
from leverage.write.content import ADDRESSES_FILE, COMMON_VARIABLES, FileContent, common_variables_link, marker

CONFIG_SECTIONS = ("terraform", "provider")
EXACT_VERSION = re.compile(r"([0-9]+)\.([0-9]+)\.[0-9]+")
# config.tf notes the value of each variable a provider's region is written with: the var-files can change it
# later, and the refactor guard must know the region the resources were created in to see them move.
REGIONS_NOTE = "Regions when generated: "
NOTED_REGION = re.compile(r'var\.([A-Za-z0-9_]+) = "([^"]*)"')

class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """The templates compiled once, into the user's cache folder (Jinja checks each against its source): compiling
    them took a twentieth of a synth. A cache folder that cannot be written only costs the compiling. The folder is
    found when a template is first rendered (user_cache knows it)."""

    def __init__(self, directory: str | None = None) -> None:  # not Jinja's, which makes a temporary folder
        self.directory = directory
        self.pattern = "__jinja2_%s.cache"

    def _get_cache_filename(self, bucket: jinja2.bccache.Bucket) -> str:
        if self.directory is None:
            from user_cache.folder import user_cache_dir

            self.directory = str(user_cache_dir() / f"templates-jinja2-{jinja2.__version__}")
        return super()._get_cache_filename(bucket)

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:
            pass

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            Path(self.directory).mkdir(parents=True, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            pass


_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # Terraform and Markdown, not HTML
    bytecode_cache=_CompiledTemplates(),
)
_templates.filters["hcl_string"] = hcl.string
_templates.filters["hcl_value"] = hcl.value
_templates.filters["hcl_body"] = lambda data, indent: "\n".join(hcl.body(data, indent))


class NamingArguments(Protocol):
    """What names a live resource of each type (a ResourceLifecycle has it)."""

    def identity_arguments(self, kind: str) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class SynthesizedLayer:
    address: LayerAddress
    config: dict[str, Any]  # the stack's cdk.tf.json
    summary: str  # what the layer is for, in Markdown (the stack's docstring)
    source: str  # the stack's module, relative to the app, for the generated-file marker
    diagram: str = ""  # a Mermaid flowchart of what the layer carries (the stack's `diagram`)


def render_layer(layer: SynthesizedLayer, graph: LayerGraph, project: Project,
                 naming: NamingArguments | None = None) -> dict[str, FileContent]:
    """Relative file name -> content, for one layer folder."""
    config, blocks = state_blocks.split(_strip_metadata(copy.deepcopy(layer.config)))
    note = marker(layer.source)
    files: dict[str, FileContent] = {
        "config.tf": _render_config(config, note, _regions_note(config, layer.address.account, project)).encode(),
        "main.tf.json": _render_json(config, note).encode(),
        "README.md": _render_readme(layer, graph, project, note, tuple(blocks), naming).encode(),
    }
    if blocks:
        files[ADDRESSES_FILE] = _templates.get_template("addresses.tf.j2").render(
            marker=note, blocks=state_blocks.as_hcl_bodies(blocks)).encode()
    if project.common_variables is not None:
        folder = project.root / layer.address.folder
        files[COMMON_VARIABLES] = common_variables_link(project.root, folder)
    return files


def _render_config(config: dict[str, Any], note: str, regions_note: str) -> str:
    terraform = config.get("terraform", {})
    return _templates.get_template("config.tf.j2").render(
        marker=note,
        regions_note=regions_note,
        providers=config.get("provider", {}),
        required_version=terraform.get("required_version"),
        required_providers={name: _registry_requirement(req) for name, req in terraform.get("required_providers", {}).items()},
        backend=terraform.get("backend", {}),
        remote_states=config.get("data", {}).get("terraform_remote_state", {}),
    )


def _regions_note(config: dict[str, Any], account: str, project: Project) -> str:
    """`Regions when generated: var.region = "us-east-1", ...` for the variables the providers' regions are
    written with, or "" when every region is written out."""
    names = sorted({name for blocks in config.get("provider", {}).values() for block in blocks
                    if (name := hcl.single_variable(block.get("region")))})
    values = {name: value for name in names if (value := project.region_variable(account, name))}
    return REGIONS_NOTE + ", ".join(f'var.{name} = "{value}"' for name, value in values.items()) \
        if values else ""


def noted_regions(config_tf: str) -> dict[str, str]:
    """Variable -> the value a generated config.tf notes for it (nothing for a config.tf written without the note)."""
    for line in config_tf.splitlines():
        if line.startswith("# " + REGIONS_NOTE):
            return dict(NOTED_REGION.findall(line))
    return {}


def _registry_requirement(requirement: dict[str, Any]) -> dict[str, Any]:
    """cdktf writes `source = "aws"` and the bindings' exact version.

    OpenTofu resolves a bare name in its own namespace, so the source is fully qualified; the version becomes
    the range the bindings were generated for (same major, at least that minor), as Leverage layers pin it.
    """
    source = requirement.get("source", "")
    if source and "/" not in source:
        source = f"hashicorp/{source}"
    version = requirement.get("version", "")
    exact = EXACT_VERSION.fullmatch(version)
    if exact:
        version = f"~> {exact.group(1)}.{exact.group(2)}"
    return {"source": source, "version": version}


def _render_json(config: dict[str, Any], note: str) -> str:
    rest: dict[str, Any] = {"//": note}
    for section, content in config.items():
        if section in CONFIG_SECTIONS:
            continue
        if section == "data":
            content = {kind: sources for kind, sources in content.items() if kind != "terraform_remote_state"}
            if not content:
                continue
        rest[section] = content
    return json.dumps(rest, indent=2, ensure_ascii=False) + "\n"


def _render_readme(layer: SynthesizedLayer, graph: LayerGraph, project: Project, note: str,
                   state_sections: tuple[str, ...], naming: NamingArguments | None) -> str:
    config = layer.config
    resources = [
        {"address": f"{kind}.{name}", "name": _literal_name(body, naming.identity_arguments(kind) if naming else ())}
        for kind, items in config.get("resource", {}).items()
        for name, body in items.items()
    ]
    outputs = [(name, body.get("description", "")) for name, body in config.get("output", {}).items()]
    reads = [
        {"key": read.key, "outputs": read.outputs, "generated": read.key in graph.generated_by_key}
        for read in graph.reads[layer.address]
    ]
    return _templates.get_template("README.md.j2").render(
        marker=note,
        address=layer.address,
        summary=layer.summary.strip(),
        resources=resources,
        outputs=outputs,
        reads=reads,
        external=[{"account": read.account, "key": read.key, "folders": [item.folder for item in project.folders_with_key(read.key)]}
                  for read in graph.external_reads(layer.address)],
        prerequisites=graph.prerequisites(layer.address),
        order=graph.order,
        diagram=layer.diagram.strip(),
        order_diagram=mermaid(graph, layer.address).strip(),
        symlink=project.common_variables is not None,
        state_blocks=state_sections,
    )


def _literal_name(resource: dict[str, Any], arguments: tuple[str, ...] = ()) -> str:
    """The resource's name in AWS, where the configuration spells it out: the last of the arguments that name it
    (a bucket's `bucket`, a key's `description`), else `name`."""
    name = resource.get(arguments[-1] if arguments else "name") or ""
    return name if isinstance(name, str) and "${" not in name else ""


def terraform_config(layer: SynthesizedLayer) -> dict[str, Any]:
    """The layer's whole configuration as Terraform reads its folder (every file together), without cdktf's
    metadata."""
    return _strip_metadata(layer.config)


def _strip_metadata(node: Any) -> Any:
    """cdktf's `//` metadata holds construct paths and its own bookkeeping, not configuration."""
    if isinstance(node, dict):
        return {key: _strip_metadata(value) for key, value in node.items() if key != "//"}
    if isinstance(node, list):
        return [_strip_metadata(value) for value in node]
    return node
