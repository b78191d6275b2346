"""Terraform addresses chosen by the constructs: `aws_kinesis_stream.change_stream`, not a hash of the tree.

A Terraform address (`<type>.<name>`) is the identity of a live resource: state is keyed by it, so a changed
address is a destroy and a create unless a `moved` block says otherwise. cdktf's default name is the construct
path plus a hash of it (`ChangeStream_FBB59D54`), which changes whenever a construct is wrapped or renamed.

Here every L2 construct derives a name from its own id in snake_case (`ChangeStream` -> `change_stream`) and
gives it to the resources it creates; resources of different types may share it, as hand-written HCL does
(`aws_s3_bucket.raw_bucket`, `aws_s3_bucket_policy.raw_bucket`). A construct created inside another L2
construct is prefixed with that construct's name (`delivery_role` is the role of `delivery`); plain grouping
constructs in between do not count, so reorganising the tree does not rename anything. `renamed_from` and
`declare_move` record `moved` blocks when an address must change after all.
"""
from __future__ import annotations

import re
import weakref
from typing import Protocol, Self, TypeVar

from bindings import Construct, TerraformDataSource, TerraformOutput, TerraformResource, TerraformStack
from aws_constructs.errors import ConstructPropsError

TERRAFORM_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# A resource's name in an address, with an instance's `count` index or `for_each` key.
INSTANCE_NAME = re.compile(r'[A-Za-z_][\w-]*(?:\[(?:[0-9]+|"[^"\\\n]*")\])?')
# cdktf's default names end in `_` and eight upper-case hex digits of an MD5 of the construct path.
HASH_SUFFIX = re.compile(r"_[0-9A-F]{8}$")
# Terraform's names of resources, data sources and outputs: a letter or underscore, then letters, digits, `_`, `-`.
TERRAFORM_IDENTIFIER = re.compile(r"[^\W\d][\w-]*")
# What cdktf drops from a construct id to make its name, without a word: `bad-name!` becomes `bad-name`.
DROPPED_FROM_IDS = re.compile(r"[^A-Za-z0-9_-]")


class TerraformElement(Protocol):
    """What a resource or data source of the provider bindings offers for naming."""

    terraform_resource_type: str
    friendly_unique_id: str

    def override_logical_id(self, new_logical_id: str) -> None: ...


Element = TypeVar("Element", bound=TerraformElement)


class AddressError(ConstructPropsError):
    """An address refused in `layer`: `problem` says which and why, naming the construct."""

    def __init__(self, layer: str, problem: str) -> None:
        super().__init__(f"layer {layer}: {problem}")
        self.problem = problem


def snake_case(construct_id: str) -> str:
    """`ChangeStream` -> `change_stream`, `CdcCrawler` -> `cdc_crawler`, `KMSKey` -> `kms_key`."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", construct_id)
    name = re.sub(r"[^A-Za-z0-9]+", "_", words).strip("_").lower()
    if not name:
        raise ConstructPropsError(f"construct id {construct_id!r} gives no Terraform name; use letters or digits")
    return name if not name[0].isdigit() else f"_{name}"


class NamedConstruct(Construct):
    """Base of the L2 constructs: names every Terraform resource it creates (see the module docstring).

    Each read of a resource's attribute (`bucket.arn`) and each call on a construct is a round trip to jsii's
    Node.js process, the bulk of a synth's time: an L2's attributes are `cached_property`s, and what Python knows
    (the enclosing construct, the stack) is not asked of jsii."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self._scope = scope
        owner = _enclosing_named_construct(scope)
        own = snake_case(construct_id)
        self.terraform_name = f"{owner.terraform_name}_{own}" if owner else own
        # Resources only (data sources hold no state), each with what follows this construct's name.
        self._named_resources: list[tuple[TerraformElement, str]] = []
        self._children: list[NamedConstruct] = []
        if owner:
            owner._children.append(self)

    def _name(self, element: Element, suffix: str = "", *, resource: bool = True) -> Element:
        """Give `element` this construct's name (plus `_suffix` when one type occurs twice here)."""
        tail = f"_{suffix}" if suffix else ""
        element.override_logical_id(self.terraform_name + tail)
        if resource:
            self._named_resources.append((element, tail))
        return element

    def _adopt(self, element: TerraformElement, import_id: str) -> None:
        """An `import` block: Terraform takes over the live resource `import_id` at this element's address."""
        ImportBlocks.of(self).add(f"{element.terraform_resource_type}.{element.friendly_unique_id}", import_id)

    def renamed_from(self, old_name: str) -> None:
        """Declare that this construct used to be named `old_name` (its snake_case Terraform name).

        Every resource it and its inner constructs created moves: `aws_s3_bucket.<old_name>` ->
        `aws_s3_bucket.<new name>`, `aws_iam_role.<old_name>_role` -> ..., as `moved` blocks, so Terraform
        renames state instead of destroying and recreating the resources.
        """
        if not TERRAFORM_NAME.match(old_name):
            raise ConstructPropsError(
                f"{self.node.path}: renamed_from({old_name!r}) needs the old Terraform name, in snake_case")
        for element, suffix in self._resource_names():
            kind = element.terraform_resource_type
            declare_move(self, f"{kind}.{old_name}{suffix}", f"{kind}.{self.terraform_name}{suffix}")

    def _resource_names(self) -> list[tuple[TerraformElement, str]]:
        """Each resource with the part of its name after this construct's name."""
        named = list(self._named_resources)
        for child in self._children:
            named += [(element, child.terraform_name[len(self.terraform_name):] + suffix)
                      for element, suffix in child._resource_names()]
        return named


