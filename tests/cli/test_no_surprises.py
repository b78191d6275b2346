"""No surprises: changes that look valid but would point live resources elsewhere, leave layers running unmanaged, or
destroy and create a resource under its own name are refused (or need an explicit flag) with a line saying what
moves; refusals happen only for true reasons, with the fix that applies to what the user edited; and the traps around
a run (nesting, long names, links, permissions, leftovers, the command line) give one line, never a traceback.

One table: case -> the command line, the exit code, what the output says and must not say, and whether the tree
(the project and cdktf.json) stays as it was. Every case runs on its own copy of one synthesized project: four
accounts, two pipelines (two generated tables, one read table), and a team's own layer."""
from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, ProjectSpec, app_main, run_cli, tree_digest

ACCOUNTS = {"apps-devstg": "555555555555", "apps-prd": "666666666666", "data-science": "777777777777",
            "security": "222222222222",
            # Accounts no layer uses, with one id (as the reference architecture's own example has).
            "management": "111111111111", "shared": "111111111111"}
SPEC = ProjectSpec(accounts=ACCOUNTS, regions_allowed=("us-east-1", "us-west-2", "eu-central-1"))
TABLES = [{"name": "orders", "partitionKey": "orderId:S"}, {"name": "customers", "partitionKey": "customerId:S"}]
READ_TABLE = {"layer": "databases-legacy", "output": "users_table_name", "name": "legacy_users"}
DATALAKE, LAKE, TEAM_FOLDER = ("apps-devstg/us-east-1/datalake", "data-science/us-east-1/datalake-demo",
                               "data-science/us-east-1/team-topics")
TEAM_MODULE = "surprises_team_layer.py"  # imported once per process, by file name: a name of its own
TEAM_SOURCE = '''\
"""A team's own layer: a topic, tagged with what it reads."""
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.sns_topic import SnsTopic

from leverage.stack import LeverageLayerStack


@dataclass(frozen=True)
class TeamSettings:
    topic_id: str = "events"
    read: str = ""  # "<account>/<layer>/<output>": another layer's output the topic is tagged with
    unused_read: str = ""  # the same, read and not used (yet)


class TeamLayer(LeverageLayerStack):
    """The team's topic."""

    Settings = TeamSettings

    def build(self, settings: TeamSettings) -> None:
        tags = {"Lake": self.read_layer(self.account.name, "datalake-demo", "s3_bucket_data_raw_arn")}
        if settings.read:
            account, layer, output = settings.read.split("/")
            tags["Read"] = self.read_layer(account, layer, output)
        if settings.unused_read:
            self.read_layer(*settings.unused_read.split("/"))
        topic = SnsTopic(self, settings.topic_id, name=self.aws_name("events", kind="sns_topic"), tags=tags)
        self.output("topic_arn", topic.arn, "ARN of the team's topic")
        self.output("account_topics", self.env.arn("sns", "*"), "Every topic of the layer's account and region")
'''
READ_LINE = next(number for number, line in enumerate(TEAM_SOURCE.splitlines(), 1) if 'tags["Read"]' in line)
UNUSED_READ_LINE = next(number for number, line in enumerate(TEAM_SOURCE.splitlines(), 1)
                        if "settings.unused_read.split" in line)


AUDITOR = "security/base-identities/auditor_role_arn"  # a hand-written layer of an account no generated layer uses


def team(**changes: str) -> str:
    """`-c layers=...`: the team's layer, its registration or settings changed."""
    settings = {"read": AUDITOR, **{key: value for key, value in changes.items() if key in ("topic_id", "read", "unused_read")}}
    entry = {"module": "{module}", "class": "TeamLayer", "account": "data-science", "layer": "team-topics",
             "settings": settings, **{key: value for key, value in changes.items()
                                      if key in ("account", "layer", "region")}}
    return "layers=" + json.dumps([entry])


