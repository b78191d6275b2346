"""Shared fixtures. jsii loads once per test process; every synth after the first costs ~0.2 s, so the CLI is
driven in-process through `main.main` (subprocesses only where the process boundary is what is tested)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "example"
sys.path.insert(0, str(REPO))
# `synth` also leaves cdktf's own output for the cdktf CLI: in tests, not in the checkout.
os.environ["CDKTF_OUTDIR"] = tempfile.mkdtemp(prefix="leverage-cdktf-test-out-")
# Ctrl-C as a terminal delivers it, for the tests of its handling: a suite started with `&` by a shell without job
# control would have it ignored (and the app, rightly, leaves an ignored signal ignored).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

import bindings  # noqa: E402,F401  (before anything else imports the provider package)
import main as app_main  # noqa: E402


def running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Under CI nothing may skip: a skipped test there is a failure, with the skip's reason."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and running_in_ci() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where every test must run: {reason}"


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> CliResult:
    capsys.readouterr()
    code = app_main.main(list(argv))
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def copy_example(destination: Path) -> Path:
    """A temporary copy of the example project's configuration, without the generated layers."""
    def layers(folder: str, names: list[str]) -> list[str]:
        in_account_folder = Path(folder).parent == EXAMPLE and Path(folder).name != "config"
        return [name for name in names if name != "config"] if in_account_folder else []

    shutil.copytree(EXAMPLE, destination, symlinks=True, ignore=layers)
    return destination


def assert_refused(capsys: pytest.CaptureFixture[str], command: str, root: Path, settings: tuple[str, ...],
                   message: str) -> None:
    """Bad input: one `error:` line naming `message`, exit 2, nothing on stdout, the tree beside `root` unchanged."""
    before = tree_digest(root.parent)
    options = [part for setting in settings for part in ("-c", setting)]
    result = run_cli(capsys, command, "-c", f"leverageRoot={root}", *options)
    assert result.code == 2, result.out + result.err
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    assert message in result.err, result.err
    assert "Traceback" not in result.err and result.out == ""
    assert tree_digest(root.parent) == before


def tree_digest(root: Path) -> dict[str, str]:
    """Every path below root with its content hash (symlinks by target), to prove nothing changed."""
    digest = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_symlink():
            digest[relative] = "-> " + os.readlink(path)
        elif path.is_file():
            digest[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            digest[relative] = "dir"
    return digest


@dataclass
class ProjectSpec:
    """A Leverage project written by the tests, in the reference's shape."""

    name: str = "bb"
    region: str = "us-east-1"
    accounts: dict[str, str] = field(default_factory=lambda: {"apps-devstg": "555555555555",
                                                               "data-science": "777777777777"})
    common_variables: bool = True
    regions_allowed: tuple[str, ...] = ()

    def write(self, root: Path) -> Path:
        (root / "config").mkdir(parents=True)
        (root / "build.env").write_text(f"PROJECT={self.name}\nMFA_ENABLED=false\n")
        entries = "\n".join(f'  {account} = {{\n    email = "aws+{account}@example.com"\n    id    = "{account_id}"\n  }}'
                            for account, account_id in self.accounts.items())
        (root / "config" / "common.tfvars").write_text(
            f'project = "{self.name}"\nproject_long = "{self.name}-long"\nregion_primary = "{self.region}"\n'
            f'region_secondary = "us-west-2"\naccounts = {{\n{entries}\n}}\n'
            + (f'regions_allowed = {json.dumps(list(self.regions_allowed))}\n' if self.regions_allowed else ""))
        if self.common_variables:
            shutil.copy(EXAMPLE / "config" / "common-variables.tf", root / "config" / "common-variables.tf")
        for account in self.accounts:
            config = root / account / "config"
            config.mkdir(parents=True)
            (config / "account.tfvars").write_text(f'environment = "{account}"\nsso_role = "DevOps"\n')
            (config / "backend.tfvars").write_text(
                f'profile = "{self.name}-{account}-devops"\nbucket = "{self.name}-{account}-terraform-backend"\n'
                f'region = "{self.region}"\nencrypt = true\ndynamodb_table = "{self.name}-{account}-terraform-backend"\n')
        return root


@pytest.fixture(scope="session")
def synthesized_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project, copied and synthesized once for the whole session. Tests must not modify it."""
    root = copy_example(tmp_path_factory.mktemp("session") / "example")
    assert app_main.main(["synth", "-c", f"leverageRoot={root}"]) == 0
    return root


@pytest.fixture
def pipeline_layers_only(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's cdktf.json without its own `layers` (the example's queue layer): for tests of the pipeline layers
    that count and order exactly those."""
    settings = json.loads((REPO / "cdktf.json").read_text())
    settings["context"].pop("layers", None)
    path = tmp_path_factory.mktemp("pipeline-only") / "cdktf.json"
    path.write_text(json.dumps(settings))
    monkeypatch.setattr(app_main, "CDKTF_JSON", path)
    return path


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "example")


@pytest.fixture
def synthesized_copy(tmp_path: Path, synthesized_example: Path) -> Path:
    """A copy of the session's synthesized example, at the same place as `project_copy`: the tree a fresh `synth` of
    `project_copy` writes (tests/cli/test_commands.py proves it), for tests whose first synth is only the start."""
    return Path(shutil.copytree(synthesized_example, tmp_path / "example", symlinks=True))
