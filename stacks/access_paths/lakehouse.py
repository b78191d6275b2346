"""Where the lakehouse job reads and writes, from its arguments (`--raw-path`, `--warehouse`, `--database`): the raw
change records Firehose delivered, and the warehouse's Iceberg tables. The job and the Athena readers of its tables
name the same keys, so both take them from here."""
from __future__ import annotations

from dataclasses import dataclass

from aws_constructs.access.layers import TerraformLayer
from stacks.access_paths.builder import CatalogueBuilder, s3_location

# The output of the lakehouse layer naming each source table's Iceberg table (stacks/lakehouse_demo.py).
TABLE_NAMES_OUTPUT = "lakehouse_table_names"


@dataclass(frozen=True)
class RawChanges:
    bucket_name: str
    bucket_arn: str
    root: str  # the folder holding one `<table>/cdc_data` folder per table

    def folder(self, table: str) -> str:
        """The key of the folder of the table's change records, without the trailing slash."""
        return f"{self.root}{table}/cdc_data"


@dataclass(frozen=True)
class Warehouse:
    bucket_name: str
    bucket_arn: str
    prefix: str
    database: str
    table_of_source: tuple[tuple[str, str], ...]  # each DynamoDB table's Iceberg table

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(table for _source, table in self.table_of_source)

    def data_file(self, table: str) -> str:
        return f"{self.bucket_arn}/{self.prefix}{self.database}.db/{table}/data/00000-0-0f1e2d3c.parquet"


def raw_changes_of(builder: CatalogueBuilder, arguments: dict[str, str]) -> RawChanges:
    name, root = s3_location(arguments["--raw-path"])
    return RawChanges(name, builder.bucket_arn(name), root)


def warehouse_of(builder: CatalogueBuilder, layer: TerraformLayer, arguments: dict[str, str]) -> Warehouse:
    name, prefix = s3_location(arguments["--warehouse"])
    bucket_arn = builder.bucket_arn(name)
    tables = builder.layers.output(layer.name, TABLE_NAMES_OUTPUT) \
        if TABLE_NAMES_OUTPUT in layer.config.get("output", {}) else {}
    return Warehouse(name, bucket_arn, prefix, arguments["--database"], tuple(tables.items()))