def team_in_two_accounts() -> str:
    """`-c layers=...`: a layer of the team's name in another account, pinned to us-west-2, listed first; then the
    team's layer as registered (no region)."""
    entries = [*json.loads(team(account="apps-devstg", region="us-west-2").removeprefix("layers=")),
               *json.loads(team().removeprefix("layers="))]
    return "layers=" + json.dumps(entries)


def pipelines(devstg_tables: list[dict], read_table: dict) -> str:
    return "pipelines=" + json.dumps([{"sourceAccount": "apps-devstg", "tables": devstg_tables},
                                      {"sourceAccount": "apps-prd", "tables": [read_table]}])


def commit_an_output(main_tf_json: Path, name: str) -> None:
    """The committed configuration with one more output, as an earlier synth may have written it."""
    config = json.loads(main_tf_json.read_text())
    config["output"][name] = {"value": "x"}
    main_tf_json.write_text(json.dumps(config, indent=2))


def hand_written(root: Path, folder: str, key: str, outputs: dict[str, str]) -> None:
    (root / folder).mkdir(parents=True)
    (root / folder / "config.tf").write_text(f'terraform {{\n  backend "s3" {{\n    key = "{key}"\n  }}\n}}\n')
    (root / folder / "outputs.tf").write_text("".join(f'output "{name}" {{\n  value = "{value}"\n}}\n'
                                                      for name, value in outputs.items()))
    (root / folder / "common-variables.tf").symlink_to("../../../config/common-variables.tf")


BASE: dict[str, Path] = {}  # the team's module, and what the base's synth said


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthesized project (`bb/`) and its app folder (`app/cdktf.json`), shared by every case as a template.
    Its synth passing proves two things: two accounts no layer uses may share an id (a warning), and the team's layer
    reads a layer of the `security` account, where no generated layer lives."""
    folder = tmp_path_factory.mktemp("surprises")
    root = BASE["project"] = SPEC.write(folder / "bb")
    for account in ("apps-devstg", "apps-prd"):
        hand_written(root, f"{account}/us-east-1/security-keys", f"{account}/security-keys/terraform.tfstate",
                     {"aws_kms_key_arn": "arn:aws:kms:us-east-1:0:key/x"})
    hand_written(root, "apps-prd/us-east-1/databases-legacy", "apps-prd/databases-legacy/terraform.tfstate",
                 {"users_table_name": "bb-apps-prd-users"})
    hand_written(root, "security/us-east-1/base-identities", "security/base-identities/terraform.tfstate",
                 {"auditor_role_arn": "arn:aws:iam::222222222222:role/auditor"})
    modules = tmp_path_factory.mktemp("team-code")
    BASE["module"] = modules / TEAM_MODULE
    BASE["module"].write_text(TEAM_SOURCE)
    (folder / "app").mkdir()
    context = {"leverageRoot": "../bb", "pipelines": json.loads(pipelines(TABLES, READ_TABLE).partition("=")[2]),
               "layers": json.loads(team().partition("=")[2].replace("{module}", str(BASE["module"])))}
    (folder / "app" / "cdktf.json").write_text(json.dumps({"app": "python3 main.py", "context": context}, indent=2))
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()) as said:
        patch.setattr(app_main, "CDKTF_JSON", folder / "app" / "cdktf.json")
        assert app_main.main(["synth"]) == 0
    BASE["said"] = said.getvalue()  # type: ignore[assignment]
    return folder


def source_account_id_changes(root: Path, _monkeypatch: pytest.MonkeyPatch) -> None:
    common = root / "config/common.tfvars"
    common.write_text(common.read_text().replace('"555555555555"', '"555555555556"'))


def secondary_region_changes(root: Path, _monkeypatch: pytest.MonkeyPatch) -> None:
    common = root / "config/common.tfvars"
    common.write_text(common.read_text().replace('region_secondary = "us-west-2"', 'region_secondary = "eu-central-1"'))


def lake_backend_region_changes(root: Path, _monkeypatch: pytest.MonkeyPatch) -> None:
    backend = root / "data-science/config/backend.tfvars"
    backend.write_text(backend.read_text().replace('region = "us-east-1"', 'region = "us-west-2"'))


def registered_relative_to_cdktf_json(root: Path, _out: str) -> None:
    layers = json.loads((root.parent / "app/cdktf.json").read_text())["context"]["layers"]
    assert layers[-1]["module"] == "../elsewhere/orders.py", layers[-1]


def refusals_are_data(_root: Path, out: str) -> None:
    """What synth refuses, as check --json reports it: the error's fields, the line synth prints built from them."""
    found = json.loads(out)
    first = found["refusals"][0]
    assert first["layer"] == DATALAKE and first["details"]["action"] == "repoint", first
    assert first["what"] == LAKE_MOVES + ": what refers to it (aws_iam_role_policy.delivery_role, " \
        "aws_kinesis_firehose_delivery_stream.delivery) then points at apps-prd/us-east-1/datalake-demo's resources, " \
        "and what data-science/us-east-1/datalake-demo holds is no longer used from here", first["what"]
    assert first["fix"].startswith("undo the change that makes it (a setting, or the stack's code); if the move is "
                                   "intended, pass --allow-repoint")
    assert first["message"] == f"layer {DATALAKE}: {first['what']}; {first['fix']}"


