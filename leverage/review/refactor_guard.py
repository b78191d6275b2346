"""Drift by consequence: what `terraform apply` would do to live resources when fresh layers replace the committed ones.

The committed `main.tf.json` of each generated layer is compared with a fresh synth address by address, the way
Terraform compares configuration with state (assuming the committed layers are what was applied):

- an address only in the fresh synth is a **create** (an **import** when an `import` block adopts it);
- an address in both whose arguments differ is an **update in place**, or a **replace** (destroy, then create)
  when an argument the provider cannot change in place differs (the caller's `ResourceLifecycle`: for
  AWS, the provider's ForceNew arguments of the types these layers use), or **manual** when the provider would
  try an update that cannot succeed (the lifecycle's `impossible_change`): only replacing it by hand applies it;
- a resource whose forcing argument references a replaced resource (its name or ARN) is replaced too, and so on
  transitively within the layer: the referenced value is unknown until the replacement exists, and the provider
  replaces on any change of such an argument;
- an address that a `moved` block of the fresh synth (in its `addresses.tf`) maps to another is a **move**: state only;
- an address only in the committed layers is a **destroy**.

Undeclared moves. A stateful resource (its data lives in it) that leaves one address and
appears at another without a `moved` block would be destroyed and recreated empty. The heuristic that spots
it: the same resource type with the same identifying argument (the AWS name: `name`, `bucket`; `description`
for KMS keys) disappears at one address and appears at another, in the same layer or in another (a move between
layers is a move between state files, which a `moved` block cannot express). References are compared after the
renames are applied, so renaming a resource does not make everything that references it look changed.

`synth` refuses any destroy or replace of a stateful resource unless `--allow-destroy` is given; `check`
reports every change with its consequence.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from collections.abc import Mapping, Set as AbstractSet
from typing import Any, Protocol

from leverage.render import state_blocks
from leverage.errors import UserError
from leverage.write.content import ADDRESSES_FILE, marker_prefix

LAYER_FILE = "main.tf.json"

class ResourceLifecycle(Protocol):
    """What the provider does with each resource type, given by the caller: this package knows no AWS service
    (aws_constructs.lifecycle describes the AWS provider's types)."""

    # Resource type -> the argument that names the live resource (None: nothing unique to match by).
    stateful_types: Mapping[str, str | None]
    # Resource type -> top-level arguments whose change makes the provider replace the resource.
    replacing_arguments: Mapping[str, AbstractSet[str]]

    def impossible_change(self, kind: str, old: dict[str, Any], new: dict[str, Any]) -> str | None:
        """Why the provider cannot apply this in-place change (it plans an update the service refuses), or None."""


CREATE, IMPORT, UPDATE, REPLACE, DESTROY, MOVE, MANUAL = (
    "create", "import", "update", "replace", "destroy", "move", "manual")
CONSEQUENCE = {CREATE: "create", IMPORT: "create (import)", UPDATE: "update in place", REPLACE: "destroy/replace",
               DESTROY: "destroy/replace", MOVE: "none, state only", MANUAL: "fails: replace it by hand"}
REFERENCE = re.compile(r"\b(?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z_][\w-]*")


@dataclass(frozen=True)
class ResourceChange:
    layer: str  # folder relative to the Leverage root
    action: str  # create, import, update, replace, destroy or move
    address: str  # where the resource is after the change (before it, for destroy)
    stateful: bool
    detail: str = ""
    from_address: str | None = None  # for moves, and for destroys that are undeclared moves
    undeclared_move: bool = False

    @property
    def consequence(self) -> str:
        return CONSEQUENCE[self.action]

    @property
    def destructive(self) -> bool:
        """Data would be lost: a stateful resource is destroyed or replaced, or must be replaced by hand."""
        return self.action == MANUAL or self.stateful and self.action in (REPLACE, DESTROY)

    def by_hand(self, where: bool = True) -> str:
        """What the user must do for a change the provider cannot apply (`where`: naming the layer's folder)."""
        folder = f" in {self.layer}" if where else ""
        return (f"replace it by hand: `leverage tf apply -replace={self.address}`{folder} (it is recreated "
                "empty: copy out what it holds first)") if self.action == MANUAL else ""


@dataclass(frozen=True)
class _Resource:
    layer: str
    address: str
    body: dict[str, Any]

    @property
    def type(self) -> str:
        return self.address.split(".")[0]

    def identity(self, lifecycle: ResourceLifecycle) -> tuple[str, ...] | None:
        argument = lifecycle.stateful_types.get(self.type)
        value = self.body.get(argument) if argument else None
        if not isinstance(value, str) or not value:
            return None
        # A value taken from a reference (`${...}`) means the same only within its layer.
        return (self.type, value, self.layer) if "${" in value else (self.type, value)


def compare(root: Path, desired: dict[str, Any], lifecycle: ResourceLifecycle) -> list[ResourceChange]:
    """Every resource change between the layers in `root` and the `desired` files (path -> content)."""
    layers = {}
    for relative, content in sorted(desired.items()):
        if Path(relative).name == LAYER_FILE and isinstance(content, bytes):
            folder = Path(relative).parent
            new = json.loads(content)
            blocks = desired.get((folder / ADDRESSES_FILE).as_posix())
            if isinstance(blocks, bytes):
                new.update(state_blocks.parse(blocks.decode("utf-8")))
            layers[folder.as_posix()] = (_committed(root / relative), new)
    return compare_configs(layers, lifecycle)


def compare_configs(layers: dict[str, tuple[dict[str, Any], dict[str, Any]]],
                    lifecycle: ResourceLifecycle) -> list[ResourceChange]:
    """layer folder -> (committed config, new config): the changes, undeclared moves paired across layers."""
    changes: list[ResourceChange] = []
    removed: list[_Resource] = []
    added: list[_Resource] = []
    for layer, (old, new) in layers.items():
        layer_changes, layer_removed, layer_added = _compare_layer(layer, old, new, lifecycle)
        changes += layer_changes
        removed += layer_removed
        added += layer_added
    stateful = lifecycle.stateful_types
    appearing = {resource.identity(lifecycle): resource for resource in added if resource.identity(lifecycle)}
    paired: set[tuple[str, str]] = set()
    for resource in removed:
        identity = resource.identity(lifecycle)
        twin = appearing.get(identity) if identity else None
        if twin is None:
            changes.append(ResourceChange(resource.layer, DESTROY, resource.address, resource.type in stateful,
                                          "no longer in the layer"))
            continue
        paired.add((twin.layer, twin.address))
        where = (f"in layer {twin.layer} at {twin.address}" if twin.layer != resource.layer else f"at {twin.address}")
        kind, name = identity[:2]
        how = ("a moved block cannot cross layers (state files): move the state by hand or adopt it there, "
               "see docs/addresses.md" if twin.layer != resource.layer else
               f"declare the move (`renamed_from(...)` on the construct, or the stack's `moved({resource.address!r}, "
               f"{twin.address!r})`)")
        changes.append(ResourceChange(
            resource.layer, DESTROY, resource.address, True,
            f"would destroy and recreate {kind} {name}: it leaves {resource.address} and appears {where} "
            f"without a moved block; {how}", from_address=resource.address, undeclared_move=True))
    for resource in added:
        if (resource.layer, resource.address) in paired:
            changes.append(ResourceChange(resource.layer, CREATE, resource.address, True,
                                          f"recreated empty: the undeclared move from the resource above",
                                          undeclared_move=True))
        else:
            changes.append(ResourceChange(resource.layer, CREATE, resource.address, resource.type in stateful))
    order = {layer: index for index, layer in enumerate(layers)}
    return sorted(changes, key=lambda change: (order[change.layer], change.address, change.action))


def _compare_layer(layer: str, old: dict[str, Any], new: dict[str, Any], lifecycle: ResourceLifecycle
                   ) -> tuple[list[ResourceChange], list[_Resource], list[_Resource]]:
    old_resources, new_resources = _resources(old), _resources(new)
    moves = _resolved_moves(new)
    imported = {block.get("to") for block in new.get("import", [])}
    renames = {source: target for source, target in moves.items() if source in old_resources}
    renames.update(_renamed_data_sources(old, new, renames))
    changes, removed, added = [], [], []
    targets = set()
    for address, body in old_resources.items():
        target = moves.get(address, address)
        if target not in new_resources:
            removed.append(_Resource(layer, address, body))
            continue
        targets.add(target)
        stateful = target.split(".")[0] in lifecycle.stateful_types
        if target != address:
            changes.append(ResourceChange(layer, MOVE, target, stateful, from_address=address))
        change = _argument_change(layer, target, _renamed(body, renames), new_resources[target], lifecycle)
        if change:
            changes.append(change)
    for address, body in new_resources.items():
        if address in targets:
            continue
        if address in imported:
            changes.append(ResourceChange(layer, IMPORT, address, address.split(".")[0] in lifecycle.stateful_types,
                                          "adopts the live resource (import block)"))
        else:
            added.append(_Resource(layer, address, body))
    existing = {address: body for address, body in new_resources.items() if address in targets}
    return _replaced_through_references(layer, changes, existing, lifecycle), removed, added


def _argument_change(layer: str, address: str, old: dict[str, Any], new: dict[str, Any],
                     lifecycle: ResourceLifecycle) -> ResourceChange | None:
    differing = sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))
    if not differing:
        return None
    kind = address.split(".")[0]
    replacing = [key for key in differing if key in lifecycle.replacing_arguments.get(kind, ())]
    stateful = kind in lifecycle.stateful_types
    if replacing:
        return ResourceChange(layer, REPLACE, address, stateful,
                              f"{', '.join(replacing)} changes, which the provider cannot change in place")
    impossible = lifecycle.impossible_change(kind, old, new)
    if impossible:
        return ResourceChange(layer, MANUAL, address, stateful, impossible)
    return ResourceChange(layer, UPDATE, address, stateful, f"changes {', '.join(differing)}")


