"""Turn a SubscriptionQuery entity into the NGSI-LD Subscription that feeds a model.

No upstream code defines this translation; the rules are ours:

* members that mirror the Subscription are copied (``entities``, ``q``, ``watchedAttributes``,
  ``notification.attributes``/``format``, ``throttling``, ``expiresAt``, ``geoQ``, ``isActive``);
* the notification endpoint is the runtime's own receiver: the query's endpoint is the consumer's business;
* without ``watchedAttributes`` the model's inputs are watched, and a watched set that contains one of the
  model's outputs is refused, because each prediction written back would trigger the next (a loop);
* ``csf`` and ``temporalQ`` do not apply to entity subscriptions and are refused.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sdmtool.query import QuerySyntaxError, parse_query
from sdmtool.resources import subject_context_path


class SubscriptionQueryError(ValueError):
    """The SubscriptionQuery cannot be turned into a safe subscription."""


@functools.cache
def _subject_terms() -> dict[str, str]:
    """Term -> IRI of the subject context, the context every request of the runtime carries."""
    context = json.loads(subject_context_path().read_text(encoding="utf-8"))["@context"]
    terms: dict[str, str] = {}
    for term, definition in context.items():
        iri = definition.get("@id") if isinstance(definition, dict) else definition
        if isinstance(iri, str):
            terms[term] = iri
    return terms


def expand_attribute(name: str) -> str:
    """The IRI a broker stores for an attribute name: brokers compare names after expansion, so must the loop
    guard (``predictedDigit`` and its full IRI are the same attribute)."""
    terms = _subject_terms()
    if name in terms:
        name = terms[name]
    prefix, colon, suffix = name.partition(":")
    if colon and prefix in terms and not suffix.startswith("//"):
        return terms[prefix] + suffix  # a compact IRI such as ngsi-ld:q
    return name


def deterministic_id(kind: str, key: str) -> str:
    """A stable subscription id, so that a re-delivered notification never creates a duplicate."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"urn:ngsi-ld:Subscription:sdm-runtime:{kind}:{digest}"


