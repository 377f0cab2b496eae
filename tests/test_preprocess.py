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
    MAX_IMAGE_PIXELS,
    MAX_IMAGE_SIDE,
    ImageError,
    preprocess_array,
    preprocess_image,
)
from reference_runtime.variants import EXIF_UNDO

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


# The images people really send, rendered from real held-out digits: one test per case. Each compares the
# tensor with the one the clean MNIST digit gives (same shape of ink, same place) and checks the model-facing
# contract; the accuracy on whole sets of such renditions is the evaluation's business (test_variants_*).


def close_to(tensor: np.ndarray, expected: np.ndarray, mean_error: float) -> bool:
    assert tensor.shape == (1, 28, 28) and tensor.dtype == np.float32
    return float(np.abs(tensor - expected).mean()) < mean_error


def on_paper(digit: np.ndarray, paper: float = 0.9, ink: float = 0.15, scale: int = 1) -> np.ndarray:
    """Dark ink on light paper, as float grey levels, optionally enlarged."""
    image = Image.fromarray(digit).resize((28 * scale, 28 * scale), Image.Resampling.BICUBIC)
    strength = np.asarray(image, dtype=np.float64) / 255.0
    return paper - strength * (paper - ink)


def to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values * 255), 0, 255).astype(np.uint8)


def test_canvas_rgba_with_coloured_pen_reads_the_alpha_channel(
    holdout: tuple[np.ndarray, np.ndarray], holdout_tensors: np.ndarray
) -> None:
    for digit, expected in zip(holdout[0][:30], holdout_tensors[:30], strict=True):
        rgba = alpha_ink(digit)
        rgba[..., :3] = (200, 30, 30)  # a red pen: the colour must not matter, only the coverage
        np.testing.assert_allclose(preprocess_image(encode(rgba)), expected, atol=1e-6)


def test_palette_with_transparency_reads_the_trns_alpha(
    holdout: tuple[np.ndarray, np.ndarray], holdout_tensors: np.ndarray
) -> None:
    for digit, expected in zip(holdout[0][:30], holdout_tensors[:30], strict=True):
        image = Image.fromarray(digit, mode="L").convert("P")  # identity palette: index = grey level
        image.putpalette([0, 0, 90] * 256)  # every colour dark blue ...
        image.info["transparency"] = bytes(range(256))  # ... as opaque as its index (tRNS)
        data = encode(image)
        assert Image.open(io.BytesIO(data)).mode == "P"
        np.testing.assert_allclose(preprocess_image(data), expected, atol=1e-6)


def test_grey_or_rgb_png_with_a_transparent_colour(
    holdout: tuple[np.ndarray, np.ndarray], holdout_tensors: np.ndarray
) -> None:
    # A tRNS chunk naming the background grey: transparent background, dark ink.
    digit, expected = holdout[0][0], holdout_tensors[0]
    dark_on_light = 255 - digit
    data = encode(Image.fromarray(dark_on_light), transparency=255)
    assert preprocess_image(data).shape == (1, 28, 28)
    assert close_to(preprocess_image(data), expected, 0.02)


def test_16_bit_scan_using_part_of_the_range(
    holdout: tuple[np.ndarray, np.ndarray], holdout_tensors: np.ndarray
) -> None:
    for digit, expected in zip(holdout[0][:20], holdout_tensors[:20], strict=True):
        grey = on_paper(digit, paper=0.7, ink=0.1)  # 16-bit scanners rarely use the full range
        data = encode(np.rint(grey * 65535).astype(np.uint16))
        assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
        np.testing.assert_allclose(preprocess_image(data), expected, atol=1e-3)


@pytest.mark.parametrize("orientation", range(2, 9))
def test_exif_orientation_is_applied(
    holdout: tuple[np.ndarray, np.ndarray], holdout_tensors: np.ndarray, orientation: int
) -> None:
    # Stored the way a camera stores it; the tag says how to turn it upright.
    undo = EXIF_UNDO[orientation]
    store = {
        Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90,
        Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270,
    }
    digit, expected = holdout[0][3], holdout_tensors[3]
    stored = Image.fromarray(digit).transpose(store.get(undo, undo))
    exif = Image.Exif()
    exif[0x0112] = orientation
    png_with_exif = encode(stored, exif=exif)
    np.testing.assert_allclose(preprocess_image(png_with_exif), expected, atol=1e-6)
    jpeg_with_exif = encode(stored.convert("RGB"), "JPEG", quality=95, exif=exif)
    assert close_to(preprocess_image(jpeg_with_exif), expected, 0.03)


