"""Each numeric setting and each name the settings build, through the command line: the smallest and largest
value AWS accepts reach the layer, and the first value past each end is refused with exit 2.

`check` on the session's example synthesizes everything and writes nothing: an accepted value that differs from
the committed layers shows up as drift (exit 1) in the diff, so the test also sees the value in the output."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ProjectSpec, run_cli, tree_digest

DEFAULTS = {"streamRetentionHours": 24, "firehoseBufferingSizeMib": 100, "firehoseBufferingIntervalSeconds": 100,
            "firehoseLogRetentionDays": 30}
ATTRIBUTE = {"streamRetentionHours": "retention_period", "firehoseBufferingSizeMib": "buffering_size",
             "firehoseBufferingIntervalSeconds": "buffering_interval", "firehoseLogRetentionDays": "retention_in_days"}
ACCEPTED = [("streamRetentionHours", 24), ("streamRetentionHours", 8760),
            ("firehoseBufferingSizeMib", 64), ("firehoseBufferingSizeMib", 128),  # dynamic partitioning is on
            ("firehoseBufferingIntervalSeconds", 1), ("firehoseBufferingIntervalSeconds", 900),
            ("firehoseLogRetentionDays", 1), ("firehoseLogRetentionDays", 3653)]
# All four land in the datalake layer: the other two are left out, a third of the work.
DATALAKE_ONLY = ("-c", "skipLayers=databases-dynamodb,datalake-demo")
REJECTED = [("streamRetentionHours", -1, "Kinesis retention"), ("streamRetentionHours", 0, "Kinesis retention"),
            ("streamRetentionHours", 23, "Kinesis retention"), ("streamRetentionHours", 8761, "Kinesis retention"),
            ("firehoseBufferingSizeMib", 63, "buffering size"), ("firehoseBufferingSizeMib", 129, "buffering size"),
            ("firehoseBufferingIntervalSeconds", 0, "buffering interval"),
            ("firehoseBufferingIntervalSeconds", 901, "buffering interval"),
            ("firehoseLogRetentionDays", 0, "log retention"), ("firehoseLogRetentionDays", 3654, "log retention")]


def added_lines(check_output: str, file_name: str) -> set[str]:
    """The lines `check` shows as added to generated files called `file_name`."""
    added, in_file = set(), False
    for line in check_output.splitlines():
        if line.startswith("+++ "):
            in_file = line.endswith("/" + file_name)
        elif in_file and line.startswith("+"):
            added.add(line[1:].strip().rstrip(","))
    return added


@pytest.mark.parametrize("setting, value", ACCEPTED, ids=[f"{s}={v}" for s, v in ACCEPTED])
def test_numeric_setting_accepts_the_limits(capsys: pytest.CaptureFixture[str], synthesized_example: Path,
                                            setting: str, value: int) -> None:
    # Leaving layers out changes the datalake README (what it reads is described differently), not its resources.
    result = run_cli(capsys, "check", "-c", f"leverageRoot={synthesized_example}", "-c", f"{setting}={value}",
                     *DATALAKE_ONLY)
    assert result.code == 1 and "error:" not in result.err, result.err
    expected = set() if value == DEFAULTS[setting] else {f'"{ATTRIBUTE[setting]}": {value}'}
    if expected and setting == "firehoseBufferingIntervalSeconds":  # the freshness alarm: interval + margin
        expected.add(f'"threshold": {value + 600}')
    assert added_lines(result.out, "main.tf.json") == expected, result.out


@pytest.mark.parametrize("setting, value, message", REJECTED, ids=[f"{s}={v}" for s, v, _ in REJECTED])
def test_numeric_setting_refuses_the_first_value_past_each_limit(capsys: pytest.CaptureFixture[str],
                                                                 synthesized_example: Path, setting: str,
                                                                 value: int, message: str) -> None:
    before = tree_digest(synthesized_example)
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={synthesized_example}", "-c", f"{setting}={value}",
                     *DATALAKE_ONLY)
    assert result.code == 2
    assert result.err.startswith("error: ") and result.err.count("\n") == 1 and message in result.err
    assert str(value) in result.err
    assert tree_digest(synthesized_example) == before


# Global names are built from the project and account names: "bb-" + account + a fixed suffix. For each account
# setting: the suffix of its longest such name, the longest name AWS accepts, and the layer that creates it.
GLOBAL_NAMES = {
    "lakeAccount": ("-data-lake-demo-data-processed-bucket-replica", 63, "S3 bucket name", "datalake-demo"),
    "sourceAccount": ("-ddb-lakehouse-firehose-role", 64, "IAM role name", "datalake"),
}


@pytest.mark.parametrize("setting, longer", [(setting, longer) for setting in GLOBAL_NAMES for longer in (0, 1)],
                         ids=["bucket-63", "bucket-64", "role-64", "role-65"])
def test_global_name_of_the_longest_length_aws_accepts_is_written_and_one_longer_refused(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, setting: str, longer: int) -> None:
    suffix, limit, kind, layer = GLOBAL_NAMES[setting]
    account = "a" * (limit + longer - len("bb-" + suffix))
    accounts = ({account: "555555555555", "data-science": "777777777777"} if setting == "sourceAccount" else
                {"apps-devstg": "555555555555", account: "777777777777"})
    root = ProjectSpec(accounts=accounts).write(tmp_path / "p")
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", f"{setting}={account}")
    name = f"bb-{account}{suffix}"
    if longer:
        assert result.code == 2 and f"{kind} {name!r} has {limit + 1} characters" in result.err, result.err
    else:
        assert result.code == 0, result.err
        assert len(name) == limit and f'"{name}"' in (root / account / "us-east-1" / layer / "main.tf.json").read_text()


@pytest.mark.parametrize("constraint, valid", [
    (">= 5.100, < 7.0", True), ("~> 6.25", True), ("6.25.0", True), (">=5.100,<6", True),
    ("= 6.69.1-rc1", True), (">= 6.69.1-beta.2, < 7.0", True),
    ("latest", False), (">= 5.100 < 7.0", False), ("${var.x}", False), ("", False), ("6.69.1-", False),
])
def test_provider_version_constraints_are_checked(constraint: str, valid: bool) -> None:
    """What the setting accepts, the provider range check reads: every lower bound it allows is one it parses."""
    from aws_constructs.provider_versions import _BOUND
    from leverage.hcl import is_version_constraint

    assert is_version_constraint(constraint) is valid
    if valid:
        lower = [part for part in constraint.split(",") if not part.strip().startswith(("<", "!="))]
        assert all(_BOUND.match(part) for part in lower), constraint


@pytest.mark.parametrize("kind, name, message", [
    ("s3_bucket", "b" * 60, "has 68 characters, more than the 63 AWS allows"),
    ("s3_bucket", "Raw", "holds characters AWS refuses there: use lowercase letters, digits, '.' and '-'"),
    ("iam_role", "r" * 60, "more than the 64 AWS allows"),
    ("sqs_queue", "q.v", "holds characters AWS refuses"),
    ("no_such_kind", "x", "unknown kind of AWS name 'no_such_kind'"),
])
def test_aws_names_are_checked_against_the_limits_of_their_kind(kind: str, name: str, message: str) -> None:
    from leverage.naming import aws_name

    with pytest.raises(ValueError, match=re.escape(message)):
        aws_name("bb", "apps", name, kind=kind)
    assert aws_name("bb", "apps", "orders", kind="sqs_queue") == "bb-apps-orders"
    assert aws_name("bb", "apps", "orders", disaster_recovery=True, kind="s3_bucket") == "bb-apps-dr-orders"