def _string_list(value: Any, member: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise SubscriptionQueryError(f"{member} must be a non-empty list of attribute names")
    return list(value)


def control_subscription(model_id: str, endpoint_uri: str) -> dict[str, Any]:
    """Watch the MLProcessing entities that reference this model (steps 8-9 of the MLOps loop).

    Only the wiring attributes are watched: the runtime's own status updates on the MLProcessing entity must
    not notify it again.
    """
    return {
        "id": deterministic_id("control", model_id),
        "type": "Subscription",
        "subscriptionName": f"MLProcessing jobs of {model_id}",
        "entities": [{"type": "MLProcessing"}],
        "watchedAttributes": ["refMLModel", "refSubscriptionQuery", "refOutputEntity"],
        "q": f'refMLModel=="{model_id}"',
        "notification": {
            "format": "keyValues",
            "endpoint": {"uri": endpoint_uri, "accept": "application/json"},
        },
    }


def data_subscription(
    query: Mapping[str, Any],
    *,
    model: Mapping[str, Any],
    processing_id: str,
    endpoint_uri: str,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The data subscription for one MLProcessing job (steps 16-18 of the MLOps loop)."""
    for member in ("csf", "temporalQ"):
        if member in query:
            raise SubscriptionQueryError(f"{member} is not supported in an entity subscription")

    inputs = _string_list(model.get("inputAttributes"), "MLModel.inputAttributes")
    outputs = set(model.get("outputAttributes") or [])

    subscription: dict[str, Any] = {
        "id": deterministic_id("data", processing_id),
        "type": "Subscription",
        "subscriptionName": str(query.get("subscriptionName") or f"data of {processing_id}"),
    }

    entities = query.get("entities")
    if entities is not None:
        if not isinstance(entities, list) or not entities:
            raise SubscriptionQueryError("entities must be a non-empty list of entity selectors")
        for index, selector in enumerate(entities):
            if not isinstance(selector, dict) or not isinstance(selector.get("type"), str):
                raise SubscriptionQueryError(f"entities[{index}] needs a type")
        subscription["entities"] = [dict(s) for s in entities]

    watched = query.get("watchedAttributes")
    watched_list = _string_list(watched, "watchedAttributes") if watched is not None else inputs
    output_iris = {expand_attribute(name): name for name in outputs}
    looping = sorted(
        {output_iris[iri] for name in watched_list if (iri := expand_attribute(name)) in output_iris}
    )
    if looping:
        raise SubscriptionQueryError(
            f"watchedAttributes contains the model output(s) {', '.join(looping)}: every prediction "
            "written back would trigger the subscription again (a notification loop); watch the inputs "
            f"({', '.join(inputs)}) instead"
        )
    subscription["watchedAttributes"] = watched_list
    if "entities" not in subscription and not watched_list:
        raise SubscriptionQueryError("a SubscriptionQuery needs entities or watchedAttributes")

    if "q" in query:
        q = query["q"]
        if not isinstance(q, str):
            raise SubscriptionQueryError("q must be a string")
        try:
            parse_query(q)
        except QuerySyntaxError as err:
            raise SubscriptionQueryError(f"q is not a valid NGSI-LD query: {err}") from err
        subscription["q"] = q

    if "geoQ" in query:
        geo_q = query["geoQ"]
        if isinstance(geo_q, str):  # upstream 0.0.2 typed it as a string
            try:
                geo_q = json.loads(geo_q)
            except ValueError as err:
                raise SubscriptionQueryError("geoQ must be an object (NGSI-LD GeoQuery)") from err
        if not isinstance(geo_q, dict) or not {"geometry", "coordinates", "georel"} <= geo_q.keys():
            raise SubscriptionQueryError("geoQ must be an object with geometry, coordinates and georel")
        subscription["geoQ"] = geo_q

    if "throttling" in query:
        try:
            throttling = float(query["throttling"])  # upstream 0.0.2 typed it as a string
        except (TypeError, ValueError) as err:
            raise SubscriptionQueryError("throttling must be a number of seconds") from err
        if not throttling > 0:
            raise SubscriptionQueryError("throttling must be greater than 0")
        subscription["throttling"] = throttling

    if "expiresAt" in query:
        expires = str(query["expiresAt"])
        try:
            moment = dt.datetime.fromisoformat(expires.replace("Z", "+00:00"))
        except ValueError as err:
            raise SubscriptionQueryError(f"expiresAt is not a date-time: {expires!r}") from err
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        if moment <= (now or dt.datetime.now(dt.UTC)):
            raise SubscriptionQueryError(f"expiresAt {expires} is in the past")
        subscription["expiresAt"] = expires

    if "isActive" in query:
        subscription["isActive"] = bool(query["isActive"])

    notification_in = query.get("notification") or {}
    if not isinstance(notification_in, dict):
        raise SubscriptionQueryError("notification must be an object")
    notification: dict[str, Any] = {"endpoint": {"uri": endpoint_uri, "accept": "application/json"}}
    if "attributes" in notification_in:
        attributes = _string_list(notification_in["attributes"], "notification.attributes")
        missing = [name for name in inputs if name not in attributes]
        if missing:
            raise SubscriptionQueryError(
                f"notification.attributes does not deliver the model input(s) {', '.join(missing)}"
            )
        notification["attributes"] = attributes
    fmt = notification_in.get("format", "normalized")
    if fmt not in ("normalized", "concise", "keyValues", "simplified"):
        raise SubscriptionQueryError(f"notification.format {fmt!r} is not an NGSI-LD format")
    notification["format"] = "keyValues" if fmt == "simplified" else fmt
    subscription["notification"] = notification
    return subscription


def same_subscription(existing: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether a subscription read back from a broker still says what we want (broker-added members aside)."""

    def core(sub: Mapping[str, Any]) -> dict[str, Any]:
        notification = sub.get("notification") or {}
        endpoint = notification.get("endpoint") or {}
        return {
            "entities": sub.get("entities"),
            "watchedAttributes": sub.get("watchedAttributes"),
            "q": sub.get("q"),
            "geoQ": sub.get("geoQ"),
            "throttling": sub.get("throttling"),
            "expiresAt": sub.get("expiresAt"),
            "attributes": notification.get("attributes"),
            "format": notification.get("format", "normalized"),
            "uri": endpoint.get("uri"),
        }

    return core(existing) == core(wanted)


def selected_outputs(model: Mapping[str, Any], produced: Mapping[str, Any]) -> dict[str, Any]:
    """The produced results restricted to the attributes the MLModel says it writes."""
    names: Sequence[str] = model.get("outputAttributes") or []
    return {name: produced[name] for name in names if name in produced}
