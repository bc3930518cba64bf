"""Checking (edited) arguments against the action's JSON Schema.

The schema comes from the agent, so it is untrusted too: a schema that is itself
invalid is reported as such rather than silently accepting everything, and it is
refused when the action is requested (`schema_problems`). Two kinds of valid-looking
schema would otherwise turn a reviewer's edit into a traceback or worse:

- A ``$ref`` to anything outside the schema (``http://…``, ``other.json``): jsonschema
  would fetch it over the network, from wherever the agent says. References are
  resolved in a registry whose only retrieval refuses, and such a schema is refused
  at request time naming the reference.
- A reference cycle that never descends into the value (``{"$ref": "#"}``, or two
  ``$defs`` that ``allOf`` each other): checking any value against it recurses until
  Python gives up. Such cycles are found on the schema itself and refused; recursion
  that does descend (a tree of ``children``) is fine, and a value nested too deeply for
  it is reported as a problem, not raised.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote, urldefrag, urljoin

from jsonschema import exceptions as js_exceptions
from jsonschema import validators
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable

from .jsonio import depth

#: Deeper schemas are refused: checking them against the metaschema recurses, and no
#: schema written for an action nests anywhere near this.
MAX_SCHEMA_DEPTH = 64

#: Keywords whose subschemas apply to the same value (no descent into the value).
_IN_PLACE_ONE = ("not", "if", "then", "else")
_IN_PLACE_MANY = ("allOf", "anyOf", "oneOf")
_IN_PLACE_MAP = ("dependentSchemas", "dependencies")
_REF_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")
#: Keywords whose values are data, not schemas: a "$ref" key in them is just a key.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})


@dataclass(frozen=True)
class SchemaProblem:
    #: Where, as a JSON path (``$.refund.amount_cents``); ``$`` is the whole value.
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _schema_path(parts: Any) -> str:
    """A place in the schema itself: ``schema.properties.amount``."""
    return "schema" + _path(parts)[1:]


def _refuse_retrieval(uri: str) -> Resource[Any]:
    """The registry's only way to fetch a document: never."""
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


#: Every schema is checked in this registry: no reference is ever fetched.
_REGISTRY: Registry[Any] = Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]


def _validator_class(schema: dict[str, Any]) -> type[Any] | None:
    """The validator for the schema's ``$schema`` dialect (2020-12 when it names
    none); None when it names one jsonschema does not know."""
    dialect = schema.get("$schema")
    if dialect is None:
        return validators.Draft202012Validator
    if not isinstance(dialect, str):
        return None
    found = cast(Any, validators.validator_for)(schema, default=None)
    return cast("type[Any] | None", found)


