"""The vocabulary on the wire: request bodies, their validation, and JSON schemas of every type.

The engine's types stay the frozen, slotted dataclasses of :mod:`tuiapp.jobs` and
:mod:`tuiapp.events`: the engine builds thousands of events a second, and a plain dataclass costs
a fraction of a validated model. msgspec looks at those same classes from here: it validates what
clients send (into the request types below, msgspec ``Struct``s, which can refuse unknown fields)
and writes the JSON schemas the OpenAPI document is made of. Nothing in the engine imports this
module, so the engine and ``tuiapp --help`` never load msgspec.
"""

from __future__ import annotations

import re
import typing
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeVar

# Run-time imports (not TYPE_CHECKING): msgspec reads these annotations when it validates.
import msgspec
from msgspec import Meta, Struct

from tuiapp.errors import InvalidRequestError
from tuiapp.events import Event
from tuiapp.jobs import MAX_COUNT, JobSpec

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "CancelRequest",
    "JobRequest",
    "OptionValue",
    "SignInRequest",
    "WatchChange",
    "WatchRequest",
    "json_schemas",
    "parse_body",
    "property_schema",
    "schema_of",
]

T = TypeVar("T")

OptionValue = str | int | float | bool | None
"""What a job option may be: a JSON scalar (sources read options as text or numbers)."""


