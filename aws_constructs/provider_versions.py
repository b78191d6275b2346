"""Which hashicorp/aws releases carry the arguments a layer sets.

The layers declare a range of hashicorp/aws releases (`>= 5.100, < 7.0` by default), and Terraform may install any
release in it; the tests validate and apply the layers with 5.100, the oldest. The provider bindings are generated
for a later release (cdktf's for 6.25, CDK Terrain's for 6.69.1) and accept every argument of that release, some of
which 5.100 lacks (6.0's per-resource `region`, newer Glue, S3 and Athena arguments): a layer setting one would fail
at `terraform init` or `validate` wherever 5.100 is installed. So, unless the declared range starts at the bindings'
release or later, every argument a layer sets must be one 5.100 carries: the arguments of each resource type, data
source and the provider itself, nested blocks included, recorded from its schema in `ARGUMENTS_FILE`
(tools/record_provider_arguments.py writes it from `terraform providers schema -json`; the fast suite checks it
against the provider the tests install).
"""
from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

OLDEST_PROVEN_VERSION = "5.100.0"  # the hashicorp/aws release the tests validate and apply the layers with
ARGUMENTS_FILE = Path(__file__).with_name(f"aws-provider-{OLDEST_PROVEN_VERSION}-arguments.json.gz")
PROVIDER_TYPE_PREFIX = "aws_"
# Terraform's own keys in a block, and cdktf's metadata: not the provider's arguments.
META_ARGUMENTS = {"resource": {"count", "for_each", "depends_on", "lifecycle", "provider", "provisioner",
                               "connection", "//"},
                  "data": {"count", "for_each", "depends_on", "lifecycle", "provider", "//"},
                  "ephemeral": {"count", "for_each", "depends_on", "lifecycle", "provider", "//"},
                  "provider": {"alias", "version", "//"}}
BLOCK_KINDS = ("resource", "data", "ephemeral")  # of a configuration, each with the provider's types
_BOUND = re.compile(r"^\s*(>=|>|~>|=)?\s*([0-9]+(?:\.[0-9]+){0,2})(-[0-9A-Za-z.-]+)?\s*$")

Arguments = dict[str, Any]  # argument name -> 0 (an attribute) or the arguments of a nested block


@dataclass(frozen=True)
class UncarriedArgument:
    """An argument (or a whole resource type) a layer sets that the oldest release of its declared range lacks."""

    address: str  # `aws_sqs_queue.orders`, `data.aws_iam_policy_document.x`, `provider.aws`
    argument: str  # `region`, `rule.filter.prefix`; "" when the resource type itself is missing


VersionKey = tuple[int, int, int, int]  # major, minor, patch, and 1 for a release or 0 for a pre-release of it


def version_key(version: str, prerelease: bool = False) -> VersionKey:
    parts = [int(part) for part in version.split(".")[:3]]
    return (*parts, *[0] * (3 - len(parts)), 0 if prerelease else 1)  # type: ignore[return-value]


def lowest_allowed(constraint: str) -> VersionKey:
    """The lowest release a Terraform version constraint allows: its highest lower bound (`>=`, `~>`, `=` or a
    bare version; `>`: the next patch release), or 0.0.0 when it has none. Terraform installs a pre-release only
    when a constraint names it exactly (`=` or bare): after any other bound on one, the lowest is its release."""
    lowest = version_key("0.0.0")
    for part in constraint.split(","):
        bound = _BOUND.match(part)
        if bound is None or bound[1] not in (None, ">=", ">", "~>", "="):
            continue
        exact = bound[1] in (None, "=")
        found = version_key(bound[2], prerelease=exact and bound[3] is not None)
        if bound[1] == ">" and bound[3] is None:
            found = (found[0], found[1], found[2] + 1, 1)
        lowest = max(lowest, found)
    return lowest


class RecordedArguments:
    """The arguments of OLDEST_PROVEN_VERSION: a first line indexing the others (`{"resource aws_sqs_queue": [start,
    end], ...}`), then one line of JSON per block kind and type, each parsed when first asked for (a synth asks for a
    few dozen types of ~2,100)."""

    def __init__(self, data: bytes) -> None:
        header_end = data.index(b"\n") + 1
        self._index: dict[str, list[int]] = json.loads(data[:header_end])
        self._data = memoryview(data)[header_end:]
        self._parsed: dict[str, Arguments | None] = {}

    def of(self, kind: str, name: str) -> Arguments | None:
        """The arguments of `kind` ("provider", "resource", "data", "ephemeral") `name`; None if the release has no
        such type."""
        key = f"{kind} {name}"
        if key not in self._parsed:
            where = self._index.get(key)
            self._parsed[key] = None if where is None else json.loads(bytes(self._data[where[0]:where[1]]))
        return self._parsed[key]


