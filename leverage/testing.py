"""Testing a layer with cdktf's Testing API, without a synth of the whole app, and proving its access paths.

    from leverage.testing import Testing, synth_layer

    synthesized = synth_layer(MyLayer, MyLayer.Settings(), leverage_root="example", account="data-science")
    assert Testing.to_have_resource_with_properties(synthesized, "aws_sqs_queue", {"name": "bb-data-science-q"})

`synth_layer` reads the Leverage project at `leverage_root` (as `synth` does: the layer's account, and any other
account its code reads), builds the layer for `<account>/<region>/<layer>` and returns cdktf's synthesized JSON of
it (a string), which the `Testing` assertions take.

    from leverage.testing import ALLOWED, AccessPath, assert_access

    assert_access(synthesized, [AccessPath(
        "EventBridge forwards the raw bucket's new objects", principal="events.amazonaws.com",
        action="sqs:SendMessage", resource="${aws_sqs_queue.change_events.arn}",
        context={"aws:SourceArn": "${aws_cloudwatch_event_rule.raw_objects.arn}"}, expect=ALLOWED,
        cite="https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html")],
        leverage_root="example", account="data-science", layer="change-events-queue")

`assert_access` evaluates each declared request as AWS evaluates it (identity, resource and key policies, cross
account), with the layer's own policies and those of the project's layers it reads, in the IAM simulator of
`make access-simulator` (docs/access-proof.md). `${...}` in a path is resolved in the layer, the way Terraform
resolves it (`load_layers` reads the project as Leverage and Terraform read it).
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import hcl2

from aws_constructs.access.layers import Layers, TerraformLayer, terraform_json
from aws_constructs.access.requests import ALLOWED, ANONYMOUS, DENIED, AccessRequest, failures, prove, resolved
from bindings import Testing
from leverage.project.model import Project, load_project
from leverage.project.tfvars import blocks, read_hcl
from leverage.stack import LeverageLayerStack

__all__ = ["ALLOWED", "ANONYMOUS", "DENIED", "AccessPath", "Testing", "assert_access", "build_layer", "load_layers",
           "synth_layer"]

AccessPath = AccessRequest  # a request a layer's principal makes, and the decision AWS must reach


def build_layer(cls: type[LeverageLayerStack], settings: Any, *, leverage_root: str | Path, account: str,
                layer: str = "test-layer", region: str | None = None) -> LeverageLayerStack:
    """The layer's stack, built in a test app for `<account>/<region or region_primary>/<layer>`."""
    project = load_project(Path(leverage_root).resolve(), [(account, "account")])
    address = project.address(account, region or project.region_primary, layer)
    stack = cls(Testing.app(), project, address)
    stack.build(settings)
    return stack


def synth_layer(cls: type[LeverageLayerStack], settings: Any, *, leverage_root: str | Path, account: str,
                layer: str = "test-layer", region: str | None = None) -> str:
    """cdktf's synthesized JSON of the layer (Testing.synth), for the Testing assertions."""
    return Testing.synth(build_layer(cls, settings, leverage_root=leverage_root, account=account, layer=layer,
                                     region=region))


def load_layers(leverage_root: str | Path, *, synthesized: Mapping[str, str] | None = None,
                hand_written: Mapping[str, Mapping[str, str]] | None = None) -> Layers:
    """Every layer folder of the project (its `.tf` and `.tf.json` files), as Terraform reads it with the var-files
    Leverage passes. `synthesized`: folder -> a layer's synthesized JSON (`synth_layer`), in place of its folder;
    `hand_written`: folder -> file name -> text, layers the project keeps elsewhere (a `security-keys` layer)."""
    root = Path(leverage_root).resolve()
    accounts = read_hcl(root / "config" / "common.tfvars", root).get("accounts", {})
    project = load_project(root, [(name, "account") for name in sorted(accounts) if (root / name / "config").is_dir()])
    documents: dict[str, list[dict[str, Any]]] = {}
    for item in project.layers:
        documents[item.folder] = _folder_documents(root, root / item.folder)
    for folder, files in (hand_written or {}).items():
        documents[folder] = [_read_text_hcl(text) for name, text in sorted(files.items()) if name.endswith(".tf")]
    for folder, text in (synthesized or {}).items():
        documents[folder] = [json.loads(text)]
    keys = {_backend_key(docs, folder): folder for folder, docs in documents.items()}
    return Layers([_layer(project, folder, docs, keys) for folder, docs in sorted(documents.items())])


def assert_access(synthesized: str, paths: Sequence[AccessPath], *, leverage_root: str | Path, account: str,
                  layer: str = "test-layer", region: str | None = None) -> None:
    """Every path as AWS decides it, with the layer (`synth_layer`'s JSON) among the project's layers; fails
    naming each path whose decision differs from the expected one, and on any value that cannot be resolved."""
    root = Path(leverage_root).resolve()
    primary = read_hcl(root / "config" / "common.tfvars", root)["region_primary"]
    folder = f"{account}/{region or primary}/{layer}"
    layers = load_layers(root, synthesized={folder: synthesized})
    wrong = failures(prove(layers, [resolved(layers, layers.layer(folder), path) for path in paths]))
    assert not wrong, "access paths decided otherwise than declared:\n" + "\n".join(wrong)


def _read_text_hcl(text: str) -> dict[str, Any]:
    return hcl2.loads(text)


def _folder_documents(root: Path, folder: Path) -> list[dict[str, Any]]:
    documents = []
    for path in sorted(folder.iterdir()):
        if path.name.endswith(".tf.json") and path.is_file():
            documents.append(json.loads(path.read_text(encoding="utf-8")))
        elif path.suffix == ".tf" and path.is_file():
            documents.append(read_hcl(path, root))
    return documents


def _backend_key(documents: list[dict[str, Any]], folder: str) -> str:
    for document in documents:
        for terraform in _blocks_of(document, "terraform"):
            for backend in _blocks_of(terraform, "backend"):
                key = backend.get("s3", {}).get("key") if isinstance(backend.get("s3"), dict) else None
                if isinstance(key, str):
                    return key
    return f"(no backend key: {folder})"


def _blocks_of(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    found = document.get(kind)
    return [found] if isinstance(found, dict) else blocks(document, kind)


def _layer(project: Project, folder: str, documents: list[dict[str, Any]], keys: dict[str, str]) -> TerraformLayer:
    account_name = folder.split("/")[0]
    account = project.accounts[account_name]
    config = terraform_json(documents)
    variables = _variables(project.root, account_name)
    probe = TerraformLayer(folder, account.id, config, variables)
    reads = {}
    for name, body in config["data"].get("terraform_remote_state", {}).items():
        key = Layers([probe]).value(probe, body.get("config", {}).get("key"))
        reads[name] = keys.get(key, f"(state {key}, which no layer folder of the project keeps)")
    return TerraformLayer(folder, account.id, config, variables, reads)


def _variables(root: Path, account: str) -> dict[str, Any]:
    """The values Terraform sees: the declared defaults, then every var-file Leverage passes (`config/*.tfvars`,
    then `<account>/config/*.tfvars`)."""
    values: dict[str, Any] = {}
    declared = root / "config" / "common-variables.tf"
    if declared.exists():
        for block in blocks(read_hcl(declared, root), "variable"):
            for name, body in block.items():
                if isinstance(body, dict) and "default" in body:
                    values[name] = body["default"]
    for folder in (root / "config", root / account / "config"):
        for path in sorted(folder.glob("*.tfvars")):
            values.update(read_hcl(path, root))
    return values
