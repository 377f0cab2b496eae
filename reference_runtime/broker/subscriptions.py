"""NGSI-LD subscriptions (clauses 5.2.12, 5.2.14, 5.8): validation, matching against a write, rendering.

A subscription is stored with the context it was created with; entity types, ``watchedAttributes`` and
``notification.attributes`` are stored expanded (so matching is a set operation) and ``q`` as text, expanded
with that same context when it is evaluated. Notification statistics live in the store next to it.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sdmtool.linear_regex import RegexTooComplex, UnsupportedRegex, compile_linear, compile_posix
from sdmtool.ngsild import SYSTEM_TIMESTAMPS
from sdmtool.query import Query, QuerySyntaxError, Regex, normalized_resolver, parse_query
from sdmtool.subscription_checks import SUBSCRIPTION_MEMBERS

from .entities import TermMap, check_name, is_datetime, is_uri, parse_type_selector, types_match
from .errors import bad_request, not_supported

FORMATS = {
    "normalized": "normalized",
    "concise": "concise",
    "keyValues": "keyValues",
    "simplified": "keyValues",
}
ACCEPTS = ("application/json", "application/ld+json")

# Members that exist in NGSI-LD but that this broker does not implement: refuse rather than ignore them,
# because silently dropping e.g. geoQ would notify for entities the client did not ask about.
_UNSUPPORTED_MEMBERS = frozenset(
    {
        "timeInterval",
        "geoQ",
        "scopeQ",
        "csf",
        "temporalQ",
        "notificationTrigger",
        "lang",
        "jsonldContext",
        "datasetId",
        "localOnly",
        "expandValues",
        "jsonKeys",
        "splitEntities",
        "ngsildConformance",
    }
)
# Read-only members a client may echo back (e.g. after GET): ignored on input.
_READ_ONLY = frozenset({"status"}) | SYSTEM_TIMESTAMPS
# Members this broker accepts: every other Subscription member of NGSI-LD (the portable subset of
# ngsi-ld-notes §2 plus a few harmless ones). The list of members is sdmtool's, so both agree on it.
_KNOWN_MEMBERS = SUBSCRIPTION_MEMBERS - _UNSUPPORTED_MEMBERS - _READ_ONLY
_NOTIFICATION_MEMBERS = frozenset({"attributes", "format", "endpoint", "sysAttrs", "showChanges"})
_NOTIFICATION_READ_ONLY = frozenset(
    {"status", "timesSent", "timesFailed", "lastNotification", "lastSuccess", "lastFailure"}
)
_ENDPOINT_MEMBERS = frozenset({"uri", "accept", "receiverInfo", "notifierInfo", "timeout", "cooldown"})


# Optional members that a PATCH may remove with null.
_REMOVABLE_MEMBERS = frozenset(
    {
        "subscriptionName",
        "description",
        "entities",
        "watchedAttributes",
        "q",
        "isActive",
        "expiresAt",
        "throttling",
    }
)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _string_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise bad_request(f"{where} must be a non-empty array of non-empty strings")
    return value


def _key_value_pairs(value: Any, where: str) -> list[dict[str, str]]:
    if not isinstance(value, list) or not all(
        isinstance(p, Mapping) and isinstance(p.get("key"), str) and isinstance(p.get("value"), str)
        for p in value
    ):
        raise bad_request(f"{where} must be an array of {{key, value}} string pairs")
    return [{"key": p["key"], "value": p["value"]} for p in value]


def parse_subscription(body: Any, ctx: TermMap, now: str, *, partial: bool = False) -> dict[str, Any]:
    """Validate a Subscription (``partial``: a PATCH fragment) and return its stored form, without the
    context and without id/timestamps (the caller adds those)."""
    if not isinstance(body, Mapping):
        raise bad_request("a subscription must be a JSON object")
    unsupported = sorted(k for k in body if k in _UNSUPPORTED_MEMBERS or k in ("pick", "omit", "join"))
    if unsupported:
        raise not_supported(f"the embedded broker does not implement {', '.join(unsupported)}")
    unknown = sorted(k for k in body if k not in _KNOWN_MEMBERS and k not in _READ_ONLY)
    if unknown:
        raise bad_request(f"unknown subscription member(s): {', '.join(unknown)}")
    out: dict[str, Any] = {}
    if partial:
        # A fragment merges (clause 5.8.2): null removes an optional member, never a mandatory one.
        for name in sorted(k for k, v in body.items() if v is None and k not in _READ_ONLY):
            if name not in _REMOVABLE_MEMBERS:
                raise bad_request(f"'{name}' cannot be removed (null): it is mandatory")
            out[name] = None
        body = {k: v for k, v in body.items() if v is not None}
    if not partial or "type" in body:
        if body.get("type") != "Subscription":
            raise bad_request("'type' must be \"Subscription\"")
        out["type"] = "Subscription"
    if "id" in body:
        if not is_uri(body["id"]):
            raise bad_request(f"subscription id {body['id']!r} is not an absolute URI")
        out["id"] = body["id"]
    for name in ("subscriptionName", "description"):
        if name in body:
            if not isinstance(body[name], str):
                raise bad_request(f"'{name}' must be a string")
            out[name] = body[name]
    if "entities" in body:
        out["entities"] = _parse_selectors(body["entities"], ctx)
    if "watchedAttributes" in body:
        watched = _string_list(body["watchedAttributes"], "'watchedAttributes'")
        out["watchedAttributes"] = [ctx.expand(check_name(w, "watchedAttributes")) for w in watched]
    if not partial and "entities" not in out and "watchedAttributes" not in out:
        raise bad_request("a subscription needs 'entities' or 'watchedAttributes' (or both)")
    if "q" in body:
        if not isinstance(body["q"], str):
            raise bad_request("'q' must be a string")
        checked_query(body["q"])
        out["q"] = body["q"]
    if "isActive" in body:
        if not isinstance(body["isActive"], bool):
            raise bad_request("'isActive' must be a boolean")
        out["isActive"] = body["isActive"]
    elif not partial:
        out["isActive"] = True
    if "expiresAt" in body:
        expires = body["expiresAt"]
        if not is_datetime(expires):
            raise bad_request("'expiresAt' must be a date-time")
        if _parse_time(expires) <= _parse_time(now):
            raise bad_request("'expiresAt' is in the past")
        out["expiresAt"] = expires
    if "throttling" in body:
        throttling = body["throttling"]
        if not _is_number(throttling) or not throttling > 0:
            raise bad_request("'throttling' must be a number greater than 0 (seconds)")
        out["throttling"] = throttling
    if "notification" in body:
        out["notification"] = _parse_notification(body["notification"], ctx)
    elif not partial:
        raise bad_request("'notification' is required")
    return out


def _parse_selectors(raw: Any, ctx: TermMap) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise bad_request("'entities' must be a non-empty array of EntitySelector objects")
    selectors = []
    for index, item in enumerate(raw):
        where = f"entities[{index}]"
        if not isinstance(item, Mapping):
            raise bad_request(f"{where} must be an object")
        extra = sorted(set(item) - {"type", "id", "idPattern"})
        if extra:
            raise bad_request(f"{where}: unknown member(s) {', '.join(extra)}")
        type_text = item.get("type")
        if not isinstance(type_text, str) or not type_text:
            raise bad_request(f"{where}: 'type' is required")
        selector: dict[str, Any] = {"type": type_text}
        if type_text != "*":
            groups = parse_type_selector(type_text)
            selector["types"] = [[ctx.expand(t) for t in group] for group in groups]
        if "id" in item:
            if not is_uri(item["id"]):
                raise bad_request(f"{where}: 'id' must be an absolute URI")
            selector["id"] = item["id"]
        if "idPattern" in item:
            pattern = item["idPattern"]
            if not isinstance(pattern, str):
                raise bad_request(f"{where}: 'idPattern' must be a string")
            try:
                compile_posix(pattern)
            except UnsupportedRegex as exc:
                raise bad_request(f"{where}: invalid idPattern ({exc})") from None
            selector["idPattern"] = pattern
        selectors.append(selector)
    return selectors


def _parse_notification(raw: Any, ctx: TermMap) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise bad_request("'notification' must be an object")
    unsupported = sorted(k for k in raw if k in ("pick", "omit", "join", "joinLevel"))
    if unsupported:
        raise not_supported(f"the embedded broker does not implement notification.{', '.join(unsupported)}")
    unknown = sorted(k for k in raw if k not in _NOTIFICATION_MEMBERS and k not in _NOTIFICATION_READ_ONLY)
    if unknown:
        raise bad_request(f"unknown notification member(s): {', '.join(unknown)}")
    out: dict[str, Any] = {}
    if "attributes" in raw:
        attrs = _string_list(raw["attributes"], "'notification.attributes'")
        out["attributes"] = [ctx.expand(check_name(a, "notification.attributes")) for a in attrs]
    fmt = raw.get("format", "normalized")
    if not isinstance(fmt, str) or fmt not in FORMATS:
        raise bad_request(f"'notification.format' must be one of {', '.join(FORMATS)}")
    out["format"] = fmt
    for flag in ("sysAttrs", "showChanges"):
        if flag in raw:
            if not isinstance(raw[flag], bool):
                raise bad_request(f"'notification.{flag}' must be a boolean")
            out[flag] = raw[flag]
    if out.get("showChanges") and FORMATS[fmt] == "keyValues":
        raise bad_request("'showChanges' cannot be combined with the keyValues format")
    endpoint = raw.get("endpoint")
    if not isinstance(endpoint, Mapping):
        raise bad_request("'notification.endpoint' is required")
    unknown = sorted(set(endpoint) - _ENDPOINT_MEMBERS)
    if unknown:
        raise bad_request(f"unknown notification.endpoint member(s): {', '.join(unknown)}")
    uri = endpoint.get("uri")
    if not is_uri(uri):
        raise bad_request("'notification.endpoint.uri' is required and must be an absolute URI")
    if not uri.lower().startswith(("http://", "https://")):
        raise not_supported(f"the embedded broker notifies over HTTP only, not {uri.split(':', 1)[0]}")
    try:
        parts = urlsplit(uri)
        host, _port = parts.hostname, parts.port
    except ValueError as exc:
        raise bad_request(f"'notification.endpoint.uri' is not a valid URL: {exc}") from None
    if not host:
        raise bad_request("'notification.endpoint.uri' has no host")
    ep: dict[str, Any] = {"uri": uri, "accept": endpoint.get("accept", "application/json")}
    if ep["accept"] == "application/geo+json":
        raise not_supported("the embedded broker does not send application/geo+json notifications")
    if ep["accept"] not in ACCEPTS:
        raise bad_request(f"'notification.endpoint.accept' must be one of {', '.join(ACCEPTS)}")
    for number in ("timeout", "cooldown"):
        if number in endpoint:
            if not _is_number(endpoint[number]) or not endpoint[number] > 0:
                raise bad_request(f"'notification.endpoint.{number}' must be a number greater than 0")
            ep[number] = endpoint[number]
    for pairs in ("receiverInfo", "notifierInfo"):
        if pairs in endpoint:
            ep[pairs] = _key_value_pairs(endpoint[pairs], f"'notification.endpoint.{pairs}'")
    out["endpoint"] = ep
    return out


def new_subscription_id() -> str:
    return f"urn:ngsi-ld:Subscription:{uuid.uuid4()}"


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def status_of(sub: Mapping[str, Any], now: str) -> str:
    expires = sub.get("expiresAt")
    if expires and _parse_time(expires) <= _parse_time(now):
        return "expired"
    return "active" if sub.get("isActive", True) else "paused"


def merge_update(stored: Mapping[str, Any], fragment: Mapping[str, Any]) -> dict[str, Any]:
    """PATCH /subscriptions/{id} (clause 5.8.2): each member of the fragment replaces the stored one, and a
    null one (see :func:`parse_subscription`) removes it."""
    merged = copy.deepcopy(dict(stored))
    for name, value in fragment.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = copy.deepcopy(value)
    if "entities" not in merged and "watchedAttributes" not in merged:
        raise bad_request("a subscription needs 'entities' or 'watchedAttributes' (or both)")
    return merged


def render_subscription(
    sub: Mapping[str, Any], stats: Mapping[str, Any], ctx: TermMap, now: str, sys_attrs: bool = False
) -> dict[str, Any]:
    """The subscription as a client sees it, compacted with the request's context."""
    out: dict[str, Any] = {"id": sub["id"], "type": "Subscription"}
    for name in ("subscriptionName", "description"):
        if name in sub:
            out[name] = sub[name]
    if "entities" in sub:
        entities = []
        for selector in sub["entities"]:
            item: dict[str, Any] = {"type": selector["type"]}
            types = selector.get("types")
            if types and len(types) == 1 and len(types[0]) == 1:
                item["type"] = ctx.compact(types[0][0])
            for key in ("id", "idPattern"):
                if key in selector:
                    item[key] = selector[key]
            entities.append(item)
        out["entities"] = entities
    if "watchedAttributes" in sub:
        out["watchedAttributes"] = [ctx.compact(a) for a in sub["watchedAttributes"]]
    for name in ("q", "expiresAt", "throttling"):
        if name in sub:
            out[name] = sub[name]
    out["isActive"] = sub.get("isActive", True)
    out["status"] = status_of(sub, now)
    notification = copy.deepcopy(sub["notification"])
    if "attributes" in notification:
        notification["attributes"] = [ctx.compact(a) for a in notification["attributes"]]
    notification["timesSent"] = stats.get("timesSent", 0)
    notification["timesFailed"] = stats.get("timesFailed", 0)
    for key in ("lastNotification", "lastSuccess", "lastFailure"):
        if stats.get(key):
            notification[key] = stats[key]
    if stats.get("status"):
        notification["status"] = stats["status"]
    out["notification"] = notification
    if sys_attrs:
        out["createdAt"] = sub.get("createdAt")
        out["modifiedAt"] = sub.get("modifiedAt")
    return out


