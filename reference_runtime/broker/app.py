"""The embedded NGSI-LD broker as a Starlette application (HTTP binding: ETSI GS CIM 009 clause 6).

This module is the HTTP layer: content negotiation, the ``@context`` of each request (``Link`` header or
body), URI parameters, status codes and ProblemDetails. The representation rules live in ``entities``,
subscription rules in ``subscriptions``, term maps in ``contexts``, persistence in ``store`` and delivery in
``notifier``.

Every write follows the same path: read the entity, compute the new document, commit it, then match the
subscriptions against the committed state and queue notifications, so a receiver never hears of a write
that is not durable, and the response never waits for a receiver.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from reference_runtime import __version__
from sdmtool.linear_regex import RegexTooComplex, UnsupportedRegex, compile_posix
from sdmtool.query import normalized_resolver
from sdmtool.resources import is_core_context_url

from . import entities as ent
from . import subscriptions as subs
from .contexts import (
    CORE_CONTEXT_URL,
    JSONLD_CONTEXT_REL,
    ActiveContext,
    ContextEntry,
    ContextLoader,
    ContextNotAvailable,
    InvalidContext,
)
from .errors import (
    NgsiError,
    already_exists,
    bad_request,
    context_not_available,
    invalid_request,
    not_acceptable,
    not_found,
    not_supported,
    payload_too_large,
    too_complex,
    unsupported_media_type,
)
from .notifier import DEFAULT_MAX_PENDING, NOTIFIER_HEADER, Notifier, build_notification, link_header
from .store import AlreadyExists, Store

log = logging.getLogger(__name__)

BASE = "/ngsi-ld/v1"
JSON = "application/json"
JSON_LD = "application/ld+json"
MERGE_PATCH = "application/merge-patch+json"
DEFAULT_LIMIT = 20
# Nesting of a request body (objects and arrays); GeoJSON multipolygons need 6 with their attribute.
MAX_JSON_DEPTH = 100
# Large enough for a 10 MiB image inlined as a data: URI (the runtime's image limit), base64 included.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
_LINK_RE = re.compile(r"<([^>]*)>([^,]*)")
_INTEGER_RE = re.compile(r"-?[0-9]{1,18}")
_HOSTED_PATH = f"{BASE}/jsonldContexts/"

# Attributes by IRI, None for one to delete (entities.parse_fragment), and what applies them to an entity.
Fragment = dict[str, list[Any] | None]
FragmentWrite = Callable[[dict[str, Any], Fragment, str], tuple[dict[str, Any], ent.UpdateOutcome]]


class BrokerOptions:
    """Switches for broker-specific behaviours (ngsi-ld-notes §10.1); the defaults follow the spec text."""

    def __init__(
        self,
        *,
        context_unavailable_status: int = 503,
        notify_same_value: bool = False,
        patch_appends_missing: bool = False,
        notification_success: str = "200",
        append_subscription_id: bool = False,
        notification_timeout: float = 5.0,
        max_limit: int = 1000,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if notification_success not in ("200", "2xx"):
            raise ValueError("notification_success must be '200' or '2xx'")
        self.context_unavailable_status = context_unavailable_status
        self.notify_same_value = notify_same_value
        self.patch_appends_missing = patch_appends_missing
        self.success_statuses = frozenset({200} if notification_success == "200" else range(200, 300))
        self.append_subscription_id = append_subscription_id
        self.notification_timeout = notification_timeout
        self.max_limit = max_limit
        self.max_body_bytes = max_body_bytes


class Broker:
    """State shared by the request handlers: store, contexts, notifier, options."""

    def __init__(
        self, store: Store, loader: ContextLoader, notifier: Notifier, options: BrokerOptions
    ) -> None:
        self.store = store
        self.loader = loader
        self.notifier = notifier
        self.options = options
        self._subscriptions: list[dict[str, Any]] | None = None

    # -- contexts

    def context(self, entries: list[ContextEntry]) -> ActiveContext:
        try:
            return self.loader.active(entries)
        except ContextNotAvailable as exc:
            known = ", ".join(self.loader.known_urls())
            raise context_not_available(
                f"{exc}; this broker never fetches a context: it knows its bundled copies ({known}) and the "
                "files given with --context URL=FILE",
                self.options.context_unavailable_status,
            ) from None
        except InvalidContext as exc:
            raise bad_request(f"invalid @context: {exc}") from None

    # -- subscriptions cache (matching runs on every write)

    def subscriptions(self) -> list[dict[str, Any]]:
        if self._subscriptions is None:
            self._subscriptions = self.store.list_subscriptions()
        return self._subscriptions

    def subscriptions_changed(self) -> None:
        self._subscriptions = None

    # -- notifications

    def after_write(
        self, old: Mapping[str, Any] | None, new: Mapping[str, Any], touched: set[str] | None = None
    ) -> None:
        """Queue the notifications a committed write causes. ``touched``: the attributes the request wrote,
        which count as changed when same-value notifications are switched on."""
        changed = ent.changed_attributes(old, new)
        if self.options.notify_same_value and touched:
            changed |= {t for t in touched if t in new}
        if not changed:
            return
        now = ent.now_iso()
        # One transaction for the outbox rows of all the notifications this write causes.
        with self.store.transaction():
            for sub in self.subscriptions():
                if subs.status_of(sub, now) != "active":
                    continue
                try:
                    self._notify(sub, old, new, changed)
                except (ContextNotAvailable, InvalidContext) as exc:
                    log.warning("subscription %s skipped: %s", sub["id"], exc)
                except Exception:
                    # The write is committed and its response must say so; a notification bug is only logged.
                    log.exception("subscription %s: notification not sent", sub["id"])

    def _notify(
        self, sub: Mapping[str, Any], old: Mapping[str, Any] | None, new: Mapping[str, Any], changed: set[str]
    ) -> None:
        ctx = self.loader.active(sub.get("context") or [])
        if not subs.fires(sub, new, changed, ctx, self.store.get_entity):
            return
        stats = self.store.subscription_stats(sub["id"])
        if self.notifier.throttled(sub["id"], sub.get("throttling"), stats.get("lastNotification")):
            return
        notification = sub["notification"]
        data = ent.render_entity(
            new,
            ctx,
            fmt=subs.FORMATS[notification.get("format", "normalized")],
            attrs=notification.get("attributes"),
            sys_attrs=notification.get("sysAttrs", False),
            previous=old if notification.get("showChanges") else None,
        )
        self.notifier.submit(
            build_notification(
                sub,
                [data],
                default_timeout=self.options.notification_timeout,
                append_subscription_id=self.options.append_subscription_id,
            )
        )


def _broker(request: Request) -> Broker:
    return request.app.state.broker  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------------------
# Request helpers


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def _link_contexts(request: Request) -> list[str]:
    urls = []
    for header in request.headers.getlist("link"):
        for url, params in _LINK_RE.findall(header):
            if JSONLD_CONTEXT_REL in params:
                urls.append(url.strip())
    if len(urls) > 1:
        raise bad_request("only one JSON-LD context Link header is allowed")
    return urls


def _context_entries(raw: Any) -> list[ContextEntry]:
    items = raw if isinstance(raw, list) else [raw]
    for item in items:
        if not isinstance(item, str | dict):
            raise bad_request("@context must be a URL, an object or an array of those")
    return items


async def _read_body(request: Request, *, allow_merge_patch: bool = False) -> tuple[Any, str, list[str]]:
    """The parsed body, its media type and the Link contexts, with the Content-Type rules of clause 6.3.4."""
    media_type = _media_type(request.headers.get("content-type"))
    allowed = (JSON, JSON_LD, MERGE_PATCH) if allow_merge_patch else (JSON, JSON_LD)
    if media_type not in allowed:
        raise unsupported_media_type(
            f"Content-Type must be {' or '.join(allowed)}, not {media_type or 'missing'}"
        )
    links = _link_contexts(request)
    raw = await _body_bytes(request, _broker(request).options.max_body_bytes)
    if not raw.strip():
        raise invalid_request("the request has no body")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid_request(f"the body is not valid JSON: {exc}") from None
    if _nested_deeper_than(data, MAX_JSON_DEPTH):
        # orjson reads 1,024 levels but writes only 254, and the stored, rendered and notified forms wrap
        # the body in a few more: without this limit a deep value is accepted and then fails every write
        # (or is stored and then fails every read), as a 500.
        raise bad_request(f"the body is nested deeper than {MAX_JSON_DEPTH} levels")
    if media_type == JSON_LD:
        if links:
            raise bad_request(
                "application/ld+json carries its @context in the body; a context Link is not allowed"
            )
    elif _has_body_context(data):
        raise bad_request(
            f"{media_type} must not carry @context in the body; use a Link header or application/ld+json"
        )
    return data, media_type, links


async def _body_bytes(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit`` bytes (never held whole)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise payload_too_large(f"the body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise payload_too_large(f"the body is larger than {limit} bytes")
    return bytes(body)


def _nested_deeper_than(data: Any, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _has_body_context(data: Any) -> bool:
    if isinstance(data, Mapping):
        return "@context" in data
    if isinstance(data, list):
        return any(isinstance(d, Mapping) and "@context" in d for d in data)
    return False


def _body_context(item: Any, media_type: str, links: list[str]) -> list[ContextEntry]:
    """The user contexts of one body object (an entity, a subscription, a fragment)."""
    if media_type == JSON_LD:
        if not isinstance(item, Mapping) or "@context" not in item:
            raise bad_request("application/ld+json requires @context in the body")
        return _context_entries(item["@context"])
    return list(links)


def _accept(request: Request) -> str:
    """JSON or JSON-LD for the response, from the Accept header (406 if neither is acceptable)."""
    header = request.headers.get("accept")
    if not header:
        return JSON
    ranges = []
    for position, part in enumerate(header.split(",")):
        fields = [f.strip() for f in part.split(";")]
        quality = 1.0
        for f in fields[1:]:
            if f.startswith("q="):
                try:
                    quality = float(f[2:])
                except ValueError:
                    quality = 0.0
        ranges.append((-quality, position, fields[0].lower()))
    for negative_quality, _, media in sorted(ranges):
        if negative_quality == 0:
            continue
        if media == JSON_LD:
            return JSON_LD
        if media in (JSON, "*/*", "application/*"):
            return JSON
    raise not_acceptable(f"this broker answers {JSON} or {JSON_LD}, not {header}")


def _json_response(
    status: int, body: Any, *, media_type: str = JSON, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type=media_type, headers=dict(headers or {})
    )


def _respond(
    request: Request, body: Any, links: list[str], *, headers: Mapping[str, str] | None = None
) -> Response:
    """200 with an entity-like body: JSON with the context in a Link, or JSON-LD with it in the body."""
    accept = _accept(request)
    context_url = links[0] if links else CORE_CONTEXT_URL
    if accept == JSON_LD:
        if isinstance(body, list):
            body = [{"@context": context_url, **item} for item in body]
        else:
            body = {"@context": context_url, **body}
        return _json_response(200, body, media_type=JSON_LD, headers=headers)
    return _json_response(200, body, headers={**(headers or {}), "Link": link_header(context_url)})


def _location(kind: str, identifier: str) -> str:
    return f"{BASE}/{kind}/{quote(identifier, safe=':@!$&*+,;=-._~')}"


def _entity_id(request: Request) -> str:
    entity_id = request.path_params["entity_id"]
    if not ent.is_uri(entity_id):
        raise bad_request(f"entity id {entity_id!r} is not an absolute URI")
    return entity_id


def _options(request: Request) -> set[str]:
    raw = request.query_params.get("options", "")
    return {o.strip() for o in raw.split(",") if o.strip()}


def _format(request: Request) -> str:
    options = _options(request)
    fmt = request.query_params.get("format")
    if fmt is not None:
        if fmt not in subs.FORMATS:
            raise bad_request(f"format must be one of {', '.join(subs.FORMATS)}")
        return subs.FORMATS[fmt]
    key_values = bool(options & {"keyValues", "simplified"})
    if key_values and "concise" in options:
        raise bad_request("options keyValues and concise exclude each other")
    if key_values:
        return "keyValues"
    return "concise" if "concise" in options else "normalized"


def _attrs_param(request: Request, ctx: ActiveContext) -> set[str] | None:
    raw = request.query_params.get("attrs")
    if raw is None:
        return None
    names = [a for a in raw.split(",") if a]
    if not names:
        raise bad_request("attrs must list at least one attribute")
    return {ctx.expand(ent.check_name(a, "attrs")) for a in names}


def _int_param(request: Request, name: str, default: int, minimum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not _INTEGER_RE.fullmatch(raw):
        raise bad_request(f"{name} must be an integer")
    value = int(raw)
    if value < minimum:
        raise bad_request(f"{name} must be at least {minimum}")
    return value


def _require_entity(broker: Broker, entity_id: str) -> dict[str, Any]:
    doc = broker.store.get_entity(entity_id)
    if doc is None:
        raise not_found(f"entity {entity_id} does not exist")
    return doc


def _update_response(outcome: ent.UpdateOutcome, ctx: ActiveContext) -> Response:
    if outcome.not_updated:
        return _json_response(207, outcome.result(ctx))
    return Response(status_code=204)


# ---------------------------------------------------------------------------------------------------------
# Entities


async def create_entity(request: Request) -> Response:
    broker = _broker(request)
    data, media_type, links = await _read_body(request)
    ctx = broker.context(_body_context(data, media_type, links))
    doc = ent.parse_entity(data, ctx, ent.now_iso())
    try:
        broker.store.insert_entity(doc)
    except AlreadyExists:
        raise already_exists(f"entity {doc['id']} already exists") from None
    broker.after_write(None, doc)
    return Response(status_code=201, headers={"Location": _location("entities", doc["id"])})


async def retrieve_entity(request: Request) -> Response:
    broker = _broker(request)
    _refuse_unsupported(request, _UNSUPPORTED_RETRIEVE_PARAMS)
    entity_id = _entity_id(request)
    links = _link_contexts(request)
    ctx = broker.context(list(links))
    fmt = _format(request)
    attrs = _attrs_param(request, ctx)
    doc = _require_entity(broker, entity_id)
    body = ent.render_entity(doc, ctx, fmt=fmt, attrs=attrs, sys_attrs="sysAttrs" in _options(request))
    return _respond(request, body, links)


# Parameters the embedded broker does not implement: refused (422), never silently ignored.
_UNSUPPORTED_RETRIEVE_PARAMS = (
    "pick",
    "omit",
    "lang",
    "join",
    "joinLevel",
    "datasetId",
    "containedBy",
    "expandValues",
    "entityMap",
    "jsonKeys",
)
_UNSUPPORTED_QUERY_PARAMS = (
    "georel",
    "geometry",
    "coordinates",
    "geoproperty",
    "csf",
    "scopeQ",
    *_UNSUPPORTED_RETRIEVE_PARAMS,
)


def _refuse_unsupported(request: Request, names: tuple[str, ...]) -> None:
    unsupported = [name for name in names if name in request.query_params]
    if unsupported:
        raise not_supported(f"the embedded broker does not implement {', '.join(unsupported)}")


async def query_entities(request: Request) -> Response:
    broker = _broker(request)
    params = request.query_params
    _refuse_unsupported(request, _UNSUPPORTED_QUERY_PARAMS)
    links = _link_contexts(request)
    ctx = broker.context(list(links))
    fmt = _format(request)
    attrs = _attrs_param(request, ctx)
    type_text, ids_text, id_pattern, q_text = (params.get(k) for k in ("type", "id", "idPattern", "q"))
    local = params.get("local", "false").lower() == "true"
    if not any((type_text, ids_text, id_pattern, q_text, attrs, local)):
        raise bad_request("a query needs at least one of type, id, idPattern, attrs, q or local=true")
    limit = _int_param(request, "limit", DEFAULT_LIMIT, 0)
    offset = _int_param(request, "offset", 0, 0)
    if limit > broker.options.max_limit:
        raise bad_request(f"limit must not exceed {broker.options.max_limit}")
    count = params.get("count", "false").lower() == "true"
    if limit == 0 and not count:
        raise bad_request("limit=0 is allowed only together with count=true")
    selector = None
    if type_text:
        selector = [[ctx.expand(t) for t in group] for group in ent.parse_type_selector(type_text)]
    ids = [i for i in ids_text.split(",") if i] if ids_text else None
    for entity_id in ids or ():
        if not ent.is_uri(entity_id):
            raise bad_request(f"id: {entity_id!r} is not an absolute URI")
    pattern = None
    if id_pattern:
        try:
            pattern = compile_posix(id_pattern)
        except UnsupportedRegex as exc:
            raise bad_request(f"invalid idPattern: {exc}") from None
    query = subs.checked_query(q_text) if q_text else None
    candidate_types = sorted({t for group in selector for t in group}) if selector else None
    matches: list[dict[str, Any]] = []
    try:
        for doc in broker.store.iter_entities(candidate_types, ids):
            if selector is not None and not ent.types_match(doc["type"], selector):
                continue
            if pattern is not None and pattern.search(doc["id"]) is None:
                continue
            if attrs is not None and not any(a in doc for a in attrs):
                continue
            if query is not None and not query.evaluate(
                normalized_resolver(doc, expand=ctx.expand, fetch=broker.store.get_entity)
            ):
                continue
            matches.append(doc)
    except RegexTooComplex as exc:  # clause 5.5.2: a query the broker will not run to the end
        raise too_complex(str(exc)) from None
    sys_attrs = "sysAttrs" in _options(request)
    page = [
        ent.render_entity(doc, ctx, fmt=fmt, attrs=attrs, sys_attrs=sys_attrs)
        for doc in matches[offset : offset + limit]
    ]
    headers = {"NGSILD-Results-Count": str(len(matches))} if count else None
    return _respond(request, page, links, headers=headers)


async def append_attrs(request: Request) -> Response:
    overwrite = "noOverwrite" not in _options(request)
    return await _write_body_fragment(
        request, partial(ent.append_attributes, overwrite=overwrite), patch=False
    )


async def update_attrs(request: Request) -> Response:
    append_missing = _broker(request).options.patch_appends_missing
    return await _write_body_fragment(
        request, partial(ent.update_attributes, append_missing=append_missing), patch=True
    )


async def merge_entity(request: Request) -> Response:
    return await _write_body_fragment(request, ent.merge_attributes, patch=True)


async def replace_entity(request: Request) -> Response:
    broker = _broker(request)
    entity_id = _entity_id(request)
    data, media_type, links = await _read_body(request)
    ctx = broker.context(_body_context(data, media_type, links))
    if not isinstance(data, Mapping):
        raise bad_request("an entity must be a JSON object")
    if data.get("id", entity_id) != entity_id:
        raise bad_request("the id in the body differs from the id in the URL")
    with broker.store.transaction():
        old = _require_entity(broker, entity_id)
        new = ent.parse_entity({**data, "id": entity_id}, ctx, ent.now_iso())
        new["createdAt"] = old["createdAt"]
        broker.store.replace_entity(new)
    broker.after_write(old, new)
    return Response(status_code=204)


async def update_attribute(request: Request) -> Response:
    broker = _broker(request)
    entity_id = _entity_id(request)
    data, media_type, links = await _read_body(request, allow_merge_patch=True)
    ctx = broker.context(_body_context(data, media_type, links))
    name = ent.check_name(request.path_params["attr"], "attribute")
    iri = ctx.expand(name)
    if not isinstance(data, Mapping):
        raise bad_request("an attribute fragment must be a JSON object")
    body = {k: v for k, v in data.items() if k != "@context"}
    instances = ent.parse_attribute(name, body, ctx, f"attribute {name!r}")

    def merge_existing(
        old: dict[str, Any], fragment: Fragment, now: str
    ) -> tuple[dict[str, Any], ent.UpdateOutcome]:
        if iri not in old:
            raise not_found(f"entity {entity_id} has no attribute {name}")
        return ent.merge_attributes(old, fragment, now)

    _write_fragment(broker, entity_id, {iri: instances}, merge_existing)
    return Response(status_code=204)


async def delete_attribute(request: Request) -> Response:
    broker = _broker(request)
    entity_id = _entity_id(request)
    links = _link_contexts(request)
    ctx = broker.context(list(links))
    name = ent.check_name(request.path_params["attr"], "attribute")
    iri = ctx.expand(name)
    dataset_id = request.query_params.get("datasetId")
    delete_all = request.query_params.get("deleteAll", "false").lower() == "true"
    with broker.store.transaction():
        old = _require_entity(broker, entity_id)
        instances = old.get(iri) if ent.is_attribute_key(iri) else None
        if not instances:
            raise not_found(f"entity {entity_id} has no attribute {name}")
        kept = [] if delete_all else [i for i in instances if i.get("datasetId") != dataset_id]
        if len(kept) == len(instances):
            raise not_found(f"attribute {name} has no instance with datasetId {dataset_id}")
        new = dict(old)
        if kept:
            new[iri] = kept
        else:
            del new[iri]
        new["modifiedAt"] = ent.now_iso()
        broker.store.replace_entity(new)
    broker.after_write(old, new)
    return Response(status_code=204)


async def delete_entity(request: Request) -> Response:
    broker = _broker(request)
    entity_id = _entity_id(request)
    if not broker.store.delete_entity(entity_id):
        raise not_found(f"entity {entity_id} does not exist")
    # Default notification triggers (attributeCreated, attributeUpdated) do not include entity deletion.
    return Response(status_code=204)


def _fragment(data: Any, ctx: ActiveContext, entity_id: str, *, allow_delete: bool) -> Fragment:
    if not isinstance(data, Mapping):
        raise bad_request("an entity fragment must be a JSON object")
    if "id" in data and data["id"] != entity_id:
        raise bad_request("the id in the body differs from the id in the URL")
    fragment = ent.parse_fragment(data, ctx, allow_delete=allow_delete)
    if not fragment:
        raise bad_request("the fragment has no attributes")
    return fragment


def _write_fragment(
    broker: Broker, entity_id: str, fragment: Fragment, write: FragmentWrite, now: str | None = None
) -> ent.UpdateOutcome:
    """Apply ``write`` to the stored entity in one transaction, then queue the notifications it causes (the
    attributes of the fragment count as written)."""
    with broker.store.transaction():
        old = _require_entity(broker, entity_id)
        new, outcome = write(old, fragment, now or ent.now_iso())
        broker.store.replace_entity(new)
    broker.after_write(old, new, set(fragment))
    return outcome


async def _write_body_fragment(request: Request, write: FragmentWrite, *, patch: bool) -> Response:
    """A write whose body is an entity fragment: read it with its context, apply it with ``write``, answer 204
    or 207 (what was not updated). A PATCH (``patch``) also takes merge-patch+json, and NGSI-LD Null."""
    broker = _broker(request)
    entity_id = _entity_id(request)
    data, media_type, links = await _read_body(request, allow_merge_patch=patch)
    ctx = broker.context(_body_context(data, media_type, links))
    fragment = _fragment(data, ctx, entity_id, allow_delete=patch)
    return _update_response(_write_fragment(broker, entity_id, fragment, write), ctx)


# ---------------------------------------------------------------------------------------------------------
# Batch operations (clause 6.14-6.17 / 5.6.7-5.6.10)


async def batch_operation(request: Request) -> Response:
    broker = _broker(request)
    operation = request.path_params["operation"]
    if operation in ("query", "merge"):  # spec operations (clauses 6.23, 6.31) this broker does not offer
        raise not_supported(f"the embedded broker does not implement /entityOperations/{operation}")
    if operation not in ("create", "upsert", "update", "delete"):
        raise not_found(f"unknown entity operation {operation}")
    data, media_type, links = await _read_body(request)
    if not isinstance(data, list) or not data:
        raise bad_request("a batch operation takes a non-empty JSON array")
    options = _options(request)
    success: list[str] = []
    errors: list[dict[str, Any]] = []
    created: list[str] = []
    for item in data:
        item_id = item.get("id") if isinstance(item, Mapping) else item
        try:
            if operation == "delete":
                if not ent.is_uri(item):
                    raise bad_request(f"{item!r} is not an entity id")
                if not broker.store.delete_entity(item):
                    raise not_found(f"entity {item} does not exist")
            else:
                ctx = broker.context(_body_context(item, media_type, links))
                if _batch_write(broker, operation, item, ctx, options):
                    created.append(item["id"])
            success.append(item_id if isinstance(item_id, str) else "")
        except NgsiError as exc:
            errors.append({"entityId": item_id if isinstance(item_id, str) else "", "error": exc.problem()})
    if errors:
        return _json_response(207, {"success": success, "errors": errors})
    if operation == "create":
        return _json_response(201, success)
    if operation == "upsert" and created:
        return _json_response(201, created)
    return Response(status_code=204)


def _batch_write(broker: Broker, operation: str, item: Any, ctx: ActiveContext, options: set[str]) -> bool:
    """One entity of create/upsert/update; True if it was created."""
    now = ent.now_iso()
    if operation == "update":
        if not isinstance(item, Mapping) or not ent.is_uri(item.get("id")):
            raise bad_request("each entity needs a valid id")
        fragment = _fragment(item, ctx, item["id"], allow_delete=False)
        append = partial(ent.append_attributes, overwrite="noOverwrite" not in options)
        # With noOverwrite, an attribute the entity has is kept as it is (clause 5.6.9): that is what was
        # asked, not a failure of the entity, whose other attributes are written.
        _write_fragment(broker, item["id"], fragment, append, now)
        return False
    doc = ent.parse_entity(item, ctx, now)
    with broker.store.transaction():
        old = broker.store.get_entity(doc["id"])
        if old is None:
            broker.store.insert_entity(doc)
        elif operation == "create":
            raise already_exists(f"entity {doc['id']} already exists")
        elif "update" in options:
            fragment = ent.parse_fragment(item, ctx, allow_delete=False)
            doc, _ = ent.append_attributes(old, fragment, now)
            broker.store.replace_entity(doc)
        else:
            doc["createdAt"] = old["createdAt"]
            broker.store.replace_entity(doc)
    broker.after_write(old, doc)
    return old is None


# ---------------------------------------------------------------------------------------------------------
# Subscriptions


def _hosted_context(broker: Broker, request: Request, entries: list[ContextEntry]) -> str | None:
    """Host a subscription context that is not a single URL, so JSON notifications can Link to it."""
    urls = [e for e in entries if isinstance(e, str) and not is_core_context_url(e)]
    if len(urls) <= 1 and all(isinstance(e, str) for e in entries):
        return None
    digest = hashlib.sha256(orjson.dumps(entries)).hexdigest()[:32]
    broker.store.put_hosted_context(digest, {"@context": entries})
    return f"{str(request.base_url).rstrip('/')}{_HOSTED_PATH}{digest}"


async def create_subscription(request: Request) -> Response:
    broker = _broker(request)
    data, media_type, links = await _read_body(request)
    entries = _body_context(data, media_type, links)
    ctx = broker.context(entries)
    now = ent.now_iso()
    sub = subs.parse_subscription(data, ctx, now)
    _refuse_own_endpoint(request, sub)
    sub.setdefault("id", subs.new_subscription_id())
    sub["context"] = entries
    hosted = _hosted_context(broker, request, entries)
    if hosted:
        sub["hostedContext"] = hosted
    sub["createdAt"] = sub["modifiedAt"] = now
    try:
        broker.store.insert_subscription(sub)
    except AlreadyExists:
        raise already_exists(f"subscription {sub['id']} already exists") from None
    broker.subscriptions_changed()
    return Response(status_code=201, headers={"Location": _location("subscriptions", sub["id"])})


def _refuse_own_endpoint(request: Request, sub: Mapping[str, Any]) -> None:
    """An endpoint at this broker's own NGSI-LD API (as the client addressed it) would make each notification
    a request to the broker. Other aliases of the broker are caught when the notification arrives."""
    uri = sub.get("notification", {}).get("endpoint", {}).get("uri")
    if not isinstance(uri, str):
        return
    target = urlsplit(uri)
    if target.netloc.lower() == request.url.netloc.lower() and target.path.startswith("/ngsi-ld/"):
        raise bad_request(
            f"'notification.endpoint.uri' {uri} is this broker's own API: every notification would be "
            "written back to the broker and could notify again (a loop)"
        )


def _subscription_id(request: Request) -> str:
    sub_id = request.path_params["sub_id"]
    if not ent.is_uri(sub_id):
        raise bad_request(f"subscription id {sub_id!r} is not an absolute URI")
    return sub_id


def _require_subscription(broker: Broker, sub_id: str) -> dict[str, Any]:
    sub = broker.store.get_subscription(sub_id)
    if sub is None:
        raise not_found(f"subscription {sub_id} does not exist")
    return sub


async def retrieve_subscription(request: Request) -> Response:
    broker = _broker(request)
    links = _link_contexts(request)
    ctx = broker.context(list(links))
    sub = _require_subscription(broker, _subscription_id(request))
    stats = broker.store.subscription_stats(sub["id"])
    sys_attrs = "sysAttrs" in _options(request)
    return _respond(request, subs.render_subscription(sub, stats, ctx, ent.now_iso(), sys_attrs), links)


async def query_subscriptions(request: Request) -> Response:
    broker = _broker(request)
    links = _link_contexts(request)
    ctx = broker.context(list(links))
    limit = _int_param(request, "limit", DEFAULT_LIMIT, 0)
    offset = _int_param(request, "offset", 0, 0)
    if limit > broker.options.max_limit:
        raise bad_request(f"limit must not exceed {broker.options.max_limit}")
    all_subs = broker.store.list_subscriptions()
    now = ent.now_iso()
    sys_attrs = "sysAttrs" in _options(request)
    page = [
        subs.render_subscription(s, broker.store.subscription_stats(s["id"]), ctx, now, sys_attrs)
        for s in all_subs[offset : offset + limit]
    ]
    count = request.query_params.get("count", "false").lower() == "true"
    headers = {"NGSILD-Results-Count": str(len(all_subs))} if count else None
    return _respond(request, page, links, headers=headers)


async def update_subscription(request: Request) -> Response:
    broker = _broker(request)
    sub_id = _subscription_id(request)
    data, media_type, links = await _read_body(request, allow_merge_patch=True)
    entries = _body_context(data, media_type, links)
    ctx = broker.context(entries)
    now = ent.now_iso()
    fragment = subs.parse_subscription(data, ctx, now, partial=True)
    _refuse_own_endpoint(request, fragment)
    if "id" in fragment and fragment["id"] != sub_id:
        raise bad_request("the id of a subscription cannot change")
    with broker.store.transaction():
        stored = _require_subscription(broker, sub_id)
        merged = subs.merge_update(stored, fragment)
        if entries:
            # Names in the fragment were expanded with this context; later matching must use it too.
            merged["context"] = entries
            merged.pop("hostedContext", None)
            hosted = _hosted_context(broker, request, entries)
            if hosted:
                merged["hostedContext"] = hosted
        merged["modifiedAt"] = now
        broker.store.replace_subscription(merged)
    broker.subscriptions_changed()
    return Response(status_code=204)


async def delete_subscription(request: Request) -> Response:
    broker = _broker(request)
    sub_id = _subscription_id(request)
    if not broker.store.delete_subscription(sub_id):
        raise not_found(f"subscription {sub_id} does not exist")
    broker.notifier.forget(sub_id)
    broker.subscriptions_changed()
    return Response(status_code=204)


async def hosted_context(request: Request) -> Response:
    doc = _broker(request).store.get_hosted_context(request.path_params["context_id"])
    if doc is None:
        raise not_found("no such context")
    return _json_response(200, doc, media_type=JSON_LD)


async def version(request: Request) -> Response:
    return _json_response(200, {"broker": "sdmtool embedded NGSI-LD broker", "version": __version__})


# ---------------------------------------------------------------------------------------------------------
# Errors


async def _ngsi_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NgsiError)
    return _json_response(exc.status, exc.problem(request.url.path), headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error = not_found(f"no resource at {request.url.path}")
    elif exc.status_code == 405:
        error = NgsiError(405, "MethodNotAllowed", f"{request.method} is not allowed on {request.url.path}")
    else:
        error = NgsiError(exc.status_code, "InvalidRequest", str(exc.detail))
    return _json_response(error.status, error.problem(request.url.path), headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    error = NgsiError(500, "InternalError", f"{type(exc).__name__}: {exc}")
    return _json_response(500, error.problem(request.url.path))


class _NoTenants:
    """This broker has a single (default) tenant: a request naming a tenant gets 501 NoMultiTenantSupport
    (clause 5.5.2) rather than silently landing in the default tenant."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name in (b"ngsild-tenant", b"fiware-service") and value.strip():
                    error = NgsiError(501, "NoMultiTenantSupport", "the embedded broker has no tenants")
                    response = _json_response(501, error.problem(scope.get("path")))
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class _NoOwnNotifications:
    """Refuse the notifications this broker sends to itself (a subscription whose endpoint is one of the
    broker's own URLs): written back as entities, each could trigger the next, without end."""

    def __init__(self, app: ASGIApp, instance_id: str) -> None:
        self.app = app
        self.marker = instance_id.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.marker:
            header = NOTIFIER_HEADER.lower().encode()
            for name, value in scope["headers"]:
                if name == header and value.strip() == self.marker:
                    error = bad_request(
                        "this request is a notification this broker sent to itself: a subscription's "
                        "endpoint points at the broker (a notification loop); it is refused"
                    )
                    response = _json_response(error.status, error.problem(scope.get("path")))
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


