"""Terraform's string templates and expressions, evaluated the way Terraform evaluates them, for the subset the layers
use: references, literals, lists, objects, indexes and a few functions. The expression syntax is parsed by
python-hcl2 (the parser the Leverage CLI reads HCL with); references are answered by the caller's `Scope`.

Anything else (an unknown function, an operator, a `for` expression, a reference the scope cannot answer) raises
`Unresolved` with the expression: the access proof never guesses a value.
"""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import hcl2.parser
from lark import Token, Tree

from aws_constructs.access.interpolation import Unresolved, closing_brace

Path = tuple[str | int, ...]  # a reference: names and indexes, e.g. ("aws_s3_bucket", "raw", "arn")


class Scope(Protocol):
    def reference(self, path: Path, expression: str) -> Any:
        """The value of a reference; raises Unresolved when it is not known."""


def evaluate(value: Any, scope: Scope) -> Any:
    """A Terraform JSON value with its string templates evaluated (lists and objects element by element)."""
    if isinstance(value, str):
        return evaluate_template(value, scope)
    if isinstance(value, list):
        return [evaluate(item, scope) for item in value]
    if isinstance(value, dict):
        return {key: evaluate(item, scope) for key, item in value.items()}
    return value


def evaluate_template(text: str, scope: Scope) -> Any:
    """A string template: `${expr}` alone yields the expression's value (of any type), otherwise a string."""
    parts = split_template(text)
    if len(parts) == 1 and isinstance(parts[0], Interpolation):
        return parts[0].value(scope)
    return "".join(part if isinstance(part, str) else _as_string(part.value(scope), part.text) for part in parts)


class Interpolation:
    def __init__(self, text: str) -> None:
        self.text = text

    def value(self, scope: Scope) -> Any:
        return evaluate_expression(self.text, scope)


def split_template(text: str) -> list[str | Interpolation]:
    """Literal parts and `${...}` interpolations; `$${` and `%%{` are the escapes of `${` and `%{`."""
    parts: list[str | Interpolation] = []
    literal, index = [], 0
    while index < len(text):
        if text.startswith("$${", index) or text.startswith("%%{", index):
            literal.append(text[index + 1:index + 3])
            index += 3
        elif text.startswith("%{", index):
            raise Unresolved(text, "template directives (%{...}) are not evaluated")
        elif text.startswith("${", index):
            end = closing_brace(text, index + 2)
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(Interpolation(text[index + 2:end].strip()))
            index = end + 1
        else:
            literal.append(text[index])
            index += 1
    if literal or not parts:
        parts.append("".join(literal))
    return parts


def evaluate_expression(text: str, scope: Scope) -> Any:
    return _Evaluator(text, scope).value(_parsed(text))


@functools.lru_cache(maxsize=4096)
def _parsed(text: str) -> Tree:
    """The expression's syntax tree (the same few expressions recur in every policy of a layer)."""
    try:
        tree = hcl2.parser.parser().parse(f"value = {text}\n")  # python-hcl2's own parser, built once (cached)
    except Exception as exc:  # python-hcl2 raises lark's and its own exceptions
        raise Unresolved(text, f"not an expression python-hcl2 parses ({' '.join(str(exc).split())[:200]})") from None
    return next(tree.find_data("attribute")).children[-1]