def streaming_destinations_unchanged(root: Path, _out: str) -> None:
    """Addresses and references do not depend on the tables' order: each table is read by its name."""
    def destinations(project: Path) -> dict:
        config = json.loads((project / DATALAKE / "main.tf.json").read_text())
        return config["resource"]["aws_dynamodb_kinesis_streaming_destination"]
    assert destinations(root) == destinations(BASE["project"])


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]  # `<tmp>` is the case's folder, `<repo>` the app's checkout
    exit: int
    says: str = ""  # in stderr for a refusal, else in stdout or stderr
    not_says: tuple[str, ...] = ()
    also_says: tuple[str, ...] = ()
    untouched: bool = True  # the project and cdktf.json stay byte-identical
    prepare: Callable[[Path, pytest.MonkeyPatch], None] | None = None  # given the project's root
    keeps: tuple[str, ...] = ()  # files of the project a successful run must not change
    then: Callable[[Path, str], None] | None = None  # more checks, given the root and stdout


LAKE_MOVES = ("data.terraform_remote_state.datalake_demo: would read the state of apps-prd/us-east-1/datalake-demo "
              "instead of data-science/us-east-1/datalake-demo")
CASES = {
    # Seen before written: what re-points is reported like a resource change, and refused without a flag.
    "lakeAccount moves the lake": Case(("check", "--json", "-c", "lakeAccount=apps-prd"), 1, '"action": "repoint"',
                                       then=refusals_are_data),
    "lakeAccount with --allow-repoint": Case(("synth", "--allow-repoint", "-c", "lakeAccount=apps-prd"), 0,
                                             f"warning: --allow-repoint: layer {DATALAKE}: {LAKE_MOVES}", untouched=False,
                                             # The lakehouse left behind in the old lake account loses the source's
                                             # item-count role: part of the move, and said.
                                             also_says=(f"warning: --allow-repoint: layer {DATALAKE}: would stop "
                                                        "naming aws_iam_role bb-data-science-lakehouse-cdc-merge-role",)),
    # The keys' layer renamed: its remote state is renamed too, and reads another layer's state.
    "keysLayer names another layer": Case(
        ("synth", "-c", "keysLayer=kms"), 2,
        "error: layer apps-devstg/us-east-1/databases-dynamodb: aws_dynamodb_table.customers: would read the state of "
        "apps-devstg/kms/terraform.tfstate instead of apps-devstg/us-east-1/security-keys (remote state kms instead of "
        "security_keys): it then points at that layer's resources (and 5 more"),
    "lakeReplicaRegion moves the replicas": Case(
        ("synth", "-c", "lakeReplicaRegion=eu-central-1"), 2,
        f"layer {LAKE}: provider aws.replica: region us-west-2 -> eu-central-1: every resource it manages is created "
        "anew in eu-central-1"),
    # The replicas' provider is written `region = var.region_secondary`: config.tf notes the region it was generated
    # for, so a change of common.tfvars moves them as the setting would.
    "region_secondary moves the replicas": Case(
        ("synth",), 2, f"layer {LAKE}: provider aws.replica: region us-west-2 -> eu-central-1: every resource it "
        "manages is created anew in eu-central-1", prepare=secondary_region_changes),
    "region_secondary with --allow-repoint": Case(
        ("synth", "--allow-repoint"), 0, f"warning: --allow-repoint: layer {LAKE}: provider aws.replica: region "
        "us-west-2 -> eu-central-1", untouched=False, prepare=secondary_region_changes),
    "firehosePrefix moves the delivery folder": Case(
        ("synth", "-c", "firehosePrefix=cdc/!{partitionKeyFromQuery:tableName}/cdc_data/"), 2,
        f"layer {DATALAKE}: aws_kinesis_firehose_delivery_stream.delivery: delivers below 'cdc/' instead of "
        "'dynamodb_data/' from the apply on"),
    "a topic keeping its name at another address": Case(
        ("synth", "-c", team(topic_id="notifications")), 2,
        f"layer {TEAM_FOLDER} (layers[0]): would destroy and recreate aws_sns_topic bb-data-science-events: it leaves "
        "aws_sns_topic.events and appears at aws_sns_topic.notifications without a moved block, so it is destroyed and "
        "created in one apply", not_says=("${",)),
    "an account id that changes whom a grant names": Case(
        ("synth",), 2, "names iam role/bb-apps-devstg-ddb-lakehouse-firehose-role of account 555555555556 in every "
        "region instead of account 555555555555", prepare=source_account_id_changes),
    # Refused only for true reasons.
    "skipLayers leaves the lakehouse and your own layer out": Case(
        ("synth", "-c", "skipLayers=lakehouse-demo,team-topics"), 0, "files changed", untouched=False,
        keeps=("data-science/us-east-1/lakehouse-demo/main.tf.json", f"{TEAM_FOLDER}/main.tf.json")),
    "renaming your own layer": Case(
        ("synth", "-c", team(layer="team-alerts")), 2,
        f"layer data-science/us-east-1/team-alerts: would declare aws_sns_topic bb-data-science-events, which "
        f"{TEAM_FOLDER} (generated earlier, no longer by these settings) still declares",
        not_says=("no longer a source",)),
    "moving your own layer to another account": Case(
        ("synth", "-c", team(account="apps-devstg")), 2,
        f"layer {TEAM_FOLDER}: was generated from {TEAM_MODULE} by an earlier synth, and no entry of `layers` in "
        "cdktf.json generates it in account data-science now (layers[0] generates it in account apps-devstg)",
        not_says=("no longer a source",)),
    "moving your own layer to another region": Case(
        ("synth", "-c", team(region="us-west-2")), 2,
        f"layer {TEAM_FOLDER}: was generated from {TEAM_MODULE} by an earlier synth, and no entry of `layers` in "
        "cdktf.json generates it in region us-east-1 now (layers[0] generates it in region us-west-2)",
        not_says=("no longer a source",)),
    # Another configuration (`-c region=`) leaves the first one's folder of an entry without a region alone, also
    # when an entry of that layer name in another account pins a region.
    "your own layer's name in two accounts, synthesized for another region": Case(
        ("synth", "-c", "region=us-west-2", "-c", team_in_two_accounts()), 0, "files changed", untouched=False,
        keeps=(f"{TEAM_FOLDER}/main.tf.json",)),
    "unregistering your own layer": Case(
        ("synth", "-c", "layers=[]"), 2,
        f"layer {TEAM_FOLDER}: was generated from {TEAM_MODULE} by an earlier synth, and no entry of `layers` in "
        "cdktf.json generates it now", not_says=("no longer a source",)),
    # The lake's resources stay in its folder's region, written out now that var.region is another one.
    "the lake account's backend region": Case(("synth",), 0, "files changed", untouched=False,
                                              not_says=("--allow-repoint",), prepare=lake_backend_region_changes),
    # (Grants and the lakehouse job list the tables in the new order: values, updated in place.) The outputs for
    # readers of one table name the first one: readers outside the generated layers would follow it.
    "reordering a pipeline's tables": Case(
        ("synth", "--allow-repoint", "-c", pipelines(TABLES[::-1], READ_TABLE)), 0,
        "warning: --allow-repoint: layer apps-devstg/us-east-1/databases-dynamodb: output.dynamodb_table_arn: would "
        "name aws_dynamodb_table.customers instead of aws_dynamodb_table.orders: what reads this output from outside the "
        "generated layers then points at another resource", untouched=False, then=streaming_destinations_unchanged),
    "renaming a read table": Case(
        ("synth", "-c", pipelines(TABLES, {**READ_TABLE, "name": "users"})), 2,
        "layer apps-prd/us-east-1/datalake: would destroy and recreate aws_dynamodb_kinesis_streaming_destination "
        "output users_table_name of apps-prd/us-east-1/databases-legacy: it leaves "
        "aws_dynamodb_kinesis_streaming_destination.legacy_users_changes and appears at "
        "aws_dynamodb_kinesis_streaming_destination.users_changes without a moved block",
        not_says=("renamed_from(", "moved(", "${data.terraform_remote_state")),
    # The built-in layers of apps-devstg read that layer first: the one that reads what it lacks is named.
    "reading an output a hand-written layer does not declare": Case(
        ("synth", "-c", team(read="apps-devstg/security-keys/nope")), 2,
        f"{{module}}:{READ_LINE}: layer {TEAM_FOLDER} (layers[0]): reads output 'nope' of "
        "apps-devstg/us-east-1/security-keys (state apps-devstg/security-keys/terraform.tfstate), which declares no "
        "such output in its .tf files, so the plan would fail; read an output that apps-devstg/us-east-1/security-keys "
        "declares (the `read_layer` call)", not_says=("keysLayer", "databases-dynamodb")),
    # Not used (yet), so Terraform would plan it: the name is a mistake all the same.
    "reading an output a hand-written layer does not declare, unused": Case(
        ("synth", "-c", team(unused_read="apps-devstg/security-keys/nope")), 2,
        f"{{module}}:{UNUSED_READ_LINE}: layer {TEAM_FOLDER} (layers[0]): reads output 'nope' of "
        "apps-devstg/us-east-1/security-keys (state apps-devstg/security-keys/terraform.tfstate), which declares no "
        "such output in its .tf files, so its first use would fail at plan; read an output that "
        "apps-devstg/us-east-1/security-keys declares", not_says=("the plan would fail",)),
    # A file of your own in a generated layer's folder is part of that layer: its outputs can be read (the
    # generated files' outputs are the fresh synth's, not the committed ones).
    "reading an output a generated layer declares in a file of your own": Case(
        ("synth", "-c", team(read="data-science/datalake-demo/extra")), 0, "files changed", untouched=False,
        prepare=lambda root, _: (root / LAKE / "extra.tf").write_text('output "extra" {\n  value = "x"\n}\n')),
    "reading an output a generated layer has only in its committed main.tf.json": Case(
        ("synth", "-c", team(read="data-science/datalake-demo/committed_only")), 2,
        "reads output 'committed_only' of data-science/us-east-1/datalake-demo, which does not have it",
        prepare=lambda root, _: commit_an_output(root / LAKE / "main.tf.json", "committed_only")),
    # No trap, no traceback.
    "-c layers nested too deeply": Case(("synth", "-c", "layers=" + "[" * 100_000 + "]" * 100_000), 2,
                                        "setting layers nests lists or objects too deeply"),
    "a 300-character layer name": Case(("synth", "-c", team(layer="a" * 300)), 2,
                                       "layer name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'... (300 characters) is too "
                                       "long"),
    "new-layer --dir outside cdktf.json's folder": Case(("new-layer", "data-science/orders", "--dir", "<tmp>/elsewhere"),
                                                        0, "registered data-science/orders", untouched=False,
                                                        then=registered_relative_to_cdktf_json),
    "new-layer --dir inside the app's packages": Case(
        ("new-layer", "data-science/orders", "--dir", "<repo>/stacks/mine"), 2,
        "new-layer data-science/orders: --dir <repo>/stacks/mine is inside the app's own package stacks/"),
    # A `stacks/` folder beside cdktf.json (an app installing this one as a dependency): the generated files would
    # name its modules as they name the built-in layers', which are never refused when unregistered or moved.
    "an own layer's module in stacks/ beside cdktf.json": Case(
        ("synth", "-c", team().replace("{module}", f"stacks/{TEAM_MODULE}")), 2,
        f"module stacks/{TEAM_MODULE} is in the folder stacks/ beside cdktf.json, which the generated files name "
        "only for the built-in layers", prepare=lambda root, _: shutil.copytree(BASE["module"].parent,
                                                                              root.parent / "app" / "stacks")),
    "new-layer --dir stacks/ beside cdktf.json": Case(
        ("new-layer", "data-science/orders", "--dir", "<tmp>/app/stacks"), 2,
        "new-layer data-science/orders: --dir <tmp>/app/stacks is inside the folder stacks/ beside cdktf.json"),
    "new-layer --dir inside a generated layer folder": Case(
        ("new-layer", "data-science/orders", "--dir", f"<tmp>/bb/{LAKE}/code"), 2,
        f"is inside the generated layer folder <tmp>/bb/{LAKE}"),
    # A command line like the tools beside it.
    "--version": Case(("--version",), 0, "leverage-cdktf "),
    "synth --help": Case(("synth", "--help"), 0, "--allow-repoint"),
    "check --allow-repoint": Case(("check", "--allow-repoint"), 2,
                                  "--allow-repoint applies to `synth` only, not to `check`"),
}


