"""Apply a Leverage project's layers for real: Terraform and hashicorp/aws against moto's server, offline.

    with Emulator.start() as emulator:
        project = LeverageProject(root, toolchain, emulator, scratch)   # root: a temporary copy, never a checkout
        project.bootstrap()                                              # state bucket and lock table per account
        project.apply("apps-devstg/us-east-1/databases-dynamodb")
        plan = project.plan("apps-devstg/us-east-1/databases-dynamodb")  # PlanResult, parsed `show -json`
        project.destroy(...)

Layers run as the Leverage CLI runs them: in the layer's folder, `init -backend-config=<account>/config/backend.tfvars`,
then every other command with one `-var-file` for each `*.tfvars` of `config/` and `<account>/config/`. Each account's
profile (named in its backend.tfvars) assumes a role in that account's id, so moto keeps the accounts apart.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import itertools
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterator, TypeVar

import boto3

from leverage.project.tfvars import read_hcl
from tests.layers import backend_key
from tests.e2e.toolchain import Toolchain

EMULATOR = Path(__file__).with_name("emulator.py")
# Every service the layers and the S3 backend call, pointed at the emulator (the SDKs' standard variables).
SERVICES = ("DYNAMODB", "STS", "IAM", "KMS", "KINESIS", "FIREHOSE", "CLOUDWATCH_LOGS", "GLUE")
# S3 is the exception. The AWS SDK for Go addresses a bucket by virtual host (`<bucket>.<endpoint host>`), and neither
# the S3 backend nor the provider takes path style from the environment (only from the layer, which must not change).
# So S3 gets a made-up host under the reserved `.test` domain and the emulator doubles as the HTTP proxy that reaches
# it: nothing is resolved, and moto reads the bucket from the Host header.
S3_ENDPOINT = "http://s3.e2e.test"
BASE_PROFILE = "e2e-base"  # static keys; every account profile assumes its role from it
BASE_KEYS = {"aws_access_key_id": "AKIAE2EBASE000000000", "aws_secret_access_key": "e2e-secret"}
GOGC = "1000"  # see LeverageProject._environment


class TerraformFailed(AssertionError):
    pass


def run_app(*argv: str) -> str:
    """`main.py <argv>` in-process (jsii loads once per process), its standard output. From the main thread only."""
    import main as app_main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = app_main.main(list(argv))
    assert code == 0, f"main.py {' '.join(argv)} exited {code}: {err.getvalue()}"
    return out.getvalue()


@dataclass(frozen=True)
class Listed:
    """`main.py list` of a project: generated layers in apply order, and what they read that is not generated."""

    layers: list[str]  # <account>/<region>/<layer>
    security_keys_accounts: list[str]  # accounts whose layers read their `security-keys` state
    # layer -> what it reads, as `list` names it: another layer's folder, or `state <key> (not generated)`
    reads: dict[str, tuple[str, ...]] = field(default_factory=dict)


def synthesize(root: Path, *context: str) -> Listed:
    """Generate the project's layers (`synth`), then `list` them; context: extra `-c key=value` arguments."""
    run_app("synth", "-c", f"leverageRoot={root}", *context)
    lines = run_app("list", "-c", f"leverageRoot={root}", *context).splitlines()
    keys = re.findall(r"state ([^/\s]+)/security-keys/terraform\.tfstate", "\n".join(lines))
    rows = [line.split("\t") for line in lines]
    reads = {row[0]: tuple(read for read in row[2].removeprefix("reads: ").split(", ") if read != "-")
             for row in rows}
    return Listed([row[0] for row in rows], sorted(set(keys)), reads)


def dependencies(layers: list[str], reads: dict[str, tuple[str, ...]]) -> dict[str, set[str]]:
    """Layer -> the layers of `layers` it reads: a folder `list` names, or the layer keeping a state key it names
    (`<account>/<layer>/terraform.tfstate`, Leverage's convention). Reads of layers not in `layers` are left out."""
    by_state_key = {f"{layer.split('/')[0]}/{layer.split('/')[-1]}/terraform.tfstate": layer for layer in layers}
    found: dict[str, set[str]] = {}
    for layer in layers:
        named = [by_state_key.get(read.split()[1], "") if read.startswith("state ") else read
                 for read in reads.get(layer, ())]
        found[layer] = {other for other in named if other in layers and other != layer}
    return found


Result = TypeVar("Result")


