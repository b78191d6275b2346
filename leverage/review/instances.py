"""A resource's instances: what a changed `count` or `for_each` does to each, compared key by key where the
configuration spells the keys out, as Terraform plans it (an unkeyed instance moves to `[0]` when a `count`
appears, and to no key when a `for_each` does)."""
from __future__ import annotations

import json
import re
from collections.abc import Mapping, Set as AbstractSet
from typing import Any

from leverage.review.changes import CREATE, DESTROY, MOVE, REPLACE, UPDATE, ResourceChange

_TOSET = re.compile(r"^\$\{(?P<open>(?:toset\()+)(?P<items>\[.*\])(?P<close>\)+)\}$", re.DOTALL)
INSTANCE_META = ("count", "for_each")
UNKEYED = object()  # the one instance of a resource without count or for_each


def instance_changes(folder: str, address: str, before: dict[str, Any], after: dict[str, Any], name: str,
                     moves: Mapping[str, str], stateful: bool, replacing: AbstractSet[str]
                     ) -> tuple[list[ResourceChange], dict[str, Any], dict[str, Any]]:
    """The instances a changed `count` or `for_each` destroys, creates, moves (a `moved` block from one instance
    to another) or replaces, and the bodies left to compare argument by argument (without them: accounted for
    here). `replacing`: the arguments the provider cannot change in place, for the resource's type."""
    if all(before.get(meta) == after.get(meta) for meta in INSTANCE_META):
        return [], before, after
    rest_before = {key: value for key, value in before.items() if key not in INSTANCE_META}
    rest_after = {key: value for key, value in after.items() if key not in INSTANCE_META}
    old_keys, new_keys = _instance_keys(before), _instance_keys(after)
    if old_keys is None or new_keys is None:
        shown = {side: {meta: body[meta] for meta in INSTANCE_META if meta in body}
                 for side, body in (("before", before), ("after", after))}
        return [ResourceChange(folder, REPLACE, address, stateful,
                               f"{json.dumps(shown['before'])} becomes {json.dumps(shown['after'])}: the instances "
                               "whose keys are gone would be destroyed, and which they are is not known before "
                               "the plan", name=name)], rest_before, rest_after
    # Terraform moves the one instance to [0] when a count appears, and back when it goes.
    if UNKEYED in old_keys and "count" in after:
        old_keys = {0: None}
    if UNKEYED in new_keys and "count" in before:
        new_keys = {0: None}
    gone = [_instance(address, key) for key in sorted(set(old_keys) - set(new_keys), key=_key_order)]
    added = [_instance(address, key) for key in sorted(set(new_keys) - set(old_keys), key=_key_order)]
    moved = {instance: moves[instance] for instance in gone if moves.get(instance) in added}
    changes = [ResourceChange(folder, MOVE, to, stateful, from_address=instance, name=name)
               for instance, to in moved.items()]
    changes += [ResourceChange(folder, DESTROY, instance, stateful, "its key is no longer in the count or for_each",
                               name=name) for instance in gone if instance not in moved]
    changes += [ResourceChange(folder, CREATE, instance, stateful, "a new key", name=name)
                for instance in added if instance not in moved.values()]
    reading = sorted(argument for argument, value in rest_after.items() if "each.value" in json.dumps(value))
    forcing = [argument for argument in reading if argument in replacing]
    for key in sorted(set(old_keys) & set(new_keys), key=_key_order):
        if reading and old_keys[key] != new_keys[key]:
            action = REPLACE if forcing else UPDATE
            changes.append(ResourceChange(folder, action, _instance(address, key), stateful,
                                          f"its for_each value changes, which {', '.join(forcing or reading)} "
                                          "read (each.value)" + (", and the provider cannot change that in place"
                                                                 if forcing else ""), name=name))
    return changes, rest_before, rest_after



def _instance_keys(body: dict[str, Any]) -> dict[Any, Any] | None:
    """The instances a resource's literal `count` or `for_each` gives, key -> its `each.value`; None when an
    expression decides them. Without either, its one instance is `[0]` for Terraform when a `count` appears or goes
    (it moves it there on its own), and UNKEYED otherwise."""
    count, for_each = body.get("count"), body.get("for_each")
    if count is None and for_each is None:
        return {UNKEYED: None}
    if for_each is None:
        return {index: None for index in range(count)} if isinstance(count, int) and not isinstance(count, bool) \
            else None
    if isinstance(for_each, dict):
        return None if any("${" in key for key in for_each) else dict(for_each)
    found = _TOSET.match(for_each) if isinstance(for_each, str) else None
    if found is None or len(found["open"]) != len("toset(") * len(found["close"]):
        return None
    try:
        items = json.loads(found["items"])
    except ValueError:
        return None
    if isinstance(items, list) and all(isinstance(item, str) and "${" not in item for item in items):
        return {item: item for item in items}
    return None


def _instance(address: str, key: Any) -> str:
    return address if key is UNKEYED else f"{address}[{json.dumps(key)}]"


def _key_order(key: Any) -> str:
    return "" if key is UNKEYED else json.dumps(key)
