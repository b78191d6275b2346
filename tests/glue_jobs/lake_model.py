"""An independent model of what the job's tables hold, run by run, written from the documented rules: DynamoDB's
semantics per key (the change with the greatest (time, rank, eventID) wins; REMOVE leaves a tombstone that older
changes delivered later cannot pass until it falls out of the lateness window), generations of a replaced table,
and typed columns (typed_model.py). Pure standard library."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from tests.glue_jobs.cdc_records import Change
from tests.glue_jobs.typed_model import ColumnModel

KeySchema = tuple[tuple[str, str], ...]  # sorted (name, DynamoDB type) pairs


def key_schema(change: Change) -> KeySchema:
    return tuple(sorted((name, next(iter(typed))) for name, typed in change.keys.items()))


@dataclass
class Archive:
    """A replaced DynamoDB table's items, as copied to `<target>__v<n>`."""
    live: dict[tuple, Change]
    columns: ColumnModel


@dataclass
class TableModel:
    source: str
    window_us: int
    declared_keys: KeySchema | None = None
    declared_columns: dict[str, str] = field(default_factory=dict)
    cap: int = 200
    state: dict[tuple, Change] = field(default_factory=dict)  # per key its newest change, REMOVEs until purged
    tombstones: dict[tuple, Change] = field(default_factory=dict)  # the job's tombstone table
    keys: KeySchema | None = None
    generation: int = 0
    started_us: int | None = None
    columns: ColumnModel | None = None
    archives: dict[int, Archive] = field(default_factory=dict)
    replaced_records: int = 0  # of the last run
    conflicts: dict[str, int] = field(default_factory=dict)  # of the last run
    merged: int = 0  # of the last run: the changes that changed the table

    def apply_run(self, changes: list[Change], clock_us: int, *, fails_after_first_merge: bool = False,
                  fails_before_purge: bool = False) -> None:
        """One run; `fails_after_first_merge`: it stops once its first merge into the live table has committed
        (before that merge's tombstones, other generations and the purge); `fails_before_purge`: once its merges
        have committed (in the history)."""
        self.replaced_records, self.conflicts, self.merged = 0, {}, 0
        current = [change for change in changes if self.started_us is None or change.time_us >= self.started_us]
        self.replaced_records = len(changes) - len(current)
        groups: dict[KeySchema, list[Change]] = {}
        for change in current:
            groups.setdefault(key_schema(change), []).append(change)
        if self.declared_keys:
            for schema, members in groups.items():
                if schema != self.declared_keys:
                    self.replaced_records += len(members)
            ours = groups.get(self.declared_keys, [])
            if self.keys != self.declared_keys:
                self.start_generation(self.declared_keys, min((c.time_us for c in ours), default=None))
            self.merge(ours, live_only=fails_after_first_merge)
        else:
            for schema, members in sorted(groups.items(), key=lambda pair: min(c.time_us for c in pair[1])):
                if self.keys is None:
                    self.start_generation(schema, None)
                elif schema != self.keys:
                    self.start_generation(schema, min(change.time_us for change in members))
                self.merge(members, live_only=fails_after_first_merge)
                if fails_after_first_merge:
                    break
        if fails_after_first_merge or fails_before_purge:
            return
        horizon = clock_us - self.window_us
        for table in (self.state, self.tombstones):
            for key, change in list(table.items()):
                if change.event_name == "REMOVE" and change.time_us < horizon:
                    del table[key]

    def start_generation(self, keys: KeySchema, started_us: int | None) -> None:
        if self.keys is not None:
            self.archives[self.generation] = Archive(self.live(), copy.deepcopy(self.columns))
            self.state, self.tombstones = {}, {}
            names = {name for name, _ in keys}
            self.columns.columns = {attribute: column for attribute, column in self.columns.columns.items()
                                    if column.name.lower() not in {n.lower() for n in names} and attribute not in names}
            self.columns.key_names = names
            self.started_us = started_us
        else:
            self.columns = ColumnModel({name for name, _ in keys}, dict(self.declared_columns), self.cap)
        self.keys, self.generation = keys, self.generation + 1

    def merge(self, changes: list[Change], *, live_only: bool = False) -> None:
        """Per key the newest change, unless a tombstone or the live row is as new (a change read again changes
        nothing and is not counted). `live_only`: the tombstones are not written."""
        newest: dict[tuple, Change] = {}
        for change in changes:
            if change.key not in newest or change.position > newest[change.key].position:
                newest[change.key] = change
        live = self.live()
        candidates = [change for key, change in newest.items()
                      if (key not in self.tombstones or change.position > self.tombstones[key].position)
                      and (key not in live or change.position > live[key].position)]
        self.merged += len(candidates)
        for attribute, count in self.columns.run([change.new_image for change in candidates
                                                  if change.event_name != "REMOVE"]).items():
            self.conflicts[attribute] = self.conflicts.get(attribute, 0) + count
        for change in candidates:
            if change.key not in self.state or change.position > self.state[change.key].position:
                self.state[change.key] = change
            if not live_only and change.event_name == "REMOVE" and (change.key not in self.tombstones
                                                  or change.position > self.tombstones[change.key].position):
                self.tombstones[change.key] = change

    def live(self) -> dict[tuple, Change]:
        return {key: change for key, change in self.state.items() if change.event_name != "REMOVE"}

    def snapshot(self) -> "TableModel":
        return copy.deepcopy(self)