def test_jpeg_at_low_quality_on_paper(holdout: tuple[np.ndarray, np.ndarray]) -> None:
    # Compared with the same picture saved losslessly: what JPEG's blocks and ringing change, nothing else.
    for index, digit in enumerate(holdout[0][:30]):
        grey = to_uint8(on_paper(digit, scale=2))
        lossless = preprocess_image(encode(grey))
        assert close_to(preprocess_image(encode(grey, "JPEG", quality=30 + index % 21)), lossless, 0.1)


def test_large_photo_decoded_at_reduced_scale(
    holdout: tuple[np.ndarray, np.ndarray], holdout_tensors: np.ndarray
) -> None:
    # A 12-megapixel phone photo of a digit 400 pixels tall, with a light gradient across the sheet.
    digit, expected = holdout[0][5], holdout_tensors[5]
    height, width = 3000, 4000
    light = np.linspace(0.95, 0.7, width)
    sheet = np.broadcast_to(to_uint8(light), (height, width)).copy()
    ink = np.asarray(Image.fromarray(digit).resize((560, 560), Image.Resampling.BICUBIC)) / 255.0
    sheet[1200:1760, 2300:2860] = to_uint8(light[2300:2860] * (1.0 - 0.85 * ink))
    data = encode(sheet, "JPEG", quality=85)
    assert close_to(preprocess_image(data), expected, 0.05)


def test_uneven_light_and_a_shadow_are_flattened(
    holdout: tuple[np.ndarray, np.ndarray], holdout_tensors: np.ndarray
) -> None:
    digit, expected = holdout[0][7], holdout_tensors[7]
    height, width = 480, 640
    ys, xs = np.mgrid[0:height, 0:width]
    light = 0.95 - 0.3 * xs / width - 0.25 * np.exp(-((ys - 100) ** 2 + (xs - 150) ** 2) / (2 * 90**2))
    ink = np.asarray(Image.fromarray(digit).resize((140, 140), Image.Resampling.BICUBIC)) / 255.0
    sheet = light.copy()
    sheet[200:340, 380:520] *= 1.0 - 0.8 * ink
    tensor = preprocess_image(encode(to_uint8(sheet)))
    assert close_to(tensor, expected, 0.05)
    # Without flattening the shadow and the darker side would be taken as ink and the digit shrink.
    assert tensor[0, :3].sum() == 0.0 and tensor[0, -3:].sum() == 0.0


def test_specks_and_paper_texture_are_removed(holdout: tuple[np.ndarray, np.ndarray]) -> None:
    rng = np.random.default_rng(7)
    for digit in holdout[0][:20]:
        clean = np.full((200, 200), 0.88)
        clean[70:126, 90:146] = on_paper(digit, paper=0.88, ink=0.1, scale=2)
        noisy = clean + rng.normal(0.0, 0.02, clean.shape)  # grain
        noisy[rng.integers(0, 200, 40), rng.integers(0, 200, 40)] -= 0.25  # faint specks all over the page
        noisy[70:126, 90:146] = clean[70:126, 90:146]
        expected = preprocess_image(encode(to_uint8(clean)))
        # Not one speck survives to stretch the crop or leave a dot in the field; the grain only moves the
        # measured background level a little.
        np.testing.assert_allclose(preprocess_image(encode(to_uint8(noisy))), expected, atol=0.02)


@pytest.mark.parametrize("polarity", ["grey paper, black ink", "dim white on black"])
def test_polarity_is_read_from_the_background(
    holdout: tuple[np.ndarray, np.ndarray], holdout_tensors: np.ndarray, polarity: str
) -> None:
    for digit, expected in zip(holdout[0][:20], holdout_tensors[:20], strict=True):
        strength = digit / 255.0
        grey = 0.55 - 0.45 * strength if polarity.startswith("grey") else 0.1 + 0.3 * strength
        assert close_to(preprocess_image(encode(to_uint8(grey))), expected, 0.02)


