"""Your own layers (cdktf.json `layers`): a layer module outside the app's tree synthesizes, lists, graphs and checks
like a built-in one, under the same guarantees; each mistake in the user's code is one `error:` line naming the
user's file and line and the layer, exit 2, nothing written."""
from __future__ import annotations

import itertools
import json
import os
import textwrap
from pathlib import Path

import pytest

from leverage.errors import UserError
from tests.conftest import app_main, assert_refused, run_cli, tree_digest
from tests.layers import main_json

_names = itertools.count()
LAYER = "data-science/us-east-1/orders-queue"

GOOD = '''
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue

from leverage.stack import LeverageLayerStack


@dataclass(frozen=True)
class Settings:
    retention_days: int
    lake_output: str = "s3_bucket_data_raw_arn"


class OrdersQueue(LeverageLayerStack):
    """Orders, queued."""

    Settings = Settings

    def build(self, settings):
        raw = self.read_layer(self.account.name, "datalake-demo", settings.lake_output)
        queue = SqsQueue(self, "orders", name=self.aws_name("orders", kind="sqs_queue"),
                         message_retention_seconds=settings.retention_days * 86400, tags={"Reads": raw})
        self.output("queue_arn", queue.arn, "ARN of the orders queue")
'''


def write_module(folder: Path, source: str) -> Path:
    """A layer module of its own name (modules are imported once per process, by file name)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"user_layer_{next(_names)}.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def registration(path: Path, cls: str = "OrdersQueue", **extra: object) -> str:
    entry = {"module": str(path), "class": cls, "account": "lakeAccount", "layer": "orders-queue",
             "settings": {"retention_days": 2}, **extra}
    return "layers=" + json.dumps([entry])


@pytest.fixture
def user_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user's own folder, outside the app and beside no project."""
    return tmp_path_factory.mktemp("team-layers")


def test_a_registered_layer_synthesizes_lists_graphs_and_checks_like_a_built_in_one(
        capsys: pytest.CaptureFixture[str], project_copy: Path, user_folder: Path) -> None:
    setting = registration(write_module(user_folder, GOOD))
    common = ("-c", f"leverageRoot={project_copy}", "-c", setting)
    synth = run_cli(capsys, "synth", *common)
    assert synth.code == 0, synth.err
    config = main_json(project_copy / LAYER)
    assert config["resource"]["aws_sqs_queue"]["orders"]["name"] == "bb-data-science-orders"
    assert config["resource"]["aws_sqs_queue"]["orders"]["message_retention_seconds"] == 2 * 86400
    assert 'key = "data-science/orders-queue/terraform.tfstate"' in (project_copy / LAYER / "config.tf").read_text()
    assert "Orders, queued." in (project_copy / LAYER / "README.md").read_text()

    listed = run_cli(capsys, "list", *common).out.splitlines()
    order = [line.split("\t")[0] for line in listed]
    assert order.index(LAYER) > order.index("data-science/us-east-1/datalake-demo")
    assert f"{LAYER}\tdata-science/orders-queue/terraform.tfstate\treads: data-science/us-east-1/datalake-demo" in listed
    assert "us-east-1/orders-queue" in run_cli(capsys, "graph", *common).out
    assert run_cli(capsys, "check", *common).code == 0

    # Drift in the user's layer is drift like any other.
    (project_copy / LAYER / "main.tf.json").write_text("{}")
    drifted = run_cli(capsys, "check", *common)
    assert drifted.code == 1 and f"modified: {LAYER}/main.tf.json" in drifted.out


def test_reading_an_output_the_layer_does_not_declare_is_refused(
        capsys: pytest.CaptureFixture[str], project_copy: Path, user_folder: Path) -> None:
    path = write_module(user_folder, GOOD)
    entry = registration(path, settings={"retention_days": 2, "lake_output": "no_such_output"})
    lines = textwrap.dedent(GOOD).splitlines()
    call = next(number for number, line in enumerate(lines, 1) if "self.read_layer(" in line)
    # The line of the read_layer call, and the fix for the code, not the built-in layers' settings.
    assert_refused(capsys, "synth", project_copy, (entry,),
                   f"{path}:{call}: layer {LAYER} (layers[0]): reads output 'no_such_output' of "
                   "data-science/us-east-1/datalake-demo, which does not have it; read an output that "
                   "data-science/us-east-1/datalake-demo declares (the `read_layer` call)")