@pytest.mark.parametrize("case", CASES)
def test_the_no_surprises_corpus(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                 tmp_path: Path, base: Path, case: str) -> None:
    spec = CASES[case]
    shutil.copytree(base / "bb", tmp_path / "bb", symlinks=True)
    shutil.copytree(base / "app", tmp_path / "app")
    root = tmp_path / "bb"
    monkeypatch.setattr(app_main, "CDKTF_JSON", tmp_path / "app" / "cdktf.json")
    if spec.prepare is not None:
        spec.prepare(root, monkeypatch)

    def filled(text: str) -> str:
        return text.replace("<tmp>", str(tmp_path)).replace("<repo>", str(REPO)).replace("{module}",
                                                                                          str(BASE["module"]))
    kept = {name: (root / name).read_bytes() for name in spec.keeps}
    before = tree_digest(tmp_path)
    result = run_cli(capsys, *(filled(part) for part in spec.argv))
    assert result.code == spec.exit, result.out[-3000:] + result.err
    assert "Traceback" not in result.err
    if spec.exit == 2:
        assert result.err.startswith("error: ") and result.err.count("\n") == 1 and result.out == "", result.err
    said = result.err if spec.exit == 2 else result.out + result.err
    assert filled(spec.says) in said, said[-3000:]
    assert [text for text in spec.also_says if text not in said] == [], said[-3000:]
    assert not [text for text in spec.not_says if text in said], said
    if spec.untouched:
        assert tree_digest(tmp_path) == before
    assert {name: (root / name).read_bytes() for name in spec.keeps} == kept
    if spec.then is not None:
        spec.then(root, result.out)


