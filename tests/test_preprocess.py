"""Preprocessing on real held-out MNIST digits and on the image variants the runtime receives."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from reference_runtime import dataset
from reference_runtime.preprocess import (
    MAX_IMAGE_BYTES,
    MAX_IMAGE_SIDE,
    ImageError,
    preprocess_array,
    preprocess_image,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def encode(pixels: np.ndarray | Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    image = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def alpha_ink(digit: np.ndarray) -> np.ndarray:
    """A browser-canvas rendition: RGB all 0, the ink only in the alpha channel."""
    rgba = np.zeros((*digit.shape, 4), dtype=np.uint8)
    rgba[..., 3] = digit
    return rgba


@pytest.fixture(scope="module")
def holdout() -> tuple[np.ndarray, np.ndarray]:
    return dataset.holdout()


@pytest.fixture(scope="module")
def holdout_tensors(holdout: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return np.stack([preprocess_array(digit) for digit in holdout[0]])


def test_output_contract(holdout_tensors: np.ndarray) -> None:
    assert holdout_tensors.shape == (1000, 1, 28, 28)
    assert holdout_tensors.dtype == np.float32
    assert holdout_tensors.min() >= 0.0
    assert holdout_tensors.max() == 1.0


def test_png_round_trip_gives_the_same_tensor_as_the_array(
    holdout: tuple[np.ndarray, np.ndarray], holdout_tensors: np.ndarray
) -> None:
    from_png = np.stack([preprocess_image(encode(digit)) for digit in holdout[0]])
    assert np.array_equal(from_png, holdout_tensors)


def test_mnist_digits_stay_mnist_digits(
    holdout: tuple[np.ndarray, np.ndarray], holdout_tensors: np.ndarray
) -> None:
    # MNIST is already normalised: re-normalising may move a digit by a pixel, not reshape it.
    raw = holdout[0].astype(np.float64) / 255.0
    assert np.abs(holdout_tensors[:, 0] - raw).mean() < 0.02


def test_normalised_like_mnist_box_and_centre_of_mass() -> None:
    # A tall thin stroke far off-centre on a large canvas.
    canvas = np.zeros((300, 500), dtype=np.uint8)
    canvas[40:240, 380:420] = 255
    canvas[40:80, 330:420] = 255
    tensor = preprocess_image(encode(canvas))[0]
    rows = np.flatnonzero(tensor.any(axis=1))
    cols = np.flatnonzero(tensor.any(axis=0))
    assert rows[-1] - rows[0] + 1 == 20  # longer side fitted to 20 pixels
    assert cols[-1] - cols[0] + 1 < 20  # aspect ratio kept
    ys, xs = np.indices(tensor.shape)
    total = tensor.sum()
    assert abs((ys * tensor).sum() / total - 14.0) <= 0.5
    assert abs((xs * tensor).sum() / total - 14.0) <= 0.5


@pytest.mark.parametrize(
    "rendition",
    [
        pytest.param(lambda d: encode(255 - d), id="dark-on-light-gray"),
        pytest.param(lambda d: encode(alpha_ink(d)), id="rgba-ink-in-alpha"),
        pytest.param(lambda d: encode(np.stack([d] * 3, axis=-1)), id="rgb"),
        pytest.param(lambda d: encode(np.stack([255 - d] * 3, axis=-1)), id="rgb-dark-on-light"),
        pytest.param(lambda d: encode(Image.fromarray(d).convert("P")), id="palette"),
        pytest.param(lambda d: encode(Image.fromarray(alpha_ink(d)).convert("LA")), id="gray-alpha"),
        pytest.param(lambda d: encode(d.astype(np.uint16) * 257), id="16-bit"),
    ],
)
def test_lossless_renditions_give_the_original_tensor(
    holdout: tuple[np.ndarray, np.ndarray], holdout_tensors: np.ndarray, rendition
) -> None:
    for digit, expected in zip(holdout[0][:100], holdout_tensors[:100], strict=True):
        np.testing.assert_allclose(preprocess_image(rendition(digit)), expected, atol=1e-6)


def test_jpeg_is_close_to_the_original(
    holdout: tuple[np.ndarray, np.ndarray], holdout_tensors: np.ndarray
) -> None:
    for digit, expected in zip(holdout[0][:50], holdout_tensors[:50], strict=True):
        tensor = preprocess_image(encode(255 - digit, "JPEG", quality=90))
        assert np.abs(tensor - expected).mean() < 0.05


def test_array_inputs_of_other_types(holdout: tuple[np.ndarray, np.ndarray]) -> None:
    digit = holdout[0][0]
    expected = preprocess_array(digit)
    np.testing.assert_allclose(preprocess_array(digit / 255.0), expected, atol=1e-6)
    np.testing.assert_allclose(preprocess_array(1.0 - digit / 255.0), expected, atol=1e-6)
    assert preprocess_array(digit > 127).shape == (1, 28, 28)


def corrupt_idat(png: bytes) -> bytes:
    position = png.index(b"IDAT") + 20
    return png[:position] + bytes(b ^ 0xFF for b in png[position : position + 16]) + png[position + 16 :]


def huge_png(width: int, height: int) -> bytes:
    """A valid PNG header declaring the given size; only the header matters to the size check."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return len(payload).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IEND", b"")