@lru_cache(maxsize=1)
def recorded_arguments() -> RecordedArguments:
    return RecordedArguments(gzip.decompress(ARGUMENTS_FILE.read_bytes()))


def uncarried_arguments(config: dict[str, Any], bindings_version: str) -> list[UncarriedArgument]:
    """What a synthesized layer sets that OLDEST_PROVEN_VERSION lacks, when the range the layer declares allows
    that release (it starts below `bindings_version`, the release the bindings were generated for)."""
    declared = config.get("terraform", {}).get("required_providers", {}).get("aws", {}).get("version", "")
    if lowest_allowed(declared) >= version_key(bindings_version):
        return []
    known = recorded_arguments()
    found: list[UncarriedArgument] = []
    for kind in BLOCK_KINDS:
        for resource_type, elements in config.get(kind, {}).items():
            if not resource_type.startswith(PROVIDER_TYPE_PREFIX):
                continue  # Terraform's own (terraform_remote_state) or another provider's
            prefix = "" if kind == "resource" else f"{kind}."
            for name, body in elements.items():
                address = f"{prefix}{resource_type}.{name}"
                arguments = known.of(kind, resource_type)
                if arguments is None:
                    found.append(UncarriedArgument(address, ""))
                    continue
                found += [UncarriedArgument(address, path) for path in _unknown(body, arguments, META_ARGUMENTS[kind])]
    for body in _as_list(config.get("provider", {}).get("aws", [])):
        found += [UncarriedArgument("provider.aws", path)
                  for path in _unknown(body, known.of("provider", "aws") or {}, META_ARGUMENTS["provider"])]
    return found


def _unknown(body: Any, arguments: Arguments, meta: set[str] = frozenset(), prefix: str = "") -> Iterator[str]:
    """The keys of a block (and of its nested blocks and `dynamic` blocks) that are not among `arguments`."""
    if not isinstance(body, dict):
        return
    for key, value in body.items():
        if key in meta:
            continue
        if key == "dynamic" and isinstance(value, dict):
            for name, generator in value.items():
                if not isinstance(arguments.get(name), dict):
                    yield f"{prefix}{name}"
                elif isinstance(generator, dict):
                    yield from _unknown(generator.get("content", {}), arguments[name], prefix=f"{prefix}{name}.")
        elif key not in arguments:
            yield f"{prefix}{key}"
        elif isinstance(arguments[key], dict):
            for block in _as_list(value):
                yield from _unknown(block, arguments[key], prefix=f"{prefix}{key}.")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def arguments_of_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The record of `terraform providers schema -json` for hashicorp/aws: the arguments each block accepts
    (attributes that are required or optional, and nested blocks), read-only attributes left out."""
    provider = next(value for key, value in schema["provider_schemas"].items() if key.endswith("/hashicorp/aws"))

    def block(definition: dict[str, Any]) -> Arguments:
        found: Arguments = {name: 0 for name, attribute in definition.get("attributes", {}).items()
                            if attribute.get("required") or attribute.get("optional")}
        found.update({name: block(nested["block"]) for name, nested in definition.get("block_types", {}).items()})
        return found

    return {"provider": {"aws": block(provider["provider"]["block"])},
            "resource": {name: block(value["block"]) for name, value in provider["resource_schemas"].items()},
            "data": {name: block(value["block"]) for name, value in provider["data_source_schemas"].items()},
            "ephemeral": {name: block(value["block"])
                          for name, value in provider.get("ephemeral_resource_schemas", {}).items()}}


def record_text(arguments: dict[str, Any]) -> bytes:
    """What ARGUMENTS_FILE holds, as RecordedArguments reads it (the same record, the same bytes)."""
    index: dict[str, list[int]] = {}
    body = bytearray()
    for kind in ("provider", *BLOCK_KINDS):
        for name in sorted(arguments[kind]):
            line = json.dumps(arguments[kind][name], sort_keys=True, separators=(",", ":")).encode()
            index[f"{kind} {name}"] = [len(body), len(body) + len(line)]
            body += line + b"\n"
    return json.dumps(index, separators=(",", ":")).encode() + b"\n" + body


def record(arguments: dict[str, Any]) -> bytes:
    """ARGUMENTS_FILE's bytes."""
    return gzip.compress(record_text(arguments), compresslevel=9, mtime=0)
