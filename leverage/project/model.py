"""The Leverage project model, read from the project's own files."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leverage.errors import UserError
from leverage.project.layer import LayerAddress
from leverage.project.scan import LayerFolder, scan_layers
from leverage.project.tfvars import blocks, display_path, read_env_file, read_hcl, required_string

# The partitions' region names: commercial, China, GovCloud and the ISO partitions.
# Both used with fullmatch: a pattern ending in "$" accepts a trailing newline.
AWS_REGION = re.compile(r"(us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov|us-iso|us-isob|eu-isoe)-"
                        r"(north|south|east|west|central|northeast|northwest|southeast|southwest)-[1-9]")
ACCOUNT_ID = re.compile(r"[0-9]{12}")
NAME_TOKEN = re.compile(r"[A-Za-z0-9_.-]+")  # profiles, buckets and lock tables of backend.tfvars


@dataclass(frozen=True)
class Backend:
    """An account's Terraform state backend, from `<account>/config/backend.tfvars`."""

    profile: str
    bucket: str
    region: str
    dynamodb_table: str


@dataclass(frozen=True)
class Account:
    name: str  # the account folder, which Leverage requires to equal `environment`
    id: str
    backend: Backend

    @property
    def environment(self) -> str:
        return self.name


@dataclass(frozen=True)
class Project:
    root: Path
    name: str  # the short name (`project` / PROJECT), prefix of every resource name
    region_primary: str
    region_secondary: str | None
    regions_allowed: tuple[str, ...]  # `regions_allowed` of common.tfvars, where the project has it
    accounts: dict[str, Account]  # read in full: the accounts the layers use, and those read since (`account`)
    # Variables `config/common-variables.tf` declares; None when the project has no such file.
    common_variables: frozenset[str] | None
    layers: tuple[LayerFolder, ...] = ()  # every layer folder in the tree, with its backend key
    declared: Mapping[str, str] = field(default_factory=dict)  # every account of common.tfvars -> its id
    # Accounts declared with a problem (an id that is not one, or another account's): refused when used.
    problems: Mapping[str, UserError] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # problems of accounts no layer uses

    def account(self, name: str) -> Account:
        """Any account the project declares, its folder read the first time it is asked for."""
        if name not in self.accounts:
            if name in self.problems:
                raise self.problems[name]
            if name not in self.declared:
                raise UserError(f"reads a layer of account {name!r}, which config/common.tfvars does not declare "
                                f"(it declares: {', '.join(sorted(self.declared)) or 'none'})",
                                fix="read a layer of one of them, or declare the account there")
            self.accounts[name] = _load_account(self.root, self.name, name, self.declared[name])
        return self.accounts[name]

    def state_key(self, account: str, region: str, layer: str) -> str:
        """Where a layer's state is: the key its folder's config.tf declares, when the folder is in the tree
        (a `--` folder keeps the real name's key); else the key Leverage expects for that folder."""
        folder = f"{account}/{region}/{layer}"
        found = next((item for item in self.layers if item.folder == folder and item.declared), None)
        return found.key if found is not None else self.address(account, region, layer).backend_key

    def folders_with_key(self, key: str) -> list[LayerFolder]:
        return [item for item in self.layers if item.key == key]

    @property
    def regions(self) -> tuple[str, ...]:
        """The regions the project declares: only these can be a layer's region folder."""
        declared = (self.region_primary, self.region_secondary, *self.regions_allowed)
        return tuple(dict.fromkeys(region for region in declared if region))

    def check_layer_region(self, region: str, where: str) -> None:
        check_region(region, where)
        if region not in self.regions:
            raise UserError(
                f"{where}: {region!r} is not a region the project declares ({', '.join(self.regions)}); the reference's "
                "common-variables.tf looks the layer's region up among them and would fail at plan",
                fix="use one of them, or declare it in config/common.tfvars (region_secondary or regions_allowed)")

    def address(self, account: str, region: str, layer: str) -> LayerAddress:
        return LayerAddress(account, region, layer, disaster_recovery=region not in (self.region_primary, "global"))

    def region_variable(self, account: str, name: str) -> str | None:
        """The value of `var.<name>`, a Leverage variable a provider's region is written with, in the account's
        layers (Leverage passes backend.tfvars and common.tfvars as var-files); None for any other variable."""
        if name == "region":
            found = self.accounts.get(account)
            return found.backend.region if found else None
        if name == "region_secondary":
            return self.region_secondary
        return None


