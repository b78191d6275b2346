"""Drift by consequence: what `terraform apply` would do to live resources when fresh layers replace the committed ones.

The committed configuration of each generated layer (main.tf.json, and config.tf's providers and remote states) is
compared with a fresh synth address by address, the way Terraform compares configuration with state (assuming the
committed layers are what was applied). References are compared by what they point at (references.py): a remote
state that reads another layer's state, or a data source whose arguments change, changes every argument that refers
to it, however it is written.

- an address only in the fresh synth is a **create** (an **import** when an `import` block adopts it);
- an address in both whose arguments differ is an **update in place**, or a **replace** (destroy, then create)
  when an argument the provider cannot change in place differs (the caller's `ResourceLifecycle`: for
  AWS, the provider's ForceNew arguments of the types these layers use), or **manual** when the provider would
  try an update that cannot succeed (the lifecycle's `impossible_change`): only replacing it by hand applies it;
- a resource whose forcing argument references a replaced resource (its name or ARN) is replaced too, and so on
  transitively within the layer: the referenced value is unknown until the replacement exists, and the provider
  replaces on any change of such an argument;
- an address that a `moved` block of the fresh synth (in its `addresses.tf`) maps to another is a **move**: state only;
- an address only in the committed layers is a **destroy**; so is each instance whose key a changed `count` or
  `for_each` drops, where the configuration spells the keys out (a **replace** of the resource where an
  expression decides them);
- a **repoint**: the resource stays, but what it is or what it refers to moves elsewhere. A remote state that reads
  another layer's state (a lake in another account: every Firehose then delivers into a new, empty lake), or a
  resource that reads, through a renamed remote state, a layer not generated here; a provider whose region changes,
  or a resource given another provider configured otherwise (its resources are looked up there, created anew,
  and the old ones left behind, outside the state, with what they hold); a change the lifecycle's `relocation`
  names (a delivery stream writing below another folder, a grant naming another account's role); an output that
  names another resource of the layer while the one it named stays (what reads it from outside follows).

Undeclared moves. A resource that leaves one address and appears at another without a `moved` block would be
destroyed and created in one apply. When both carry the same identity (the lifecycle's `identity_arguments`: the
AWS name, `bucket`; `description` for KMS keys), that is always a surprise, whatever the type: a stateful
resource is recreated empty, and for any other the destroy may delete what the create just made (an SNS topic,
with its subscriptions). The pairing works in the same layer or across layers (a move between layers is a move
between state files, which a `moved` block cannot express).

`synth` refuses what loses data or needs a hand (unless `--allow-destroy`) and any repoint (unless
`--allow-repoint`), before writing anything; `check` reports every change with its consequence.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping, Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from leverage.errors import UserError
from leverage.hcl import single_variable
from leverage.project.tfvars import blocks, parse_hcl
from leverage.render.layer_folder import noted_regions
from leverage.review.changes import (CREATE, DESTROY, IMPORT, MANUAL, MOVE, REPLACE, REPOINT, UPDATE,
                                     ResourceChange)
from leverage.review.instances import instance_changes
from leverage.review.references import (REMOTE_STATE, REFERENCE, Layer, World, interpolations, literal_or_none,
                                        resource_bodies)
from leverage.write.content import marker_prefix

LAYER_FILE = "main.tf.json"
CONFIG_FILE = "config.tf"


class ResourceLifecycle(Protocol):
    """What the provider does with each resource type, given by the caller: this package knows no AWS service
    (aws_constructs.lifecycle describes the AWS provider's types)."""

    # Resource type -> the argument that names the live resource (None: nothing unique to match by). These hold data.
    stateful_types: Mapping[str, str | None]
    # Resource type -> top-level arguments whose change makes the provider replace the resource.
    replacing_arguments: Mapping[str, AbstractSet[str]]
    # Resource type -> argument -> the type of the parent the resource lives in (the service deletes it with it).
    contained_in: Mapping[str, Mapping[str, str]]

    def impossible_change(self, kind: str, old: dict[str, Any], new: dict[str, Any]) -> str | None:
        """Why the provider cannot apply this in-place change (it plans an update the service refuses), or None."""

    def identity_arguments(self, kind: str) -> tuple[str, ...]:
        """The arguments that together name a live resource of any type (empty: nothing names it)."""

    def relocation(self, kind: str, old: dict[str, Any], new: dict[str, Any]) -> str | None:
        """How this in-place change moves what the resource reads, writes or grants to another place, or None."""


@dataclass(frozen=True)
class Surroundings:
    """What the compared layers read from around them."""

    folders_by_key: Mapping[str, str] = field(default_factory=dict)  # state key -> layer folder keeping it
    # Generated layer folders of the tree that are not compared (the compared ones may read them), as committed.
    other_layers: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    # (layer folder, Leverage variable) -> its value there (a provider's `var.region`), or None.
    variables: Callable[[str, str], str | None] = lambda folder, name: None


def committed_config(folder: Path, config_tf: dict[str, Any] | None = None) -> dict[str, Any]:
    """A layer folder as generated before (main.tf.json with config.tf's providers and remote states), or nothing
    when there is none (a new layer: everything is created). `config_tf`: its config.tf, parsed already.

    A provider's region written with a variable is the value config.tf notes for it: where its resources were
    created, whatever the var-files say now."""
    layer_file = folder / LAYER_FILE
    if not layer_file.is_file():  # a FIFO would block the read; the write refuses what is not a generated file
        return {}
    try:
        config = json.loads(layer_file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    marker = config.get("//") if isinstance(config, dict) else None
    if not (isinstance(marker, str) and marker.startswith(marker_prefix())):
        return {}
    if not (folder / CONFIG_FILE).is_file():
        return config  # not there, or what a read would block on: its providers and remote states are unknown
    try:
        text = (folder / CONFIG_FILE).read_text(encoding="utf-8")
        sections = config_sections(config_tf if config_tf is not None else parse_hcl(text, CONFIG_FILE))
    except (OSError, ValueError, UserError):
        return config  # a config.tf that is not there or not HCL: its providers and remote states are unknown
    config["provider"] = _with_noted_regions(sections["provider"], noted_regions(text))
    config["data"] = {**config.get("data", {}), **sections.get("data", {})}
    return config


def _with_noted_regions(providers: dict[str, list[dict[str, Any]]], noted: Mapping[str, str]
                        ) -> dict[str, list[dict[str, Any]]]:
    def as_generated(body: dict[str, Any]) -> dict[str, Any]:
        variable = single_variable(body.get("region"))
        return {**body, "region": noted[variable]} if variable is not None and variable in noted else body
    return {name: [as_generated(body) for body in bodies] for name, bodies in providers.items()}


def config_sections(parsed: dict[str, Any]) -> dict[str, Any]:
    """config.tf's providers and remote states (python-hcl2's form), in Terraform JSON's shape."""
    providers: dict[str, list[dict[str, Any]]] = {}
    for block in blocks(parsed, "provider"):
        for name, body in block.items():
            providers.setdefault(name, []).append(body if isinstance(body, dict) else {})
    states = {name: source for data in blocks(parsed, "data")
              for name, source in (data.get(REMOTE_STATE) or {}).items() if isinstance(source, dict)}
    sections: dict[str, Any] = {"provider": providers}
    if states:
        sections["data"] = {REMOTE_STATE: states}
    return sections


def compare_configs(layers: Mapping[str, tuple[dict[str, Any], dict[str, Any]]], lifecycle: ResourceLifecycle,
                    surroundings: Surroundings | None = None) -> list[ResourceChange]:
    """layer folder -> (committed config, new config): the changes, undeclared moves paired across layers."""
    around = surroundings or Surroundings()
    renames = {folder: _renames(old, new) for folder, (old, new) in layers.items()}
    others = {folder: Layer(folder, config) for folder, config in around.other_layers.items() if folder not in layers}
    old_world = World({**others, **{folder: Layer(folder, old, renames[folder])
                                    for folder, (old, _new) in layers.items()}}, around.folders_by_key,
                      lifecycle.identity_arguments)
    new_world = World({**others, **{folder: Layer(folder, new) for folder, (_old, new) in layers.items()}},
                      around.folders_by_key, lifecycle.identity_arguments)
    comparison = _Comparison(lifecycle, old_world, new_world, around)
    unchanged = comparison.unchanged(layers, renames)
    for folder, (old, new) in layers.items():
        if folder not in unchanged:
            comparison.layer(folder, old, new, renames[folder])
    changes = comparison.pair_moves()
    order = {layer: index for index, layer in enumerate(layers)}
    return sorted(changes, key=lambda change: (order[change.layer], not change.root_cause, change.address,
                                               change.action))


@dataclass(frozen=True)
class _Resource:
    layer: str
    address: str
    body: dict[str, Any]  # resolved
    identity: tuple[str, ...] | None
    name: str

    @property
    def type(self) -> str:
        return self.address.split(".")[0]


class _Comparison:
    def __init__(self, lifecycle: ResourceLifecycle, old: World, new: World, around: Surroundings) -> None:
        self.lifecycle, self.old, self.new, self.around = lifecycle, old, new, around
        self.changes: list[ResourceChange] = []
        self.removed: list[_Resource] = []
        self.added: list[_Resource] = []

    def stateful(self, address: str) -> bool:
        return address.split(".")[0] in self.lifecycle.stateful_types

    def resource(self, world: World, layer: str, address: str, body: dict[str, Any]) -> _Resource:
        resolved = world.resolve(layer, body)
        kind = address.split(".")[0]
        values = [resolved.get(argument) for argument in self.lifecycle.identity_arguments(kind)]
        if not values or not all(isinstance(value, str) and value for value in values):
            return _Resource(layer, address, resolved, None, "")
        shown = [world.display(layer, value) for value in values]
        # A name taken from the layer's own references means the same only within the layer.
        scoped = () if all(literal_or_none(value) for value in shown) else (layer,)
        return _Resource(layer, address, resolved, (kind, *shown, *scoped), shown[-1])

    def unchanged(self, layers: Mapping[str, tuple[dict[str, Any], dict[str, Any]]],
                  renames: Mapping[str, Mapping[str, str]]) -> set[str]:
        """The layers nothing changes for: written the same, with the same providers' settings (regions as noted)
        and remote states, and reading only layers nothing changes for (a layer written the same still changes when
        what it reads does)."""
        def sections(config: dict[str, Any]) -> tuple[Any, ...]:
            data = config.get("data", {})
            states = {name: source.get("config") for name, source in data.get(REMOTE_STATE, {}).items()}
            return (config.get("resource", {}), {kind: items for kind, items in data.items() if kind != REMOTE_STATE},
                    config.get("output", {}), states, config.get("locals", {}), config.get("variable", {}))

        same = {folder for folder, (old, new) in layers.items() if not renames[folder]
                and sections(old) == sections(new)
                and self._provider_settings(folder, old) == self._provider_settings(folder, new)}
        changed = True
        while changed:
            changed = False
            for folder in sorted(same):
                layer = self.new.layers[folder]
                read = {self.around.folders_by_key.get(layer.remote_state_key(name) or "")
                        for name in layers[folder][1].get("data", {}).get(REMOTE_STATE, {})}
                if any(producer in layers and producer not in same for producer in read):
                    same.discard(folder)
                    changed = True
        return same

    def layer(self, folder: str, old: dict[str, Any], new: dict[str, Any], renames: Mapping[str, str]) -> None:
        old_resources, new_resources = resource_bodies(old), resource_bodies(new)
        moves = _resolved_moves(new)
        imported = {block.get("to") for block in new.get("import", [])}
        moved_providers = self._moved_providers(folder, old, new)
        repointed, swapped = self._repointed_states(folder, old, new)
        changes = repointed + [change for _ref, change in moved_providers.values()]
        targets: set[str] = set()
        existing: dict[str, dict[str, Any]] = {}
        previous: dict[str, dict[str, Any]] = {}
        for address, body in old_resources.items():
            target = moves.get(address, address).split("[")[0]  # a move to an instance: instance_changes pairs it
            if target not in new_resources:
                self.removed.append(self.resource(self.old, folder, address, body))
                continue
            targets.add(target)
            before = self.resource(self.old, folder, address, body)
            after = self.resource(self.new, folder, target, new_resources[target])
            existing[target], previous[target] = after.body, before.body
            if target != address:
                changes.append(ResourceChange(folder, MOVE, target, self.stateful(target), from_address=address,
                                              name=after.name))
            provider = new_resources[target].get("provider", "aws")
            if provider in moved_providers:
                reference, _change = moved_providers[provider]
                changes.append(ResourceChange(folder, REPOINT, target, self.stateful(target), reference, name=after.name))
                continue
            instances, pairs = instance_changes(folder, target, before.body, after.body, after.name, moves,
                                                self.stateful(target), (body, new_resources[target]))
            changes += instances
            argument_changes = [change for instance, old_body, new_body in pairs
                                if (change := self._argument_change(folder, instance, old_body, new_body, after.name))]
            replaced = any(change.action in (REPLACE, MANUAL) for change in argument_changes) or \
                any(change.action == REPLACE for change in instances)
            elsewhere = None if replaced else \
                self._other_provider(folder, old, new, body.get("provider", "aws"), provider) or \
                self._other_states(folder, body, new_resources[target]) or \
                _read_through_swapped(swapped, new_resources[target], before.body, after.body)
            if elsewhere:  # a replacement is reported as one whatever it points at: --allow-repoint must not pass it
                changes.append(ResourceChange(folder, REPOINT, target, self.stateful(target), elsewhere, name=after.name))
            else:
                changes += argument_changes
        for address, body in new_resources.items():
            if address in targets:
                continue
            if address in imported:
                changes.append(ResourceChange(folder, IMPORT, address, self.stateful(address),
                                              "adopts the live resource (import block)"))
            else:
                self.added.append(self.resource(self.new, folder, address, body))
        changes += self._repointed_outputs(folder, old, new)
        self.changes += _replaced_through_references(folder, changes, existing, previous, self.lifecycle)

    def _repointed_outputs(self, folder: str, old: dict[str, Any], new: dict[str, Any]) -> list[ResourceChange]:
        """Outputs kept by name that name other resources of the layer now, while those they named stay: whatever
        reads them from outside the generated layers (a layer of the team's, a script) points at another resource
        after the apply. (An output following a resource that is destroyed or moves is that change's consequence.)"""
        found = []
        old_outputs, new_outputs = old.get("output", {}), new.get("output", {})
        staying = set(resource_bodies(new))
        for name in sorted(set(old_outputs) & set(new_outputs)):
            before = _resources_by_path(self.old.resolve(folder, old_outputs[name].get("value")))
            after = _resources_by_path(self.new.resolve(folder, new_outputs[name].get("value")))
            moved = []
            for path in sorted(set(before) & set(after), key=json.dumps):
                left, entered = sorted(before[path] - after[path]), sorted(after[path] - before[path])
                if left and entered and {address.split("[")[0] for address in left} <= staying:
                    where = "".join(f"[{json.dumps(step)}]" for step in path)
                    moved.append(f"{where + ' ' if where else ''}would name {', '.join(entered)} instead of "
                                 f"{', '.join(left)}")
            if moved:
                found.append(ResourceChange(folder, REPOINT, f"output.{name}", False, "; ".join(moved) + ": what "
                                            "reads this output from outside the generated layers then points at "
                                            "another resource"))
        return found

    def _repointed_states(self, folder: str, old: dict[str, Any], new: dict[str, Any]
                          ) -> tuple[list[ResourceChange], dict[str, tuple[str, str]]]:
        """Remote states kept by name whose state is another layer's now; and those whose names only shifted: the
        layer it read is still read under another name, or the one it reads now was read under another (sources
        reordered, added or removed), name -> (before, after), for the resources that read through them to be
        compared by what they resolve to."""
        found = []
        swapped = {}
        old_states = old.get("data", {}).get(REMOTE_STATE, {})
        new_states = new.get("data", {}).get(REMOTE_STATE, {})
        read_before = {self.old.target(folder, name) for name in old_states}
        read_after = {self.new.target(folder, name) for name in new_states}
        for name in sorted(set(old_states) & set(new_states)):
            before, after = self.old.target(folder, name), self.new.target(folder, name)
            if before and after and before != after and (before in read_after or after in read_before):
                swapped[name] = (before, after)
            elif before and after and before != after:
                address = f"data.{REMOTE_STATE}.{name}"
                users = _referring(old, address)
                found.append(ResourceChange(folder, REPOINT, address, False,
                                            f"would read the state of {after} instead of {before}: what refers to it "
                                            f"({', '.join(users) or 'nothing yet'}) then points at {after}'s "
                                            f"resources, and what {before} holds is no longer used from here"))
        return found, swapped

    def _moved_providers(self, folder: str, old: dict[str, Any], new: dict[str, Any]
                         ) -> dict[str, tuple[str, ResourceChange]]:
        """Provider reference -> (why its resources move, the provider's own change), for providers whose region
        changes, or what else decides where they are (an assumed role, a profile: tags do not)."""
        before, after = self._regions(folder, old), self._regions(folder, new)
        moved = {}
        for reference in sorted(set(before) & set(after)):
            if before[reference] and after[reference] and before[reference] != after[reference]:
                why = (f"created anew in {after[reference]} (provider {reference}); the one in {before[reference]} "
                       "stays behind, outside the state")
                provider = ResourceChange(folder, REPOINT, f"provider {reference}", False,
                                          f"region {before[reference]} -> {after[reference]}: every resource it "
                                          f"manages is created anew in {after[reference]}, and those in "
                                          f"{before[reference]} are left behind, outside the state, with what they hold")
                moved[reference] = (why, provider)
        old_settings, new_settings = self._provider_settings(folder, old), self._provider_settings(folder, new)
        for reference in sorted(set(old_settings) & set(new_settings) - set(moved)):
            changed = sorted(key for key in set(old_settings[reference]) | set(new_settings[reference])
                             if key != "region" and old_settings[reference].get(key) != new_settings[reference].get(key))
            if changed:  # another account or credentials (assume_role, profile): its resources are looked up there
                why = f"looked up anew where provider {reference} points now ({', '.join(changed)} changes)"
                provider = ResourceChange(folder, REPOINT, f"provider {reference}", False,
                                          f"{', '.join(changed)} changes: every resource it manages is looked up, and "
                                          "created anew, with the new settings (another account or credentials), and "
                                          "those it managed are left behind, outside the state, with what they hold")
                moved[reference] = (why, provider)
        return moved

    def _other_provider(self, folder: str, old: dict[str, Any], new: dict[str, Any], before: Any, after: Any
                        ) -> str | None:
        """Why a resource moved to another provider configuration (`provider` changed) is created anew: the new one
        looks for it elsewhere (another region, account or credentials). None when both are configured alike."""
        if before == after:
            return None
        old_settings, new_settings = self._provider_settings(folder, old), self._provider_settings(folder, new)
        # The one it left as configured now, or as committed when it is gone (an alias renamed, configured alike).
        where = {reference: new_settings.get(reference, old_settings.get(reference)) for reference in (before, after)}
        if where[before] is not None and where[before] == where[after]:
            return None
        shown = {reference: f" (region {settings['region']})" if settings and settings.get("region") else ""
                 for reference, settings in where.items()}
        return (f"managed by provider {after}{shown[after]} instead of {before}{shown[before]}: created anew where "
                f"{after} points, and the one {before} manages is left behind, outside the state, with what it holds")

    def _provider_settings(self, folder: str, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Provider reference -> what decides where its resources are (the region it creates them in, the account and
        credentials: not its tags, retries or endpoints)."""
        regions = self._regions(folder, config)
        settings = {}
        providers = config.get("provider")
        for name, entries in (providers.items() if isinstance(providers, dict) else ()):
            for entry in entries if isinstance(entries, list) else [entries]:
                if isinstance(entry, dict):
                    reference = f"{name}.{entry['alias']}" if entry.get("alias") else name
                    settings[reference] = {**{key: value for key, value in entry.items() if key in WHERE},
                                           "region": regions.get(reference)}
        return settings

    def _other_states(self, folder: str, before: dict[str, Any], after: dict[str, Any]) -> str | None:
        """Why a resource that now reads other remote states (by name) reads other layers: a renamed remote state
        whose key is another layer's (a remote state kept by name is compared by `_repointed_states`). Only layers
        not generated here: what a generated one holds is compared through its configuration, by the AWS names of
        its resources (a generated layer renamed, its resources named as before, moves nothing)."""
        read_before = _states_read_through(before, self.old.layers[folder].config)
        read_after = _states_read_through(after, self.new.layers[folder].config)
        if read_before == read_after:
            return None
        targets_before = {self.old.target(folder, name) for name in read_before} - {None}
        targets_after = {self.new.target(folder, name) for name in read_after} - {None}
        left, entered = sorted(targets_before - targets_after), sorted(targets_after - targets_before)
        if not left or not entered or any(target in self.new.layers for target in entered):
            return None
        return (f"would read the state of {', '.join(entered)} instead of {', '.join(left)} (remote state "
                f"{', '.join(sorted(read_after - read_before))} instead of {', '.join(sorted(read_before - read_after))}):"
                " it then points at that layer's resources")

    def _regions(self, folder: str, config: dict[str, Any]) -> dict[str, str | None]:
        regions = {}
        providers = config.get("provider")
        for name, entries in (providers.items() if isinstance(providers, dict) else ()):
            for entry in entries if isinstance(entries, list) else [entries]:
                if not isinstance(entry, dict):
                    continue
                reference = f"{name}.{entry['alias']}" if entry.get("alias") else name
                region = entry.get("region")
                variable = single_variable(region)
                regions[reference] = self.around.variables(folder, variable) if variable else literal_or_none(region)
        return regions

    def _argument_change(self, layer: str, address: str, old: dict[str, Any], new: dict[str, Any],
                         name: str) -> ResourceChange | None:
        differing = sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))
        if not differing:
            return None
        if "dynamic" in differing:  # a dynamic block is the block it generates, and forces what that block forces
            old_blocks, new_blocks = old.get("dynamic") or {}, new.get("dynamic") or {}
            generated = {block for block in set(old_blocks) | set(new_blocks)
                         if old_blocks.get(block) != new_blocks.get(block)}
            differing = sorted(set(differing) - {"dynamic"} | generated)
        kind = address.split(".")[0]
        replacing = [key for key in differing if key in self.lifecycle.replacing_arguments.get(kind, ())]
        stateful = self.stateful(address)
        if replacing:
            return ResourceChange(layer, REPLACE, address, stateful,
                                  f"{', '.join(replacing)} changes, which the provider cannot change in place", name=name)
        impossible = self.lifecycle.impossible_change(kind, old, new)
        if impossible:
            return ResourceChange(layer, MANUAL, address, stateful, impossible, name=name)
        relocated = self.lifecycle.relocation(kind, old, new)
        if relocated:
            return ResourceChange(layer, REPOINT, address, stateful, relocated, name=name)
        return ResourceChange(layer, UPDATE, address, stateful, f"changes {', '.join(differing)}", name=name)

    def pair_moves(self) -> list[ResourceChange]:
        appearing = {resource.identity: resource for resource in self.added if resource.identity}
        paired: set[tuple[str, str]] = set()
        changes = list(self.changes)
        for resource in self.removed:
            twin = appearing.get(resource.identity) if resource.identity else None
            if twin is None:
                changes.append(ResourceChange(resource.layer, DESTROY, resource.address, self.stateful(resource.address),
                                              "no longer in the layer", name=resource.name))
                continue
            paired.add((twin.layer, twin.address))
            where = f"in layer {twin.layer} at {twin.address}" if twin.layer != resource.layer else f"at {twin.address}"
            across = " (another layer's state: a moved block cannot cross layers)" if twin.layer != resource.layer else ""
            consequence = "recreated empty" if self.stateful(resource.address) else \
                "destroyed and created in one apply, and the destroy can delete what the create made"
            changes.append(ResourceChange(
                resource.layer, DESTROY, resource.address, self.stateful(resource.address),
                f"would destroy and recreate {resource.type} {resource.name}: it leaves {resource.address} and appears "
                f"{where} without a moved block{across}, so it is {consequence}", from_address=resource.address,
                undeclared_move=True, to_address=twin.address, name=resource.name))
        for resource in self.added:
            if (resource.layer, resource.address) in paired:
                changes.append(ResourceChange(resource.layer, CREATE, resource.address, self.stateful(resource.address),
                                              "recreated: the undeclared move from the resource above",
                                              undeclared_move=True, name=resource.name))
            else:
                changes.append(ResourceChange(resource.layer, CREATE, resource.address, self.stateful(resource.address),
                                              name=resource.name))
        return changes


_STATE_READ = re.compile(r"data\.terraform_remote_state\.([\w-]+)")
# The provider arguments that decide which account's resources, in which region, it manages.
WHERE = ("region", "profile", "assume_role", "assume_role_with_web_identity", "access_key", "secret_key", "token",
         "shared_config_files", "shared_credentials_files")


_RESOLVED_TOKEN = re.compile(r"⟨[^⟩]*⟩")  # what a reference resolved to (references.py)
_RESOURCE_NAMED = re.compile(r'(?<![\w.⟨:/=-])([a-z][a-z0-9]*_[a-z0-9_]*\.[A-Za-z_][\w-]*(?:\[(?:"[^"]*"|\d+)\])?)')


def _resources_by_path(value: Any, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], set[str]]:
    """Where in a (resolved) value which resources of the layer (with their instance key) are named: a map's entries
    each on their own, so that readers of one entry are seen to move; a list's together."""
    if isinstance(value, dict):
        return {found: named for key, item in value.items()
                for found, named in _resources_by_path(item, (*path, key)).items()}
    if isinstance(value, list):  # its entries as one set: an entry added, or the order changed, moves no reader
        return {path: {address for item in value for named in _resources_by_path(item).values() for address in named}}
    text = value if isinstance(value, str) else json.dumps(value)
    return {path: {address for start, end in interpolations(text)
                   for address in _RESOURCE_NAMED.findall(text[start:end])}}


def _read_through_swapped(swapped: Mapping[str, tuple[str, str]], raw: dict[str, Any], before: dict[str, Any],
                         after: dict[str, Any]) -> str | None:
    """Why a resource reading a remote state whose name reads another layer now (the names swapped) points
    elsewhere: the arguments reading it resolve to other things. None when they resolve to the same ones, perhaps
    in another order or with more besides (a policy listing the sources' tables in their new order, or one more
    source's, is an update)."""
    names = sorted(_remote_states_read(raw) & set(swapped))
    reading = [key for key, value in raw.items() if _remote_states_read({key: value}) & set(names)]
    read_before = Counter(_RESOLVED_TOKEN.findall(json.dumps([before.get(key) for key in reading], ensure_ascii=False)))
    read_after = Counter(_RESOLVED_TOKEN.findall(json.dumps([after.get(key) for key in reading], ensure_ascii=False)))
    if not read_before - read_after or not read_after - read_before:  # the same, reordered, or more besides
        return None
    return "; ".join(f"reads {swapped[name][1]} instead of {swapped[name][0]} through data.{REMOTE_STATE}.{name}, "
                     "whose name reads another layer now" for name in names)


def _remote_states_read(body: dict[str, Any]) -> set[str]:
    return set(_STATE_READ.findall(json.dumps(body)))


_THROUGH = re.compile(r"\b(?:local\.(?P<local>[A-Za-z_][\w-]*)|data\.(?P<kind>[a-z][a-z0-9_]*)\.(?P<name>[A-Za-z_][\w-]*))")


def _section(config: Any, name: str) -> dict[str, Any]:
    value = config.get(name) if isinstance(config, dict) else None
    return value if isinstance(value, dict) else {}


def _states_read_through(body: Any, config: dict[str, Any]) -> set[str]:
    """The remote states a value reads, itself or through the layer's locals and data sources."""
    found: set[str] = set()
    pending, seen = [body], set()
    while pending:
        text = json.dumps(pending.pop())
        found |= set(_STATE_READ.findall(text))
        for match in _THROUGH.finditer(text):
            step = ("local", match["local"]) if match["local"] else (match["kind"], match["name"])
            if step in seen or step[0] == REMOTE_STATE:
                continue
            seen.add(step)
            source = _section(config, "locals").get(step[1]) if step[0] == "local" else \
                _section(_section(config, "data"), step[0]).get(step[1])
            if source is not None:
                pending.append(source)
    return found


def _referring(config: dict[str, Any], address: str) -> list[str]:
    """The resources that refer to `address`, themselves or through a data source of the layer."""
    sources = {f"data.{kind}.{name}" for kind, items in config.get("data", {}).items() if kind != REMOTE_STATE
               for name, body in items.items() if address in json.dumps(body)}
    return sorted(resource for resource, body in resource_bodies(config).items()
                  if any(reference in json.dumps(body) for reference in (address, *sources)))


def _replaced_through_references(layer: str, changes: list[ResourceChange], resources: dict[str, dict[str, Any]],
                                 previous: dict[str, dict[str, Any]], lifecycle: ResourceLifecycle
                                 ) -> list[ResourceChange]:
    """`changes` with every resource replaced whose forcing argument references a replaced one, transitively. Not
    through an attribute the replaced resource's configuration spells out unchanged: Terraform plans it known, as
    before (a log group named after a replaced function's `function_name` stays); what the provider computes (`id`,
    `arn`) is unknown until the replacement is made. A resource that lives in the replaced one (a log group's
    stream, a function's permission) goes with it all the same: the service deletes it."""
    by_address = {change.address: change for change in changes
                  if change.action in (UPDATE, REPLACE, MANUAL, REPOINT) and "." in change.address}
    replaced = [address for address, change in by_address.items() if change.action == REPLACE]
    pending = list(replaced)
    while pending:
        cause = pending.pop(0)
        for address, body in resources.items():
            if address in replaced:
                continue
            kind = address.split(".")[0]
            forcing = [key for key in sorted(lifecycle.replacing_arguments.get(kind, ()))
                       if _replaces_through(body.get(key), cause, lifecycle.contained_in.get(kind, {}).get(key),
                                            resources.get(cause, {}), previous.get(cause, {}))]
            if forcing:
                replaced.append(address)
                pending.append(address)
                by_address[address] = ResourceChange(
                    layer, REPLACE, address, kind in lifecycle.stateful_types,
                    f"{', '.join(forcing)} references {cause}, which is replaced",
                    name=by_address[address].name if address in by_address else "")
    kept = [change for change in changes if change.address not in by_address or by_address[change.address] is change
            or change.action not in (UPDATE, REPLACE, MANUAL, REPOINT)]
    added = [change for change in by_address.values() if change not in kept]
    return kept + added


def _replaces_through(value: Any, cause: str, parent_type: str | None, new: dict[str, Any], old: dict[str, Any]) -> bool:
    """Whether an argument's `value` is unknown until the replaced `cause` is made again, or names it as the parent
    the resource lives in (`parent_type`); `new` and `old` are the cause's arguments."""
    return any(resource == cause and (parent_type == cause.split(".")[0]
                                      or not _known_and_unchanged(attribute, new, old))
               for resource, attribute in _referenced_attributes(value))


def _known_and_unchanged(attribute: str | None, new: dict[str, Any], old: dict[str, Any]) -> bool:
    """Whether a replaced resource's `attribute` is planned as its configuration spells it, unchanged: a value set
    there without an expression (which may stay unknown until the apply), equal to what was applied. Not a block:
    what a reference reads inside it may be computed."""
    value = new.get(attribute) if attribute is not None else None
    return isinstance(value, (str, int, float, bool)) and value == old.get(attribute) and "${" not in str(value)


def _referenced_attributes(node: Any) -> set[tuple[str, str | None]]:
    """(resource, attribute) of each reference to a resource of the layer in a (resolved) value; attribute None
    when the reference names the whole resource or indexes it."""
    if isinstance(node, str):
        found = set()
        for start, end in interpolations(node):
            text = node[start:end]
            for match in REFERENCE.finditer(text):
                if match.group("resource"):
                    attribute = _ATTRIBUTE_AFTER.match(text, match.end())
                    found.add((match.group("resource"), attribute.group("attribute") if attribute else None))
        return found
    if isinstance(node, dict):
        return set().union(*(_referenced_attributes(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_referenced_attributes(value) for value in node))
    return set()


# An attribute the reference ends with: one followed by an index or a nested name reads inside it.
_ATTRIBUTE_AFTER = re.compile(r"\.(?P<attribute>[A-Za-z_][\w-]*)(?![\w.\[-])")


def _references(node: Any) -> set[str]:
    """The resources of the layer a (resolved) value refers to."""
    if isinstance(node, str):
        return {match.group("resource") for start, end in interpolations(node)
                for match in REFERENCE.finditer(node[start:end]) if match.group("resource")}
    if isinstance(node, dict):
        return set().union(*(_references(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_references(value) for value in node))
    return set()


def literal_names(config: dict[str, Any], lifecycle: ResourceLifecycle) -> dict[str, tuple[str, ...]]:
    """address -> (type, *the values that name it) of each resource of `config` whose name is spelled out (a live
    resource unique in its account), whatever its type."""
    found = {}
    for address, body in resource_bodies(config).items():
        kind = address.split(".")[0]
        arguments = lifecycle.identity_arguments(kind)
        values = [literal_or_none(body.get(argument)) for argument in arguments]
        if arguments and all(values):
            found[address] = (kind, *values)  # type: ignore[arg-type]
    return found


def _renames(old: dict[str, Any], new: dict[str, Any]) -> dict[str, str]:
    """Old address -> new, for the resources the new configuration's `moved` blocks move."""
    old_resources = resource_bodies(old)
    return {source: target for source, target in _resolved_moves(new).items() if source in old_resources}


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