# argv -> (command, settings, the command's own options): one subcommand each, `python main.py` alone is synth.
COMMAND_LINES = {
    (): ("synth", [], {"allow_destroy": False, "allow_repoint": False}),
    ("--allow-destroy", "-c", "a=1"): ("synth", ["a=1"], {"allow_destroy": True}),
    ("-c", "a=1", "check", "--json", "-c", "b=2"): ("check", ["a=1", "b=2"], {"json": True}),
    ("graph", "--format", "dot"): ("graph", [], {"format": "dot"}),
    ("list",): ("list", [], {}),
    ("new-layer", "data-science/q", "--dir", "x"): ("new-layer", [], {"target": "data-science/q", "dir": "x"}),
}


@pytest.mark.parametrize("argv", COMMAND_LINES, ids=lambda argv: " ".join(argv) or "(nothing)")
def test_the_command_line_parses_like_the_tools_beside_it(argv: tuple[str, ...]) -> None:
    command, context, own = COMMAND_LINES[argv]
    parsed = app_main.parse_args(list(argv))
    assert (parsed.command, parsed.context) == (command, context)
    assert {name: getattr(parsed, name) for name in own} == own


def test_accounts_no_layer_uses_are_warned_about_not_refused(base: Path) -> None:
    """The base's synth passed (exit 0) with two unused accounts sharing an id, and said so."""
    assert "warning: bb/config/common.tfvars: accounts management and shared have the same id 111111111111; " \
        "layers of one would be applied in the other" in str(BASE["said"])


