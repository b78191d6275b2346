"""Terraform root modules (layers) as the access proof reads them: every value resolved from the configuration,
the layers it reads (remote state, followed to the other layer's output expression) and the project's variables.

Attributes AWS computes are derived as AWS derives them (an S3 bucket's ARN from its name, a role's from the
account and name); a KMS key's id, which AWS chooses at random, becomes a stable stand-in per key, the same
wherever the key is referenced. A value nothing determines raises `Unresolved` with the expression.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_constructs.access.expressions import Path, Unresolved, evaluate, evaluate_template

# A stand-in for the ids AWS chooses itself, stable per layer and address.
STAND_IN_NAMESPACE = uuid.UUID("6f0b6f1e-2b1a-4c1e-9d7e-0a5c1c0f3a11")


@dataclass(frozen=True)
class TerraformLayer:
    """One root module: its resources, data sources, outputs, locals and providers in Terraform's JSON shape, the
    values of its variables, and which layer each of its `terraform_remote_state` data sources reads."""

    name: str  # where it lives, e.g. "data-science/us-east-1/datalake-demo"
    account_id: str
    config: dict[str, Any]
    variables: dict[str, Any] = field(default_factory=dict)
    reads: dict[str, str] = field(default_factory=dict)  # remote state data source name -> layer name

    def blocks(self, kind: str, block_type: str) -> dict[str, Any]:
        """`resource` or `data` blocks of one type, by name."""
        found = self.config.get(kind, {}).get(block_type, {})
        return found if isinstance(found, dict) else {}


def terraform_json(documents: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Merge Terraform JSON documents and python-hcl2's reading of `.tf` files into one Terraform JSON shape."""
    merged: dict[str, Any] = {"resource": {}, "data": {}, "output": {}, "locals": {}, "provider": {}}
    for document in documents:
        for kind in ("resource", "data"):
            for block in _as_blocks(document.get(kind)):
                for block_type, named in block.items():
                    merged[kind].setdefault(block_type, {}).update(named)
        for block in _as_blocks(document.get("output")):
            merged["output"].update(block)
        for block in _as_blocks(document.get("locals")):
            merged["locals"].update(block)
        for block in _as_blocks(document.get("provider")):
            for name, bodies in block.items():
                merged["provider"].setdefault(name, []).extend(bodies if isinstance(bodies, list) else [bodies])
    return merged


