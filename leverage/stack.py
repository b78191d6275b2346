"""A TerraformStack that is a Leverage layer: provider, partial S3 backend, variables, remote state.

This is the public API of a layer, built-in or your own (docs/own-layers.md). A layer subclasses
`LeverageLayerStack`, declares its own settings as a dataclass `Settings` (optional) and adds its resources in
`build(settings)`; the app constructs it for its folder and calls `build` with the settings of its `layers` entry
in cdktf.json. What a layer may use, and nothing cdktf-internal:

- `self.project.name`, `self.account.name` / `.id` / `.environment`, `self.address.region` / `.layer` / `.folder`:
  where the layer is; `self.env`: the same as an `aws_constructs.env.AwsEnvironment` (account id and region), for
  the constructs that take one;
- `self.aws_name(name, kind=...)`: the one AWS naming function (`<project>-<account>[-dr]-<name>`), with the
  AWS limits of `kind` checked (leverage/naming.py: AWS_NAME_LIMITS);
- `self.var(name)`: a Leverage variable (`region`, `profile`, `environment`, ...);
- `self.read_layer(account, layer, output)`: an output of another layer (of any account the project declares),
  read from the state key that layer declares; the app checks the output is declared there, naming the line of
  the call when it is not, and applies this layer after it;
- `self.output(name, value, description)`: an output other layers may read;
- `self.aws_provider(construct_id, region, alias=...)`: a provider for another region of the same account;
- `self.moved(old, new)`: a `moved` block after renaming a resource.

Resources come from `aws_constructs` (secure defaults) or the provider bindings; each construct id becomes the
resource's readable Terraform name.
"""
from __future__ import annotations

from collections.abc import Mapping
import sys
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from bindings import (
    AwsProvider,
    AwsProviderDefaultTags,
    Construct,
    DataTerraformRemoteStateS3,
    S3Backend,
    TerraformOutput,
    TerraformStack,
    TerraformVariable,
)
from aws_constructs.env import AwsEnvironment
from aws_constructs.errors import ConstructPropsError
from aws_constructs.addresses import AddressError, check_unique_addresses, declare_move
from leverage.errors import UserError
from leverage.hcl import DEFAULT_AWS_PROVIDER_VERSION, literal
from leverage.naming import aws_name
from leverage.python_reprs import first_python_repr
from leverage.project.layer import LayerAddress
from leverage.project.model import Account, Project

# OpenTofu starts at 1.6; the Leverage toolbox images ship Terraform or OpenTofu at 1.6 or later.
REQUIRED_TERRAFORM_VERSION = ">= 1.6.0"
# The app's context key that carries setting awsProviderVersion to every stack (default: hcl's).
AWS_PROVIDER_VERSION_CONTEXT = "awsProviderVersion"

# Types of the Leverage variables a layer may use, for projects without config/common-variables.tf.
LEVERAGE_VARIABLE_TYPES = {
    "region": "string",
    "profile": "string",
    "bucket": "string",
    "dynamodb_table": "string",
    "encrypt": "bool",
    "project": "string",
    "project_long": "string",
    "environment": "string",
    "region_secondary": "string",
}


@dataclass(frozen=True)
class RemoteLayer:
    """Another layer whose state this layer reads."""

    account: Account
    layer: str
    region: str


@dataclass(frozen=True)
class ReadSite:
    """Where a layer's code reads another layer's output: the file and line of its `read_layer` call."""

    file: str
    line: int