DIGIT = dataset.load_mnist()[0][0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"this is not an image at all" * 10, "not a PNG or JPEG", id="garbage"),
        pytest.param(PNG_SIGNATURE + b"\x00" * 64, "PNG or JPEG", id="png-signature-only"),
        pytest.param(encode(DIGIT)[:-40], "truncated or corrupt", id="truncated-png"),
        pytest.param(encode(DIGIT, "JPEG")[:200], "truncated or corrupt", id="truncated-jpeg"),
        pytest.param(corrupt_idat(encode(np.tile(DIGIT, (4, 4)))), "truncated or corrupt", id="corrupt-png"),
        pytest.param(encode(DIGIT, "GIF"), "not a PNG or JPEG", id="gif"),
        pytest.param(encode(np.zeros((28, 28), np.uint8)), "blank", id="all-black"),
        pytest.param(encode(np.full((64, 48), 255, np.uint8)), "blank", id="all-white"),
        pytest.param(encode(np.full((28, 28), 128, np.uint8)), "blank", id="uniform-gray"),
        pytest.param(encode(np.zeros((28, 28, 4), np.uint8)), "transparent", id="transparent-canvas"),
        pytest.param(huge_png(MAX_IMAGE_SIDE + 1, 10), "limit", id="too-wide"),
        pytest.param(huge_png(100_000, 100_000), "too large", id="decompression-bomb"),
        pytest.param(PNG_SIGNATURE + bytes(MAX_IMAGE_BYTES), "limit", id="over-10-MiB"),
    ],
)
def test_unusable_images_raise_image_error(data: bytes, message: str) -> None:
    with pytest.raises(ImageError, match=message) as caught:
        preprocess_image(data)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        pytest.param(np.zeros((28, 28, 3), np.uint8), "2-D", id="colour-array"),
        pytest.param(np.zeros((28, 28), np.uint8), "blank", id="blank"),
        pytest.param(np.full((28, 28), 2.0), r"\[0, 1\]", id="float-out-of-range"),
        pytest.param(np.full((28, 28), np.nan), "NaN", id="nan"),
        pytest.param(np.zeros((28, 28), np.int64), "unsupported pixel type", id="int64"),
        pytest.param(np.zeros((MAX_IMAGE_SIDE + 1, 2), np.uint8), "limit", id="too-tall"),
    ],
)
def test_unusable_arrays_raise_image_error(array: np.ndarray, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        preprocess_array(array)


def test_non_bytes_input_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        preprocess_image("image.png")  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048), st.sampled_from([b"", PNG_SIGNATURE, b"\xff\xd8\xff"]))
def test_arbitrary_bytes_never_crash(payload: bytes, prefix: bytes) -> None:
    try:
        tensor = preprocess_image(prefix + payload)
    except ImageError:
        return
    assert tensor.shape == (1, 28, 28)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 64), st.integers(1, 64), st.integers(0, 2**32 - 1))
def test_arbitrary_arrays_give_a_tensor_or_image_error(height: int, width: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    image = (rng.random((height, width)) ** rng.uniform(0.2, 5.0) * 255).astype(np.uint8)
    try:
        tensor = preprocess_array(image)
    except ImageError:
        return
    assert tensor.shape == (1, 28, 28)
    assert tensor.dtype == np.float32
    assert np.isfinite(tensor).all() and tensor.min() >= 0.0 and tensor.max() <= 1.0