def run_in_dependency_order(layers: list[str], depends_on: dict[str, set[str]],
                            work: Callable[[str], Result]) -> dict[str, Result]:
    """`work(layer)` for every layer once the layers it depends on are done, independent layers side by side
    (threads: the work is Terraform in child processes), and the results by layer. `layers` lists each layer after
    its dependencies. A layer whose dependency failed (or was not run) is not run; once every started layer has
    finished, the first failure of `work`, in `layers` order, is raised."""
    failed: dict[str, BaseException] = {}

    def after_dependencies(layer: str, needed: dict[str, Future[Result]]) -> Result:
        not_done = sorted(other for other, future in needed.items() if future.exception() is not None)  # waits
        if not_done:
            raise DependencyFailed(f"{layer}: not run, {', '.join(not_done)} did not finish")
        try:
            return work(layer)
        except BaseException as exc:
            failed[layer] = exc
            raise

    futures: dict[str, Future[Result]] = {}
    with ThreadPoolExecutor(max_workers=max(len(layers), 1)) as pool:  # one thread per layer: waiting never blocks
        for layer in layers:
            futures[layer] = pool.submit(after_dependencies, layer,
                                         {other: futures[other] for other in depends_on[layer]})
    first = next((failed[layer] for layer in layers if layer in failed), None)
    if first is not None:
        raise first
    return {layer: future.result() for layer, future in futures.items()}


class DependencyFailed(RuntimeError):
    pass


@dataclass
class Emulator:
    """moto's server (with the harness's shims) in a child process on a free loopback port."""

    process: subprocess.Popen[str]
    port: int

    @classmethod
    def start(cls) -> Emulator:
        process = subprocess.Popen([sys.executable, str(EMULATOR)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   text=True, cwd=EMULATOR.parent)
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("port "):
            process.kill()
            raise RuntimeError(f"the emulator did not start (exit {process.wait()}): {line!r}")
        return cls(process, int(line.split()[1]))

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()  # the emulator stops when its standard input closes
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Account:
    name: str
    id: str
    profile: str  # from <account>/config/backend.tfvars
    region: str
    bucket: str
    lock_table: str
    role: str  # assumed in the account, like the SSO role Leverage would use

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.id}:role/{self.role}"


@dataclass
class TerraformRun:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class PlanResult:
    """`plan -detailed-exitcode` (code 0: no change, 2: changes) and, on demand, `show -json` of the saved plan."""

    code: int
    text: str
    show: Callable[[], dict[str, Any]] = field(repr=False)
    _json: dict[str, Any] | None = field(default=None, init=False, repr=False)

    @property
    def json(self) -> dict[str, Any]:
        if self._json is None:
            self._json = self.show()
        return self._json

    @property
    def changes(self) -> dict[str, list[str]]:
        """address -> actions, for every resource the plan does more to than read or leave alone."""
        return {change["address"]: change["change"]["actions"] for change in self.json.get("resource_changes", [])
                if change["change"]["actions"] not in (["no-op"], ["read"])}

    @property
    def moves(self) -> dict[str, str]:
        """address -> previous address, for every resource the plan moves."""
        return {change["address"]: change["previous_address"] for change in self.json.get("resource_changes", [])
                if change.get("previous_address")}

    @property
    def imports(self) -> list[str]:
        return [change["address"] for change in self.json.get("resource_changes", [])
                if change["change"].get("importing")]


