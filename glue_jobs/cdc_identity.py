"""Table identity: which DynamoDB table a lakehouse table holds, told by its key schema (pure Python).

Replacing a DynamoDB table under the same name (a change of its keys requires it) deletes its items without a
single REMOVE record, and the new table's changes arrive in the same folder. So the lakehouse table keeps the key
schema it holds (table property `cdc.keys`) and a *generation*: the number of the DynamoDB table it holds under
that name (`cdc.generation`, 1 first), the event time of that table's first change (`cdc.generation-started-us`;
none for the first) and of its newest merged change (`cdc.newest-change-us`).

Changes never merge across key schemas. A run's changes at or after the current generation's start are grouped by
key schema:
- with declared keys (tables the app generates, `--tables` with `keys`): the declaration says which table holds the
  name now. Changes with other keys belong to a replaced table: counted, never merged. If the table holds other
  keys than declared, the DynamoDB table was replaced: a new generation starts.
- with discovered keys (tables a pipeline only reads): a key schema other than the table's starts a new generation
  only if all its changes come after every change of the table's keys (older ones and the run's own); groups that
  overlap in time mean the folder mixes tables, and the table fails the run (other tables are merged).
Starting a new generation keeps the old one queryable: its live items are copied to `<target>__v<n>` (n its
generation number), and `<target>` starts empty with the new keys; typed columns stay. Changes older than the
current generation's start belong to a table it replaced: counted, never merged.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

KEY_TYPES = ("S", "N", "B")


@dataclass(frozen=True, order=True)
class KeyAttribute:
    name: str
    type: str  # S, N or B


KeySchema = tuple[KeyAttribute, ...]  # sorted by name


def key_schema(pairs: list[dict] | list[tuple[str, str]]) -> KeySchema:
    attributes = [KeyAttribute(pair["name"], pair["type"]) if isinstance(pair, dict) else KeyAttribute(*pair)
                  for pair in pairs]
    return tuple(sorted(attributes))


def keys_to_json(keys: KeySchema) -> str:
    """As stored in `cdc.keys`, and as the job's Spark SQL writes a record's key schema: a sorted JSON list."""
    return json.dumps([{"name": key.name, "type": key.type} for key in keys], ensure_ascii=False,
                      separators=(",", ":"))


def keys_from_json(text: str | None) -> KeySchema:
    return key_schema(json.loads(text)) if text and text.startswith("[") else ()


def describe(keys: KeySchema) -> str:
    return "[" + ", ".join(f"{key.name}:{key.type}" for key in keys) + "]"


@dataclass(frozen=True)
class Generation:
    keys: KeySchema
    number: int = 1
    started_us: int | None = None  # event time of the first change of this DynamoDB table (None: the first table)
    newest_us: int | None = None  # the newest change merged into it


@dataclass(frozen=True)
class KeyGroup:
    """A run's changes with one key schema, at or after the current generation's start."""
    keys: KeySchema
    records: int
    first_us: int
    last_us: int
    file: str  # one file holding such changes, for messages


@dataclass(frozen=True)
class MergeStep:
    generation: Generation
    group: KeyGroup | None  # the changes merged into it (None: nothing to merge, the table is only prepared)
    archive: bool = False  # the table's current generation is copied aside and the table emptied first


@dataclass(frozen=True)
class GenerationPlan:
    steps: tuple[MergeStep, ...]
    ignored: tuple[KeyGroup, ...] = ()  # changes of a replaced table

    @property
    def final(self) -> Generation | None:
        return self.steps[-1].generation if self.steps else None


class KeySchemaMix(ValueError):
    """The table's folder holds changes with different keys interleaved in time: another table's, or garbage."""


def plan_generations(current: Generation | None, declared: KeySchema, groups: list[KeyGroup]) -> GenerationPlan:
    if declared:
        return _declared(current, declared, groups)
    ordered = sorted(groups, key=lambda group: (group.first_us, group.last_us))
    steps: list[MergeStep] = []
    generation, newest = current, current.newest_us if current else None
    for group in ordered:
        if generation is None:
            generation = Generation(group.keys)
            steps.append(MergeStep(generation, group))
        elif group.keys == generation.keys:
            steps.append(MergeStep(generation, group))
        elif newest is not None and group.first_us <= newest:  # the table's, stored or in this run
            raise KeySchemaMix(f"file {group.file} holds changes with keys {describe(group.keys)} from before a "
                               f"change with keys {describe(generation.keys)}")
        else:
            generation = Generation(group.keys, generation.number + 1, group.first_us)
            steps.append(MergeStep(generation, group, archive=True))
        newest = max(newest or 0, group.last_us)
    if not steps and current is not None:
        steps.append(MergeStep(current, None))
    return GenerationPlan(tuple(steps))


def _declared(current: Generation | None, declared: KeySchema, groups: list[KeyGroup]) -> GenerationPlan:
    ours = next((group for group in groups if group.keys == declared), None)
    ignored = tuple(group for group in groups if group.keys != declared)
    if current is not None and current.keys == declared:
        return GenerationPlan((MergeStep(current, ours),), ignored)
    number = 1 if current is None else current.number + 1
    started = None if current is None else (ours.first_us if ours else None)
    return GenerationPlan((MergeStep(Generation(declared, number, started), ours, archive=current is not None),),
                          ignored)


def archive_name(target: str, generation: Generation) -> str:
    return f"{target}__v{generation.number}"
