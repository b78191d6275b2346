"""Each numeric setting and each name the settings build, through the command line: the smallest and largest
value AWS accepts reach the layer, and the first value past each end is refused with exit 2.

`check` on the session's example synthesizes everything and writes nothing: an accepted value that differs from
the committed layers shows up as drift (exit 1) in the diff, so the test also sees the value in the output."""
from __future__ import annotations

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
REJECTED = [("streamRetentionHours", 23, "Kinesis retention"), ("streamRetentionHours", 8761, "Kinesis retention"),
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
    assert result.code == 1 and not result.err, result.err
    expected = set() if value == DEFAULTS[setting] else {f'"{ATTRIBUTE[setting]}": {value}'}
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


# Names are global and built from the project and account names: "bb-" + account + a fixed suffix.
BUCKET_SUFFIX = "-data-lake-demo-data-processed-bucket"  # the longer of the two lake buckets
ROLE_SUFFIX = "-ddb-lakehouse-firehose-role"


@pytest.mark.parametrize("account_length, refused", [(63 - len("bb-" + BUCKET_SUFFIX), False),
                                                     (64 - len("bb-" + BUCKET_SUFFIX), True)], ids=["63", "64"])
def test_lake_bucket_name_of_63_characters_is_accepted_and_64_refused(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, account_length: int, refused: bool) -> None:
    lake = "l" * account_length
    root = ProjectSpec(accounts={"apps-devstg": "555555555555", lake: "777777777777"}).write(tmp_path / "p")
    result = run_cli(capsys, "list", "-c", f"leverageRoot={root}", "-c", f"lakeAccount={lake}")
    bucket = f"bb-{lake}{BUCKET_SUFFIX}"
    if refused:
        assert result.code == 2 and f"S3 bucket name {bucket!r} has 64 characters" in result.err
    else:
        assert result.code == 0, result.err
        assert len(bucket) == 63


@pytest.mark.parametrize("account_length, refused", [(64 - len("bb-" + ROLE_SUFFIX), False),
                                                     (65 - len("bb-" + ROLE_SUFFIX), True)], ids=["64", "65"])
def test_firehose_role_name_of_64_characters_is_accepted_and_65_refused(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, account_length: int, refused: bool) -> None:
    source = "s" * account_length
    root = ProjectSpec(accounts={source: "555555555555", "data-science": "777777777777"}).write(tmp_path / "p")
    result = run_cli(capsys, "synth", "-c", f"leverageRoot={root}", "-c", f"sourceAccount={source}")
    role = f"bb-{source}{ROLE_SUFFIX}"
    if refused:
        assert result.code == 2 and f"IAM role name {role!r} has 65 characters" in result.err
    else:
        assert result.code == 0, result.err
        assert f'"name": "{role}"' in (root / source / "us-east-1/datalake/main.tf.json").read_text()
        assert len(role) == 64