class JobRequest(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A job as a client asks for it: :class:`~tuiapp.jobs.JobSpec` with the sources optional."""

    # Bounds are documented here and checked by the engine's front door, so the API refuses
    # what the CLI and the TUI refuse with the same sentence.
    query: Annotated[
        str, Meta(description="Search words, or a URL.", extra_json_schema={"minLength": 1})
    ]
    sources: Annotated[
        tuple[str, ...],
        Meta(
            description="Sources to search, in order (any case). Leave out to let the engine"
            " pick: the source that takes a URL, the default sources for search words."
        ),
    ] = ()
    count: Annotated[
        int,
        Meta(
            description="Files to store per source.",
            extra_json_schema={"minimum": 1, "maximum": MAX_COUNT},
        ),
    ] = 10
    options: Annotated[
        dict[str, OptionValue],
        Meta(
            description="Per-job options passed to the sources (format, width ...): JSON scalars."
        ),
    ] = {}  # msgspec copies a mutable default for each instance
    new_only: Annotated[
        bool,
        Meta(
            description="Skip what the library holds already (the same item of a source, the"
            " same bytes, or a near-duplicate picture), counted as `known`; `count` is then of"
            " new files."
        ),
    ] = False

    def spec(self) -> JobSpec:
        """The job as asked for, for the engine's front door (``Engine.submit``) to check."""
        return JobSpec(
            query=self.query,
            sources=self.sources,
            count=self.count,
            options=dict(self.options),
            new_only=self.new_only,
        )


_EVERY_HELP = (
    "Time between runs: `30m`, `6h`, `1d`, `1w` (or whole seconds), from 5 minutes to a year."
)
_WEBHOOK_HELP = "An http(s) URL each run's digest is POSTed to (see the README)."


class WatchRequest(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A topic to watch: a new-only job run every so often."""

    query: Annotated[str, Meta(min_length=1, description="Search words, or a URL.")]
    sources: Annotated[tuple[str, ...], Meta(description="Sources to search; as for a job.")] = ()
    count: Annotated[int, Meta(ge=1, le=MAX_COUNT, description="New files per source and run.")] = (
        10
    )
    options: Annotated[
        dict[str, OptionValue], Meta(description="Per-job options passed to the sources.")
    ] = {}
    every: Annotated[str | int, Meta(description=_EVERY_HELP)]
    webhook: Annotated[str | None, Meta(description=_WEBHOOK_HELP)] = None


class WatchChange(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What to change in a watch: the fields given (null or left out: unchanged)."""

    query: Annotated[str | None, Meta(description="Search words, or a URL.")] = None
    sources: Annotated[tuple[str, ...] | None, Meta(description="Sources to search.")] = None
    count: (
        Annotated[int, Meta(ge=1, le=MAX_COUNT, description="New files per source and run.")] | None
    ) = None
    options: Annotated[
        dict[str, OptionValue] | None, Meta(description="Per-job options (all of them).")
    ] = None
    every: Annotated[str | int | None, Meta(description=_EVERY_HELP)] = None
    webhook: Annotated[
        str | None, Meta(description=_WEBHOOK_HELP + " An empty string removes it.")
    ] = None
    paused: Annotated[
        bool | None, Meta(description="Paused: not run on its schedule (a run can be asked for).")
    ] = None

    def changes(self) -> dict[str, Any]:
        """The fields given, as ``engine.watches.update`` takes them."""
        given = {f: getattr(self, f) for f in self.__struct_fields__}
        changes = {k: v for k, v in given.items() if v is not None}
        if changes.get("webhook") == "":
            changes["webhook"] = None
        return changes


class CancelRequest(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What to cancel: a whole job, or one of its sources."""

    source: Annotated[
        str | None, Meta(description="Cancel only this source; leave out to cancel the job.")
    ] = None


class SignInRequest(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An API token to exchange for a session cookie (the web page's sign-in)."""

    token: Annotated[str, Meta(min_length=1, max_length=200, description="An API token.")]


def parse_body(kind: type[T], raw: bytes) -> T:
    """``raw`` (a JSON request body) as a ``kind``, checked strictly: no type is coerced.

    Raises:
        InvalidRequestError: the body is not JSON, not an object, has an unknown field or a
            field of the wrong type or out of bounds; the message names the field.
    """
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidRequestError(f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidRequestError("the body is not valid JSON: nested too deeply") from None
    if not isinstance(body, dict):
        found = _JSON_NAMES.get(type(body), "something else")
        raise InvalidRequestError(f"the body must be a JSON object, not {found}")
    try:
        return msgspec.convert(body, kind, strict=True)
    except msgspec.ValidationError as exc:
        raise InvalidRequestError(_describe(kind, body, str(exc))) from None


_JSON_NAMES: Final = {
    list: "an array",
    str: "a string",
    bool: "true or false",
    int: "a number",
    float: "a number",
    type(None): "null",
}
_EXPECTED: Final = {
    "int": "must be a whole number",
    "str": "must be a string",
    "str | null": "must be a string or null",
    "array": "must be a list",
    "object": "must be a JSON object",
}
# msgspec's messages: "Expected `int` >= 1 - at `$.count`", "Object contains unknown field `x`".
_MESSAGE: Final = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>.*)`)?$")
_EXPECTED_TYPE: Final = re.compile(r"^Expected `(?P<type>[^`]+)`(?:, got `[^`]+`)?$")
_BOUND: Final = re.compile(r"^Expected `\w+` (?P<op>[<>]=) (?P<bound>\S+)$")
_FIELD: Final = re.compile(r"^Object (?P<problem>contains unknown|missing required) field `(.+)`$")


def _describe(kind: type[Any], body: dict[str, Any], message: str) -> str:
    """msgspec's message as a sentence naming the field (the way a person would fix it)."""
    match = _MESSAGE.match(message)
    what, path = (match["what"], match["path"] or "") if match else (message, "")
    # "$.sources[0]" -> 'sources'[0], the way the field is written in the body.
    parts = re.findall(r"\.(\w+)|\[(\d+)\]", path)
    where = "".join(f"{name!r:.40}" if name else f"[{index}]" for name, index in parts)
    value: Any = body
    for name, index in parts:
        value = value.get(name) if isinstance(value, dict) else value[int(index)]
    if m := _FIELD.match(what):
        if m["problem"] == "missing required":
            return f"{m[2]!r:.40} is required"
        return f"unknown field {m[2]!r:.40}; the fields are {', '.join(kind.__struct_fields__)}"
    if path.startswith(".options[") and isinstance(value, dict):
        bad = next((k for k, v in value.items() if not isinstance(v, OptionValue)), "?")
        return f"option {bad!r:.40} must be a string, a number, true, false or null"
    if what == "Expected `str` of length >= 1":
        return f"{where} must not be empty"
    if (m := _EXPECTED_TYPE.match(what)) and m["type"] in _EXPECTED:
        return f"{where} {_EXPECTED[m['type']]}"
    if m := _BOUND.match(what):
        least = m["op"] == ">="
        return f"{where} must be at {'least' if least else 'most'} {m['bound']}, not {value!r:.40}"
    return f"{where}: {what[:1].lower()}{what[1:]}" if where else what


# --- JSON schemas -----------------------------------------------------------------------------


def schema_of(kind: Any, ref_template: str = "#/components/schemas/{name}") -> dict[str, Any]:
    """The JSON schema of one type or annotation (for parameters: ints, enums ...).

    Named types it refers to (an enum, a dataclass) are left as references by ``ref_template``:
    the caller lists them with :func:`json_schemas`.
    """
    (schema,), _ = msgspec.json.schema_components([kind], ref_template=ref_template)
    return schema


def json_schemas(
    named: Mapping[str, type[Any]],
    *,
    requests: Iterable[type[Any]] = (),
    ref_template: str = "#/components/schemas/{name}",
) -> dict[str, dict[str, Any]]:
    """JSON schemas of dataclasses, by the names given, plus every type they refer to.

    A response type is described as its ``to_dict()`` writes it: every field present
    (``required``), nothing else (``additionalProperties: false``), so a schema that drifts from
    the code fails validation; an event carries its ``kind``. Request types (``requests``) are
    described as msgspec validates them.
    """
    requests = tuple(requests)
    wanted = [*named.values(), *(t for t in requests if t not in named.values())]
    _, defs = msgspec.json.schema_components(wanted, ref_template="{name}")
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
                k: ref_template.format(name=renames.get(v, v)) if k == "$ref" else relink(v)
                for k, v in node.items()
            }
        if isinstance(node, list | tuple):
            return [relink(v) for v in node]
        return node

    return {name: relink(schema) for name, schema in schemas.items()}


def property_schema(kind: type[Any], name: str) -> dict[str, Any]:
    """The schema of a read-only ``@property`` of ``kind``, from its return annotation."""
    prop = getattr(kind, name)
    if not isinstance(prop, property) or prop.fget is None:
        raise TypeError(f"{kind.__name__}.{name} is not a property")
    return schema_of(typing.get_type_hints(prop.fget)["return"])