def test_an_unused_read_of_an_output_the_layer_does_not_declare_is_refused_too(
        capsys: pytest.CaptureFixture[str], project_copy: Path, user_folder: Path) -> None:
    unused = GOOD.replace("tags={\"Reads\": raw})", "tags={})")
    assert unused != GOOD
    path = write_module(user_folder, unused)
    entry = registration(path, settings={"retention_days": 2, "lake_output": "no_such_output"})
    call = next(number for number, line in enumerate(textwrap.dedent(unused).splitlines(), 1)
                if "self.read_layer(" in line)
    assert_refused(capsys, "synth", project_copy, (entry,),
                   f"{path}:{call}: layer {LAYER} (layers[0]): reads output 'no_such_output' of "
                   "data-science/us-east-1/datalake-demo, which does not have it; read an output that "
                   "data-science/us-east-1/datalake-demo declares (the `read_layer` call)")
    # Declared in a file of your own in that generated folder, the output exists.
    lake = project_copy / "data-science/us-east-1/datalake-demo"
    lake.mkdir(parents=True, exist_ok=True)
    # An override file declares nothing (Terraform merges it into a declaration elsewhere).
    (lake / "mine_override.tf").write_text('output "no_such_output" {\n  value = "x"\n}\n')
    assert run_cli(capsys, "synth", "-c", f"leverageRoot={project_copy}", "-c", entry).code == 2
    (lake / "mine_override.tf").unlink()
    (lake / "extra.tf").write_text('output "no_such_output" {\n  value = "x"\n}\n')
    synth = run_cli(capsys, "synth", "-c", f"leverageRoot={project_copy}", "-c", entry)
    assert synth.code == 0, synth.err


def test_a_state_key_another_folder_uses_is_refused(capsys: pytest.CaptureFixture[str], project_copy: Path,
                                                     user_folder: Path) -> None:
    other = project_copy / "data-science/us-east-1/orders-queue--old"
    other.mkdir(parents=True)
    (other / "config.tf").write_text('terraform {\n  backend "s3" {\n    key = "data-science/orders-queue/terraform.tfstate"\n'
                                     '  }\n}\n')
    assert_refused(capsys, "synth", project_copy, (registration(write_module(user_folder, GOOD)),),
                   "would keep its state at data-science/orders-queue/terraform.tfstate, which "
                   "data-science/us-east-1/orders-queue--old already uses")
    assert_refused(capsys, "synth", project_copy, (registration(write_module(user_folder, GOOD)),),
                   "rename the generated layer (`layers[0].layer` in cdktf.json)")


def test_a_folder_of_a_built_in_layer_is_refused(capsys: pytest.CaptureFixture[str], project_copy: Path,
                                                  user_folder: Path) -> None:
    assert_refused(capsys, "synth", project_copy,
                   (registration(write_module(user_folder, GOOD), layer="datalake-demo"),),
                   "two layers would be written to data-science/us-east-1/datalake-demo")


def test_a_hashed_address_is_refused(capsys: pytest.CaptureFixture[str], project_copy: Path,
                                     user_folder: Path) -> None:
    source = GOOD.replace('SqsQueue(self, "orders"', 'SqsQueue(Construct(self, "group"), "orders"').replace(
        "from leverage.stack import LeverageLayerStack", "from leverage.stack import LeverageLayerStack\n"
        "from constructs import Construct")
    assert_refused(capsys, "synth", project_copy, (registration(write_module(user_folder, source)),),
                   f"layer {LAYER} (layers[0]): data-science--us-east-1--orders-queue/group/orders has cdktf's hashed "
                   "address aws_sqs_queue.group_orders_")


def test_a_token_formatted_as_text_is_refused(capsys: pytest.CaptureFixture[str], project_copy: Path,
                                              user_folder: Path) -> None:
    """An iterator's value in an f-string is the proxy's Python text, a new one every run: never written."""
    source = GOOD.replace('name=self.aws_name("orders", kind="sqs_queue"),',
                          'for_each=shards, name=f"{self.aws_name(\'orders\', kind=\'sqs_queue\')}-{shards.value}",'
                          ).replace("        raw = self.read_layer(",
                                    "        shards = TerraformIterator.from_list(['a', 'b'])\n        raw = self.read_layer("
                                    ).replace("from leverage.stack import LeverageLayerStack",
                                              "from leverage.stack import LeverageLayerStack\n"
                                              "from bindings import TerraformIterator")
    assert_refused(capsys, "synth", project_copy, (registration(write_module(user_folder, source)),),
                   f"layer {LAYER} (layers[0]): resource.aws_sqs_queue.orders.name is '<")


NAMES_TERRAFORM_REFUSES = {
    "construct id Terraform refuses": (GOOD.replace('SqsQueue(self, "orders"', 'SqsQueue(self, "9lives"'),
                                       "orders-queue/9lives gets the Terraform name aws_sqs_queue.9lives, which "
                                       "Terraform refuses; name it with a letter or `_` first"),
    "construct id cdktf shortens": (GOOD.replace('SqsQueue(self, "orders"', 'SqsQueue(self, "bad-name!"'),
                                    "orders-queue/bad-name!: cdktf would shorten the id 'bad-name!' to the Terraform name aws_sqs_queue.bad-name"),
    "output name Terraform refuses": (GOOD.replace('self.output("queue_arn"', 'self.output("9x"'),
                                      "orders-queue/9x gets the Terraform name output.9x, which Terraform refuses"),
}