def load_project(root: Path, needed_accounts: list[tuple[str, str]]) -> Project:
    """Read the project at `root`; `needed_accounts` are (account, setting) pairs the layers use.

    Only the needed accounts are read in full: a broken account the layers never touch is not our business.
    """
    require_project_folder(root)
    env = read_env_file(root / "build.env", root)
    common_path = root / "config" / "common.tfvars"
    common = read_hcl(common_path, root)
    name = _project_name(common, env, display_path(common_path, root))
    region_primary = required_string(common, "region_primary", common_path, root)
    check_region(region_primary, f"region_primary in {display_path(common_path, root)}")
    region_secondary = common.get("region_secondary")
    if region_secondary is not None:
        check_region(str(region_secondary), f"region_secondary in {display_path(common_path, root)}")
    regions_allowed = common.get("regions_allowed", [])
    if not isinstance(regions_allowed, list):
        raise UserError(f"regions_allowed in {display_path(common_path, root)} is not a list",
                        fix='write it as regions_allowed = ["us-east-1", ...]')
    for allowed in regions_allowed:
        check_region(allowed, f"regions_allowed in {display_path(common_path, root)}")
    ids, problems = _account_ids(common, common_path, root)

    accounts: dict[str, Account] = {}
    for account_name, setting in needed_accounts:
        if account_name in accounts:
            continue
        if account_name in problems:
            raise problems[account_name]
        if account_name not in ids:
            known = ", ".join(sorted({*ids, *problems})) or "none"
            raise UserError(
                f"setting {setting}={account_name!r}: {display_path(common_path, root)} has no account "
                f"{account_name!r} in `accounts` (it has: {known})",
                fix=f"add it there or pass -c {setting}=<one of them>",
            )
        accounts[account_name] = _load_account(root, name, account_name, ids[account_name])
    # A problem of accounts no layer uses is not ours to refuse: the project may keep such entries (the reference
    # architecture's own example has two accounts with one id).
    unique = list({id(problem): problem for problem in problems.values()}.values())
    warnings = tuple(f"{problem.what} (no layer generated here uses that account: fix it before one does)"
                     for problem in unique)

    variables_file = root / "config" / "common-variables.tf"
    common_variables = None
    if variables_file.exists():
        common_variables = frozenset(name for block in blocks(read_hcl(variables_file, root), "variable")
                                     for name in block)
    return Project(root, name, region_primary, region_secondary, tuple(regions_allowed), accounts, common_variables,
                   scan_layers(root), ids, problems, warnings)


def require_project_folder(root: Path) -> None:
    if not root.is_dir():
        raise UserError(
            f"Leverage project folder {root.as_posix()} does not exist",
            fix="set leverageRoot in cdktf.json or pass -c leverageRoot=<path>",
        )


def _project_name(common: dict[str, Any], env: dict[str, str], common_shown: str) -> str:
    """Leverage takes the short name from common.tfvars, else build.env; SSO splits profiles on '-'."""
    from_tfvars, from_env = common.get("project"), env.get("PROJECT")
    if from_tfvars and from_env and from_tfvars != from_env:
        raise UserError(
            f"project = {from_tfvars!r} in {common_shown} but PROJECT={from_env} in build.env",
            fix="make them the same short name")
    name = from_tfvars or from_env
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9]+", name):
        raise UserError(
            f"no valid project short name (`project` in {common_shown} or PROJECT in build.env): {name!r}",
            fix='set project = "<lowercase letters and digits>" (Leverage splits profile names on "-")')
    return name