class _StackBlocks(Construct):
    """Top-level blocks of one stack collected from its constructs, written once per change as an override."""

    ID = ""
    KEY = ""

    def __init__(self, stack: TerraformStack) -> None:
        super().__init__(stack, self.ID)
        self._stack = stack
        self.blocks: dict[str, str] = {}

    @classmethod
    def of(cls, scope: Construct) -> Self:
        stack = _stack_of(scope)
        blocks = _BLOCKS.setdefault(stack, {})
        if cls not in blocks:
            blocks[cls] = cls(stack)
        return blocks[cls]

    def _write(self) -> None:
        self._stack.add_override(self.KEY, [self._block(key, value) for key, value in sorted(self.blocks.items())])

    def _block(self, key: str, value: str) -> dict[str, str]:
        raise NotImplementedError


# Each stack's blocks, kept here rather than looked up in the construct tree (three calls into jsii).
_BLOCKS: weakref.WeakKeyDictionary[TerraformStack, dict[type[_StackBlocks], _StackBlocks]] = weakref.WeakKeyDictionary()


def _stack_of(scope: Construct) -> TerraformStack:
    while isinstance(scope, NamedConstruct):
        scope = scope._scope
    return scope if isinstance(scope, TerraformStack) else TerraformStack.of(scope)


class MovedBlocks(_StackBlocks):
    """The `moved` blocks of one stack, written into its Terraform JSON as `"moved": [{"from", "to"}]`."""

    ID, KEY = "MovedBlocks", "moved"

    def add(self, from_address: str, to_address: str) -> None:
        for address in (from_address, to_address):
            kind, dot, name = address.partition(".")
            if not dot or kind == "data" or not TERRAFORM_NAME.match(kind) or not INSTANCE_NAME.fullmatch(name):
                raise ConstructPropsError(
                    f"moved block {from_address} -> {to_address}: {address!r} is not a resource address "
                    "`<type>.<name>`, or an instance of one, `<type>.<name>[0]` or `<type>.<name>[\"key\"]` (data "
                    "sources hold no state and never need a move)")
        if from_address.split(".")[0] != to_address.split(".")[0]:
            raise ConstructPropsError(
                f"moved block {from_address} -> {to_address}: Terraform moves state only between addresses "
                "of the same resource type")
        if "[" in from_address + to_address and from_address.split("[")[0] != to_address.split("[")[0]:
            # What the refactor guard follows: renaming a resource and re-keying its instances are two moves.
            raise ConstructPropsError(
                f"moved block {from_address} -> {to_address}: an instance moves here only to another key of its own "
                "resource; rename the resource with a moved block of its own (or renamed_from), and re-key its "
                "instances under the new name")
        if self.blocks.get(from_address, to_address) != to_address:
            raise ConstructPropsError(
                f"{from_address} is moved twice, to {self.blocks[from_address]} and to {to_address}; keep one")
        self.blocks[from_address] = to_address
        self._write()

    def _block(self, key: str, value: str) -> dict[str, str]:
        return {"from": key, "to": value}


class ImportBlocks(_StackBlocks):
    """The `import` blocks of one stack (Terraform 1.5 and later): `"import": [{"to", "id"}]`.

    Written directly rather than with cdktf's `importFrom`, which runs `terraform version` during synth.
    """

    ID, KEY = "ImportBlocks", "import"

    def add(self, address: str, import_id: str) -> None:
        self.blocks[address] = import_id
        self._write()

    def _block(self, key: str, value: str) -> dict[str, str]:
        return {"to": key, "id": value}


def declare_move(scope: Construct, from_address: str, to_address: str) -> None:
    """Record a `moved` block in the stack of `scope`: state at `from_address` now belongs to `to_address`."""
    if from_address != to_address:
        MovedBlocks.of(scope).add(from_address, to_address)


def _enclosing_named_construct(scope: Construct) -> NamedConstruct | None:
    if isinstance(scope, (NamedConstruct, TerraformStack)):  # most often: known here, no call into jsii
        return scope if isinstance(scope, NamedConstruct) else None
    for ancestor in reversed(scope.node.scopes):
        if isinstance(ancestor, NamedConstruct):
            return ancestor
        if isinstance(ancestor, TerraformStack):
            return None
    return None


