"""Type annotations of skill entry points as JSON schemas.

A skill's parameters are annotated with JSON-friendly types (``str``, ``int``, ``float``,
``bool``, ``None``, ``list[X]``, ``dict[str, X]``, ``X | None`` / ``Optional[X]``,
``Literal[...]``). The annotation arrives as source text (``Param.annotation``, read with
``ast`` by hgm.skills.format, never imported), so it is parsed here with ``ast`` too.

Two dialects:

- :func:`input_schema`: plain JSON Schema for MCP tools: optional parameters are simply not
  required, and their default is stated.
- :func:`strict_input_schema`: OpenAI's strict mode: every object has
  ``additionalProperties: false`` and lists every property as required, so an optional
  parameter becomes nullable (null = use the default), and ``dict[str, X]`` (an object with
  free keys, which strict mode cannot express) becomes a list of ``{"key", "value"}`` pairs.
  :func:`decoder` says how to turn such arguments back into the function's own values.
"""

from __future__ import annotations

import ast
from typing import Any

from hgm.pyast import parse as ast_parse
from hgm.skills.format import EntryPoint, Param, Skill

_SCALARS = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "None": "null"}
_ALIASES = {"List": "list", "Dict": "dict", "Mapping": "dict"}  # typing's old spellings


class SchemaError(ValueError):
    """An annotation has no JSON schema; the message names the skill, function and parameter."""


def annotation_schema(annotation: str, *, strict: bool = False) -> dict[str, Any]:
    """The JSON schema of one annotation (source text); ValueError says what is unsupported."""
    try:
        tree = ast_parse(annotation.strip(), mode="eval").body
    except SyntaxError:
        raise ValueError(f"annotation {annotation!r} is not a Python expression") from None
    return _schema(tree, strict)


def param_schema(skill: Skill, entry: EntryPoint, param: Param, *, strict: bool = False) -> dict[str, Any]:
    """The schema of one parameter, with a :class:`SchemaError` naming where it failed."""
    where = f"skill {skill.name!r}, function {entry.name!r}, parameter {param.name!r}"
    if not param.annotation:
        raise SchemaError(f"{where}: no type annotation")
    try:
        return annotation_schema(param.annotation, strict=strict)
    except ValueError as e:
        raise SchemaError(f"{where}: {e}") from None


def input_schema(skill: Skill, entry: EntryPoint) -> dict[str, Any]:
    """The JSON schema of an entry point's arguments (an MCP tool's ``inputSchema``)."""
    properties: dict[str, Any] = {}
    for p in entry.params:
        schema = param_schema(skill, entry, p)
        if not p.required:
            schema = schema | {"default": p.default}
        properties[p.name] = schema
    required = [p.name for p in entry.params if p.required]
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def strict_input_schema(skill: Skill, entry: EntryPoint) -> dict[str, Any]:
    """The schema of an entry point's arguments under OpenAI's strict rules (see module doc)."""
    properties: dict[str, Any] = {}
    for p in entry.params:
        schema = param_schema(skill, entry, p, strict=True)
        if not p.required:
            schema = _nullable(schema)
            schema["description"] = f"Optional: null means the default, {_literal_text(p.default)}."
        properties[p.name] = schema
    return {
        "type": "object",
        "properties": properties,
        "required": [p.name for p in entry.params],
        "additionalProperties": False,
    }


def decoder(annotation: str) -> Any:
    """How to turn a strict-mode argument back into the annotated value: None when it is
    taken as is, else a small tree of ``{"map": inner}`` (pairs -> dict), ``{"list": inner}``
    and ``{"any": [inner, ...]}`` (try each alternative) that the exported dispatcher walks."""
    return _decoder(ast_parse(annotation.strip(), mode="eval").body)


# -- the parser ---------------------------------------------------------------------------
def _name(node: ast.expr) -> str | None:
    """``str``, ``typing.List`` -> the bare name (``list``); anything else -> None."""
    if isinstance(node, ast.Name):
        return _ALIASES.get(node.id, node.id)
    if isinstance(node, ast.Attribute):  # typing.Optional, t.Literal (as hgm.skills.format reads them)
        return _ALIASES.get(node.attr, node.attr)
    if isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return None