def check_region(region: str, where: str) -> None:
    if not isinstance(region, str) or not AWS_REGION.fullmatch(region):
        raise UserError(f"{where}: {str(region)[:60]!r} is not an AWS region", fix="use a region code such as us-east-1")


def _account_ids(common: dict[str, Any], path: Path, root: Path) -> tuple[dict[str, str], dict[str, UserError]]:
    """(account -> id, account -> what is wrong with it) of the `accounts` map."""
    accounts = common.get("accounts")
    shown = display_path(path, root)
    if not isinstance(accounts, dict) or not accounts:
        raise UserError(f"{shown} has no `accounts` map", fix='add accounts = { <name> = { email = "...", id = "..." } }')
    ids: dict[str, str] = {}
    problems: dict[str, UserError] = {}
    for account_name, entry in accounts.items():
        account_id = str(entry.get("id", "")) if isinstance(entry, dict) else ""
        if not ACCOUNT_ID.fullmatch(account_id):
            problems[account_name] = UserError(
                f"{shown}: accounts.{account_name}.id is {account_id!r}, not a 12-digit AWS account id",
                fix=f'set accounts.{account_name}.id = "<12 digits>" (quoted, to keep leading zeros)',
            )
            continue
        twin = next((other for other, other_id in ids.items() if other_id == account_id), None)
        if twin is not None:
            shared = UserError(
                f"{shown}: accounts {twin} and {account_name} have the same id {account_id}; layers of one would be "
                "applied in the other, and grants meant for one would reach both",
                fix="give each account its own id (one of them is wrong), or remove the duplicate entry")
            problems[twin] = problems[account_name] = shared
        ids[account_name] = account_id
    return {name: account_id for name, account_id in ids.items() if name not in problems}, problems


def _load_account(root: Path, project: str, name: str, account_id: str) -> Account:
    folder = root / name
    if not folder.is_dir():
        raise UserError(
            f"account folder {display_path(folder, root)} does not exist",
            fix=f"create {name}/config/account.tfvars and backend.tfvars as Leverage does, or choose another account",
        )
    account_path = folder / "config" / "account.tfvars"
    environment = required_string(read_hcl(account_path, root), "environment", account_path, root)
    if environment != name:
        raise UserError(
            f"{display_path(account_path, root)} says environment = {environment!r} but its folder is {name!r}, "
            "so remote-state keys would point at the wrong state",
            fix=f'set environment = "{name}" (Leverage requires the two to match)',
        )
    backend_path = folder / "config" / "backend.tfvars"
    backend_values = read_hcl(backend_path, root)
    backend = Backend(
        **{key: required_string(backend_values, key, backend_path, root)
           for key in ("profile", "bucket", "region", "dynamodb_table")}
    )
    check_region(backend.region, f"region in {display_path(backend_path, root)}")
    for field, value in (("profile", backend.profile), ("bucket", backend.bucket),
                         ("dynamodb_table", backend.dynamodb_table)):
        # Written into config.tf as literals: no whitespace, and no template syntax Terraform would evaluate.
        if not NAME_TOKEN.fullmatch(value):
            raise UserError(
                f"{display_path(backend_path, root)}: {field} = {value[:60]!r} is not a plain name",
                fix="use letters, digits, '-', '_' and '.' only, as AWS names do")
    # What `leverage tf validate-layout` checks: the backend names belong to this project and account.
    prefix = f"{project}-{name}"
    for field, value in (("profile", backend.profile), ("bucket", backend.bucket),
                         ("dynamodb_table", backend.dynamodb_table)):
        if not value.startswith(prefix) and not (field == "profile" and value.startswith(f"{project}-bootstrap")):
            raise UserError(
                f"{display_path(backend_path, root)}: {field} = {value!r} does not start with {prefix!r}",
                fix=f'name it "{prefix}-..." as Leverage expects (leverage tf validate-layout checks it)')
    return Account(name, account_id, backend)
