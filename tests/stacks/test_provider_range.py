"""The layers' declared hashicorp/aws range against what they set (aws_constructs/provider_versions.py), through the
command line and on either engine: an argument the provider bindings offer but 5.100 (the oldest release the range
allows, the one the tests apply) lacks is refused with one error line until the range starts at the bindings'
release; the layers then declare that range."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from bindings import aws_provider_version
from tests.conftest import assert_refused, run_cli
from tests.layers import config_tf

# 6.0 added `region` to every resource: the bindings of both engines offer it, 5.100 lacks it.
LAYER = '''
from bindings.aws.sqs_queue import SqsQueue
from leverage.stack import LeverageLayerStack


class RegionalQueue(LeverageLayerStack):
    """A queue in another region than its provider's."""

    def build(self, settings):
        SqsQueue(self, "queue", name=self.aws_name("regional", kind="sqs_queue"), region="us-west-2")
'''


@pytest.fixture(scope="module")
def regional_queue(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The registration of the layer (one module file: a layer module is imported once per process, by name)."""
    module = tmp_path_factory.mktemp("team-layers") / "regional_queue_layer.py"
    module.write_text(textwrap.dedent(LAYER), encoding="utf-8")
    return "layers=" + json.dumps([{"module": str(module), "class": "RegionalQueue", "account": "lakeAccount",
                                    "layer": "regional-queue"}])


def test_an_argument_the_declared_range_cannot_carry_is_refused(capsys: pytest.CaptureFixture[str],
                                                                 project_copy: Path, regional_queue: str) -> None:
    bindings_release = aws_provider_version()
    message = (f"error: layer data-science/us-east-1/regional-queue: aws_sqs_queue.queue sets 'region', which "
               "hashicorp/aws 5.100.0 (the release the layers are proven with) lacks, and the layers declare "
               f"hashicorp/aws '>= 5.100, < 7.0', which starts below {bindings_release} (the release the provider "
               f"bindings were generated for); leave it out, or set awsProviderVersion to a range starting there (e.g. "
               f"'>= {bindings_release}, < 7.0')")
    for command in ("synth", "check"):
        assert_refused(capsys, command, project_copy, (regional_queue,), message)


def test_a_range_starting_at_the_bindings_release_carries_it(capsys: pytest.CaptureFixture[str], project_copy: Path,
                                                             regional_queue: str) -> None:
    declared = f">= {aws_provider_version()}, < 7.0"
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={project_copy}", "-c", regional_queue,
                     "-c", f"awsProviderVersion={declared}")
    assert result.code == 0, result.err
    layer = project_copy / "data-science/us-east-1/regional-queue"
    assert json.loads((layer / "main.tf.json").read_text())["resource"]["aws_sqs_queue"]["queue"]["region"] == "us-west-2"
    assert config_tf(layer)["terraform"][0]["required_providers"][0]["aws"]["version"] == declared
