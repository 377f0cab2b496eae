"""Checks of NGSI-LD Subscriptions (ETSI GS CIM 009, clause 5.2.12) and of the SubscriptionQuery entities
that mirror them.

A Subscription payload has no Smart Data Model schema: every rule of its shape is here (members and their
types, ``notification.endpoint.uri`` required and absolute, the known formats, positive numbers…). A
SubscriptionQuery is validated against its schema first; the same rules then run on its keyValues
reduction, and the caller drops what the schema already reported at the same place. Rules the schema cannot
express hold for both: ``q`` follows the query language (clause 4.9, :mod:`sdmtool.query`), ``geoQ``
coordinates fit their geometry, ``timeInterval`` excludes ``watchedAttributes`` and ``throttling``, at least
one of ``entities`` / ``watchedAttributes``, ``pick``/``omit``/``attributes`` do not clash, and an
``expiresAt`` in the past is a warning.

Each problem carries a path in the checked document and, for a ``q`` syntax error, how many characters
into the written JSON string the offending character lies, so that the column points at it.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sdmtool import forms, geojson, reader, schemas
from sdmtool.describe import show
from sdmtool.findings import ERROR, WARNING, Severity
from sdmtool.query import QuerySyntaxError, compile_pattern, parse_query

__all__ = [
    "SUBSCRIPTION_TYPES",
    "SubscriptionProblem",
    "check_subscription",
    "check_subscription_query",
    "is_subscription",
    "query_syntax_problem",
]

PathTuple = tuple[str | int, ...]

# The type of a Subscription as written compact, as a compact IRI and expanded (core context).
SUBSCRIPTION_TYPES = frozenset(
    {"Subscription", "ngsi-ld:Subscription", "https://uri.etsi.org/ngsi-ld/Subscription"}
)

# Members of a Subscription up to NGSI-LD 1.9 (clause 5.2.12), and the read-only ones a broker returns.
SUBSCRIPTION_MEMBERS = frozenset(
    {
        "id",
        "type",
        "subscriptionName",
        "description",
        "entities",
        "watchedAttributes",
        "notificationTrigger",
        "q",
        "geoQ",
        "scopeQ",
        "csf",
        "temporalQ",
        "isActive",
        "notification",
        "expiresAt",
        "throttling",
        "timeInterval",
        "lang",
        "jsonldContext",
        "datasetId",
        "localOnly",
        "expandValues",
        "jsonKeys",
        "ngsildConformance",
        "splitEntities",
        "@context",
        "status",
        "createdAt",
        "modifiedAt",
        "deletedAt",
    }
)
# Names of NGSI-LD before 1.3 (and Orion-LD's legacy input).
_RENAMED = {"name": "subscriptionName", "expires": "expiresAt"}
_NOTIFICATION_MEMBERS = frozenset(
    {
        "attributes",
        "format",
        "endpoint",
        "sysAttrs",
        "showChanges",
        "pick",
        "omit",
        "join",
        "joinLevel",
        "status",
        "timesSent",
        "timesFailed",
        "lastNotification",
        "lastSuccess",
        "lastFailure",
    }
)
_ENDPOINT_MEMBERS = frozenset({"uri", "accept", "receiverInfo", "notifierInfo", "timeout", "cooldown"})
_SELECTOR_MEMBERS = frozenset({"type", "id", "idPattern"})
_GEOQ_MEMBERS = frozenset({"geometry", "coordinates", "georel", "geoproperty"})

_FORMATS = ("normalized", "concise", "keyValues", "simplified")
_ACCEPTS = ("application/json", "application/ld+json", "application/geo+json")
_TRIGGERS = (
    "entityCreated",
    "entityUpdated",
    "entityDeleted",
    "attributeCreated",
    "attributeUpdated",
    "attributeDeleted",
)
_JOINS = ("flat", "inline", "@none")
# Clause 5.2.13: the reference geometries of a GeoQuery.
_GEOMETRIES = geojson.COORDINATE_GEOMETRIES
_GEOREL = re.compile(
    r"(?:equals|disjoint|intersects|within|contains|overlaps|near;(?:maxDistance|minDistance)==[0-9]+(?:\.[0-9]+)?)"
)
_NOTIFICATION_SCHEMES = ("http", "https", "mqtt", "mqtts")

# How far an excerpt of a q reaches on each side of the offending character.
_EXCERPT_REACH = 30
_CONTROL = re.compile("[\x00-\x1f\x7f]")  # shown escaped in an excerpt


@dataclass(frozen=True)
class SubscriptionProblem:
    """One finding of these checks, before it is placed in a file.

    ``path`` is relative to the checked document (the payload, or the keyValues reduction of a
    SubscriptionQuery). ``string_index``: the offending character of the string value at ``path`` (a ``q``
    syntax error), where the finding is placed; None for the value itself.
    """

    severity: Severity
    code: str
    message: str
    path: PathTuple
    string_index: int | None = None


def is_subscription(value: Any) -> bool:
    """Whether a document is an NGSI-LD Subscription (``"type": "Subscription"``)."""
    return (
        isinstance(value, Mapping)
        and isinstance(value.get("type"), str)
        and value["type"] in SUBSCRIPTION_TYPES
    )


def check_subscription(
    payload: Mapping[str, Any], *, now: datetime | None = None
) -> list[SubscriptionProblem]:
    """Every problem of an NGSI-LD Subscription payload, in document order. ``now`` (default: the current
    time) decides whether ``expiresAt`` is in the past."""
    checker = _Checker(full=True, now=now)
    checker.run(payload)
    order = reader.document_order(payload)
    return sorted(checker.problems, key=lambda problem: reader.written_rank(order, problem.path))


def check_subscription_query(
    key_values: Mapping[str, Any], *, now: datetime | None = None
) -> list[SubscriptionProblem]:
    """The subscription rules for a SubscriptionQuery given in keyValues (a reduction of any form).

    Members a SubscriptionQuery may leave to the runtime (``notification``, its ``endpoint``) are not
    required, its own attributes are not reported as unknown (its schema does that), and a query that
    neither selects entities nor watches attributes is a warning: a runtime watches the model's inputs then.
    """
    checker = _Checker(full=False, now=now)
    checker.run(key_values)
    return checker.problems


def query_syntax_problem(q: str, path: PathTuple = ("q",)) -> SubscriptionProblem | None:
    """The ``query.syntax`` problem of a ``q`` (None when it parses), pointing at the offending character."""
    try:
        parse_query(q)
    except QuerySyntaxError as error:
        position = min(error.position, len(q))
        message = (
            f"q is not a valid NGSI-LD query (clause 4.9): {error.message} at position {position}: "
            f"{_caret_excerpt(q, position)}"
        )
        return SubscriptionProblem(ERROR, "query.syntax", message, path, position)
    return None


def _caret_excerpt(text: str, position: int) -> str:
    """The query around ``position`` with a caret mark (‸) just before the offending character, on one line
    (reports print one line per finding)."""
    start = max(0, position - _EXCERPT_REACH)
    end = min(len(text), position + _EXCERPT_REACH)
    head = ("…" if start > 0 else "") + text[start:position]
    tail = text[position:end] + ("…" if end < len(text) else "")
    shown = head + "‸" + (tail if tail else "(end)")
    return _CONTROL.sub(lambda match: json.dumps(match.group())[1:-1], shown)


# --- helpers ------------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


_TYPE_NAMES = {
    bool: "a boolean",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


def _type_name(value: Any) -> str:
    for kind, name in _TYPE_NAMES.items():
        if type(value) is kind:
            return name
    return "an object" if isinstance(value, Mapping) else f"a Python {type(value).__name__}"


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- the checks ---------------------------------------------------------------------------------------


class _Checker:
    def __init__(self, *, full: bool, now: datetime | None) -> None:
        # full: an NGSI-LD Subscription; otherwise a SubscriptionQuery (keyValues reduction).
        self.full = full
        self.now = now or datetime.now(UTC)
        self.problems: list[SubscriptionProblem] = []

    def report(self, severity: Severity, code: str, message: str, path: PathTuple) -> None:
        self.problems.append(SubscriptionProblem(severity, code, message, path))

    # Members ----------------------------------------------------------------------------------------

    def present(
        self, document: Mapping[str, Any], name: str, path: PathTuple, *, required: bool = False
    ) -> bool:
        """Whether ``name`` has a value to check; reports it missing when required, and null."""
        if name not in document:
            if required:
                self.report(
                    ERROR, "subscription.required", f"missing required member {name!r}", (*path, name)
                )
            return False
        if document[name] is None:
            if required:
                self.report(ERROR, "subscription.required", f"{name!r} is required, got null", (*path, name))
            else:
                message = (
                    f"{name!r} is null, which is no value in NGSI-LD: brokers either drop the member or "
                    "refuse the request; leave it out"
                )
                self.report(WARNING, "subscription.null", message, (*path, name))
            return False
        return True

    def unknown_members(
        self, document: Mapping[str, Any], known: frozenset[str], path: PathTuple, what: str
    ) -> None:
        for name in document:
            if not isinstance(name, str) or name in known:
                continue
            if name in _RENAMED and not path:
                hint = f" (NGSI-LD 1.3 renamed it {_RENAMED[name]!r})"
            else:
                hint = _did_you_mean(name, known)
            message = f"{name!r} is not a member of {what}{hint}: brokers refuse or ignore it"
            self.report(WARNING, "subscription.unknown-member", message, (*path, name))

    def expect_type(self, value: Any, kind: type, path: PathTuple, expected: str) -> bool:
        if isinstance(value, kind):
            return True
        self.report(
            ERROR, "subscription.type", f"must be {expected}, got {_type_name(value)} {show(value)}", path
        )
        return False

    def string(self, value: Any, path: PathTuple) -> bool:
        return self.expect_type(value, str, path, "a string")

    def boolean(self, value: Any, path: PathTuple) -> None:
        self.expect_type(value, bool, path, "a boolean (true or false)")

    def positive_number(self, value: Any, path: PathTuple, unit: str) -> None:
        if _is_number(value) and value > 0:
            return
        if isinstance(value, str) and _looks_numeric(value):
            message = (
                f"must be a number greater than 0 ({unit}), not a string: remove the quotes around "
                f"{show(value)}"
            )
        else:
            message = f"must be a number greater than 0 ({unit}), got {show(value)}"
        self.report(ERROR, "subscription.number", message, path)

    def uri(self, value: Any, path: PathTuple, what: str) -> bool:
        if forms.is_absolute_uri(value):
            return True
        message = f"{what} must be an absolute URI with a scheme, got {show(value)}"
        self.report(ERROR, "subscription.uri", message, path)
        return False

    def one_of(self, value: Any, options: Iterable[str], path: PathTuple) -> None:
        options = tuple(options)
        if isinstance(value, str) and value in options:
            return
        hint = _did_you_mean(value, options) if isinstance(value, str) else ""
        shown = ", ".join(options)
        self.report(ERROR, "subscription.enum", f"must be one of {shown}; got {show(value)}{hint}", path)

    def string_array(self, value: Any, path: PathTuple, what: str) -> list[str]:
        """A non-empty array of non-empty strings; the strings found (for further rules)."""
        if not isinstance(value, list):
            self.report(
                ERROR,
                "subscription.type",
                f"{what} must be an array of strings, got {_type_name(value)}",
                path,
            )
            return []
        if not value:
            message = f"{what} must not be an empty array: leave the member out instead"
            self.report(ERROR, "subscription.empty-array", message, path)
            return []
        found = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item:
                message = f"an item of {what} must be a non-empty string, got {show(item)}"
                self.report(ERROR, "subscription.type", message, (*path, index))
            else:
                found.append(item)
        return found

    # The document ------------------------------------------------------------------------------------

    def run(self, document: Mapping[str, Any]) -> None:
        if self.full:
            self.unknown_members(
                document, SUBSCRIPTION_MEMBERS, (), "an NGSI-LD Subscription (clause 5.2.12)"
            )
            if "id" in document and document["id"] is not None:
                self.uri(document["id"], ("id",), "the subscription id")
            for name in ("subscriptionName", "description", "csf", "scopeQ", "lang"):
                if self.present(document, name, ()):
                    self.string(document[name], (name,))
            for name in ("isActive", "localOnly", "splitEntities"):
                if self.present(document, name, ()):
                    self.boolean(document[name], (name,))
            if self.present(document, "jsonldContext", ()):
                self.uri(document["jsonldContext"], ("jsonldContext",), "jsonldContext")
            if self.present(document, "notificationTrigger", ()):
                triggers = self.string_array(
                    document["notificationTrigger"], ("notificationTrigger",), "notificationTrigger"
                )
                for index, trigger in enumerate(document["notificationTrigger"] if triggers else []):
                    if isinstance(trigger, str) and trigger:
                        self.one_of(trigger, _TRIGGERS, ("notificationTrigger", index))
        self.selection(document)
        if self.present(document, "q", ()) and self.string(document["q"], ("q",)):
            problem = query_syntax_problem(document["q"])
            if problem is not None:
                self.problems.append(problem)
        if self.present(document, "geoQ", ()):
            self.geo_query(document["geoQ"], ("geoQ",))
        self.timing(document)
        if self.present(document, "notification", (), required=self.full):
            self.notification(document["notification"], ("notification",))

    def selection(self, document: Mapping[str, Any]) -> None:
        """entities and watchedAttributes, and that there is at least one of them."""
        has_entities = self.present(document, "entities", ())
        if has_entities:
            self.entities(document["entities"], ("entities",))
        has_watched = self.present(document, "watchedAttributes", ())
        if has_watched:
            self.string_array(document["watchedAttributes"], ("watchedAttributes",), "watchedAttributes")
        if has_entities or has_watched or document.get("localOnly") is True:
            return
        if document.get("timeInterval") is not None:
            return  # reported with timeInterval, which needs entities (a null one is not checked there)
        if self.full:
            message = (
                "a subscription needs entities or watchedAttributes (or both), clause 5.2.12: with neither "
                "it selects nothing"
            )
            self.report(ERROR, "subscription.selection", message, ())
        else:
            message = (
                "neither entities nor watchedAttributes: a subscription made from this query needs one of "
                "them (clause 5.2.12); the reference runtime then watches the model's inputs, other "
                "runtimes may refuse it"
            )
            self.report(WARNING, "subscription.selection", message, ())

    def entities(self, value: Any, path: PathTuple) -> None:
        if not isinstance(value, list):
            message = f"entities must be an array of entity selectors, got {_type_name(value)}"
            self.report(ERROR, "subscription.type", message, path)
            return
        if not value:
            message = 'entities must not be an empty array: give at least one selector, e.g. {"type": "T"}'
            self.report(ERROR, "subscription.empty-array", message, path)
            return
        for index, selector in enumerate(value):
            where = (*path, index)
            if not isinstance(selector, Mapping):
                message = (
                    f'an entity selector must be an object such as {{"type": "T"}}, got {show(selector)}'
                )
                self.report(ERROR, "subscription.type", message, where)
                continue
            self.unknown_members(
                selector, _SELECTOR_MEMBERS, where, "an entity selector (type, id, idPattern)"
            )
            type_path = (*where, "type")
            if (
                self.present(selector, "type", where, required=True)
                and self.string(selector["type"], type_path)
                and not selector["type"].strip()
            ):
                self.report(ERROR, "subscription.type", "the entity type must not be empty", type_path)
            if self.present(selector, "id", where):
                self.uri(selector["id"], (*where, "id"), "the entity id")
            if self.present(selector, "idPattern", where) and self.string(
                selector["idPattern"], (*where, "idPattern")
            ):
                try:
                    compile_pattern(selector["idPattern"])
                except ValueError as exc:
                    message = f"idPattern is not a valid regular expression: {exc}"
                    self.report(ERROR, "subscription.id-pattern", message, (*where, "idPattern"))

    def timing(self, document: Mapping[str, Any]) -> None:
        """throttling, timeInterval (periodic) and expiresAt."""
        has_throttling = self.present(document, "throttling", ())
        if has_throttling:
            self.positive_number(document["throttling"], ("throttling",), "seconds")
        if self.present(document, "timeInterval", ()):
            self.positive_number(document["timeInterval"], ("timeInterval",), "seconds")
            if "watchedAttributes" in document:
                message = (
                    "a periodic subscription (timeInterval) cannot have watchedAttributes, clause 5.2.12: "
                    "remove one of them"
                )
                self.report(ERROR, "subscription.time-interval", message, ("watchedAttributes",))
            if has_throttling:
                message = (
                    "a periodic subscription (timeInterval) cannot have throttling, clause 5.2.12: "
                    "remove one of them"
                )
                self.report(ERROR, "subscription.time-interval", message, ("throttling",))
            if "entities" not in document:
                message = "a periodic subscription (timeInterval) needs entities, clause 5.2.12"
                self.report(ERROR, "subscription.time-interval", message, ("timeInterval",))
        if self.present(document, "expiresAt", ()):
            self.expires_at(document["expiresAt"])

    def expires_at(self, value: Any) -> None:
        if not isinstance(value, str) or not schemas.format_checker().conforms(value, "date-time"):
            message = (
                "expiresAt must be an RFC 3339 date-time with a time zone, e.g. 2030-01-01T00:00:00Z, "
                f"got {show(value)}"
            )
            self.report(ERROR, "subscription.date-time", message, ("expiresAt",))
            return
        try:
            moment = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
        except ValueError:
            return  # RFC 3339 allows what fromisoformat may not (a leap second): no date to compare
        if moment <= self.now:
            message = (
                f"expiresAt {value} is in the past: brokers refuse to create such a subscription (400) "
                "and an existing one has expired"
            )
            self.report(WARNING, "subscription.expired", message, ("expiresAt",))

    # geoQ -------------------------------------------------------------------------------------------

    def geo_query(self, value: Any, path: PathTuple) -> None:
        if not isinstance(value, Mapping):
            message = (
                "geoQ must be an object with geometry, coordinates and georel (clause 5.2.13), "
                f"got {_type_name(value)}"
            )
            self.report(ERROR, "subscription.geoq", message, path)
            return
        self.unknown_members(
            value, _GEOQ_MEMBERS, path, "a geoQuery (geometry, coordinates, georel, geoproperty)"
        )
        geometry = None
        if self.present(value, "geometry", path, required=True):
            geometry = value["geometry"]
            if geometry not in _GEOMETRIES:
                hint = _did_you_mean(geometry, _GEOMETRIES) if isinstance(geometry, str) else ""
                message = f"geometry must be one of {', '.join(_GEOMETRIES)}; got {show(geometry)}{hint}"
                self.report(ERROR, "subscription.geoq", message, (*path, "geometry"))
                geometry = None
        if self.present(value, "coordinates", path, required=True):
            coordinates = value["coordinates"]
            if isinstance(coordinates, str):
                # Also accepted as the JSON text of the array (as in a query string).
                try:
                    coordinates = _strict_json(coordinates)
                except ValueError as exc:
                    shown = show(coordinates)
                    message = (
                        f"coordinates must be a GeoJSON coordinates array, got the string {shown} ({exc})"
                    )
                    self.report(ERROR, "subscription.geoq", message, (*path, "coordinates"))
                    coordinates = None
            if coordinates is not None:
                self.coordinates(
                    geometry, coordinates, (*path, "coordinates"), bool(isinstance(value["coordinates"], str))
                )
        if self.present(value, "georel", path, required=True):
            georel = value["georel"]
            if not isinstance(georel, str) or not _GEOREL.fullmatch(georel):
                hint = ""
                if isinstance(georel, str) and georel.startswith("near"):
                    hint = (
                        ": near needs a distance in metres, e.g. near;maxDistance==2000 or "
                        "near;minDistance==10"
                    )
                message = (
                    "georel must be equals, disjoint, intersects, within, contains, overlaps, "
                    f"near;maxDistance==<m> or near;minDistance==<m>; got {show(georel)}{hint}"
                )
                self.report(ERROR, "subscription.geoq", message, (*path, "georel"))
        geoproperty_path = (*path, "geoproperty")
        if (
            self.present(value, "geoproperty", path)
            and self.string(value["geoproperty"], geoproperty_path)
            and not value["geoproperty"]
        ):
            self.report(ERROR, "subscription.geoq", "geoproperty must not be empty", geoproperty_path)

    def coordinates(self, geometry: str | None, coordinates: Any, path: PathTuple, from_text: bool) -> None:
        if not isinstance(coordinates, list) or not coordinates:
            message = f"coordinates must be a non-empty GeoJSON coordinates array, got {show(coordinates)}"
            self.report(ERROR, "subscription.geoq", message, path)
            return
        if geometry is None:
            return  # the geometry is missing or wrong: the shape expected is unknown
        problem = geojson.coordinates_problem(geometry, coordinates)
        if problem is None:
            return
        where, message = problem
        # Inside a string there are no JSON paths to point at: the string itself is the place.
        self.report(
            ERROR,
            "subscription.geoq",
            f"coordinates of a {geometry}: {message}",
            path if from_text else (*path, *where),
        )

    # notification -------------------------------------------------------------------------------------

    def notification(self, value: Any, path: PathTuple) -> None:
        if not isinstance(value, Mapping):
            self.report(
                ERROR, "subscription.type", f"notification must be an object, got {_type_name(value)}", path
            )
            return
        self.unknown_members(
            value, _NOTIFICATION_MEMBERS, path, "the notification parameters (clause 5.2.14)"
        )
        listed: dict[str, list[str]] = {}
        for name in ("attributes", "pick", "omit"):
            if self.present(value, name, path):
                listed[name] = self.string_array(value[name], (*path, name), f"notification.{name}")
        for name in ("pick", "omit"):
            if name in listed and "attributes" in listed:
                message = (
                    f"notification.{name} cannot be combined with notification.attributes: keep one of them"
                )
                self.report(ERROR, "subscription.conflict", message, (*path, name))
        if "pick" in listed and "omit" in listed and isinstance(value["omit"], list):
            for index, member in enumerate(value["omit"]):
                if member in listed["pick"]:
                    message = f"{member!r} is both picked and omitted: name it in one of pick or omit"
                    self.report(ERROR, "subscription.conflict", message, (*path, "omit", index))
        fmt = None
        if self.present(value, "format", path):
            fmt = value["format"]
            self.one_of(fmt, _FORMATS, (*path, "format"))
        for name in ("sysAttrs", "showChanges"):
            if self.present(value, name, path):
                self.boolean(value[name], (*path, name))
        if value.get("showChanges") is True and fmt in ("keyValues", "simplified"):
            message = (
                "showChanges has no effect with the keyValues format: previous values are not shown there"
            )
            self.report(WARNING, "subscription.conflict", message, (*path, "showChanges"))
        if self.present(value, "join", path):
            self.one_of(value["join"], _JOINS, (*path, "join"))
        if self.present(value, "joinLevel", path):
            level = value["joinLevel"]
            if not (isinstance(level, int) and not isinstance(level, bool) and level >= 1):
                self.report(
                    ERROR,
                    "subscription.number",
                    f"joinLevel must be an integer >= 1, got {show(level)}",
                    (*path, "joinLevel"),
                )
        if self.present(value, "endpoint", path, required=self.full):
            self.endpoint(value["endpoint"], (*path, "endpoint"))

    def endpoint(self, value: Any, path: PathTuple) -> None:
        if not isinstance(value, Mapping):
            self.report(
                ERROR,
                "subscription.type",
                f"endpoint must be an object with a uri, got {_type_name(value)}",
                path,
            )
            return
        self.unknown_members(value, _ENDPOINT_MEMBERS, path, "an endpoint (clause 5.2.15)")
        if self.present(value, "uri", path, required=self.full) and self.uri(
            value["uri"], (*path, "uri"), "the endpoint uri"
        ):
            scheme = value["uri"].split(":", 1)[0].lower()
            if scheme not in _NOTIFICATION_SCHEMES:
                message = (
                    f"brokers notify over http(s) or mqtt(s), not {scheme}: {show(value['uri'])} cannot "
                    "receive notifications"
                )
                self.report(WARNING, "subscription.uri", message, (*path, "uri"))
        if self.present(value, "accept", path):
            self.one_of(value["accept"], _ACCEPTS, (*path, "accept"))
        for name in ("timeout", "cooldown"):
            if self.present(value, name, path):
                self.positive_number(value[name], (*path, name), "milliseconds")
        for name in ("receiverInfo", "notifierInfo"):
            if self.present(value, name, path):
                self.key_value_pairs(value[name], (*path, name), name)

    def key_value_pairs(self, value: Any, path: PathTuple, what: str) -> None:
        example = '[{"key": "X-Header", "value": "text"}]'
        if isinstance(value, Mapping):
            pairs = [{"key": key, "value": text} for key, text in value.items()]
            shown = show(pairs, 100) if pairs else example
            message = f"{what} must be an array of key/value pairs, not an object: write {shown}"
            self.report(ERROR, "subscription.key-value", message, path)
            return
        if not isinstance(value, list):
            message = f"{what} must be an array of key/value pairs such as {example}, got {_type_name(value)}"
            self.report(ERROR, "subscription.key-value", message, path)
            return
        if not value:
            message = f"{what} must not be an empty array: leave the member out instead"
            self.report(ERROR, "subscription.empty-array", message, path)
            return
        for index, pair in enumerate(value):
            where = (*path, index)
            if not isinstance(pair, Mapping):
                message = f'an item of {what} must be an object {{"key": …, "value": …}}, got {show(pair)}'
                self.report(ERROR, "subscription.key-value", message, where)
                continue
            for member in ("key", "value"):
                if member not in pair:
                    message = f"a key/value pair needs {member!r} (both key and value are strings)"
                    self.report(ERROR, "subscription.key-value", message, (*where, member))
                elif not isinstance(pair[member], str):
                    message = (
                        f"{member} must be a string, got {_type_name(pair[member])} {show(pair[member])}"
                    )
                    self.report(ERROR, "subscription.key-value", message, (*where, member))
            if isinstance(pair.get("key"), str) and not pair["key"]:
                self.report(ERROR, "subscription.key-value", "key must not be empty", (*where, "key"))
            for member in pair:
                if member not in ("key", "value"):
                    message = f"{member!r} is not a member of a key/value pair (key, value)"
                    self.report(ERROR, "subscription.key-value", message, (*where, member))


# GeoJSON coordinates nest at most 4 arrays deep (a MultiPolygon); a string nested far deeper is refused
# before it is parsed (json.loads would exhaust the stack).
_MAX_COORDINATES_DEPTH = 32


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _strict_json(text: str) -> Any:
    """``text`` parsed as strict JSON (no NaN or Infinity) nested at most _MAX_COORDINATES_DEPTH deep;
    ValueError with the cause otherwise."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > _MAX_COORDINATES_DEPTH:
                raise ValueError(f"nested deeper than {_MAX_COORDINATES_DEPTH} levels")
        elif char in "]}":
            depth -= 1
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at character {exc.pos}") from None


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
