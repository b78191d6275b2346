"""The pipelines of the settings -> the layer stacks that carry them; nothing here names one pipeline.

Per source account: a table layer with every table the pipeline generates (none when it only reads tables) and a
datalake layer with the stream, Firehose, a streaming destination per table and the alarms. Once: the lake layer,
which grants every source's Firehose role, and after it the lakehouse layer, which merges every pipeline's tables.

Free text from the settings enters the stacks here, escaped (`hcl.literal`): Terraform takes it literally.
Names (accounts, layers, project, regions, tables) are checked to hold no template syntax at all.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aws_constructs.dynamodb import KeyAttribute
from aws_constructs.errors import ConstructPropsError
from bindings import App
from leverage.errors import UserError
from leverage.hcl import literal
from leverage.naming import aws_name
from leverage.project.layer import LayerAddress
from leverage.project.model import Account, Project, check_region
from leverage.stack import AWS_PROVIDER_VERSION_CONTEXT, LeverageLayerStack, RemoteLayer
from stacks.settings.pipelines import DEFAULT_TABLE, GeneratedTable, Pipeline, ReadTable, address_key
from stacks.settings.model import Settings
from stacks.settings.values import TableKey
from stacks.databases_dynamodb import DynamoDbLayer, DynamoDbLayerProps, TableSpec
from stacks.datalake import DatalakeLayer, DatalakeLayerProps, StreamedTable
from stacks.datalake_demo import DatalakeDemoLayerProps, DatalakeDemoLayer, LakeSource
from stacks.lakehouse_demo import LakehouseDemoLayer, LakehouseDemoLayerProps, LakehouseTable
from stacks.lakehouse_tables import check_lakehouse_table_names
from stacks.names import reference_table_name
from stacks.own_layers import build_own_layer


@dataclass(frozen=True)
class PlannedLayer:
    """One layer to generate: where, and how to build its stack once its address is known."""

    account: Account
    layer: str
    build: Callable[[LayerAddress], LeverageLayerStack]
    region: str | None = None  # None: the layers' region


def plan_layers(app: App, settings: Settings, project: Project, region: str,
                app_root: Path | None = None) -> list[PlannedLayer]:
    pipelines = settings.pipeline_list
    if settings.layers.lakehouse not in settings.skip_layers:
        check_lakehouse_table_names(_generated_table_names(settings, project))
    lake = project.accounts[settings.lake_account]
    adopt = settings.adopt_existing
    planned: list[PlannedLayer] = []
    for pipeline in pipelines:
        source = project.accounts[pipeline.source_account]
        keys = RemoteLayer(source, settings.layers.keys, region)
        if pipeline.generated_tables:
            adopting = settings.layers.dynamodb in adopt
            props = DynamoDbLayerProps(keys, tuple(_table_spec(table, adopting) for table in pipeline.generated_tables),
                                       adopt_existing=adopting)
            planned.append(PlannedLayer(source, settings.layers.dynamodb,
                                        lambda address, props=props: DynamoDbLayer(app, project, address, props)))
    lake_props = DatalakeDemoLayerProps(
        sources=tuple(_lake_source(settings, pipeline, project.accounts[pipeline.source_account], region)
                      for pipeline in pipelines),
        firehose=settings.firehose,
        adopt_existing=settings.layers.lake in adopt,
        firehose_roles_as_reference=settings.layers.datalake in adopt,  # named as the datalake layers name them
        replica_region=replica_region(settings, project, region),
        alarm_email=settings.alarms.email,
    )
    planned.append(PlannedLayer(lake, settings.layers.lake,
                                lambda address: DatalakeDemoLayer(app, project, address, lake_props)))
    for pipeline in pipelines:
        source = project.accounts[pipeline.source_account]
        props = _datalake_props(settings, pipeline, source, lake, region)
        planned.append(PlannedLayer(source, settings.layers.datalake,
                                    lambda address, props=props: DatalakeLayer(app, project, address, props)))
    lakehouse_props = LakehouseDemoLayerProps(
        lake_layer=RemoteLayer(lake, settings.layers.lake, region),
        tables=tuple(LakehouseTable(streamed, keys, table.lakehouse)
                     for pipeline in pipelines
                     for table, (streamed, keys) in zip(pipeline.tables, _streamed_tables(
                         settings, pipeline, project.accounts[pipeline.source_account], region))),
        firehose=settings.firehose,
        lakehouse=settings.lakehouse,
        alarm_email=settings.alarms.email,
        replica_region=replica_region(settings, project, region),
        # Skipping the datalake layers leaves them as they are (a team's own may lack the role: the job then skips
        # the count check and says why).
        source_item_count_roles=True,
    )
    planned.append(PlannedLayer(lake, settings.layers.lakehouse,
                                lambda address: LakehouseDemoLayer(app, project, address, lakehouse_props)))
    for registered in settings.own_layers:  # the same path as the built-in layers from here on
        account = project.accounts[settings.own_layer_account(registered)]
        planned.append(PlannedLayer(account, registered.layer,
                                    lambda address, registered=registered: build_own_layer(
                                        app, project, address, registered, app_root or Path.cwd()),
                                    registered.region))
    return planned


def build_stacks(app: App, settings: Settings, project: Project, region: str,
                 app_root: Path | None = None) -> list[LeverageLayerStack]:
    """Every planned layer not left out with skipLayers, as a stack. `app_root`: the folder of cdktf.json, where
    the paths of the `layers` setting start."""
    app.node.set_context(AWS_PROVIDER_VERSION_CONTEXT, settings.aws_provider_version)
    stacks = []
    folders: set[str] = set()
    for planned in plan_layers(app, settings, project, region, app_root):
        if planned.layer in settings.skip_layers:
            continue
        if planned.region is not None:
            project.check_layer_region(planned.region, f"setting layers[].region of {planned.layer}")
        address = project.address(planned.account.name, planned.region or region, planned.layer)
        if address.folder in folders:
            raise UserError(f"two layers would be written to {address.folder}",
                            fix="give the layer of the `layers` setting another `layer` name")
        folders.add(address.folder)
        try:
            stacks.append(planned.build(address))
        except ConstructPropsError as exc:
            raise UserError(str(exc), fix="adjust the settings in cdktf.json or pass -c", layer=address.folder) from None
    return stacks


def replica_region(settings: Settings, project: Project, region: str) -> str | None:
    """Where the lake replicates to (setting lakeReplicaRegion): by default the project's other region."""
    chosen = settings.lake_replica_region
    if chosen == "off":
        return None
    if not chosen:
        other = project.region_secondary if region == project.region_primary else project.region_primary
        return other if other and other != region else None
    check_region(chosen, "setting lakeReplicaRegion")
    if chosen == region:
        raise UserError(f"setting lakeReplicaRegion={chosen!r} is the lake's own region",
                        fix="name another region, or 'off'")
    return chosen


