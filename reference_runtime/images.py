"""Read the image an entity points at: a ``file:`` URI, an ``http(s):`` URL or a ``data:`` URI."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import httpx

MAX_IMAGE_BYTES = 10 * 1024 * 1024


class ImageSourceError(ValueError):
    """The image could not be read from where the entity says it is."""


def decode_data_uri(uri: str, *, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """Bytes of a ``data:[<media type>][;base64],<data>`` URI (RFC 2397), or of bare base64 text."""
    payload = uri
    if uri.startswith("data:"):
        header, sep, payload = uri.partition(",")
        if not sep:
            raise ImageSourceError("data URI has no ',' before its data")
        if not header.endswith(";base64"):
            return unquote(payload).encode("latin-1")[: max_bytes + 1]
    if len(payload) > (max_bytes * 4) // 3 + 4:
        raise ImageSourceError(f"image is larger than {max_bytes} bytes")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ImageSourceError(f"image data is not valid base64: {err}") from err


async def load_image(uri: str, http: httpx.AsyncClient, *, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    scheme = urlsplit(uri).scheme.lower()
    if scheme == "data":
        return decode_data_uri(uri, max_bytes=max_bytes)
    if scheme == "file":
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise ImageSourceError(f"file URI names another host: {uri}")
        path = Path(url2pathname(parts.path))
        try:
            size = path.stat().st_size
            if size > max_bytes:
                raise ImageSourceError(f"image {path} is {size} bytes, more than the limit of {max_bytes}")
            return path.read_bytes()
        except OSError as err:
            raise ImageSourceError(f"cannot read image {path}: {err.strerror or err}") from err
    if scheme in ("http", "https"):
        try:
            async with http.stream("GET", uri) as response:
                if response.status_code != 200:
                    raise ImageSourceError(f"GET {uri} answered HTTP {response.status_code}")
                chunks: list[bytes] = []
                received = 0
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > max_bytes:
                        raise ImageSourceError(f"image at {uri} is larger than {max_bytes} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as err:
            raise ImageSourceError(f"cannot fetch {uri}: {err}") from err
    raise ImageSourceError(f"unsupported image location {uri!r}: use a file:, http(s): or data: URI")
