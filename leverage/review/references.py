"""References compared by what they point at, not by how they are written.

Two layers that read the same table, one through `outputs.dynamodb_table_name` and one through
`outputs.dynamodb_table_names["orders"]`, refer to one thing; a remote state whose key moves to another account
refers to another thing although its references read the same. So before configurations are compared, every
reference inside a `${...}` interpolation is rewritten into what it resolves to:

- an output of another layer's remote state: when a layer generated here keeps that state, the output's value in
  that layer (`⟨<folder>::aws_sqs_queue.orders.arn⟩`), else the state key and the output read
  (`⟨state <key>::outputs.x⟩`);
- a data source of the layer: its type and a digest of its arguments, themselves resolved (a policy document
  whose statements change changes what references it; one renamed with the same arguments does not);
- a resource of the layer: its address after the moves the new configuration declares.

A resolved name can also be shown as the user knows it (`display`): the literal name of the resource it ends at.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_constructs.access.interpolation import Unresolved, closing_brace

REMOTE_STATE = "terraform_remote_state"
_REMOTE_OUTPUT = (r'lookup\(\s*data\.terraform_remote_state\.(?P<lookup_state>[\w-]+)\.outputs\.(?P<lookup_output>[\w-]+)'
                  r'\s*,\s*"(?P<lookup_key>[^"]*)"\s*\)'
                  r'|data\.terraform_remote_state\.(?P<state>[\w-]+)\.outputs\.(?P<output>[\w-]+)'
                  r'(?:\["(?P<quoted_key>[^"]*)"\]|\.(?P<key>[A-Za-z_][\w-]*))?')
_DATA = r"data\.(?P<data_type>[a-z][a-z0-9_]*)\.(?P<data_name>[A-Za-z_][\w-]*)"
_RESOURCE = r"(?<![\w.⟨:/=-])(?P<resource>[a-z][a-z0-9]*_[a-z0-9_]*\.[A-Za-z_][\w-]*)"
# A local value or an input variable of the layer's own configuration (cdktf's TerraformLocal, TerraformVariable).
_NAMED_VALUE = r"(?<![\w.⟨:/=-])(?P<value_kind>local|var)\.(?P<value_name>[A-Za-z_][\w-]*)"
REFERENCE = re.compile(f"{_REMOTE_OUTPUT}|{_DATA}|{_NAMED_VALUE}|{_RESOURCE}")
WHOLE_NAMED_VALUE = re.compile(r"\$\{(?P<kind>local|var)\.(?P<name>[A-Za-z_][\w-]*)\}")
RESOLVED = re.compile(r"^\$\{⟨(?P<folder>[^⟩]+?)::(?P<type>[a-z][a-z0-9_]*)\.(?P<name>[\w-]+)\.(?P<attribute>[\w-]+)⟩\}$")
NAMED = re.compile(r"^\$\{⟨=(?P<type>[a-z][a-z0-9_]*) (?P<name>.+)\.(?P<attribute>[\w-]+)⟩\}$")
ATTRIBUTE = re.compile(r"(?P<type>[a-z][a-z0-9]*_[a-z0-9_]*)\.(?P<name>[\w-]+)\.(?P<attribute>[\w-]+)")
OUTPUT = re.compile(r"^\$\{⟨(?P<where>[^⟩]+?)::outputs\.(?P<output>[\w-]+(?:\[[^\]]*\])?)⟩\}$")
SINGLE_INTERPOLATION = re.compile(r"^\$\{(?P<inner>.*)\}$", re.DOTALL)


def interpolations(text: str) -> list[tuple[int, int]]:
    """The spans of `${...}` in a Terraform string (`$${` is a literal `${`); an unclosed one runs to the end."""
    spans: list[tuple[int, int]] = []
    position = 0
    while (start := text.find("${", position)) >= 0:
        if start > 0 and text[start - 1] == "$":
            position = start + 2
            continue
        try:
            end = closing_brace(text, start + 2) + 1
        except Unresolved:
            end = len(text)
        spans.append((start, end))
        position = end
    return spans


@dataclass(frozen=True)
class Layer:
    """A generated layer folder's configuration as Terraform reads it (main.tf.json with config.tf's providers and
    remote states), on one side of a comparison."""

    folder: str
    config: dict[str, Any]
    renames: Mapping[str, str] = field(default_factory=dict)  # old address -> new, from the new `moved` blocks

    @property
    def account(self) -> str:
        return self.folder.split("/")[0]

    def remote_state_key(self, name: str) -> str | None:
        source = self.config.get("data", {}).get(REMOTE_STATE, {}).get(name)
        config = source.get("config", {}) if isinstance(source, dict) else {}
        key = config.get("key") if isinstance(config, dict) else None
        return key.replace("${var.environment}", self.account) if isinstance(key, str) else None


@dataclass
class World:
    """One side of a comparison: every generated layer folder, so that reads across layers resolve."""

    layers: dict[str, Layer]
    folders_by_key: Mapping[str, str]  # state key -> the layer folder keeping it
    # Resource type -> the arguments that name its live resource (a ResourceLifecycle's identity_arguments).
    naming: Callable[[str], tuple[str, ...]] = lambda kind: ("name",)
    _cache: dict[tuple[str, str], Any] = field(default_factory=dict)
    _resolving: set[tuple[str, str]] = field(default_factory=set)  # whole locals being resolved: one may name itself

    def resolve(self, folder: str, node: Any) -> Any:
        """`node` (a value of `folder`'s configuration) with every reference resolved. A value that is one local or
        variable, whole, is that local's value (or the variable's default): wrapping a value in one changes nothing."""
        if isinstance(node, str):
            whole = WHOLE_NAMED_VALUE.fullmatch(node)
            body = self._named_body(self.layers.get(folder), whole["kind"], whole["name"]) if whole else None
            step = (folder, node)
            if body is not None and step not in self._resolving:
                self._resolving.add(step)
                try:
                    return self.resolve(folder, body)
                finally:
                    self._resolving.discard(step)
            return self._resolve_text(folder, node)
        if isinstance(node, dict):
            return {key: self.resolve(folder, value) for key, value in node.items()}
        if isinstance(node, list):
            return [self.resolve(folder, value) for value in node]
        return node

    def _resolve_text(self, folder: str, text: str) -> str:
        if "${" not in text:
            return text
        spans = interpolations(text)
        if not spans:
            return text
        out, position = [], 0
        for start, end in spans:
            out.append(text[position:start])
            out.append(REFERENCE.sub(lambda match: self._reference(folder, match), text[start:end]))
            position = end
        out.append(text[position:])
        return "".join(out)

    def _reference(self, folder: str, match: re.Match[str]) -> str:
        layer = self.layers.get(folder)
        groups = match.groupdict()
        if groups["resource"]:
            address = groups["resource"]
            return layer.renames.get(address, address) if layer else address
        if groups["data_type"]:
            if layer is None:
                return match.group(0)
            return f"⟨data.{groups['data_type']}#{self._data_digest(layer, groups['data_type'], groups['data_name'])}⟩"
        if groups["value_kind"]:
            return self._named_value(layer, groups["value_kind"], groups["value_name"]) or match.group(0)
        state = groups["state"] or groups["lookup_state"]
        output = groups["output"] or groups["lookup_output"]
        key = groups["key"] or groups["quoted_key"] or groups["lookup_key"]
        return self._remote_output(layer, state, output, key)

    def _data_digest(self, layer: Layer, kind: str, name: str) -> str:
        cache_key = (layer.folder, f"data.{kind}.{name}")
        if cache_key not in self._cache:
            self._cache[cache_key] = "pending"  # a data source that references itself resolves to its name
            body = layer.config.get("data", {}).get(kind, {}).get(name)
            text = json.dumps(self.resolve(layer.folder, body), sort_keys=True) if body is not None else name
            self._cache[cache_key] = hashlib.sha256(text.encode()).hexdigest()[:16]
        return str(self._cache[cache_key])

    @staticmethod
    def _named_body(layer: Layer | None, kind: str, name: str) -> Any:
        """A local's value, or a variable's default, as written; None for a variable the layer's own configuration
        gives no default (Leverage's, from its var-files)."""
        if layer is None:
            return None
        section = layer.config.get("locals" if kind == "local" else "variable")
        if not isinstance(section, dict):
            return None
        if kind == "local":
            return section.get(name)
        declared = section.get(name)
        return declared.get("default") if isinstance(declared, dict) else None

    def _named_value(self, layer: Layer | None, kind: str, name: str) -> str | None:
        """A local's value, or a variable's default, resolved, as a digest: a change of either changes what reads it."""
        body = self._named_body(layer, kind, name)
        if body is None or layer is None:
            return None
        cache_key = (layer.folder, f"{kind}.{name}")
        if cache_key not in self._cache:
            self._cache[cache_key] = "pending"  # a local that refers to itself resolves to its name
            text = json.dumps(self.resolve(layer.folder, body), sort_keys=True, ensure_ascii=False)
            self._cache[cache_key] = hashlib.sha256(text.encode()).hexdigest()[:16]
        return f"⟨{kind}.{name}#{self._cache[cache_key]}⟩"

    def _remote_output(self, layer: Layer | None, state: str, output: str, key: str | None) -> str:
        state_key = layer.remote_state_key(state) if layer else None
        suffix = f"outputs.{output}" + (f"[{key}]" if key is not None else "")
        producer = self.layers.get(self.folders_by_key.get(state_key, "")) if state_key else None
        if producer is None:  # a layer not generated here: the folder that keeps the state, else the key
            where = self.folders_by_key.get(state_key) if state_key else None
            return f"⟨{where or f'state {state_key or state}'}::{suffix}⟩"
        value = producer.config.get("output", {}).get(output, {}).get("value")
        if key is not None:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return f"⟨{producer.folder}::{suffix}⟩"
        resolved = self.resolve(producer.folder, value)
        if isinstance(resolved, str) and (single := SINGLE_INTERPOLATION.match(resolved)) \
                and len(interpolations(resolved)) == 1:
            return self._attribute(producer, single.group("inner"))
        return f"⟨{producer.folder}::{json.dumps(resolved, sort_keys=True)}⟩"

    def _attribute(self, producer: Layer, expression: str) -> str:
        """An attribute of a resource of another layer: by the resource's name in AWS where the configuration spells
        it out (the same bucket, wherever its layer folder is), else by its folder and address."""
        found = ATTRIBUTE.fullmatch(expression)
        if found:
            # The expression names the resource by its new address; the producer's configuration may be the old one.
            address = f"{found['type']}.{found['name']}"
            address = next((old for old, new in producer.renames.items() if new == address), address)
            body = resource_bodies(producer.config).get(address)
            arguments = self.naming(found["type"])
            values = [body.get(argument) for argument in arguments] if isinstance(body, dict) and arguments else []
            if values and all(literal_or_none(value) for value in values):
                return f"⟨={found['type']} {'/'.join(values)}.{found['attribute']}⟩"
        return f"⟨{producer.folder}::{expression}⟩"

    def target(self, folder: str, state: str) -> str | None:
        """Where remote state `state` of layer `folder` reads: the folder keeping that state, else its key."""
        layer = self.layers.get(folder)
        key = layer.remote_state_key(state) if layer else None
        return self.folders_by_key.get(key, key) if key else None

    def display(self, folder: str, value: Any) -> str:
        """A resolved value as the user knows it: the literal name of the resource it ends at, where it has one."""
        text = value if isinstance(value, str) else json.dumps(value)
        named = NAMED.match(text)
        if named:
            return named["name"]
        found = RESOLVED.match(text)
        if found:
            resource = self.layers.get(found["folder"])
            body = resource.config.get("resource", {}).get(found["type"], {}).get(found["name"], {}) if resource else {}
            literal = body.get(found["attribute"]) if isinstance(body, dict) else None
            if isinstance(literal, str) and not interpolations(literal):
                return literal
            return f"{found['type']}.{found['name']}.{found['attribute']} of {found['folder']}"
        output = OUTPUT.match(text)
        if output:
            return f"output {output['output']} of {output['where']}"
        return text


def resource_bodies(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """`type.name` -> arguments, of every resource of a configuration."""
    return {f"{kind}.{name}": body for kind, items in config.get("resource", {}).items()
            for name, body in items.items()}


def literal_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value and "${" not in value else None


Resolver = Callable[[str, str], "str | None"]