@pytest.mark.parametrize("case", NAMES_TERRAFORM_REFUSES)
def test_a_name_terraform_would_not_load_is_refused_naming_layer_and_construct(
        capsys: pytest.CaptureFixture[str], project_copy: Path, user_folder: Path, case: str) -> None:
    source, message = NAMES_TERRAFORM_REFUSES[case]
    assert_refused(capsys, "synth", project_copy, (registration(write_module(user_folder, source)),),
                   f"layer {LAYER} (layers[0]): data-science--us-east-1--{message}")


ERRORS = {
    # case: (module source, class, error text after "<file>:<line>: layer ... (layers[0]): ")
    "import fails": ("import os\nraise RuntimeError('no database today')\n", "OrdersQueue",
                     2, "the module does not import: RuntimeError: no database today"),
    "syntax error": ("class OrdersQueue(:\n    pass\n", "OrdersQueue", 1, "the module does not import: SyntaxError"),
    "nested too deep": ("x = " + "-" * 200_000 + "1\n", "OrdersQueue", 1, "the module does not import: "),
    "class missing": ("X = 1\n", "OrdersQueue", 1, "the module has no class 'OrdersQueue'"),
    "class not a layer": ("\n\nclass OrdersQueue:\n    pass\n", "OrdersQueue", 3,
                          "OrdersQueue is not a layer (a subclass of leverage.stack.LeverageLayerStack)"),
    "settings wrong type": (GOOD, "OrdersQueue", 9, "settings.retention_days is 'two', not int"),
    "settings unknown field": (GOOD, "OrdersQueue", 9, "settings.colour is not a field of OrdersQueue.Settings"),
    "settings missing field": (GOOD, "OrdersQueue", 9, "settings.retention_days is required by OrdersQueue.Settings"),
    "exception in the stack": (GOOD.replace("        queue = SqsQueue(", "        1 / 0\n        queue = SqsQueue("),
                               "OrdersQueue", 22, "ZeroDivisionError: division by zero"),
    "sys.exit in the stack": (GOOD.replace("        queue = SqsQueue(", "        raise SystemExit(0)\n        queue = SqsQueue("),
                              "OrdersQueue", 22, "SystemExit: 0"),
    "sys.exit at import": ("import sys\nsys.exit(3)\n", "OrdersQueue", 2, "the module does not import: SystemExit: 3"),
    "name too long": (GOOD.replace('self.aws_name("orders"', 'self.aws_name("o" * 80'), "OrdersQueue", 22,
                      "has 96 characters, more than the 80 AWS allows"),
    "unknown variable": (GOOD.replace("        queue = SqsQueue(", '        self.var("colour")\n        queue = SqsQueue('),
                         "OrdersQueue", 22, "uses variable 'colour', which the project's common variables do not "
                         "declare; use one of region, profile"),
}
SETTINGS = {"settings wrong type": {"retention_days": "two"}, "settings unknown field": {"retention_days": 1, "colour": 1},
            "settings missing field": {}}


@pytest.mark.parametrize("case", ERRORS)
def test_a_mistake_in_the_users_code_is_one_line_naming_file_line_and_layer(
        capsys: pytest.CaptureFixture[str], project_copy: Path, user_folder: Path, case: str) -> None:
    source, cls, line, message = ERRORS[case]
    path = write_module(user_folder, source)
    extra = {"settings": SETTINGS[case]} if case in SETTINGS else {}
    before = tree_digest(user_folder)
    assert_refused(capsys, "synth", project_copy, (registration(path, cls, **extra),),
                   f"{path}:{line}: ")
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={project_copy}", "-c", registration(path, cls, **extra))
    assert f"{path}:{line}: layer {LAYER} (layers[0])" in result.err, result.err
    assert message in result.err
    assert tree_digest(user_folder) == before


FAILING_PRODUCER = GOOD.replace("from leverage.stack import LeverageLayerStack", """from bindings import IStringProducer, Lazy, implements
from leverage.stack import LeverageLayerStack


@implements(IStringProducer)
class NameFromNowhere:
    def produce(self, context):
        raise ValueError("no name today")""").replace('name=self.aws_name("orders", kind="sqs_queue")',
                                              "name=Lazy.string_value(NameFromNowhere())")