@dataclass
class LeverageProject:
    """A Leverage project (a temporary copy) whose layers Terraform applies against the emulator."""

    root: Path
    toolchain: Toolchain
    emulator: Emulator
    scratch: Path  # the AWS and Terraform CLI configuration of these runs
    accounts: dict[str, Account] = field(init=False)
    env: dict[str, str] = field(init=False)
    log: list[str] = field(default_factory=list)  # every command run, for failure messages
    applied_layers: list[str] = field(default_factory=list)  # applied successfully, in the order they finished
    _plans: Iterator[int] = field(default_factory=lambda: itertools.count(1), init=False, repr=False)

    def __post_init__(self) -> None:
        self.root = self.root.resolve()  # terraform runs in each layer's folder
        common = read_hcl(self.root / "config" / "common.tfvars", self.root)
        self.accounts = {}
        for name, entry in common["accounts"].items():
            config = self.root / name / "config"
            if not (config / "backend.tfvars").is_file():
                continue
            backend = read_hcl(config / "backend.tfvars", self.root)
            account_file = config / "account.tfvars"
            account_vars = read_hcl(account_file, self.root) if account_file.is_file() else {}
            self.accounts[name] = Account(name, str(entry["id"]), backend["profile"], backend["region"],
                                          backend["bucket"], backend["dynamodb_table"],
                                          account_vars.get("sso_role", "DevOps"))
        self.scratch.mkdir(parents=True, exist_ok=True)
        self._write_aws_config()
        self.env = self._environment()

    # -- the machine the layers run on ------------------------------------------------------------------------
    def _write_aws_config(self) -> None:
        """Static keys for a base profile; every account profile assumes its account's role from it."""
        lines = [f"[profile {BASE_PROFILE}]", *(f"{key} = {value}" for key, value in BASE_KEYS.items()),
                 "region = us-east-1", ""]
        for account in self.accounts.values():
            lines += [f"[profile {account.profile}]", f"role_arn = {account.role_arn}",
                      f"source_profile = {BASE_PROFILE}", f"role_session_name = e2e-{account.name}",
                      f"region = {account.region}", ""]
        (self.scratch / "aws-config").write_text("\n".join(lines), encoding="utf-8")
        (self.scratch / "aws-credentials").write_text("", encoding="utf-8")
        (self.scratch / "terraformrc").write_text(self.toolchain.cli_config(), encoding="utf-8")

    def _environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "TF_"))}
        env.update({"AWS_CONFIG_FILE": str(self.scratch / "aws-config"),
                    "AWS_SHARED_CREDENTIALS_FILE": str(self.scratch / "aws-credentials"),
                    "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": self.emulator.endpoint,
                    "TF_CLI_CONFIG_FILE": str(self.scratch / "terraformrc"), "TF_IN_AUTOMATION": "1",
                    "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1",
                    # Go's collector less often in Terraform and the provider (both Go): every command starts the
                    # provider, which builds its whole schema (~2.6 s of CPU at Go's default of 100, ~2 s here,
                    # measured with `providers schema -json`), and the scenarios share two cores. A short run then
                    # collects a few times rather than dozens, for ~50 MB more per process; nothing else changes.
                    "GOGC": GOGC})
        env.update({f"AWS_ENDPOINT_URL_{service}": self.emulator.endpoint for service in SERVICES})
        env.update({"AWS_ENDPOINT_URL_S3": S3_ENDPOINT, "HTTP_PROXY": self.emulator.endpoint,
                    "http_proxy": self.emulator.endpoint, "NO_PROXY": "127.0.0.1,localhost",
                    "no_proxy": "127.0.0.1,localhost"})
        if self.toolchain.mirror is None:  # from the registry: download once per run
            cache = self.scratch.parent / "plugin-cache"
            cache.mkdir(exist_ok=True)
            env["TF_PLUGIN_CACHE_DIR"] = str(cache)
        return env

    def client(self, account: str, service: str) -> Any:
        """A boto3 client acting in the account, through the same role its profile assumes."""
        target = self.accounts[account]
        sts = boto3.client("sts", endpoint_url=self.emulator.endpoint, region_name=target.region, **BASE_KEYS)
        credentials = sts.assume_role(RoleArn=target.role_arn, RoleSessionName=f"e2e-{account}")["Credentials"]
        return boto3.client(service, endpoint_url=self.emulator.endpoint, region_name=target.region,
                            aws_access_key_id=credentials["AccessKeyId"],
                            aws_secret_access_key=credentials["SecretAccessKey"],
                            aws_session_token=credentials["SessionToken"])

    def bootstrap(self) -> None:
        """Each account's state bucket and lock table, as Leverage's base-tf-backend layer creates them."""
        for account in self.accounts.values():
            s3 = self.client(account.name, "s3")
            location = {} if account.region == "us-east-1" else {
                "CreateBucketConfiguration": {"LocationConstraint": account.region}}
            s3.create_bucket(Bucket=account.bucket, **location)
            s3.put_bucket_versioning(Bucket=account.bucket, VersioningConfiguration={"Status": "Enabled"})
            s3.put_bucket_encryption(Bucket=account.bucket, ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
            s3.put_public_access_block(Bucket=account.bucket, PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True})
            self.client(account.name, "dynamodb").create_table(
                TableName=account.lock_table, BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])

    # -- Terraform, the way Leverage runs it --------------------------------------------------------------------
    def account_of(self, layer: str) -> str:
        return layer.split("/")[0]

    def var_files(self, layer: str) -> list[str]:
        folders = (self.root / "config", self.root / self.account_of(layer) / "config")
        return [f"-var-file={path}" for folder in folders for path in sorted(folder.glob("*.tfvars"))]

    def terraform(self, layer: str, *args: str, check: bool = True) -> TerraformRun:
        folder = self.root / layer
        command = [*self.toolchain.command, *args]
        done = subprocess.run(command, cwd=folder, env=self.env, capture_output=True, text=True)
        run = TerraformRun(done.returncode, done.stdout, done.stderr)
        self.log.append(f"{layer}: terraform {' '.join(args)} -> {run.code}")
        if check and run.code != 0:
            raise TerraformFailed(f"{layer}: terraform {args[0]} exited {run.code}\n{run.text[-6000:]}")
        return run

    def init(self, layer: str) -> TerraformRun:
        backend = self.root / self.account_of(layer) / "config" / "backend.tfvars"
        return self.terraform(layer, "init", "-input=false", "-no-color", f"-backend-config={backend}")

    def apply(self, layer: str) -> TerraformRun:
        if not (self.root / layer / ".terraform").is_dir():
            self.init(layer)
        run = self.terraform(layer, "apply", "-input=false", "-no-color", "-auto-approve", *self.var_files(layer))
        self.applied_layers.append(layer)
        return run

    def plan(self, layer: str) -> PlanResult:
        plan_file = f"e2e-{next(self._plans)}.tfplan"  # kept, so each result's `show -json` reads its own plan
        run = self.terraform(layer, "plan", "-input=false", "-no-color", "-detailed-exitcode", f"-out={plan_file}",
                             *self.var_files(layer), check=False)
        if run.code not in (0, 2):
            raise TerraformFailed(f"{layer}: terraform plan exited {run.code}\n{run.text[-6000:]}")
        return PlanResult(run.code, run.text, lambda: json.loads(self.terraform(layer, "show", "-json", plan_file).out))

    def destroy(self, layer: str) -> TerraformRun:
        """Runs `destroy` and returns its result, failed or not (deletion protection makes it fail on purpose)."""
        return self.terraform(layer, "destroy", "-input=false", "-no-color", "-auto-approve", *self.var_files(layer),
                              check=False)

    def state(self, layer: str) -> dict[str, Any]:
        """The layer's state as its S3 backend keeps it (the key its config.tf declares, the account's state bucket),
        read without a Terraform process; empty before the first apply."""
        account = self.accounts[self.account_of(layer)]
        s3 = self.client(account.name, "s3")
        try:
            body = s3.get_object(Bucket=account.bucket, Key=backend_key(self.root / layer))["Body"].read()
        except s3.exceptions.NoSuchKey:
            return {}
        return json.loads(body)

    def outputs(self, layer: str) -> dict[str, Any]:
        """What `terraform output -json` shows, by name."""
        return {name: entry["value"] for name, entry in self.state(layer).get("outputs", {}).items()}

    def destroy_emptying_buckets(self, layer: str) -> TerraformRun:
        """`destroy`; when a bucket still holds objects (access logs written while destroying: moto writes them at
        once, AWS within minutes), empty the layer account's buckets and destroy again, as an operator would."""
        run = self.destroy(layer)
        if run.code != 0 and "BucketNotEmpty" in run.text:
            self.empty_buckets(self.account_of(layer))
            run = self.destroy(layer)
        return run

    def empty_buckets(self, account: str) -> None:
        """Delete every object version and delete marker in the account's buckets (its state bucket excepted). A
        bucket another layer's destroy deletes meanwhile is skipped."""
        s3 = self.client(account, "s3")
        for bucket in s3.list_buckets()["Buckets"]:
            if bucket["Name"] == self.accounts[account].bucket:
                continue
            try:
                listed = s3.list_object_versions(Bucket=bucket["Name"])
                for entry in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
                    s3.delete_object(Bucket=bucket["Name"], Key=entry["Key"], VersionId=entry["VersionId"])
            except s3.exceptions.NoSuchBucket:
                continue

    def state_addresses(self, layer: str) -> list[str]:
        """What `terraform state list` shows: every resource instance's address, data sources included."""
        return state_addresses(self.state(layer))


