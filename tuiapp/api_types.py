"""The vocabulary on the wire: request bodies, their validation, and JSON schemas of every type.

The engine's types stay the frozen, slotted dataclasses of :mod:`tuiapp.jobs` and
:mod:`tuiapp.events`: the engine builds thousands of events a second, and a plain dataclass costs
a fraction of a validated model. pydantic looks at those same classes from here, through
``TypeAdapter``s built on first use: it validates what clients send and writes the JSON schemas
the OpenAPI document is made of. Nothing in the engine imports this module, so the engine and
``tuiapp --help`` never load pydantic.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, TypeVar

# Run-time imports (not TYPE_CHECKING): pydantic reads these annotations when it builds a schema.
from annotated_types import Ge, Le, MinLen
from pydantic import ConfigDict, TypeAdapter, ValidationError

from tuiapp.errors import InvalidRequestError
from tuiapp.events import Event
from tuiapp.jobs import MAX_COUNT, JobSpec

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from pydantic.json_schema import JsonSchemaMode
    from pydantic_core import ErrorDetails

__all__ = [
    "CancelRequest",
    "JobRequest",
    "OptionValue",
    "json_schemas",
    "parse_body",
    "property_schema",
    "schema_of",
]

T = TypeVar("T")

OptionValue = str | int | float | bool | None
"""What a job option may be: a JSON scalar (sources read options as text or numbers)."""

# Each request type forbids unknown fields and documents its fields with attribute docstrings.
_REQUEST_CONFIG: Final = ConfigDict(extra="forbid", use_attribute_docstrings=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRequest:
    """A job as a client asks for it: :class:`~tuiapp.jobs.JobSpec` with the sources optional."""

    __pydantic_config__: ClassVar[ConfigDict] = _REQUEST_CONFIG

    query: Annotated[str, MinLen(1)]
    """Search words, or a URL."""
    sources: tuple[str, ...] = ()
    """Sources to search, in order. Leave out when `query` is a URL: the source that takes it is
    picked."""
    count: Annotated[int, Ge(1), Le(MAX_COUNT)] = 10
    """Files to store per source."""
    options: dict[str, OptionValue] = field(default_factory=dict)
    """Per-job options passed to the sources (format, width ...): JSON scalars."""

    def spec(self, sources: Sequence[str]) -> JobSpec:
        """The engine's spec for this request, run on ``sources``.

        Raises:
            InvalidRequestError: the query is blank, or a source is listed twice.
        """
        return JobSpec(
            query=self.query, sources=tuple(sources), count=self.count, options=dict(self.options)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelRequest:
    """What to cancel: a whole job, or one of its sources."""

    __pydantic_config__: ClassVar[ConfigDict] = _REQUEST_CONFIG

    source: str | None = None
    """Cancel only this source; leave out to cancel the job."""


_ADAPTERS: dict[object, TypeAdapter[Any]] = {}


def _adapter(kind: Any) -> TypeAdapter[Any]:
    """One adapter per type, built on first use (building one costs milliseconds)."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def parse_body(kind: type[T], raw: bytes) -> T:
    """``raw`` (a JSON request body) as a ``kind``, checked strictly: no type is coerced.

    Raises:
        InvalidRequestError: the body is not JSON, not an object, has an unknown field or a
            field of the wrong type or out of bounds; the message names the field.
    """
    try:
        value: T = _adapter(kind).validate_json(raw, strict=True)
    except ValidationError as exc:
        raise InvalidRequestError(_describe(kind, exc.errors(include_url=False))) from None
    return value


_JSON_NAMES: Final = {
    list: "an array",
    dict: "an object",
    str: "a string",
    bool: "true or false",
    int: "a number",
    float: "a number",
    type(None): "null",
}
_PHRASES: Final = {
    "int_type": "must be a whole number",
    "string_type": "must be a string",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "dict_type": "must be a JSON object",
    "missing": "is required",
}


