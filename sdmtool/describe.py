"""Values as messages describe them: their JSON type ("an integer") and a short JSON rendering."""

from __future__ import annotations

import json
from typing import Any

JSON_TYPE_NAMES = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean (true or false)",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


def json_type(value: Any) -> str:
    """The JSON Schema type of a value; "Python <class>" for what JSON cannot hold (the Python API)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return f"Python {type(value).__name__}"  # never taken for a JSON type


def type_name(value: Any) -> str:
    """What a value is, for a message: "a string", "null", or "a Python set" for what JSON cannot hold."""
    got = json_type(value)
    return JSON_TYPE_NAMES.get(got) or f"a {got}"


def show(value: Any, limit: int | None = 60) -> str:
    """A JSON rendering of a value, cut to ``limit`` characters for a one-line message; never raises."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        # Not JSON (the Python API), too deep, or an integer too long to print: no rendering at all.
        try:
            text = repr(value)
        except (ValueError, RecursionError):
            text = f"<{type_name(value)}>"
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"