def state_addresses(state: dict[str, Any]) -> list[str]:
    """The addresses of a state's resource instances, as `terraform state list` writes them."""
    addresses = []
    for resource in state.get("resources", []):
        address = ("data." if resource["mode"] == "data" else "") + f"{resource['type']}.{resource['name']}"
        if resource.get("module"):
            address = f"{resource['module']}.{address}"
        for instance in resource.get("instances", []):
            key = instance.get("index_key")
            addresses.append(address if key is None else f"{address}[{json.dumps(key)}]")
    return sorted(addresses)


@dataclass
class LayerLifecycle:
    """What happened to a project's layers, recorded while its emulator ran, asserted afterwards.

    Layers apply as `list` orders them, with one liberty: a layer starts once the layers it reads are applied,
    beside the layers it does not read. Any order that applies each layer after what it reads then works, `list`'s
    serial order among them; a layer that needed another without reading it would fail here. Destroys run the same
    way in reverse: a layer once the layers reading it are destroyed."""

    name: str = "the project"
    layers: list[str] = field(default_factory=list)  # apply order: the project's own layers, then `list` order
    reads: dict[str, tuple[str, ...]] = field(default_factory=dict)  # as `Listed.reads`; own layers read nothing
    applied: list[str] = field(default_factory=list)  # in `layers` order
    plans: dict[str, PlanResult] = field(default_factory=dict)  # the plan right after each apply
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    destroyed: dict[str, TerraformRun] = field(default_factory=dict)  # in reverse `layers` order
    left: dict[str, list[str]] = field(default_factory=dict)  # state after destroy, per layer
    error: BaseException | None = None
    log: list[str] = field(default_factory=list)

    def apply_in_order(self, project: LeverageProject) -> None:
        def apply(layer: str) -> tuple[PlanResult, dict[str, Any]]:
            project.init(layer)
            project.apply(layer)
            plan = project.plan(layer)
            if plan.code != 0:
                plan.json  # noqa: B018  (read while the emulator runs, for the failure message)
            return plan, project.outputs(layer)

        try:
            done = run_in_dependency_order(self.layers, dependencies(self.layers, self.reads), apply)
        finally:
            self.applied = [layer for layer in self.layers if layer in project.applied_layers]
        for layer in self.layers:
            self.plans[layer], self.outputs[layer] = done[layer]

    def destroy_in_reverse(self, project: LeverageProject) -> None:
        """Buckets holding objects refuse to be destroyed (no force_destroy) and the applies and plans wrote access
        logs, so every account's buckets are emptied first, as an operator would after archiving them."""
        for account in project.accounts:
            project.empty_buckets(account)
        depends_on = dependencies(self.layers, self.reads)
        read_by = {layer: {other for other in self.layers if layer in depends_on[other]} for layer in self.layers}

        def destroy(layer: str) -> tuple[TerraformRun, list[str]]:
            run = project.destroy_emptying_buckets(layer)
            return run, [address for address in project.state_addresses(layer) if not address.startswith("data.")]

        done = run_in_dependency_order(list(reversed(self.layers)), read_by, destroy)
        for layer in reversed(self.layers):
            self.destroyed[layer], self.left[layer] = done[layer]

    def check(self) -> None:
        if self.error is not None:
            raise AssertionError(f"{self.name}: the run stopped:\n" + "\n".join(self.log[-8:])) from self.error


def write_security_keys_layer(root: Path, account: str, region: str) -> str:
    """The project's own `security-keys` layer (not generated): a KMS key and its `aws_kms_key_arn` output."""
    layer = f"{account}/{region}/security-keys"
    folder = root / layer
    folder.mkdir(parents=True)
    for name, text in security_keys_files(account).items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "common-variables.tf").symlink_to("../../../config/common-variables.tf")
    return layer


def security_keys_files(account: str) -> dict[str, str]:
    """The files of a `security-keys` layer as a project keeps it (the access proof reads them too)."""
    return {"config.tf": f'''provider "aws" {{
  profile = var.profile
  region  = var.region
}}

terraform {{
  required_version = ">= 1.6.0"
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }}
  }}
  backend "s3" {{
    key = "{account}/security-keys/terraform.tfstate"
  }}
}}
''', "main.tf": '''resource "aws_kms_key" "main" {
  description             = "${var.project}-${var.environment} default key"
  deletion_window_in_days = 7
  enable_key_rotation     = true
}

output "aws_kms_key_arn" {
  value = aws_kms_key.main.arn
}
'''}
