"""NGSI-LD errors as ProblemDetails (RFC 7807; ETSI GS CIM 009 clauses 5.5.2 and 6.3.2).

Every error the broker sends carries all five members (type, title, status, detail, instance), because the
three real brokers disagree on which ones they send and clients are told to read them leniently.
"""

from __future__ import annotations

from typing import Any

ERROR_BASE = "https://uri.etsi.org/ngsi-ld/errors/"

_TITLES = {
    "InvalidRequest": "Invalid request",
    "BadRequestData": "Bad request data",
    "ResourceNotFound": "Resource not found",
    "AlreadyExists": "Already exists",
    "OperationNotSupported": "Operation not supported",
    "TooManyResults": "Too many results",
    "TooComplexQuery": "Too complex query",
    "LdContextNotAvailable": "JSON-LD context not available",
    "InternalError": "Internal error",
    "NoMultiTenantSupport": "No multi-tenant support",
    # The next four have no type in clause 5.5.2: their type is about:blank (RFC 9457, clause 4.2.1: the
    # HTTP status says it all), never a URI in ETSI's namespace that the spec does not define.
    "UnsupportedMediaType": "Unsupported Media Type",
    "NotAcceptable": "Not Acceptable",
    "MethodNotAllowed": "Method Not Allowed",
    "PayloadTooLarge": "Content Too Large",
}
HTTP_ONLY_ERRORS = frozenset({"UnsupportedMediaType", "NotAcceptable", "MethodNotAllowed", "PayloadTooLarge"})


class NgsiError(Exception):
    """An error to answer with a ProblemDetails body."""

    def __init__(self, status: int, name: str, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.name = name
        self.detail = detail
        self.headers = headers or {}

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "about:blank" if self.name in HTTP_ONLY_ERRORS else ERROR_BASE + self.name,
            "title": _TITLES.get(self.name, self.name),
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        return body


def bad_request(detail: str) -> NgsiError:
    """Valid JSON whose content is wrong (the usual 400)."""
    return NgsiError(400, "BadRequestData", detail)


def invalid_request(detail: str) -> NgsiError:
    """Not JSON at all, or a malformed request (bad URI parameter)."""
    return NgsiError(400, "InvalidRequest", detail)


def not_found(detail: str) -> NgsiError:
    return NgsiError(404, "ResourceNotFound", detail)


def already_exists(detail: str) -> NgsiError:
    return NgsiError(409, "AlreadyExists", detail)


def too_complex(detail: str) -> NgsiError:
    return NgsiError(403, "TooComplexQuery", detail)


def not_supported(detail: str) -> NgsiError:
    return NgsiError(422, "OperationNotSupported", detail)


def unsupported_media_type(detail: str) -> NgsiError:
    return NgsiError(415, "UnsupportedMediaType", detail)


def payload_too_large(detail: str) -> NgsiError:
    return NgsiError(413, "PayloadTooLarge", detail)


def not_acceptable(detail: str) -> NgsiError:
    return NgsiError(406, "NotAcceptable", detail)


def context_not_available(detail: str, status: int) -> NgsiError:
    return NgsiError(status, "LdContextNotAvailable", detail)