def _replaced_through_references(layer: str, changes: list[ResourceChange], resources: dict[str, dict[str, Any]],
                                 lifecycle: ResourceLifecycle) -> list[ResourceChange]:
    """`changes` with every resource replaced whose forcing argument references a replaced one, transitively."""
    by_address = {change.address: change for change in changes if change.action in (UPDATE, REPLACE, MANUAL)}
    replaced = [address for address, change in by_address.items() if change.action == REPLACE]
    pending = list(replaced)
    while pending:
        cause = pending.pop(0)
        for address, body in resources.items():
            if address in replaced:
                continue
            kind = address.split(".")[0]
            forcing = [key for key in sorted(lifecycle.replacing_arguments.get(kind, ()))
                       if cause in _references(body.get(key))]
            if forcing:
                replaced.append(address)
                pending.append(address)
                by_address[address] = ResourceChange(
                    layer, REPLACE, address, kind in lifecycle.stateful_types,
                    f"{', '.join(forcing)} references {cause}, which is replaced")
    kept = [change for change in changes if change.action not in (UPDATE, REPLACE, MANUAL)
            or by_address[change.address] is change]
    added = [change for change in by_address.values() if change not in kept]
    return kept + added


def _references(node: Any) -> set[str]:
    if isinstance(node, str):
        return set(REFERENCE.findall(node))
    if isinstance(node, dict):
        return set().union(*(_references(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_references(value) for value in node))
    return set()


def live_names(config: dict[str, Any], lifecycle: ResourceLifecycle) -> list[tuple[str, ...]]:
    """(type, AWS name) of each resource of `config` that holds data and is named literally (unique in AWS)."""
    identities = (_Resource("", address, body).identity(lifecycle) for address, body in _resources(config).items())
    return [identity for identity in identities if identity is not None and len(identity) == 2]


def _resources(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{kind}.{name}": body for kind, items in config.get("resource", {}).items() for name, body in items.items()}


def _resolved_moves(config: dict[str, Any]) -> dict[str, str]:
    """from -> final to, following chains (a -> b, b -> c)."""
    direct = {block["from"]: block["to"] for block in config.get("moved", [])}
    resolved = {}
    for source in direct:
        target, seen = direct[source], {source}
        while target in direct and target not in seen:
            seen.add(target)
            target = direct[target]
        resolved[source] = target
    return resolved


def _renamed_data_sources(old: dict[str, Any], new: dict[str, Any], renames: dict[str, str]) -> dict[str, str]:
    """Data sources hold no state; a renamed one is recognised by its unchanged arguments."""
    old_data = {f"data.{kind}.{name}": body for kind, items in old.get("data", {}).items() for name, body in items.items()}
    new_data = {f"data.{kind}.{name}": body for kind, items in new.get("data", {}).items() for name, body in items.items()}
    found: dict[str, str] = {}
    for _ in range(3):  # data sources may reference renamed data sources
        mapping = {**renames, **found}
        unmatched = {address: body for address, body in new_data.items() if address not in old_data}
        for address, body in old_data.items():
            if address in new_data or address in found:
                continue
            normalized = _renamed(body, mapping)
            for candidate, candidate_body in unmatched.items():
                if candidate.split(".")[1] == address.split(".")[1] and candidate_body == normalized \
                        and candidate not in found.values():
                    found[address] = candidate
                    break
    return found


def _renamed(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, str):
        return REFERENCE.sub(lambda match: renames.get(match.group(0), match.group(0)), node)
    if isinstance(node, dict):
        return {key: _renamed(value, renames) for key, value in node.items()}
    if isinstance(node, list):
        return [_renamed(value, renames) for value in node]
    return node


def _committed(path: Path) -> dict[str, Any]:
    """The layer as generated before, or nothing when there is none (a new layer: everything is created)."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    marker = config.get("//") if isinstance(config, dict) else None
    return config if isinstance(marker, str) and marker.startswith(marker_prefix()) else {}


def refuse_destruction(changes: list[ResourceChange]) -> None:
    """`synth` stops before writing anything when the new layers would lose data."""
    destructive = sorted((change for change in changes if change.destructive), key=lambda c: not c.undeclared_move)
    if not destructive:
        return
    first = destructive[0]
    more = f" (and {len(destructive) - 1} more; `main.py check` lists them)" if len(destructive) > 1 else ""
    if first.action == MANUAL:
        raise UserError(f"layer {first.layer}: {first.address}: {first.detail}{more}; nothing was written",
                        fix="undo the change, or pass --allow-destroy to write it and then "
                            + first.by_hand(where=False))
    what = first.detail if first.undeclared_move else (
        f"{first.action} of {first.address}: {first.detail}, and it holds data")
    raise UserError(f"layer {first.layer}: {what}{more}; nothing was written",
                    fix="declare the move in the stack, or pass --allow-destroy if losing the data is intended")


def allowed(changes: list[ResourceChange]) -> list[str]:
    """What `synth --allow-destroy` wrote that destroys data or needs a hand: one line each."""
    lines = []
    for change in changes:
        if change.destructive:
            what = change.detail if change.undeclared_move else f"{change.action} of {change.address}: {change.detail}"
            lines.append(f"layer {change.layer}: {what}" + (f"; {change.by_hand()}" if change.by_hand() else ""))
    return lines


def as_text(changes: list[ResourceChange]) -> str:
    if not changes:
        return ""
    out = ["resources (what `leverage tf apply` of the new layers would do):\n"]
    layer = None
    for change in changes:
        if change.layer != layer:
            layer = change.layer
            out.append(f"  {layer}\n")
        subject = f"{change.from_address} -> {change.address}" if change.action == MOVE else change.address
        flag = "  DESTRUCTIVE" if change.destructive else ""
        detail = f": {change.detail}" if change.detail else ""
        detail += f"; {change.by_hand()}" if change.by_hand() else ""
        out.append(f"    {change.action:<8} {subject} [{change.consequence}]{detail}{flag}\n")
    destructive = sum(change.destructive for change in changes)
    if destructive:
        out.append(f"{destructive} destructive change(s): a stateful resource would be destroyed and recreated\n")
    return "".join(out)


def as_json(changes: list[ResourceChange]) -> list[dict[str, Any]]:
    return [{**asdict(change), "consequence": change.consequence, "destructive": change.destructive}
            for change in changes]