FAILING_VALIDATION = GOOD.replace("from leverage.stack import LeverageLayerStack", """from constructs import IValidation
from bindings import implements
from leverage.stack import LeverageLayerStack


@implements(IValidation)
class NeedsDeadLetters:
    def validate(self):
        return ["orders need a dead-letter queue"]""").replace(
    '        self.output("queue_arn"', '        queue.node.add_validation(NeedsDeadLetters())\n        self.output("queue_arn"')
ENGINE_FAILURES = {
    "a value that does not resolve": (FAILING_PRODUCER, "error: the CDK engine could not synthesize the layers: "
                                      "Resolution error: no name today"),
    "a validation that fails": (FAILING_VALIDATION, f"error: layer {LAYER} (layers[0]): the CDK engine could not "
                                "synthesize the layers: Validation failed with the following errors: "
                                "[data-science--us-east-1--orders-queue/orders] orders need a dead-letter queue"),
}


@pytest.mark.parametrize("case", ENGINE_FAILURES)
def test_what_the_engine_refuses_at_synth_is_its_message_on_one_line(
        capsys: pytest.CaptureFixture[str], project_copy: Path, user_folder: Path, case: str) -> None:
    source, message = ENGINE_FAILURES[case]
    assert_refused(capsys, "synth", project_copy, (registration(write_module(user_folder, source)),), message)
    assert_refused(capsys, "check", project_copy, (registration(write_module(user_folder, source)),), message)


def test_debug_shows_the_users_traceback(project_copy: Path, user_folder: Path) -> None:
    path = write_module(user_folder, GOOD.replace("        queue = SqsQueue(", "        1 / 0\n        queue = SqsQueue("))
    with pytest.raises(UserError) as raised:
        app_main.main(["synth", "-c", f"leverageRoot={project_copy}", "-c", registration(path), "--debug"])
    assert isinstance(raised.value.__cause__, ZeroDivisionError)


@pytest.mark.parametrize("entry, message", [
    ({"module": "x.py", "class": "X", "account": "lakeAccount"}, "setting layers[0] has no 'layer'"),
    ({"module": "x.txt", "class": "X", "account": "lakeAccount", "layer": "q"}, "is not a Python file"),
    ({"module": "x.py", "class": "no-class", "account": "lakeAccount", "layer": "q"}, "is not a Python class name"),
    ({"module": "x.py", "class": "X", "account": "lakeAccount", "layer": "Q Q"}, "is not a valid folder name"),
    ({"module": "x.py", "class": "X", "account": "lakeAccount", "layer": "q", "colour": 1}, "unknown key 'colour'"),
    ({"module": "x.py", "class": "X", "account": "lakeAccount", "layer": "q", "settings": [1]}, "not an object"),
    ({"module": "x.py", "class": "X", "account": "nowhere", "layer": "q"},
     "setting layers[0].account='nowhere'"),
    ({"module": "missing/x.py", "class": "X", "account": "lakeAccount", "layer": "q"},
     "module missing/x.py does not exist"),
])
def test_a_bad_registration_is_refused(capsys: pytest.CaptureFixture[str], project_copy: Path, entry: dict,
                                       message: str) -> None:
    assert_refused(capsys, "synth", project_copy, ("layers=" + json.dumps([entry]),), message)


def test_a_module_that_is_no_regular_file_is_refused_unread(capsys: pytest.CaptureFixture[str], project_copy: Path,
                                                             user_folder: Path) -> None:
    fifo = user_folder / "queue.py"  # a read would wait for a writer
    os.mkfifo(fifo)
    assert_refused(capsys, "synth", project_copy, (registration(fifo),), f"module {fifo} is not a regular file")


def test_the_example_registers_its_own_layer_outside_the_apps_packages() -> None:
    from tests.conftest import REPO

    registered = json.loads((REPO / "cdktf.json").read_text())["context"]["layers"]
    assert [entry["module"] for entry in registered] == ["example/layers/change_events_queue.py"]
    assert (REPO / "example/data-science/us-east-1/change-events-queue/main.tf.json").is_file()


def test_the_refactor_guard_covers_the_users_layer(capsys: pytest.CaptureFixture[str], project_copy: Path,
                                                    user_folder: Path) -> None:
    assert run_cli(capsys, "synth", "-c", f"leverageRoot={project_copy}",
                   "-c", registration(write_module(user_folder, GOOD))).code == 0
    renamed = write_module(user_folder, GOOD.replace('self.aws_name("orders"', 'self.aws_name("orders-v2"'))
    assert_refused(capsys, "synth", project_copy, (registration(renamed),), "aws_sqs_queue.orders")
    allowed = run_cli(capsys, "synth", "-c", f"leverageRoot={project_copy}", "-c", registration(renamed),
                      "--allow-destroy")
    assert allowed.code == 0, allowed.err