def check_unique_addresses(stack: TerraformStack, layer: str, synthesized: dict | None = None) -> None:
    """Refuse two elements with one address (cdktf would merge them silently), hashed default names, and names
    Terraform refuses or cdktf shortened from the construct's id.

    Given the stack's synthesized configuration, read from it (each address once, with its construct path), which
    costs one call into jsii instead of four per element: only when the tree holds more resources and data sources
    than the configuration (two merged into one address) is the tree walked to name them. Outputs carry no path in
    the configuration: theirs are read from the tree."""
    if synthesized is None:
        _check_tree(stack, layer)
        return
    addresses: dict[str, str] = {}
    for kind, prefix in (("resource", ""), ("data", "data.")):
        for element_type, elements in synthesized.get(kind, {}).items():
            if kind == "data" and element_type == "terraform_remote_state":
                continue  # remote state: not a TerraformDataSource, named by the layer it reads
            for name, body in elements.items():
                path = body.get("//", {}).get("metadata", {}).get("path", "")
                if path:
                    _check_name(layer, f"{prefix}{element_type}", name, path)
                elif not TERRAFORM_IDENTIFIER.fullmatch(name):
                    _check_tree(stack, layer)  # a configuration without metadata names no construct
                addresses[f"{prefix}{element_type}.{name}"] = path
    _check_moves(layer, synthesized.get("moved", []), addresses)
    hashed = [(address, path) for address, path in addresses.items() if HASH_SUFFIX.search(address)]
    if hashed and hashed[0][1]:
        raise _hashed(layer, hashed[0][1], hashed[0][0])
    constructs = stack.node.find_all()
    _check_outputs(constructs, layer)
    elements = [construct for construct in constructs if isinstance(construct, (TerraformResource, TerraformDataSource))]
    if hashed or len(elements) != len(addresses):  # (a configuration without metadata names no path)
        _check_tree(stack, layer)


def _check_moves(layer: str, moves: list[dict[str, str]], addresses: dict[str, str]) -> None:
    """Terraform refuses to plan a move whose source is still declared ("Moved object still exists"), and two moves
    into one address or out of one ("Ambiguous move statements")."""
    sources_by_target: dict[str, str] = {}
    targets_by_source: dict[str, str] = {}
    for move in moves:
        source, target = move.get("from"), move.get("to")
        other_target = targets_by_source.setdefault(source, target)
        if other_target != target:
            raise AddressError(layer, (
                f"moved blocks {source} -> {other_target} and {source} -> {target}: Terraform refuses to move one "
                "address to two; keep the move to where the resource is declared now"))
        earlier = sources_by_target.setdefault(target, source)
        if earlier != source:
            raise AddressError(layer, (
                f"moved blocks {earlier} -> {target} and {source} -> {target}: Terraform refuses two moves into one "
                "address; for a construct renamed twice, chain them: keep renamed_from with the name it had last, "
                f"and move the older name to that one with stack.moved (e.g. stack.moved(\"{earlier}\", \"{source}\") "
                f"if {source} is the newer)"))
        if source in addresses and target.split("[")[0] != source:  # to a key of itself: its for_each is new
            raise AddressError(layer, (
                f"moved block {source} -> {target}: {source} is still declared (by {addresses[source] or 'a construct'}"
                "), and Terraform refuses to move what still exists; the move belongs only after that construct is "
                f"renamed or removed, so drop the moved block (or the construct that still declares {source})"))


def _check_tree(stack: TerraformStack, layer: str) -> None:
    seen: dict[str, str] = {}
    constructs = stack.node.find_all()
    for construct in constructs:
        if isinstance(construct, TerraformResource):
            element = construct.terraform_resource_type
        elif isinstance(construct, TerraformDataSource):
            element = f"data.{construct.terraform_resource_type}"
        else:
            continue
        name, path = construct.friendly_unique_id, construct.node.path
        _check_name(layer, element, name, path)
        address = f"{element}.{name}"
        if address in seen:
            raise AddressError(layer, f"{seen[address]} and {path} both get the Terraform address {address}; "
                               "give one of the constructs another id")
        if HASH_SUFFIX.search(address):
            raise _hashed(layer, path, address)
        seen[address] = path
    _check_outputs(constructs, layer)


def _check_outputs(constructs: list[Construct], layer: str) -> None:
    for construct in constructs:
        if isinstance(construct, TerraformOutput):
            _check_name(layer, "output", construct.friendly_unique_id, construct.node.path)


def _check_name(layer: str, element: str, name: str, path: str) -> None:
    """Refuse a name Terraform does not load, and a construct id cdktf shortened into another name silently."""
    address = f"{element}.{name}"
    if not TERRAFORM_IDENTIFIER.fullmatch(name):
        raise AddressError(layer, f"{path} gets the Terraform name {address}, which Terraform refuses; {_NAME_RULE}")
    construct_id = path.rpartition("/")[2]
    if construct_id != name and DROPPED_FROM_IDS.sub("", construct_id) == name:
        raise AddressError(layer, f"{path}: cdktf would shorten the id {construct_id!r} to the Terraform name "
                           f"{address}; {_NAME_RULE}")


_NAME_RULE = "name it with a letter or `_` first, then only letters, digits, `_` and `-`"


def _hashed(layer: str, path: str, address: str) -> AddressError:
    return AddressError(
        layer, f"{path} has cdktf's hashed address {address}; create the resource inside an L2 "
        "construct (aws_constructs.addresses.NamedConstruct) or call override_logical_id on it")
