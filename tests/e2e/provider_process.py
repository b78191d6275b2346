"""One hashicorp/aws provider process for a whole Terraform command, instead of one for each of its phases.

A `plan` starts the provider three times (its schema, validation, the plan itself), an `apply` or a `destroy` four
times, and each start costs the provider's whole start-up (~0.5 s of CPU for hashicorp/aws 5.100, which builds
the schema of every resource type it has). Started once in the provider's debug mode, the same binary Terraform
installed for the layer serves every phase of the command through `TF_REATTACH_PROVIDERS` (Terraform's documented
way to use a provider it did not start): measured on the example's layers, a plan, apply or destroy then costs 35
to 45 % less CPU. The calls the provider receives and makes are the same; only the processes differ.

One process holds one provider configuration, while Terraform gives each configuration (an `alias`) its own
process: a layer declaring more than one `provider "aws"` (the lake layer's replica region) runs as usual.
"""
from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any, Iterator

import hcl2

PROVIDER_DIR = ".terraform/providers/registry.terraform.io/hashicorp/aws"
REATTACH = re.compile(r"TF_REATTACH_PROVIDERS='(.+)'")
ONE_PROCESS_COMMANDS = ("plan", "apply", "destroy")


def aws_provider_configurations(folder: Path) -> int:
    """How many `provider "aws"` blocks the layer's configuration files declare, HCL and JSON."""
    count = 0
    for path in sorted(folder.glob("*.tf")):
        count += sum(1 for block in hcl2.loads(path.read_text(encoding="utf-8")).get("provider", []) if "aws" in block)
    for path in sorted(folder.glob("*.tf.json")):
        providers: Any = json.loads(path.read_text(encoding="utf-8")).get("provider", {}).get("aws", [])
        count += len(providers) if isinstance(providers, list) else 1
    return count


def installed_provider(folder: Path) -> Path:
    """The hashicorp/aws binary `init` installed for the layer (the one Terraform would start)."""
    binaries = sorted((folder / PROVIDER_DIR).glob("*/*/terraform-provider-aws*"))
    if len(binaries) != 1:
        raise RuntimeError(f"{folder}: expected one installed hashicorp/aws provider, found {binaries}")
    return binaries[0]


@contextlib.contextmanager
def one_provider_process(folder: Path, env: dict[str, str]) -> Iterator[dict[str, str]]:
    """The layer's provider started in debug mode (in the layer's folder, with Terraform's environment, as
    Terraform starts it), and `env` with the `TF_REATTACH_PROVIDERS` that hands it to Terraform; stopped after."""
    process = subprocess.Popen([str(installed_provider(folder)), "-debug"], cwd=folder, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    reattach = None
    for line in process.stdout:  # the provider prints the variable's value once it serves
        if match := REATTACH.search(line):
            reattach = match.group(1)
            break
    drain = threading.Thread(target=process.stdout.read, daemon=True)  # never let a full pipe block it
    drain.start()
    try:
        if reattach is None:
            raise RuntimeError(f"{folder}: the provider exited ({process.wait()}) before it served")
        yield {**env, "TF_REATTACH_PROVIDERS": reattach}
    finally:
        process.send_signal(signal.SIGINT)  # debug mode stops on an interrupt
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        drain.join()


def one_process_serves(folder: Path, command: str) -> bool:
    """Whether one provider process may serve this Terraform command in this layer."""
    return command in ONE_PROCESS_COMMANDS and aws_provider_configurations(folder) == 1