def test_the_generated_readme_names_buckets_and_keys_and_a_layer_has_its_aws_environment(base: Path) -> None:
    readme = (base / "bb" / LAKE / "README.md").read_text()
    assert "| `aws_s3_bucket.raw_bucket` | `bb-data-science-data-lake-demo-data-raw-bucket` |" in readme
    assert "| `aws_kms_key.data_key` | `Data lake buckets bb-data-science-data-lake-demo-data-raw-bucket and " in readme
    outputs = json.loads((base / "bb" / TEAM_FOLDER / "main.tf.json").read_text())["output"]
    assert outputs["account_topics"]["value"] == "arn:aws:sns:us-east-1:777777777777:*"  # self.env, not built by hand


def test_a_layer_that_reads_another_account_is_built_alone_as_synth_builds_it(base: Path) -> None:
    """leverage.testing loads the layer's own account, and any other its code reads, as `synth` does."""
    sys.path.insert(0, str(BASE["module"].parent))
    try:
        from surprises_team_layer import TeamLayer, TeamSettings  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(BASE["module"].parent))
    from leverage.testing import synth_layer

    synthesized = json.loads(synth_layer(TeamLayer, TeamSettings(read="security/base-identities/auditor_role_arn"),
                                         leverage_root=base / "bb", account="data-science", layer="team-topics"))
    state = synthesized["data"]["terraform_remote_state"]["base_identities"]["config"]
    assert (state["key"], state["profile"]) == ("security/base-identities/terraform.tfstate", "bb-security-devops")


def test_errors_are_data_built_the_same_way_whoever_raises_them() -> None:
    from leverage.errors import UserError

    plain = UserError("setting x is wrong", fix="set it right")  # the call form every raise site uses
    assert str(plain) == plain.message == "setting x is wrong; set it right"
    raised = UserError("uses variable 'colour'", fix="use one of region", layer="a/us-east-1/q")
    raised.in_context(layer="other", registration="layers[2]", file="team/q.py", line=7)
    assert raised.message == "team/q.py:7: layer a/us-east-1/q (layers[2]): uses variable 'colour'; use one of region"
    assert raised.as_dict() == {"message": raised.message, "what": "uses variable 'colour'", "fix": "use one of region",
                                "layer": "a/us-east-1/q", "registration": "layers[2]", "file": "team/q.py", "line": 7}
