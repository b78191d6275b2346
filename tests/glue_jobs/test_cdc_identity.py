"""Table identity (cdc_identity.py), without Spark: which changes a run merges into which generation of a table."""
from __future__ import annotations

import pytest

from cdc_identity import Generation, KeyGroup, KeySchemaMix, key_schema, plan_generations
from cdc_job import TableFailed, refuse_unstorable_keys

OLD = key_schema([("id", "B")])
NEW = key_schema([("id", "S"), ("seq", "N")])


def group(keys, first, last, file="f") -> KeyGroup:
    return KeyGroup(keys, 1, first, last, file)


def test_the_first_changes_start_the_first_generation() -> None:
    plan = plan_generations(None, (), [group(OLD, 1, 5)])
    assert plan.final == Generation(OLD) and not plan.steps[0].archive


def test_changes_with_the_tables_keys_merge_into_it() -> None:
    current = Generation(OLD, 1, None, 10)
    assert plan_generations(current, (), [group(OLD, 3, 20)]).steps[0].generation == current


def test_other_keys_after_every_change_of_the_table_start_a_new_generation() -> None:
    current = Generation(OLD, 1, None, 10)
    plan = plan_generations(current, (), [group(NEW, 30, 40), group(OLD, 11, 20)])
    assert [step.generation.keys for step in plan.steps] == [OLD, NEW]
    assert plan.steps[1].archive and plan.final == Generation(NEW, 2, 30)


@pytest.mark.parametrize("groups, stored_newest", [
    ([group(OLD, 1, 20, "a"), group(NEW, 10, 30, "b")], None),  # interleaved in the run
    ([group(NEW, 5, 30, "b")], 10),  # older than a change the table holds
])
def test_keys_that_interleave_fail_the_table_naming_a_file(groups, stored_newest) -> None:
    with pytest.raises(KeySchemaMix, match="file b holds changes with keys \\[id:S, seq:N\\]"):
        plan_generations(Generation(OLD, 1, None, stored_newest) if stored_newest else None, (), groups)


def test_declared_keys_say_which_table_holds_the_name_and_other_keys_are_never_merged() -> None:
    current = Generation(OLD, 1, None, 10)
    plan = plan_generations(current, NEW, [group(OLD, 11, 12), group(NEW, 5, 6)])
    assert plan.steps[0].archive and plan.final == Generation(NEW, 2, 5)
    assert [ignored.keys for ignored in plan.ignored] == [OLD]
    same = plan_generations(Generation(NEW, 2, 5), NEW, [group(OLD, 11, 12)])
    assert same.steps[0].group is None and not same.steps[0].archive and len(same.ignored) == 1
    first = plan_generations(None, NEW, [])
    assert first.final == Generation(NEW) and not first.steps[0].archive


@pytest.mark.parametrize("name", ["item", "Item", "cdc_event_id", "CDC_note"])
def test_a_key_named_as_a_column_the_job_adds_fails_its_table_and_says_so(name: str) -> None:
    """Read from the records of a table no --tables entry declares: the key column would overwrite the job's."""
    with pytest.raises(TableFailed, match=f"key attribute '{name}' collides with a column the job adds .* in file "
                                          "f1: the job cannot store this table; leave it out"):
        refuse_unstorable_keys("Orders", key_schema([(name, "S")]), "f1")
    refuse_unstorable_keys("Orders", key_schema([("Position", "N"), ("r", "S")]), "f1")