def test_tiny_images_are_enlarged(
    holdout: tuple[np.ndarray, np.ndarray], holdout_tensors: np.ndarray
) -> None:
    for digit, expected in zip(holdout[0][:20], holdout_tensors[:20], strict=True):
        tiny = Image.fromarray(digit).resize((12, 12), Image.Resampling.BOX)
        tensor = preprocess_image(encode(tiny))
        assert close_to(tensor, expected, 0.16)  # a 12-pixel digit has lost detail, not its shape
        rows = np.flatnonzero(tensor[0].any(axis=1))
        cols = np.flatnonzero(tensor[0].any(axis=0))
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 == 20  # fitted to MNIST's box
        ys, xs = np.indices((28, 28))
        for axis in (ys, xs):
            assert abs(float((axis * tensor[0]).sum() / tensor.sum()) - 14.0) <= 0.5


def test_small_digit_far_off_centre(
    holdout: tuple[np.ndarray, np.ndarray], holdout_tensors: np.ndarray
) -> None:
    for digit, expected in zip(holdout[0][:20], holdout_tensors[:20], strict=True):
        page = np.zeros((300, 400), dtype=np.uint8)
        page[260:288, 4:32] = digit  # bottom-left corner
        np.testing.assert_allclose(preprocess_image(encode(page)), expected, atol=1e-6)


@pytest.mark.parametrize("pen", ["thick", "thin"])
def test_stroke_width_is_kept_and_strokes_stay_saturated(
    holdout: tuple[np.ndarray, np.ndarray], holdout_tensors: np.ndarray, pen: str
) -> None:
    from PIL import ImageFilter

    for digit in holdout[0][:20]:
        big = Image.fromarray(digit).resize((112, 112), Image.Resampling.BICUBIC)
        shape = big.filter(ImageFilter.MaxFilter(9) if pen == "thick" else ImageFilter.MinFilter(5))
        tensor = preprocess_image(encode(np.asarray(shape)))[0]
        ink = tensor[tensor > 0]
        # The 75th percentile of the ink is full strength, however thin the pen.
        assert np.percentile(ink, 75) == pytest.approx(1.0, abs=0.02)
        # Normalisation fits the digit's size, not its pen: the stroke width survives it.
        area, plain_area = float(tensor.sum()), float(preprocess_image(encode(np.asarray(big))).sum())
        assert (area > plain_area) if pen == "thick" else (area < plain_area)


@pytest.mark.parametrize(
    ("size", "message"),
    [
        pytest.param((MAX_IMAGE_SIDE + 1, 10), "pixels a side", id="side-over-limit"),
        pytest.param((7000, 7000), "limit is 36,000,000", id="pixels-over-limit"),
    ],
)
def test_size_limits_are_checked_before_decoding(size: tuple[int, int], message: str) -> None:
    with pytest.raises(ImageError, match=message):
        preprocess_image(huge_png(*size))
    assert MAX_IMAGE_PIXELS == 36_000_000


def test_empty_image_after_cleaning_is_blank() -> None:
    # Only faint grain on paper: no stroke stands out enough to be ink.
    rng = np.random.default_rng(3)
    grey = np.clip(np.full((100, 100), 0.8) + rng.normal(0.0, 0.01, (100, 100)), 0, 1)
    with pytest.raises(ImageError, match="blank"):
        preprocess_image(encode(to_uint8(grey)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["L", "LA", "RGB", "RGBA", "P", "I;16", "1"]),
    st.integers(1, 80),
    st.integers(1, 80),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_any_png_mode_gives_a_tensor_or_image_error(
    mode: str, height: int, width: int, seed: int, transparent: bool
) -> None:
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        image = Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16))
    else:
        channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4, "P": 1, "1": 1}[mode]
        pixels = (rng.random((height, width, channels)) ** rng.uniform(0.2, 5.0) * 255).astype(np.uint8)
        image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels).convert(mode)
    options = {"transparency": 0} if transparent and mode in ("L", "P") else {}
    try:
        tensor = preprocess_image(encode(image, **options))
    except ImageError:
        return
    assert tensor.shape == (1, 28, 28) and tensor.dtype == np.float32
    assert np.isfinite(tensor).all() and tensor.min() >= 0.0 and tensor.max() == 1.0
