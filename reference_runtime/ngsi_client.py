"""A small asynchronous NGSI-LD client: the only way the runtime talks to a context broker.

It uses nothing but the NGSI-LD HTTP API (ETSI GS CIM 009, clause 6), so the same code runs against the
embedded broker, Orion-LD, Scorpio or Stellio. Every request carries the same JSON-LD context (as a ``Link``
header), because terms are compared after expansion and a request without it would not match.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from sdmtool.resources import SUBJECT_CONTEXT_URL

JSONLD_CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"


def link_header(context_url: str) -> str:
    return f'<{context_url}>; rel="{JSONLD_CONTEXT_REL}"; type="application/ld+json"'


class NgsiError(Exception):
    """A broker answered with an error; carries the HTTP status and the ProblemDetails body."""

    def __init__(self, status: int, problem: Mapping[str, Any] | None, operation: str) -> None:
        self.status = status
        self.problem = dict(problem or {})
        detail = self.problem.get("detail") or self.problem.get("title") or ""
        super().__init__(f"{operation}: HTTP {status} {self.problem.get('type', '')} {detail}".strip())


class NgsiClient:
    def __init__(
        self,
        broker_url: str,
        *,
        context_url: str = SUBJECT_CONTEXT_URL,
        tenant: str | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Link": link_header(context_url), "Accept": "application/json"}
        if tenant:
            headers["NGSILD-Tenant"] = tenant
        self._http = httpx.AsyncClient(
            base_url=broker_url.rstrip("/") + "/ngsi-ld/v1",
            headers=headers,
            timeout=timeout,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> NgsiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _send(
        self, method: str, url: str, operation: str, *, ok: tuple[int, ...], **kwargs: Any
    ) -> httpx.Response:
        response = await self._http.request(method, url, **kwargs)
        if response.status_code not in ok:
            try:
                problem = response.json()
            except ValueError:
                problem = {"detail": response.text[:500]}
            raise NgsiError(response.status_code, problem if isinstance(problem, dict) else {}, operation)
        return response

    # Entities -------------------------------------------------------------------------------------------
    async def create_entity(self, entity: Mapping[str, Any]) -> None:
        await self._send("POST", "/entities", f"create {entity.get('id')}", ok=(201,), json=entity)

    async def upsert_entity(self, entity: Mapping[str, Any]) -> None:
        """Create the entity, or replace the attributes it carries when it exists already."""
        try:
            await self.create_entity(entity)
        except NgsiError as err:
            if err.status != 409:
                raise
            attrs = {k: v for k, v in entity.items() if k not in ("id", "type", "@context")}
            await self.append_attrs(str(entity["id"]), attrs)

    async def get_entity(self, entity_id: str, *, key_values: bool = False) -> dict[str, Any]:
        params = {"options": "keyValues"} if key_values else None
        response = await self._send(
            "GET", f"/entities/{entity_id}", f"retrieve {entity_id}", ok=(200,), params=params
        )
        return response.json()

    async def query_entities(
        self,
        entity_type: str,
        *,
        q: str | None = None,
        entity_id: str | None = None,
        id_pattern: str | None = None,
        key_values: bool = False,
        page_size: int = 100,
    ) -> list[dict[str, Any]]:
        """All entities of a type matching ``q`` (and ``id`` / ``idPattern``), following pagination."""
        found: list[dict[str, Any]] = []
        offset = 0
        while True:
            params: dict[str, Any] = {"type": entity_type, "limit": page_size, "offset": offset}
            if q:
                params["q"] = q
            if entity_id:
                params["id"] = entity_id
            if id_pattern:
                params["idPattern"] = id_pattern
            if key_values:
                params["options"] = "keyValues"
            response = await self._send("GET", "/entities", f"query {entity_type}", ok=(200,), params=params)
            page = response.json()
            found.extend(page)
            if len(page) < page_size:
                return found
            offset += page_size

    async def append_attrs(self, entity_id: str, attrs: Mapping[str, Any]) -> None:
        # POST .../attrs creates missing attributes and replaces existing ones; PATCH would answer 207 on
        # Orion-LD for attributes that do not exist yet.
        await self._send(
            "POST",
            f"/entities/{entity_id}/attrs",
            f"append attributes to {entity_id}",
            ok=(204,),
            json=dict(attrs),
        )

    async def delete_entity(self, entity_id: str) -> None:
        await self._send("DELETE", f"/entities/{entity_id}", f"delete {entity_id}", ok=(204,))

    # Subscriptions --------------------------------------------------------------------------------------
    async def create_subscription(self, subscription: Mapping[str, Any]) -> bool:
        """Create a subscription; ``False`` when one with the same id exists already."""
        try:
            await self._send(
                "POST",
                "/subscriptions",
                f"create subscription {subscription.get('id')}",
                ok=(201,),
                json=subscription,
            )
        except NgsiError as err:
            if err.status == 409:
                return False
            raise
        return True

    async def get_subscription(self, subscription_id: str) -> dict[str, Any] | None:
        try:
            response = await self._send(
                "GET",
                f"/subscriptions/{subscription_id}",
                f"retrieve subscription {subscription_id}",
                ok=(200,),
            )
        except NgsiError as err:
            if err.status == 404:
                return None
            raise
        return response.json()

    async def delete_subscription(self, subscription_id: str) -> None:
        try:
            await self._send(
                "DELETE",
                f"/subscriptions/{subscription_id}",
                f"delete subscription {subscription_id}",
                ok=(204,),
            )
        except NgsiError as err:
            if err.status != 404:
                raise