def linear_query(text: str) -> Query:
    """``q`` parsed, with each ``~=``/``!~=`` pattern matched by a linear-time automaton instead of Python's
    backtracking ``re`` (see ``sdmtool.linear_regex``). Raises QuerySyntaxError or UnsupportedRegex."""
    query = parse_query(text)
    nodes: list[Any] = [query.root]
    while nodes:
        node = nodes.pop()
        nodes.extend(getattr(node, "operands", ()))
        value = getattr(node, "value", None)
        if isinstance(value, Regex):
            # Regex is a frozen dataclass; its ``compiled`` member only needs a ``search`` method.
            object.__setattr__(value, "compiled", compile_linear(value.pattern))
    return query


def checked_query(text: str) -> Query:
    """:func:`linear_query` with the errors as 400 BadRequestData."""
    try:
        return linear_query(text)
    except (QuerySyntaxError, UnsupportedRegex) as exc:
        raise bad_request(f"invalid q: {exc}") from None


_QUERY_CACHE: dict[str, Query] = {}


def _query(text: str) -> Query:
    query = _QUERY_CACHE.get(text)
    if query is None:
        query = linear_query(text)
        if len(_QUERY_CACHE) > 1024:
            _QUERY_CACHE.clear()
        _QUERY_CACHE[text] = query
    return query


