"""Reading a project's var-files and build.env (leverage/tfvars.py): values as the Leverage CLI reads them, and
one actionable error, naming the file relative to the project's parent, for each way a file can be unreadable."""
from __future__ import annotations

from pathlib import Path

import pytest

from leverage.errors import UserError
from leverage.project.tfvars import display_path, read_env_file, read_hcl, required_string


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "project" / "config").mkdir(parents=True)
    return tmp_path / "project"


def test_var_file_values_are_python_hcl2_values(root: Path) -> None:
    path = root / "config" / "common.tfvars"
    path.write_text('project = "bb"\naccounts = {\n  apps = { id = "555555555555" }\n}\nport = 8080\n')
    assert read_hcl(path, root) == {"project": "bb", "accounts": {"apps": {"id": "555555555555"}}, "port": 8080}


@pytest.mark.parametrize("content, message", [
    (None, r"^missing file project/config/common\.tfvars; create it as in a Leverage project, or fix leverageRoot$"),
    (b'project = "bb"\x00', r"^project/config/common\.tfvars is a binary file, not HCL; restore it from version"),
    (b'project = "b\xe9b"\n', r"^project/config/common\.tfvars is not UTF-8 text \(byte 12\); save it as UTF-8$"),
    (b'project = "bb"\naccounts = {\n', r"^cannot parse project/config/common\.tfvars at line \d+, column \d+; fix the HCL"),
    (b'project = "a"\nproject = "b"\n',  # python-hcl2 raises a plain exception here, not a parse error
     r"^cannot parse project/config/common\.tfvars: .*project already defined; fix the HCL syntax$"),
])
def test_unreadable_var_files_are_one_actionable_error(root: Path, content: bytes | None, message: str) -> None:
    path = root / "config" / "common.tfvars"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        read_hcl(path, root)


@pytest.mark.parametrize("values", [{}, {"project": ""}, {"project": 3}, {"project": None}])
def test_required_string_must_be_a_non_empty_string(root: Path, values: dict) -> None:
    with pytest.raises(UserError, match=r'^project/config/common\.tfvars has no `project`; add `project = "\.\.\."`'):
        required_string(values, "project", root / "config" / "common.tfvars", root)


def test_required_string_returns_the_value(root: Path) -> None:
    assert required_string({"project": "bb"}, "project", root / "config" / "common.tfvars", root) == "bb"


def test_build_env_is_read_like_a_shell_env_file(root: Path) -> None:
    (root / "build.env").write_text(
        "# comment\n\n  PROJECT = bb  \nTERRAFORM_IMAGE_TAG='1.6.0-0.2.0'\nMFA_ENABLED=\"false\"\nnot a pair\nA=b=c\nX=XyX\n")
    assert read_env_file(root / "build.env", root) == {
        "PROJECT": "bb", "TERRAFORM_IMAGE_TAG": "1.6.0-0.2.0", "MFA_ENABLED": "false", "A": "b=c", "X": "XyX"}


def test_missing_or_unreadable_build_env_is_one_actionable_error(root: Path) -> None:
    with pytest.raises(UserError, match=r"^project/build\.env not found: this is not a Leverage project; point "
                                        r"leverageRoot at the folder holding build\.env and config/$"):
        read_env_file(root / "build.env", root)
    (root / "build.env").write_bytes(b"PROJECT=b\xe9b\n")
    with pytest.raises(UserError, match=r"^project/build\.env is not UTF-8 text; save it as UTF-8$"):
        read_env_file(root / "build.env", root)


def test_display_path_is_relative_to_the_project_parent_when_it_can_be(root: Path) -> None:
    assert display_path(root / "config" / "x.tfvars", root) == "project/config/x.tfvars"
    elsewhere = Path("/etc/hosts")
    assert display_path(elsewhere, root) == "/etc/hosts"
