"""A resource's instances: what a changed `count` or `for_each` does to each, compared key by key where the
configuration spells the keys out, as Terraform plans it (an unkeyed instance moves to `[0]` when a `count`
appears, and to no key when a `for_each` does)."""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from leverage.review.changes import CREATE, DESTROY, MOVE, REPLACE, ResourceChange

_TOSET = re.compile(r"^\$\{(?P<open>(?:toset\()+)(?P<items>\[.*\])(?P<close>\)+)\}$", re.DOTALL)
INSTANCE_META = ("count", "for_each")
_EACH_VALUE = re.compile(r"(?<![\w.])each\.value\b")
_EACH_KEY = re.compile(r"(?<![\w.])each\.key\b")
_COUNT_INDEX = re.compile(r"(?<![\w.])count\.index\b")
UNKEYED = object()  # the one instance of a resource without count or for_each


def instance_changes(folder: str, address: str, before: dict[str, Any], after: dict[str, Any], name: str,
                     moves: Mapping[str, str], stateful: bool, shown: tuple[dict[str, Any], dict[str, Any]]
                     ) -> tuple[list[ResourceChange], list[tuple[str, dict[str, Any], dict[str, Any]]]]:
    """What a changed `count` or `for_each` does to the instances: destroys, creates and moves (a `moved` block from
    one instance to another); and the pairs of bodies left to compare argument by argument, (instance, before,
    after), each instance's with its `count.index`, `each.key` and `each.value` written in (a name of
    `...-${count.index}` that becomes `...-${each.value}` may be the same name). `shown`: the bodies as written, for
    the message when an expression decides the keys."""
    if all(before.get(meta) == after.get(meta) for meta in INSTANCE_META):
        return [], [(address, before, after)]
    old_keys, new_keys = _instance_keys(before), _instance_keys(after)
    if old_keys is None or new_keys is None:
        metas = [{meta: body[meta] for meta in INSTANCE_META if meta in body} for body in shown]
        return [ResourceChange(folder, REPLACE, address, stateful,
                               f"{json.dumps(metas[0])} becomes {json.dumps(metas[1])}: the instances whose keys are "
                               "gone would be destroyed, and which they are is not known before the plan",
                               name=name)], []
    # Terraform moves the one instance to [0] when a count appears, and back when it goes.
    if UNKEYED in old_keys and "count" in after:
        old_keys = {0: None}
    if UNKEYED in new_keys and "count" in before:
        new_keys = {0: None}
    gone = {_instance(address, key): key for key in sorted(set(old_keys) - set(new_keys), key=_key_order)}
    added = {_instance(address, key): key for key in sorted(set(new_keys) - set(old_keys), key=_key_order)}
    moved = {instance: moves[instance] for instance in gone if moves.get(instance) in added}
    changes = [ResourceChange(folder, MOVE, to, stateful, from_address=instance, name=name)
               for instance, to in moved.items()]
    changes += [ResourceChange(folder, DESTROY, instance, stateful, "its key is no longer in the count or for_each",
                               name=name) for instance in gone if instance not in moved]
    changes += [ResourceChange(folder, CREATE, instance, stateful, "a new key", name=name)
                for instance in added if instance not in moved.values()]
    kept = [(key, key) for key in sorted(set(old_keys) & set(new_keys), key=_key_order)]
    kept += [(gone[instance], added[to]) for instance, to in moved.items()]
    pairs = [(_instance(address, new_key), _written_in(before, old_key, old_keys[old_key]),
              _written_in(after, new_key, new_keys[new_key])) for old_key, new_key in kept]
    return changes, pairs


def _written_in(body: dict[str, Any], key: Any, value: Any) -> dict[str, Any]:
    """An instance's arguments: its `${count.index}`, `${each.key}` and `${each.value}` written in where each is
    a whole interpolation, and a token standing for it inside a longer expression."""
    text = json.dumps({argument: item for argument, item in body.items() if argument not in INSTANCE_META})
    if key is UNKEYED:
        return json.loads(text)
    for reference, written in (("count.index", key if isinstance(key, int) else None),
                               ("each.key", key if isinstance(key, str) else None),
                               ("each.value", value if isinstance(value, (str, int, float)) else None)):
        if written is not None:
            text = text.replace("${" + reference + "}", json.dumps(str(written), ensure_ascii=False)[1:-1])
    # Inside a longer expression (`each.value.name`, `upper(each.value)`), each stands for what it is in this
    # instance: a changed value changes what reads it, however it reads it.
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]
    text = _EACH_VALUE.sub(f"⟨each.value#{digest}⟩", text)
    text = _EACH_KEY.sub(f"⟨each.key={json.dumps(key, ensure_ascii=False)[1:-1]}⟩", text) if isinstance(key, str) \
        else text
    text = _COUNT_INDEX.sub(f"⟨count.index={key}⟩", text) if isinstance(key, int) else text
    return json.loads(text)


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
    return address if key is UNKEYED else f"{address}[{json.dumps(key, ensure_ascii=False)}]"


def _key_order(key: Any) -> str:
    return "" if key is UNKEYED else json.dumps(key)