def selects(sub: Mapping[str, Any], entity: Mapping[str, Any]) -> bool:
    """Entity selection only: ``entities`` (type, id, idPattern). No ``entities`` selects every entity."""
    selectors = sub.get("entities")
    if not selectors:
        return True
    entity_types = set(entity["type"])
    for selector in selectors:
        types = selector.get("types")
        if types is not None and not types_match(entity_types, types):
            continue
        if "id" in selector:
            if selector["id"] != entity["id"]:
                continue
        elif "idPattern" in selector and compile_posix(selector["idPattern"]).search(entity["id"]) is None:
            continue
        return True
    return False


def fires(
    sub: Mapping[str, Any],
    entity: Mapping[str, Any],
    changed: set[str],
    ctx: TermMap,
    fetch: Callable[[str], Mapping[str, Any] | None],
) -> bool:
    """True if the write that produced ``entity`` and changed ``changed`` (attribute IRIs) must notify."""
    if not changed:
        return False
    watched = sub.get("watchedAttributes")
    if watched and not changed.intersection(watched):
        return False
    try:
        if not selects(sub, entity):
            return False
        q = sub.get("q")
        return not q or _query(q).evaluate(normalized_resolver(entity, expand=ctx.expand, fetch=fetch))
    except RegexTooComplex:
        return False  # a regular expression too costly on this entity's text: it is taken as no match