def _generated_table_names(settings: Settings, project: Project) -> list[tuple[str, str]]:
    """The DynamoDB name of every table the table layers create, as they name it in the primary region (tables
    read from a layer of your own are named at apply: the job checks those)."""
    adopting = settings.layers.dynamodb in settings.adopt_existing
    names = []
    for pipeline in settings.pipeline_list:
        environment = project.accounts[pipeline.source_account].environment
        for table in pipeline.generated_tables:
            name = reference_table_name(project.name, environment, False) \
                if _table_spec(table, adopting).named_as_reference else aws_name(project.name, environment, table.name)
            names.append((name, f"{table.where}.name" if table.where.startswith("pipelines[") else table.where))
    return names


def _table_spec(table: GeneratedTable, adopting: bool) -> TableSpec:
    """An adopted table layer's default table (the reference's one table) takes the reference's table name."""
    return TableSpec(table.name, _key(table.partition_key), _key(table.sort_key) if table.sort_key else None,
                     named_as_reference=adopting and table.name == DEFAULT_TABLE)


def _key(key: TableKey) -> KeyAttribute:
    return KeyAttribute(literal(key.name), key.type)


def _streamed_tables(settings: Settings, pipeline: Pipeline, source: Account,
                     region: str) -> list[tuple[StreamedTable, tuple[KeyAttribute, ...]]]:
    """Each table of the pipeline: where its name is read, and the key attributes of the tables it generates."""
    table_layer = RemoteLayer(source, settings.layers.dynamodb, region)
    one_generated = len(pipeline.generated_tables) == 1
    tables = []
    for table in pipeline.tables:
        key = address_key(table.key)
        if isinstance(table, ReadTable):
            renamed_from = address_key(table.renamed_from) if table.renamed_from else None
            tables.append((StreamedTable(key, RemoteLayer(source, table.layer, region), table.output,
                                         renamed_from=renamed_from), ()))
            continue
        # Not escaped: they go into a Terraform expression (jsonencode), whose string literals cdktf escapes itself.
        keys = tuple(KeyAttribute(key.name, key.type) for key in (table.partition_key, table.sort_key) if key)
        if one_generated:  # the table layer's `dynamodb_table_name`, as a one-table layer (the reference's) has it
            tables.append((StreamedTable(key, table_layer, "dynamodb_table_name"), keys))
        else:  # by its name, never by its place in the list: reordering the tables changes no reference
            tables.append((StreamedTable(key, table_layer, "dynamodb_table_names", table.name), keys))
    return tables


def _lake_source(settings: Settings, pipeline: Pipeline, source: Account, region: str) -> LakeSource:
    """A source as the lake grants it: its account and its tables, read where its datalake layer reads them."""
    return LakeSource(source, tuple(streamed for streamed, _ in _streamed_tables(settings, pipeline, source, region)))


def _datalake_props(settings: Settings, pipeline: Pipeline, source: Account, lake: Account,
                    region: str) -> DatalakeLayerProps:
    return DatalakeLayerProps(
        keys_layer=RemoteLayer(source, settings.layers.keys, region),
        tables=tuple(streamed for streamed, _ in _streamed_tables(settings, pipeline, source, region)),
        lake_layer=RemoteLayer(lake, settings.layers.lake, region),
        stream_retention_hours=settings.stream_retention_hours,
        firehose=settings.firehose,
        alarms=dataclasses.replace(settings.alarms, email=pipeline.alarm_email or settings.alarms.email),
        adopt_existing=settings.layers.datalake in settings.adopt_existing,
        sources=len(settings.pipeline_list),
        # Skipping the lakehouse layer leaves it as it is, running if it was applied: the role it assumes stays, as
        # the lake layer's grants to its job do.
        lakehouse_reads_item_counts=True,
    )