def _subschemas(schema: Any) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Every object in the schema with its location, without recursion."""
    stack: list[tuple[tuple[Any, ...], Any]] = [((), schema)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            yield where, node
            stack.extend(((*where, k), v) for k, v in node.items()
                         if k not in _DATA_KEYWORDS)
        elif isinstance(node, list):
            stack.extend(((*where, i), v) for i, v in enumerate(node))


def _local_target(ref: str, base: str, schema: dict[str, Any],
                  anchors: dict[str, tuple[Any, ...]]) -> tuple[Any, ...] | None:
    """Where a reference inside the schema points (None when it points outside)."""
    url, fragment = urldefrag(urljoin(base, ref))
    if url != urldefrag(base)[0]:
        return None
    if not fragment.startswith("/"):
        return anchors.get(fragment) if fragment else ()
    where: list[Any] = []
    node: Any = schema
    for raw in fragment[1:].split("/"):
        token = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            where.append(int(token))
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            where.append(token)
            node = node[token]
        else:
            return None
    return tuple(where)


def _reference_problems(schema: dict[str, Any]) -> list[SchemaProblem]:
    """References that point outside the schema, and reference cycles that never
    descend into the value."""
    base = schema.get("$id") if isinstance(schema.get("$id"), str) else ""
    nodes = dict(_subschemas(schema))
    anchors = {
        node[key]: where for where, node in nodes.items()
        for key in ("$anchor", "$dynamicAnchor") if isinstance(node.get(key), str)
    }
    problems: list[SchemaProblem] = []
    edges: dict[tuple[Any, ...], list[tuple[tuple[Any, ...], str]]] = {}
    for where, node in nodes.items():
        out = edges.setdefault(where, [])
        for key in _REF_KEYWORDS:
            ref = node.get(key)
            if not isinstance(ref, str):
                continue
            target = _local_target(ref, str(base), schema, anchors)
            if target is None:
                problems.append(SchemaProblem(
                    _schema_path((*where, key)),
                    f"refers to '{ref}', outside the schema: references are never "
                    "fetched; put the definition under $defs and refer to it with '#/$defs/…'"))
            else:
                out.append((target, f"{key} '{ref}' at {_schema_path((*where, key))}"))
        for key in _IN_PLACE_ONE:
            if isinstance(node.get(key), dict):
                out.append(((*where, key), ""))
        for key in _IN_PLACE_MANY:
            if isinstance(node.get(key), list):
                out += [((*where, key, i), "") for i, v in enumerate(node[key])
                        if isinstance(v, dict)]
        for key in _IN_PLACE_MAP:
            if isinstance(node.get(key), dict):
                out += [((*where, key, k), "") for k, v in node[key].items()
                        if isinstance(v, dict)]
    cycle = _find_cycle(edges)
    if cycle is not None:
        refs = [label for label in cycle if label]
        problems.append(SchemaProblem(
            "schema", "refers to itself without going into the value ("
            + "; ".join(refs) + "): checking any value against it would never end"))
    return problems


def _find_cycle(edges: dict[tuple[Any, ...], list[tuple[tuple[Any, ...], str]]]
                ) -> list[str] | None:
    """The labels along one cycle of ``edges`` (iterative depth-first search)."""
    state: dict[tuple[Any, ...], int] = {}  # 1 on the current path, 2 finished
    for start in edges:
        if state.get(start):
            continue
        path: list[tuple[tuple[Any, ...], str]] = [(start, "")]
        iterators = [iter(edges.get(start, []))]
        state[start] = 1
        while iterators:
            step = next(iterators[-1], None)
            if step is None:
                state[path[-1][0]] = 2
                path.pop()
                iterators.pop()
                continue
            target, label = step
            if state.get(target) == 1:
                first = next(i for i, (node, _) in enumerate(path) if node == target)
                return [lab for _, lab in path[first + 1:]] + [label]
            if not state.get(target):
                state[target] = 1
                path.append((target, label))
                iterators.append(iter(edges.get(target, [])))
    return None


def check_schema(schema: Any) -> list[SchemaProblem]:
    """Why ``schema`` cannot be used to check arguments (empty when it can): not an
    object, an unknown dialect, invalid under its metaschema, nested too deeply, a
    reference outside itself, or a reference cycle that never ends. Paths are in the
    schema (``schema.properties.amount.type``)."""
    if not isinstance(schema, dict):
        return [SchemaProblem("schema", f"must be a JSON object, not {type(schema).__name__}")]
    if depth(schema) > MAX_SCHEMA_DEPTH:
        return [SchemaProblem("schema", f"is nested deeper than {MAX_SCHEMA_DEPTH} levels")]
    cls = _validator_class(schema)
    if cls is None:
        return [SchemaProblem("schema.$schema",
                              f"names a dialect this console does not know: "
                              f"{schema.get('$schema')!r}")]
    try:
        cls.check_schema(schema)
    except js_exceptions.SchemaError as exc:
        return [SchemaProblem(_schema_path(exc.absolute_path), exc.message)]
    except RecursionError:
        return [SchemaProblem("schema", "is nested too deeply to check")]
    return _reference_problems(schema)


def validate(arguments: Any, schema: dict[str, Any] | None) -> list[SchemaProblem]:
    """Every problem, shallowest first; an empty list means the arguments are valid."""
    if not schema:
        return []
    bad_schema = check_schema(schema)
    if bad_schema:
        return [SchemaProblem(p.path, f"the agent's schema is invalid: {p.message}")
                for p in bad_schema]
    cls = _validator_class(schema)
    assert cls is not None  # check_schema refused unknown dialects
    # Formats (email, date-time, uri…) are only annotations unless a checker is given.
    validator = cls(schema, registry=_REGISTRY, format_checker=cls.FORMAT_CHECKER)
    try:
        errors = sorted(
            validator.iter_errors(arguments),
            key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))),
        )
    except RecursionError:
        return [SchemaProblem("$", "nested too deeply to check against the schema")]
    except Unresolvable as exc:  # not reached after check_schema; never a traceback
        return [SchemaProblem("$", f"the agent's schema refers to something it does not "
                                   f"contain: {exc}")]
    return [SchemaProblem(_path(e.absolute_path), e.message) for e in errors]