def _describe(kind: type[Any], errors: Sequence[ErrorDetails]) -> str:
    """One sentence per problem, each naming its field (the way a person would fix it)."""
    names = ", ".join(f.name for f in dataclasses.fields(kind))
    problems: list[str] = []
    seen: set[tuple[int | str, ...]] = set()
    for error in errors:
        loc, kind_of = tuple(error["loc"]), error["type"]
        if kind_of == "json_invalid":
            return f"the body is not valid JSON: {error['msg'].removeprefix('Invalid JSON: ')}"
        if not loc:
            found = _JSON_NAMES.get(type(error["input"]), "something else")
            return f"the body must be a JSON object, not {found}"
        where = f"{loc[0]!r:.40}" + "".join(f"[{part!r:.40}]" for part in loc[1:])
        bound = error.get("ctx", {})
        if loc[0] == "options" and len(loc) > 1:
            # A union's errors come one per member: say it once, as what an option may be.
            loc = loc[:2]
            problem = f"option {loc[1]!r:.40} must be a string, a number, true, false or null"
        elif kind_of in ("unexpected_keyword_argument", "extra_forbidden"):
            problem = f"unknown field {where}; the fields are {names}"
        elif kind_of in _PHRASES:
            problem = f"{where} {_PHRASES[kind_of]}"
        elif kind_of == "greater_than_equal":
            problem = f"{where} must be at least {bound['ge']}, not {error['input']!r:.40}"
        elif kind_of == "less_than_equal":
            problem = f"{where} must be at most {bound['le']}, not {error['input']!r:.40}"
        else:
            problem = f"{where}: {error['msg'][:1].lower()}{error['msg'][1:]}"
        if loc not in seen:
            seen.add(loc)
            problems.append(problem)
    return "; ".join(problems)


# --- JSON schemas -----------------------------------------------------------------------------


def schema_of(kind: Any, ref_template: str = "#/components/schemas/{model}") -> dict[str, Any]:
    """The JSON schema of one type or annotation (for parameters: ints, enums ...).

    Named types it refers to (an enum, a dataclass) are left as references by ``ref_template``:
    the caller lists them with :func:`json_schemas`.
    """
    schema = _adapter(kind).json_schema(ref_template=ref_template)
    schema.pop("$defs", None)
    return schema


def json_schemas(
    named: Mapping[str, type[Any]],
    *,
    requests: Iterable[type[Any]] = (),
    ref_template: str = "#/components/schemas/{model}",
) -> dict[str, dict[str, Any]]:
    """JSON schemas of dataclasses, by the names given, plus every type they refer to.

    A response type is described as its ``to_dict()`` writes it: every field present
    (``required``), nothing else (``additionalProperties: false``), so a schema that drifts from
    the code fails validation; an event carries its ``kind``. Request types (``requests``) are
    described as pydantic validates them.
    """
    requests = tuple(requests)
    wanted = [*named.values(), *(t for t in requests if t not in named.values())]
    inputs: list[tuple[int, JsonSchemaMode, TypeAdapter[Any]]] = [
        (i, "validation" if kind in requests else "serialization", _adapter(kind))
        for i, kind in enumerate(wanted)
    ]
    _, top = TypeAdapter.json_schemas(inputs, ref_template="{model}")
    defs: dict[str, dict[str, Any]] = top.get("$defs", {})
    renames = {kind.__name__: name for name, kind in named.items()}
    by_name = {kind.__name__: kind for kind in wanted}
    request_names = {kind.__name__ for kind in requests}
    schemas: dict[str, dict[str, Any]] = {}
    for def_name, schema in defs.items():
        kind = by_name.get(def_name)
        if def_name not in request_names and schema.get("type") == "object":
            schema["required"] = list(schema.get("properties", {}))
            schema["additionalProperties"] = False
        if kind is not None and issubclass(kind, Event):
            schema["properties"] = {"kind": {"const": kind.kind}, **schema["properties"]}
            schema["required"] = ["kind", *schema["required"]]
        if def_name in renames:
            schema["title"] = renames[def_name]
        schemas[renames.get(def_name, def_name)] = schema

    def relink(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: ref_template.format(model=renames.get(v, v)) if k == "$ref" else relink(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [relink(v) for v in node]
        return node

    return {name: relink(schema) for name, schema in schemas.items()}


def property_schema(kind: type[Any], name: str) -> dict[str, Any]:
    """The schema of a read-only ``@property`` of ``kind``, from its return annotation."""
    prop = getattr(kind, name)
    if not isinstance(prop, property) or prop.fget is None:
        raise TypeError(f"{kind.__name__}.{name} is not a property")
    return schema_of(typing.get_type_hints(prop.fget)["return"])