def _as_string(value: Any, expression: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise Unresolved(expression, f"a {type(value).__name__} inside a string")


def _replace(text: str, search: str, replacement: str) -> str:
    if len(search) > 1 and search.startswith("/") and search.endswith("/"):
        return re.sub(search[1:-1], replacement.replace("$", "\\"), text)
    return text.replace(search, replacement)


def _lookup(mapping: dict, key: str, *default: Any) -> Any:
    if key in mapping:
        return mapping[key]
    if default:
        return default[0]
    raise KeyError(key)


def _jsonencode(value: Any) -> str:
    """As Terraform encodes: object keys sorted, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "lookup": _lookup,
    "replace": _replace,
    "lower": str.lower,
    "upper": str.upper,
    "jsonencode": _jsonencode,
    "jsondecode": json.loads,
    "zipmap": lambda keys, values: dict(zip(keys, values, strict=True)),
    "concat": lambda *lists: [item for items in lists for item in items],
    "join": lambda separator, items: separator.join(items),
    "tostring": str,
    "tolist": list,
}


class _Evaluator:
    def __init__(self, expression: str, scope: Scope) -> None:
        self.expression = expression
        self.scope = scope

    def fail(self, reason: str) -> Unresolved:
        return Unresolved(self.expression, reason)

    def value(self, node: Tree | Token) -> Any:
        if isinstance(node, Token):
            raise self.fail(f"unexpected token {node!s}")
        handler = getattr(self, f"_{node.data}", None)
        if handler is None:
            raise self.fail(f"{node.data.replace('_', ' ')} is not evaluated")
        return handler(node)

    def _children(self, node: Tree) -> list[Tree]:
        return [child for child in node.children if isinstance(child, Tree) and child.data != "new_line_or_comment"]

    def _expr_term(self, node: Tree) -> Any:
        [child] = self._children(node)
        return self.value(child)

    def _int_lit(self, node: Tree) -> int:
        return int("".join(str(token) for token in node.children))

    def _float_lit(self, node: Tree) -> float:
        return float("".join(str(token) for token in node.children))

    def _identifier(self, node: Tree) -> Any:
        name = str(node.children[0])
        if name in ("true", "false"):
            return name == "true"
        if name == "null":
            return None
        return self.scope.reference((name,), self.expression)

    def _string(self, node: Tree) -> Any:
        text: list[str] = []
        interpolations: list[Any] = []
        for part in node.children:
            [piece] = part.children
            if isinstance(piece, Token) and piece.type == "ESCAPED_INTERPOLATION":
                text.append(str(piece)[1:])
            elif isinstance(piece, Token):
                text.append(json.loads(f'"{piece}"'))  # HCL's escapes are JSON's for what these layers hold
            else:
                value = self.value(self._children(piece)[0])
                interpolations.append(value)
                text.append(_as_string(value, self.expression))
        if len(node.children) == 1 and interpolations:
            return interpolations[0]
        return "".join(text)

    def _tuple(self, node: Tree) -> list[Any]:
        return [self.value(child) for child in self._children(node)]

    def _object(self, node: Tree) -> dict[str, Any]:
        result = {}
        for element in self._children(node):
            key_node, value_node = self._children(element)
            [key] = self._children(key_node)
            result[str(key.children[0]) if key.data == "identifier" else self.value(key)] = self.value(value_node)
        return result

    def _function_call(self, node: Tree) -> Any:
        name_node, *rest = self._children(node)
        name = str(name_node.children[0])
        arguments = [self.value(argument) for argument in self._children(rest[0])] if rest else []
        function = FUNCTIONS.get(name)
        if function is None:
            raise self.fail(f"function {name}() is not evaluated")
        try:
            return function(*arguments)
        except (KeyError, TypeError, ValueError) as exc:
            raise self.fail(f"{name}() fails on these arguments ({exc!r})") from None

    def _get_attr_expr_term(self, node: Tree) -> Any:
        return self._traverse(node)

    def _index_expr_term(self, node: Tree) -> Any:
        return self._traverse(node)

    def _traverse(self, node: Tree) -> Any:
        """`a.b["c"].d[0]`: a reference path as long as the scope needs it, then plain attribute and index access."""
        steps: list[Tree] = []
        while node.data in ("get_attr_expr_term", "index_expr_term"):
            base, step = self._children(node)
            steps.append(step)
            node = base
            inner = self._children(node)
            if node.data == "expr_term" and len(inner) == 1 and inner[0].data in ("get_attr_expr_term",
                                                                                  "index_expr_term"):
                node = inner[0]
        steps.reverse()
        root = self._children(node)[0] if node.data == "expr_term" else node
        if root.data != "identifier":
            value = self.value(node)
            return self._apply(value, steps)
        path: list[str | int] = [str(root.children[0])]
        for step in steps:
            path.append(self._step_key(step))
        return self.scope.reference(tuple(path), self.expression)

    def _step_key(self, step: Tree) -> str | int:
        if step.data == "get_attr":
            return str(self._children(step)[0].children[0])
        children = self._children(step)
        if children:
            return self.value(children[0])
        return int("".join(str(token) for token in step.children if isinstance(token, Token) and token.isdigit()))

    def _apply(self, value: Any, steps: Sequence[Tree]) -> Any:
        for step in steps:
            key = self._step_key(step)
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                raise self.fail(f"no {key!r} in {type(value).__name__}") from None
        return value