def _args(node: ast.expr) -> list[ast.expr]:
    return list(node.elts) if isinstance(node, ast.Tuple) else [node]


def _alternatives(node: ast.expr) -> list[ast.expr] | None:
    """The members of ``X | Y``, ``Optional[X]`` or ``Union[X, Y]``; None if not a union."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return (_alternatives(node.left) or [node.left]) + (_alternatives(node.right) or [node.right])
    if isinstance(node, ast.Subscript):
        head = _name(node.value)
        if head == "Optional":
            return [node.slice, ast.Constant(None)]
        if head == "Union":
            return _args(node.slice)
    return None


def _schema(node: ast.expr, strict: bool) -> dict[str, Any]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a quoted annotation
        return annotation_schema(node.value, strict=strict)
    members = _alternatives(node)
    if members is not None:
        return _union([_schema(m, strict) for m in members])
    name = _name(node)
    if name in _SCALARS:
        return {"type": _SCALARS[name]}
    if isinstance(node, ast.Subscript):
        head = _name(node.value)
        args = _args(node.slice)
        if head == "list" and len(args) == 1:
            return {"type": "array", "items": _schema(args[0], strict)}
        if head == "dict" and len(args) == 2:
            if _name(args[0]) != "str":
                raise ValueError(f"dict keys must be str in JSON, not {ast.unparse(args[0])}")
            value = _schema(args[1], strict)
            if not strict:
                return {"type": "object", "additionalProperties": value}
            pair = {"type": "object", "properties": {"key": {"type": "string"}, "value": value},
                    "required": ["key", "value"], "additionalProperties": False}
            return {"type": "array", "items": pair, "description": "The mapping as a list of key/value pairs."}
        if head == "Literal":
            return _literal(args)
    if name in ("list", "dict"):
        raise ValueError(f"{name} needs its item types, e.g. {name}[str{', int' if name == 'dict' else ''}]")
    raise ValueError(
        f"unsupported type {ast.unparse(node)} (use str, int, float, bool, None, list[X], dict[str, X], "
        "X | None or Literal[...])"
    )


def _literal(args: list[ast.expr]) -> dict[str, Any]:
    values = []
    for a in args:
        if not isinstance(a, ast.Constant) or not isinstance(a.value, str | int | float | bool | type(None)):
            raise ValueError(f"Literal values must be str, int, float, bool or None, not {ast.unparse(a)}")
        values.append(a.value)
    types = sorted({_json_type(v) for v in values})
    return {"type": types[0] if len(types) == 1 else types, "enum": values}


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {str: "string", float: "number"}.get(type(value), "null")


def _union(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    """Simple types merge into one ``type`` list; anything else becomes ``anyOf``."""
    if all(set(s) == {"type"} for s in schemas):
        types: list[str] = []
        for s in schemas:
            for t in s["type"] if isinstance(s["type"], list) else [s["type"]]:
                if t not in types:
                    types.append(t)
        return {"type": types[0] if len(types) == 1 else types}
    unique: list[dict[str, Any]] = []
    for s in schemas:
        if s not in unique:
            unique.append(s)
    return unique[0] if len(unique) == 1 else {"anyOf": unique}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` that also admits null (an optional parameter in strict mode)."""
    if schema == {"type": "null"} or "null" in _types(schema):
        return dict(schema)
    if "anyOf" in schema:
        return {"anyOf": [*schema["anyOf"], {"type": "null"}]}
    if set(schema) == {"type"}:
        return _union([schema, {"type": "null"}])
    if "enum" in schema:
        return schema | {"type": [*_types(schema), "null"], "enum": [*schema["enum"], None]}
    return {"anyOf": [schema, {"type": "null"}]}


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type", [])
    return list(t) if isinstance(t, list) else [t]


def _literal_text(value: object) -> str:
    import json

    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _decoder(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return decoder(node.value)
    members = _alternatives(node)
    if members is not None:
        inner = [d for d in (_decoder(m) for m in members) if d is not None]
        return None if not inner else {"any": inner}
    if isinstance(node, ast.Subscript):
        head, args = _name(node.value), _args(node.slice)
        if head == "list" and len(args) == 1:
            inner = _decoder(args[0])
            return None if inner is None else {"list": inner}
        if head == "dict" and len(args) == 2:
            return {"map": _decoder(args[1])}
    return None
