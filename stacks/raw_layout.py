"""Where the raw bucket holds what: the folders the lake, the datalake layers and the lakehouse job must agree on.

Firehose's dynamic partitioning writes each record below `<root><table>/cdc_data/...` (the default prefix), its
failed records below the error prefix. Each source account's Firehose may write only its own tables' folders and
an error folder of its own (`<error folder><source account>/`), so that no source can write change records into
another source's table.
"""
from __future__ import annotations

from collections.abc import Sequence

from aws_constructs.errors import ConstructPropsError
from aws_constructs.firehose import delivery_key_prefix
from stacks.settings.model import TABLE_KEY
# Where Firehose's dynamic partitioning puts a table's records: `<root><table>/cdc_data/...`, the layout the job reads.
TABLE_PARTITION = f"{TABLE_KEY}/cdc_data/"


def raw_root(prefix: str) -> str:
    """The raw bucket's folder holding one `<table>/cdc_data/` folder per table, from the Firehose prefix."""
    root, partition, _ = prefix.partition(TABLE_PARTITION)
    if not partition or delivery_key_prefix(root) != root or (root and not root.endswith("/")):
        raise ConstructPropsError(
            f"the lakehouse job reads <folder>/<table>/cdc_data/..., and firehosePrefix {prefix!r} does not write that "
            f"layout; keep a prefix of the form <folder>/{TABLE_PARTITION}..., or leave the lakehouse layer out with "
            "skipLayers")
    return root


def table_folders(prefix: str, table_names: Sequence[str]) -> tuple[str, ...] | None:
    """The folder of each table's records, when the prefix puts the table's name first (`...!{partitionKeyFromQuery:
    tableName}/...`, nothing variable before it); None when the prefix does not keep tables apart."""
    head, key, tail = prefix.partition(TABLE_KEY)
    if not key or "!{" in head or not tail.startswith("/"):
        return None
    return tuple(delivery_key_prefix(f"{head}{name}{tail}") for name in table_names)


def source_error_prefix(error_prefix: str, source: str) -> str:
    """The error output prefix of one source account: a folder named after it below the configured prefix's static
    folder (`dynamodb_data/cdc_error/` -> `dynamodb_data/cdc_error/apps-devstg/`). No prefix stays none (Firehose
    refuses that with dynamic partitioning)."""
    if not error_prefix:
        return error_prefix
    static = delivery_key_prefix(error_prefix)
    return f"{static}{source}/{error_prefix[len(static):]}"


def source_folders(prefix: str, error_prefix: str, source: str, table_names: Sequence[str],
                   sources: int) -> tuple[str, ...]:
    """What one source's Firehose may write (and the lake grants it): its tables' folders and its error folder.

    A prefix that does not put the table first cannot keep sources apart: with one source, its static folder is
    granted; with several, it is refused.
    """
    errors = (delivery_key_prefix(source_error_prefix(error_prefix, source)),) if error_prefix else ()
    tables = table_folders(prefix, table_names)
    if tables is None:
        if sources > 1:
            raise ConstructPropsError(
                f"firehosePrefix {prefix!r} does not start each table's folder with {TABLE_KEY}/, so the lake cannot "
                "let each source account write only its own tables; put the table's name before any other "
                f"expression, e.g. dynamodb_data/{TABLE_PARTITION}year=!{{timestamp:yyyy}}/")
        tables = (delivery_key_prefix(prefix),)
    kept: list[str] = []
    for folder in (*tables, *errors):  # the fewest folders: none inside another
        if not any(folder.startswith(outer) for outer in kept):
            kept = [outer for outer in kept if not outer.startswith(folder)] + [folder]
    return tuple(kept)