class LeverageLayerStack(TerraformStack):
    """Base of every layer stack. Subclasses add resources; this class keeps them Leverage-shaped."""

    # Old address -> current address of resources this layer created before, shipped as `moved` blocks.
    legacy_addresses: ClassVar[Mapping[str, str]] = {}
    # A Mermaid flowchart of what flows through this layer, shown in its README; set by the stack.
    diagram: str = ""
    # Your own layer's settings: a dataclass whose fields the `settings` object of its `layers` entry in cdktf.json
    # fills, type-checked (stacks/own_layers.py). None: the layer takes no settings.
    Settings: ClassVar[type | None] = None

    def __init__(self, scope: Construct, project: Project, address: LayerAddress) -> None:
        super().__init__(scope, address.folder.replace("/", "--"))
        self.project = project
        self.address = address
        self.account = project.accounts[address.account]
        self._declared: dict[str, TerraformVariable] = {}
        self._remote_states: dict[RemoteLayer, DataTerraformRemoteStateS3] = {}
        # (state key, output) -> where `read_layer` asked for it, for an error naming the line.
        self.read_sites: dict[tuple[str, str], ReadSite] = {}
        # The entry of cdktf.json's `layers` this layer was built from (`layers[0]`); None for a built-in layer.
        self.registration: str | None = None
        for old, new in self.legacy_addresses.items():
            self.moved(old, new)
        self.add_override("terraform.required_version", REQUIRED_TERRAFORM_VERSION)
        self.add_override("terraform.required_providers.aws.version",
                          self.node.try_get_context(AWS_PROVIDER_VERSION_CONTEXT) or DEFAULT_AWS_PROVIDER_VERSION)
        # Leverage passes bucket, region, profile and lock table with -backend-config at init;
        # the layer keeps only the key. cdktf requires a bucket, so it is removed again.
        backend = S3Backend(self, bucket="set-by-leverage-at-init", key=address.backend_key)
        backend.add_override("bucket", None)
        self.aws_provider("aws", address.region)

    @cached_property
    def env(self) -> AwsEnvironment:
        """The layer's account id and region, as the constructs of `aws_constructs` take them."""
        return AwsEnvironment(self.account.id, self.address.region)

    def aws_provider(self, construct_id: str, region: str, alias: str | None = None) -> AwsProvider:
        """The layer's `aws` provider, or (with an alias) one for another region of the same account."""
        return AwsProvider(
            self,
            construct_id,
            alias=alias,
            region=self._region_reference(region),
            profile=self.var("profile"),
            default_tags=[AwsProviderDefaultTags(tags={
                "Terraform": "true",
                "Environment": self.var("environment"),
                "Layer": self.address.layer,
            })],
        )

    def _region_reference(self, region: str) -> str:
        """`var.region` is the account's backend region (backend.tfvars); DR layers use `var.region_secondary`."""
        if region == self.account.backend.region:
            return self.var("region")
        if region == self.project.region_secondary:
            return self.var("region_secondary")
        return region

    def build(self, settings: Any) -> None:
        """Add the layer's resources (your own layers); `settings` is an instance of the class's `Settings`, or
        None when the class declares none. The built-in layers take typed props in `__init__` instead."""
        raise NotImplementedError(f"{type(self).__name__} defines no build(self, settings)")

    def aws_name(self, name: str = "", kind: str | None = None) -> str:
        """The AWS name of this layer's resource `name`: `<project>-<account>[-dr]-<name>`. With `kind` (e.g.
        "sqs_queue", "s3_bucket", "iam_role": leverage/naming.py AWS_NAME_LIMITS), a name AWS would refuse is an error."""
        try:
            return aws_name(self.project.name, self.account.environment, name,
                            disaster_recovery=self.address.disaster_recovery, kind=kind)
        except ValueError as exc:
            raise UserError(str(exc), fix="choose a shorter or plainer name", layer=self.address.folder) from None

    def var(self, name: str) -> str:
        """Reference a Leverage variable; declare it only when the project's common file does not."""
        common = self.project.common_variables
        if common is not None and name in common:
            return "${var.%s}" % name
        if name not in LEVERAGE_VARIABLE_TYPES:
            raise UserError(f"uses variable {name!r}, which the project's common variables do not declare",
                            fix="use one of " + ", ".join(LEVERAGE_VARIABLE_TYPES)
                            + ", or declare it in config/common-variables.tf", layer=self.address.folder)
        if name not in self._declared:
            self._declared[name] = TerraformVariable(self, name, type=LEVERAGE_VARIABLE_TYPES[name])
        return self._declared[name].string_value

    def read_layer(self, account: str, layer: str, output: str, region: str | None = None) -> str:
        """Output `output` of layer `layer` in `account` (same region unless `region`), read from the state key
        that layer keeps. The app refuses the layers when that layer does not declare the output, and lists
        this layer after it."""
        caller = sys._getframe(1)
        site = ReadSite(caller.f_code.co_filename, caller.f_lineno)
        try:
            remote = RemoteLayer(self.project.account(account), layer, region or self.address.region)
        except UserError as exc:
            raise exc.in_context(layer=self.address.folder)
        self.read_sites[(self.project.state_key(account, remote.region, layer), output)] = site
        return self.remote_state(remote).get_string(output)

    def remote_state(self, remote: RemoteLayer) -> DataTerraformRemoteStateS3:
        """Remote state written the way the reference architecture writes it, named after the layer."""
        if remote not in self._remote_states:
            self._remote_states[remote] = self._remote_state(remote)
        return self._remote_states[remote]

    def _remote_state(self, remote: RemoteLayer) -> DataTerraformRemoteStateS3:
        construct_id = _terraform_name(remote.layer)
        if self.node.try_find_child(construct_id) is not None:  # same layer name in two accounts
            construct_id = _terraform_name(f"{remote.account.name}_{remote.layer}")
        key = literal(self.project.state_key(remote.account.name, remote.region, remote.layer))
        in_account = key.removeprefix(f"{remote.account.name}/")
        if remote.account.name == self.account.name:
            return DataTerraformRemoteStateS3(
                self,
                construct_id,
                region=self.var("region"),
                profile=self.var("profile"),
                bucket=self.var("bucket"),
                key=f"{self.var('environment')}/{in_account}" if in_account != key else key,
            )
        # Another account: its own profile and bucket, as literals the Leverage CLI can collect for SSO.
        return DataTerraformRemoteStateS3(
            self,
            construct_id,
            region=remote.account.backend.region,
            profile=remote.account.backend.profile,
            bucket=remote.account.backend.bucket,
            key=key,
        )

    def moved(self, from_address: str, to_address: str) -> None:
        """A `moved` block: the state at `from_address` belongs to `to_address` now (no destroy, no create)."""
        try:
            declare_move(self, from_address, to_address)
        except ConstructPropsError as exc:
            raise UserError(str(exc), fix="see docs/addresses.md", layer=self.address.folder) from None

    def check_addresses(self, synthesized: dict[str, Any]) -> None:
        """After synth, before anything is written: one element per address, none with cdktf's hashed default name,
        every name one Terraform loads, no Python object's text (`synthesized`: this stack's configuration)."""
        try:
            check_unique_addresses(self, self.address.folder, synthesized)
        except AddressError as exc:
            raise UserError(exc.problem, fix="see docs/addresses.md", layer=self.address.folder,
                            registration=self.registration) from None
        found = first_python_repr(synthesized)
        if found:
            where, text = found
            raise UserError(f"{where} is {text!r}, a Python object written as text (a token formatted with str() or "
                            "an f-string, such as an iterator's value): Terraform would take it as it is, and it "
                            "changes on every run", fix="pass the value itself, or Token.as_string(value) inside the "
                            "f-string (from bindings import Token)", layer=self.address.folder,
                            registration=self.registration)

    def output(self, name: str, value: Any, description: str) -> TerraformOutput:
        return TerraformOutput(self, name, value=value, description=description)


def _terraform_name(text: str) -> str:
    """Terraform names start with a letter or underscore and hold no '-' here, as the reference names them."""
    name = text.replace("-", "_")
    return name if name[0].isalpha() else f"layer_{name}"