def _as_blocks(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    return [block for block in value or () if isinstance(block, dict)]


class Layers:
    """Every layer the proof reads, and the resolution of any value in any of them."""

    def __init__(self, layers: Sequence[TerraformLayer]) -> None:
        self._layers = {layer.name: layer for layer in layers}
        self._resolving: set[tuple[str, str]] = set()

    def __iter__(self) -> Iterator[TerraformLayer]:
        return iter(self._layers.values())

    def layer(self, name: str) -> TerraformLayer:
        if name not in self._layers:
            raise Unresolved(name, "no such layer is loaded")
        return self._layers[name]

    def value(self, layer: TerraformLayer, template: Any) -> Any:
        return evaluate(template, _LayerScope(self, layer))

    def resources(self, block_type: str) -> Iterator[tuple[TerraformLayer, str, dict[str, Any]]]:
        for layer in self._layers.values():
            for name, body in layer.blocks("resource", block_type).items():
                yield layer, name, body

    def argument(self, layer: TerraformLayer, block_type: str, name: str, argument: str) -> Any:
        body = self._body(layer, "resource", block_type, name)
        if argument not in body:
            raise Unresolved(f"{block_type}.{name}.{argument}", f"not set in {layer.name}")
        return self._guarded(layer, f"{block_type}.{name}.{argument}", lambda: self.value(layer, body[argument]))

    def attribute(self, layer: TerraformLayer, block_type: str, name: str, attribute: str) -> Any:
        """A resource's attribute: an argument of its configuration, or what AWS computes from them."""
        body = self._body(layer, "resource", block_type, name)
        if attribute in body:
            return self.argument(layer, block_type, name, attribute)
        return computed_attribute(self, layer, block_type, name, body, attribute)

    def output(self, layer_name: str, output: str) -> Any:
        layer = self.layer(layer_name)
        declared = layer.config.get("output", {}).get(output)
        if not isinstance(declared, dict) or "value" not in declared:
            raise Unresolved(f"output {output}", f"{layer_name} declares no such output")
        return self._guarded(layer, f"output.{output}", lambda: self.value(layer, declared["value"]))

    def region(self, layer: TerraformLayer, provider: str | None = None) -> str:
        """The region of a layer's `aws` provider (`aws.<alias>` for another one)."""
        provider = provider.removeprefix("${").removesuffix("}") if provider else None
        alias = provider.split(".", 1)[1] if provider and "." in provider else None
        for body in layer.config.get("provider", {}).get("aws", []):
            if body.get("alias") == alias:
                if "region" not in body:
                    raise Unresolved(provider or "aws", f"the provider of {layer.name} sets no region")
                return self.value(layer, body["region"])
        raise Unresolved(provider or "aws", f"{layer.name} configures no such provider")

    def find(self, block_type: str, attribute: str, value: Any) -> tuple[TerraformLayer, str, dict[str, Any]]:
        """The one resource of a type whose attribute has this value (a bucket by its ARN, a role by its ARN)."""
        found = [(layer, name, body) for layer, name, body in self.resources(block_type)
                 if self.attribute(layer, block_type, name, attribute) == value]
        if len(found) != 1:
            raise Unresolved(str(value), f"{len(found)} {block_type} of the layers have {attribute} {value!r}")
        return found[0]

    def _body(self, layer: TerraformLayer, kind: str, block_type: str, name: str) -> dict[str, Any]:
        body = layer.blocks(kind, block_type).get(name)
        if not isinstance(body, dict):
            prefix = "data." if kind == "data" else ""
            raise Unresolved(f"{prefix}{block_type}.{name}", f"{layer.name} has no such {kind}")
        return body

    def _guarded(self, layer: TerraformLayer, what: str, compute: Callable[[], Any]) -> Any:
        key = (layer.name, what)
        if key in self._resolving:
            raise Unresolved(what, f"it refers to itself in {layer.name}")
        self._resolving.add(key)
        try:
            return compute()
        finally:
            self._resolving.discard(key)

    def data_source(self, layer: TerraformLayer, block_type: str, name: str) -> dict[str, Any]:
        body = self._body(layer, "data", block_type, name)
        return self._guarded(layer, f"data.{block_type}.{name}", lambda: self.value(layer, body))


class _LayerScope:
    def __init__(self, layers: Layers, layer: TerraformLayer) -> None:
        self.layers = layers
        self.layer = layer

    def reference(self, path: Path, expression: str) -> Any:
        head = path[0]
        if head == "var" and len(path) >= 2:
            if path[1] not in self.layer.variables:
                raise Unresolved(expression, f"var.{path[1]} has no value in the project's var-files")
            return _walk(self.layer.variables[path[1]], path[2:], expression)
        if head == "local" and len(path) >= 2:
            if path[1] not in self.layer.config.get("locals", {}):
                raise Unresolved(expression, f"{self.layer.name} has no local {path[1]}")
            return _walk(self.layers.value(self.layer, self.layer.config["locals"][path[1]]), path[2:], expression)
        if head == "data" and len(path) >= 4:
            return self._data(path, expression)
        if isinstance(head, str) and head.startswith("aws_") and len(path) >= 3:
            value = self.layers.attribute(self.layer, head, str(path[1]), str(path[2]))
            return _walk(value, path[3:], expression)
        raise Unresolved(expression, f"{'.'.join(map(str, path))} is not a reference the proof resolves")

    def _data(self, path: Path, expression: str) -> Any:
        _, block_type, name, attribute, *rest = path
        if block_type == "terraform_remote_state" and attribute == "outputs" and rest:
            target = self.layer.reads.get(str(name))
            if target is None:
                raise Unresolved(expression, f"{self.layer.name} does not say which layer {name} reads")
            if target.startswith("("):
                raise Unresolved(expression, f"{name} reads {target[1:-1]}")
            return _walk(self.layers.output(target, str(rest[0])), tuple(rest[1:]), expression)
        if block_type == "aws_iam_policy_document" and attribute == "json":
            return json.dumps(render_policy_document(
                self.layers.data_source(self.layer, block_type, str(name)), f"data.{block_type}.{name}"))
        if block_type == "aws_caller_identity" and attribute == "account_id":
            return self.layer.account_id
        if block_type == "aws_region" and attribute in ("name", "region"):
            return self.layers.region(self.layer)
        raise Unresolved(expression, f"data.{block_type}.{name}.{attribute} is not resolved by the proof")


def _walk(value: Any, steps: Sequence[str | int], expression: str) -> Any:
    for step in steps:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            raise Unresolved(expression, f"no {step!r} in the value {value!r}") from None
    return value


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def computed_attribute(layers: Layers, layer: TerraformLayer, block_type: str, name: str, body: dict[str, Any],
                       attribute: str) -> Any:
    """What AWS computes for an attribute the configuration does not set (ARNs, ids, URLs)."""
    address = f"{block_type}.{name}.{attribute}"
    region = layers.region(layer, body.get("provider"))
    partition, account = partition_of(region), layer.account_id

    def arg(argument: str) -> Any:
        return layers.argument(layer, block_type, name, argument)

    def arn(service: str, resource: str, *, regional: bool = True) -> str:
        return f"arn:{partition}:{service}:{region if regional else ''}:{account}:{resource}"

    key_id = str(uuid.uuid5(STAND_IN_NAMESPACE, f"{layer.name}/{block_type}.{name}"))
    rules: dict[str, dict[str, Any]] = {
        "aws_s3_bucket": {"arn": lambda: f"arn:{partition}:s3:::{arg('bucket')}", "id": lambda: arg("bucket")},
        "aws_iam_role": {"arn": lambda: arn("iam", f"role{body.get('path', '/')}{arg('name')}", regional=False),
                         "id": lambda: arg("name"), "name": lambda: arg("name")},
        "aws_iam_policy": {"arn": lambda: arn("iam", f"policy{arg('path') if 'path' in body else '/'}{arg('name')}",
                                              regional=False)},
        "aws_kms_key": {"arn": lambda: arn("kms", f"key/{key_id}"), "id": lambda: key_id, "key_id": lambda: key_id},
        "aws_sns_topic": {"arn": lambda: arn("sns", arg("name")), "id": lambda: arn("sns", arg("name"))},
        "aws_sqs_queue": {"arn": lambda: arn("sqs", arg("name")),
                          "url": lambda: f"https://sqs.{region}.amazonaws.com/{account}/{arg('name')}",
                          "id": lambda: f"https://sqs.{region}.amazonaws.com/{account}/{arg('name')}"},
        "aws_kinesis_stream": {"arn": lambda: arn("kinesis", f"stream/{arg('name')}")},
        "aws_kinesis_firehose_delivery_stream": {"arn": lambda: arn("firehose", f"deliverystream/{arg('name')}")},
        "aws_dynamodb_table": {"arn": lambda: arn("dynamodb", f"table/{arg('name')}"), "id": lambda: arg("name")},
        "aws_glue_catalog_database": {"arn": lambda: arn("glue", f"database/{arg('name')}"), "id": lambda: arg("name")},
        "aws_glue_job": {"arn": lambda: arn("glue", f"job/{arg('name')}"), "id": lambda: arg("name")},
        "aws_glue_crawler": {"arn": lambda: arn("glue", f"crawler/{arg('name')}"), "id": lambda: arg("name")},
        "aws_glue_security_configuration": {"id": lambda: arg("name")},
        "aws_cloudwatch_log_group": {"arn": lambda: arn("logs", f"log-group:{arg('name')}"), "id": lambda: arg("name")},
        "aws_cloudwatch_log_stream": {"arn": lambda: arn(
            "logs", f"log-group:{arg('log_group_name')}:log-stream:{arg('name')}")},
        "aws_cloudwatch_event_rule": {"arn": lambda: arn("events", f"rule/{arg('name')}"), "id": lambda: arg("name")},
        "aws_cloudwatch_metric_alarm": {"arn": lambda: arn("cloudwatch", f"alarm:{arg('alarm_name')}")},
        "aws_athena_workgroup": {"arn": lambda: arn("athena", f"workgroup/{arg('name')}"), "id": lambda: arg("name")},
    }
    rule = rules.get(block_type, {}).get(attribute)
    if rule is None:
        raise Unresolved(address, f"not set in {layer.name}, and the proof does not derive it")
    return rule()


def render_policy_document(document: dict[str, Any], where: str) -> dict[str, Any]:
    """An evaluated `aws_iam_policy_document` as the AWS provider renders its JSON."""
    unsupported = sorted(set(document) - {"statement", "version", "policy_id"})
    if unsupported:
        raise Unresolved(where, f"{', '.join(unsupported)} of a policy document is not rendered by the proof")
    statements = []
    for statement in document.get("statement", []):
        rendered: dict[str, Any] = {}
        if statement.get("sid"):
            rendered["Sid"] = statement["sid"]
        rendered["Effect"] = statement.get("effect", "Allow")
        for argument, element in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
            if statement.get(argument):
                rendered[element] = _principals(statement[argument])
        for argument, element in (("actions", "Action"), ("not_actions", "NotAction"), ("resources", "Resource"),
                                  ("not_resources", "NotResource")):
            if statement.get(argument):
                rendered[element] = _one_or_list(statement[argument])
        conditions: dict[str, dict[str, Any]] = {}
        for condition in statement.get("condition") or ():
            by_variable = conditions.setdefault(condition["test"], {})
            if condition["variable"] in by_variable:
                raise Unresolved(where, f"two {condition['test']} conditions on {condition['variable']}")
            by_variable[condition["variable"]] = _one_or_list(condition["values"])
        if conditions:
            rendered["Condition"] = conditions
        statements.append(rendered)
    return {"Version": document.get("version", "2012-10-17"), "Statement": statements}


def _principals(blocks: list[dict[str, Any]]) -> Any:
    if len(blocks) == 1 and blocks[0]["type"] == "*" and blocks[0]["identifiers"] == ["*"]:
        return "*"
    rendered: dict[str, Any] = {}
    for block in blocks:
        rendered.setdefault(block["type"], []).extend(block["identifiers"])
    return {kind: _one_or_list(ids) for kind, ids in rendered.items()}


def _one_or_list(values: list[Any]) -> Any:
    values = sorted(set(values), key=str) if isinstance(values, list) else values
    return values[0] if isinstance(values, list) and len(values) == 1 else values