# ---------------------------------------------------------------------------------------------------------
# Application


def create_app(
    db_path: str | Path,
    *,
    extra_contexts: Mapping[str, Path | Mapping[str, Any]] | None = None,
    context_unavailable_status: int = 503,
    notify_same_value: bool = False,
    patch_appends_missing: bool = False,
    notification_success: str = "200",
    append_subscription_id: bool = False,
    notification_timeout: float = 5.0,
    max_limit: int = 1000,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_pending_notifications: int = DEFAULT_MAX_PENDING,
) -> Starlette:
    """The broker on the SQLite file ``db_path`` (created if missing; WAL mode).

    ``extra_contexts`` adds offline contexts (URL -> file or document) to the bundled ones. The other
    switches imitate broker quirks (ngsi-ld-notes §10): ``context_unavailable_status`` 503 (1.8 era) or 504
    (1.9.1); ``notify_same_value`` (Orion-LD without -noNotifyFalseUpdate); ``patch_appends_missing`` (1.9.1
    text, Stellio) instead of 207; ``notification_success`` "200" (Stellio) or "2xx" (Orion-LD, Scorpio);
    ``append_subscription_id`` (Orion-LD adds ?subscriptionId= to the endpoint URL). Limits:
    ``max_body_bytes`` per request body (413 beyond), ``max_pending_notifications`` queued per subscription
    while its receiver is slow (beyond that, new notifications are dropped and counted as failed).
    """
    options = BrokerOptions(
        context_unavailable_status=context_unavailable_status,
        notify_same_value=notify_same_value,
        patch_appends_missing=patch_appends_missing,
        notification_success=notification_success,
        append_subscription_id=append_subscription_id,
        notification_timeout=notification_timeout,
        max_limit=max_limit,
        max_body_bytes=max_body_bytes,
    )
    store = Store(db_path)
    loader = ContextLoader(extra=extra_contexts, lookup=_hosted_lookup(store))
    notifier = Notifier(
        store,
        success_statuses=options.success_statuses,
        max_pending=max_pending_notifications,
        instance_id=store.instance_id(),
    )
    broker = Broker(store, loader, notifier, options)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await notifier.start()
        try:
            yield
        finally:
            await notifier.aclose()
            store.close()

    routes = [
        Route(f"{BASE}/entities", create_entity, methods=["POST"]),
        Route(f"{BASE}/entities", query_entities, methods=["GET"]),
        Route(f"{BASE}/entities/{{entity_id:path}}/attrs/{{attr}}", update_attribute, methods=["PATCH"]),
        Route(f"{BASE}/entities/{{entity_id:path}}/attrs/{{attr}}", delete_attribute, methods=["DELETE"]),
        Route(f"{BASE}/entities/{{entity_id:path}}/attrs", append_attrs, methods=["POST"]),
        Route(f"{BASE}/entities/{{entity_id:path}}/attrs", update_attrs, methods=["PATCH"]),
        Route(f"{BASE}/entities/{{entity_id:path}}", retrieve_entity, methods=["GET"]),
        Route(f"{BASE}/entities/{{entity_id:path}}", delete_entity, methods=["DELETE"]),
        Route(f"{BASE}/entities/{{entity_id:path}}", merge_entity, methods=["PATCH"]),
        Route(f"{BASE}/entities/{{entity_id:path}}", replace_entity, methods=["PUT"]),
        Route(f"{BASE}/entityOperations/{{operation}}", batch_operation, methods=["POST"]),
        Route(f"{BASE}/subscriptions", create_subscription, methods=["POST"]),
        Route(f"{BASE}/subscriptions", query_subscriptions, methods=["GET"]),
        Route(f"{BASE}/subscriptions/{{sub_id:path}}", retrieve_subscription, methods=["GET"]),
        Route(f"{BASE}/subscriptions/{{sub_id:path}}", update_subscription, methods=["PATCH"]),
        Route(f"{BASE}/subscriptions/{{sub_id:path}}", delete_subscription, methods=["DELETE"]),
        Route(f"{_HOSTED_PATH}{{context_id}}", hosted_context, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
    ]
    handlers: dict[Any, Callable[..., Any]] = {
        NgsiError: _ngsi_error,
        HTTPException: _http_error,
        Exception: _internal_error,
    }
    middleware = [Middleware(_NoTenants), Middleware(_NoOwnNotifications, instance_id=notifier.instance_id)]
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan, middleware=middleware)
    app.state.broker = broker
    return app


def _hosted_lookup(store: Store) -> Callable[[str], Any | None]:
    """Contexts this broker hosts are resolvable when a client sends their URL back (any host/port)."""

    def lookup(url: str) -> Any | None:
        marker = url.find(_HOSTED_PATH)
        if marker < 0:
            return None
        return store.get_hosted_context(url[marker + len(_HOSTED_PATH) :])

    return lookup
