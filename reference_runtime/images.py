"""Read the image an entity points at: a ``file:`` URI, an ``http(s):`` URL or a ``data:`` URI."""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
import stat
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit
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
            # RFC 2397: without ;base64 the data are percent-encoded octets, each 1 or 3 characters long.
            if len(payload) > 3 * max_bytes:
                raise ImageSourceError(f"image is larger than {max_bytes} bytes")
            data = unquote_to_bytes(payload)
            if len(data) > max_bytes:
                raise ImageSourceError(f"image is larger than {max_bytes} bytes")
            return data
    if len(payload) > (max_bytes * 4) // 3 + 4:
        raise ImageSourceError(f"image is larger than {max_bytes} bytes")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ImageSourceError(f"image data is not valid base64: {err}") from err


def _read_regular_file(path: Path, max_bytes: int) -> bytes:
    """At most ``max_bytes`` of a regular file: a FIFO or a device (``/dev/zero``) would never end."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it has no effect on regular files.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ImageSourceError(f"{path} is not a regular file")
            data = handle.read(max_bytes + 1)
    except OSError as err:
        raise ImageSourceError(f"cannot read image {path}: {err.strerror or err}") from err
    if len(data) > max_bytes:
        raise ImageSourceError(f"image {path} is larger than the limit of {max_bytes} bytes")
    return data


async def load_image(uri: str, http: httpx.AsyncClient, *, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    scheme = urlsplit(uri).scheme.lower()
    if scheme == "data":
        return decode_data_uri(uri, max_bytes=max_bytes)
    if scheme == "file":
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise ImageSourceError(f"file URI names another host: {uri}")
        return await asyncio.to_thread(_read_regular_file, Path(url2pathname(parts.path)), max_bytes)
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
