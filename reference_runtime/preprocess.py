"""Turn an image of one handwritten digit into the tensor the digit model reads.

The model was trained on MNIST, so every input is normalised the way MNIST digits were:

1. decode (PNG or JPEG) into a grayscale "ink" map where ink is bright and the background dark;
2. crop to the bounding box of the ink;
3. scale the box so that its longer side is 20 pixels, keeping the aspect ratio, and bring the strokes to
   full strength (MNIST strokes are saturated);
4. paste it into a 28×28 black field so that the ink's centre of mass lands on the centre;
5. return float32 values in [0, 1], shape (1, 28, 28).

Training applies the same steps to the MNIST images (``preprocess_array``), so what the model saw during
training and what it sees at run time come out of one code path.

Inputs the runtime meets, and how each becomes an ink map:

- MNIST-like grayscale (white ink on black) is used as is; dark ink on a light background (scans, photos) is
  inverted: the polarity is read from the image border, which is background in practice;
- RGB is reduced to luminance; 16-bit grayscale keeps its 16 bits; palettes are expanded, with their
  transparency (tRNS) when they carry one;
- images with transparency are composited onto a backdrop that contrasts with the ink. A browser canvas PNG
  has RGB all 0 and the ink only in the alpha channel: it ends up as exactly its alpha channel;
- JPEGs (and PNGs with an eXIf chunk) are turned upright by their EXIF orientation first;
- large images (a photo of a sheet of paper) are decoded at a reduced scale when the format allows it (JPEG)
  and box-reduced to at most 1024 pixels a side; an uneven background (a light gradient, a shadow) is
  flattened before the ink is measured;
- specks of noise, paper texture and JPEG ringing are dropped before cropping: only ink that belongs to the
  strokes (within a few pixels of strong ink) counts.

Anything that cannot be turned into a digit tensor raises ``ImageError`` with a message meant for the person
who sent the image.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "ALLOWED_FORMATS",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "MAX_IMAGE_SIDE",
    "ImageError",
    "preprocess_array",
    "preprocess_image",
]

MAX_IMAGE_BYTES = 10 * 1024 * 1024
# Our own decoding limits, checked on the header before any pixel is decompressed: a 36-megapixel photo
# passes, a compressed "bomb" declaring a huge canvas does not. Pillow's decompression-bomb guard (about
# 179 megapixels) stays in force beneath them.
MAX_IMAGE_PIXELS = 36_000_000
MAX_IMAGE_SIDE = 12_000
ALLOWED_FORMATS = ("PNG", "JPEG")

FIELD_SIDE = 28  # MNIST frame
BOX_SIDE = 20  # MNIST fitted each digit into a 20×20 box inside the frame
# MNIST's own digits have their centre of mass at (14.0, 14.0) in pixel-index coordinates (measured on the
# bundled data: mean 13.996 / 14.003), so that is where ours go too.
CENTRE = 14.0

# Below this contrast (difference between the background and the strongest ink, on a 0..1 scale, i.e. about
# 25 grey levels in an 8-bit image) an image is treated as blank: JPEG noise on an empty page stays under it.
MIN_CONTRAST = 0.1
# After contrast stretching, ink weaker than this is background noise (paper texture, JPEG ringing, faint
# anti-aliasing far from the stroke); it is cut softly so the remaining values stay continuous.
NOISE_FLOOR = 0.1
# Ink at least this strong (after stretching) is certainly stroke; weaker ink counts only near it.
STRONG_INK = 0.5
# How far weak ink may lie from strong ink and still belong to the stroke, as a fraction of the strong ink's
# extent (at least one pixel): anti-aliased edges and faint stroke ends stay, specks and shading go.
STROKE_REACH = 0.08
# Which percentile of the ink pixels counts as "full ink" (see _saturate).
INK_LEVEL_PERCENTILE = 75.0
# Decoded images larger than this are reduced first: the digit ends up 20 pixels tall anyway, and working on
# a few megapixels of floats per request would cost memory for nothing.
WORKING_SIDE = 1024
# The background is flattened when the image border varies by more than this fraction of the ink contrast
# (a light gradient or a shadow across a photo), and only in images at least this large: in small images the
# digit fills the frame and there is too little background to model.
UNEVEN_BORDER = 0.15
MIN_FLATTEN_SIDE = 96
# The background surface is estimated on a grid of this many cells along the longer side: coarse enough that
# a stroke never fills a cell's neighbourhood, fine enough to follow a shadow.
BACKGROUND_CELLS = 16


class ImageError(ValueError):
    """The input cannot be read as an image of a digit; the message says why."""


def preprocess_image(data: bytes) -> np.ndarray:
    """Decode PNG or JPEG bytes and normalise them as MNIST: float32 array of shape (1, 28, 28) in [0, 1]."""
    image = _open(data)
    gray, alpha = _to_gray(image)
    if alpha is not None:
        gray = _composite(gray, alpha)
    return _normalise(gray)


def preprocess_array(image: np.ndarray) -> np.ndarray:
    """Normalise a 2-D grayscale image held in memory, such as a raw MNIST digit (uint8, 28×28).

    Accepts uint8 (0..255), uint16 (0..65535), bool, or floats in [0, 1]. Either polarity is fine. Returns the
    same float32 (1, 28, 28) tensor ``preprocess_image`` returns for a lossless encoding of the same pixels
    (exactly up to ``WORKING_SIDE`` pixels a side; larger images are box-reduced as decoded ones are, but
    without their rounding to 8 bits).
    """
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise ImageError(f"expected a 2-D grayscale image, got an array of shape {arr.shape}")
    height, width = arr.shape
    _check_dimensions(width, height)
    return _normalise(_reduce_array(_unit_float(arr)))


def _check_dimensions(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ImageError(f"image has no pixels ({width}×{height})")
    if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
        raise ImageError(f"image is {width}×{height} pixels; the limit is {MAX_IMAGE_SIDE} pixels a side")
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageError(
            f"image is {width}×{height} = {width * height:,} pixels; the limit is {MAX_IMAGE_PIXELS:,}"
        )


def _unit_float(arr: np.ndarray) -> np.ndarray:
    """Grayscale values as float64 in [0, 1]; float64 so that every later step is exact enough to be
    independent of how the pixels arrived (array or PNG)."""
    if arr.dtype == np.bool_:
        return arr.astype(np.float64)
    if arr.dtype == np.uint8:
        return arr.astype(np.float64) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float64) / 65535.0
    if np.issubdtype(arr.dtype, np.floating):
        values = arr.astype(np.float64)
        if not np.isfinite(values).all():
            raise ImageError("image contains NaN or infinite values")
        if values.min() < 0.0 or values.max() > 1.0:
            raise ImageError("a floating-point image must have values in [0, 1]")
        return values
    raise ImageError(f"unsupported pixel type {arr.dtype}; use uint8, uint16, bool or floats in [0, 1]")


def _reduce_array(gray: np.ndarray) -> np.ndarray:
    """Box-reduce an in-memory image as ``Image.reduce`` reduces a decoded one (mean of k×k blocks)."""
    factor = math.ceil(max(gray.shape) / WORKING_SIDE)
    if factor <= 1:
        return gray
    height, width = gray.shape
    rows, cols = math.ceil(height / factor), math.ceil(width / factor)
    padded = np.pad(gray, ((0, rows * factor - height), (0, cols * factor - width)))
    sums = padded.reshape(rows, factor, cols, factor).sum(axis=(1, 3))
    # Partial blocks at the right and bottom edges average only their real pixels.
    counts = np.outer(
        np.minimum(factor, height - np.arange(rows) * factor),
        np.minimum(factor, width - np.arange(cols) * factor),
    )
    return sums / counts


def _open(data: bytes) -> Image.Image:
    """Decode the bytes with Pillow, refusing anything that is not a sane, complete PNG or JPEG, and turn the
    image upright according to its EXIF orientation."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"image data must be bytes, not {type(data).__name__}")
    size = len(data)
    if size == 0:
        raise ImageError("image is empty (0 bytes)")
    if size > MAX_IMAGE_BYTES:
        raise ImageError(f"image is {size} bytes; the limit is {MAX_IMAGE_BYTES} bytes (10 MiB)")
    try:
        # Restricting the formats keeps Pillow's less-used decoders away from untrusted bytes.
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        start = bytes(data[:8])
        raise ImageError(f"not a PNG or JPEG image ({size} bytes starting with {start!r})") from None
    except Image.DecompressionBombError as err:
        raise ImageError(f"image is too large to decode: {err}") from None
    except Exception as err:  # a damaged header can make a decoder fail in many ways
        raise ImageError(f"image header is truncated or corrupt: {err}") from None
    # Opening only parsed the header: check the size before any pixel is decompressed.
    width, height = image.size
    _check_dimensions(width, height)
    if image.format == "JPEG" and max(width, height) > 2 * WORKING_SIDE:
        # libjpeg can decode at 1/2, 1/4 or 1/8 scale directly, which saves most of the memory and time a
        # phone photo would cost; draft() picks the smallest scale still at least this large.
        scale = WORKING_SIDE / max(width, height)
        image.draft(image.mode, (math.ceil(width * scale), math.ceil(height * scale)))
    try:
        image.load()
    except Exception as err:  # truncated or corrupt data: Pillow raises OSError, SyntaxError, EOFError...
        raise ImageError(f"{image.format} image is truncated or corrupt: {err}") from None
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception as err:  # a malformed EXIF block: the pixels are fine, the orientation is not
        raise ImageError(f"{image.format} image has an unreadable EXIF block: {err}") from None
    return upright if upright is not None else image


def _to_gray(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Luminance in [0, 1] and, when the image has transparency, alpha in [0, 1]."""
    if image.mode in ("P", "PA"):
        # A palette can carry transparency (tRNS); expanding to RGBA keeps it.
        has_alpha = image.mode == "PA" or image.has_transparency_data
        image = image.convert("RGBA" if has_alpha else "RGB")
    elif image.mode in ("RGBa", "La"):
        image = image.convert(image.mode[0:-1] + "A")
    elif image.mode == "1":
        image = image.convert("L")
    elif image.mode.startswith("I;16"):
        image = image.convert("I")  # Pillow cannot reduce I;16; "I" keeps all 16 bits
    elif image.mode in ("L", "RGB") and image.has_transparency_data:
        # A tRNS chunk naming one transparent colour in a grayscale or RGB PNG.
        image = image.convert("LA" if image.mode == "L" else "RGBA")
    elif image.mode not in ("L", "LA", "RGB", "RGBA", "I"):
        image = image.convert("RGB")  # CMYK, YCbCr (JPEG) and other colour spaces

    if image.mode == "RGB":
        image = image.convert("L")  # ITU-R 601-2 luma
    elif image.mode == "RGBA":
        image = image.convert("LA")

    longest = max(image.size)
    if longest > WORKING_SIDE:
        image = image.reduce(math.ceil(longest / WORKING_SIDE))

    if image.mode == "I":
        return np.clip(np.asarray(image, dtype=np.float64) / 65535.0, 0.0, 1.0), None
    if image.mode == "LA":
        planes = np.asarray(image, dtype=np.float64) / 255.0
        return planes[:, :, 0], planes[:, :, 1]
    return np.asarray(image, dtype=np.float64) / 255.0, None


def _composite(gray: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Flatten a transparent image onto a backdrop that contrasts with its ink.

    The backdrop colour cannot be taken from the file (a canvas's "white" background is often only CSS), so
    it is chosen from the colour of the opaque pixels: dark strokes go onto white, light strokes onto black.
    """
    if alpha.min() >= 1.0:
        return gray  # fully opaque: the alpha channel carries nothing
    weight = alpha.sum()
    if weight == 0.0:
        raise ImageError("image is fully transparent: there is no ink to recognise")
    ink_colour = float((gray * alpha).sum() / weight)
    backdrop = 1.0 if ink_colour < 0.5 else 0.0
    return gray * alpha + backdrop * (1.0 - alpha)


def _normalise(gray: np.ndarray) -> np.ndarray:
    """Grayscale in [0, 1] (either polarity) -> MNIST-normalised float32 tensor (1, 28, 28)."""
    ink = _strokes(_ink_map(gray))
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    ink = _saturate(_fit_box(ink))
    return _centre(ink)[np.newaxis].astype(np.float32)


def _ink_map(gray: np.ndarray) -> np.ndarray:
    """Orient the image so ink is bright, stretch it so background = 0 and the strongest ink = 1."""
    lowest, highest = float(gray.min()), float(gray.max())
    sides = _border_sides(gray)
    background = float(np.median(np.concatenate(sides)))
    # The background is whichever end of the range the border sits closer to. Comparing distances rather
    # than testing "background > 0.5" also handles grey paper with black ink and dim white-on-black scans.
    if background - lowest > highest - background:
        gray = 1.0 - gray
        background = 1.0 - background
    contrast = float(gray.max()) - background
    if contrast < MIN_CONTRAST:
        raise ImageError("image is blank: no ink stands out from the background")
    level: float | np.ndarray = background
    # Uneven light shows as sides of different brightness. Each side's median ignores a stroke that touches
    # it, which a spread over all border pixels would take for shading.
    side_levels = [float(np.median(side)) for side in sides if side.size]
    if min(gray.shape) >= MIN_FLATTEN_SIDE and max(side_levels) - min(side_levels) > UNEVEN_BORDER * contrast:
        level = _background_surface(gray)
        contrast = float((gray - level).max())
        if contrast < MIN_CONTRAST:
            raise ImageError("image is blank: no ink stands out from the background")
    ink = np.clip((gray - level) / contrast, 0.0, 1.0)
    return np.clip((ink - NOISE_FLOOR) / (1.0 - NOISE_FLOOR), 0.0, 1.0)


def _border_sides(gray: np.ndarray) -> list[np.ndarray]:
    """The four sides of the image's outer frame, about 1/28 of its size wide: background in practice, as a
    digit seldom covers most of it."""
    height, width = gray.shape
    band = max(1, min(height, width) // FIELD_SIDE)
    return [
        gray[:band].ravel(),
        gray[-band:].ravel(),
        gray[band:-band, :band].ravel(),
        gray[band:-band, -band:].ravel(),
    ]


def _background_surface(gray: np.ndarray) -> np.ndarray:
    """A smooth estimate of the background under bright ink (a gradient, a shadow), same shape as ``gray``.

    Each cell of a coarse grid takes its 25th percentile (background unless ink covers most of the cell);
    a 3×3 opening of the grid then removes the cells that strokes did fill, and bilinear interpolation
    between cell centres gives the surface.
    """
    height, width = gray.shape
    cell = math.ceil(max(height, width) / BACKGROUND_CELLS)
    rows, cols = math.ceil(height / cell), math.ceil(width / cell)
    padded = np.pad(gray, ((0, rows * cell - height), (0, cols * cell - width)), mode="edge")
    blocks = padded.reshape(rows, cell, cols, cell).transpose(0, 2, 1, 3).reshape(rows, cols, -1)
    grid = np.percentile(blocks, 25.0, axis=2)
    grid = _grid_filter(_grid_filter(grid, np.min), np.max)
    as_image = Image.fromarray(grid.astype(np.float32))
    # Resizing the grid to rows*cell × cols*cell puts each value at its cell's centre; crop to the image.
    surface = as_image.resize((cols * cell, rows * cell), Image.Resampling.BILINEAR)
    return np.asarray(surface, dtype=np.float64)[:height, :width]


def _grid_filter(grid: np.ndarray, reduce: np.ufunc | object) -> np.ndarray:
    """3×3 minimum or maximum of a small grid (edges repeated)."""
    padded = np.pad(grid, 1, mode="edge")
    rows, cols = grid.shape
    stack = np.stack([padded[dy : dy + rows, dx : dx + cols] for dy in range(3) for dx in range(3)])
    return reduce(stack, axis=0)  # type: ignore[operator]


def _strokes(ink: np.ndarray) -> np.ndarray:
    """Keep the ink that belongs to the strokes: strong ink, and weak ink close to it.

    Hysteresis, as in edge detection: noise, paper texture and a shadow's edge are weak and far from the
    strokes, so they go; a stroke's anti-aliased edge and a faint stroke end are weak but touch strong ink,
    so they stay.
    """
    strong = ink >= STRONG_INK
    rows = np.flatnonzero(strong.any(axis=1))
    cols = np.flatnonzero(strong.any(axis=0))
    extent = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    reach = max(1, math.ceil(STROKE_REACH * extent))
    height, width = ink.shape
    top, bottom = max(0, rows[0] - reach), min(height, rows[-1] + reach + 1)
    left, right = max(0, cols[0] - reach), min(width, cols[-1] + reach + 1)
    near = strong[top:bottom, left:right]
    for _ in range(reach):
        near = _dilate(near)
    kept = np.zeros_like(ink)
    window = ink[top:bottom, left:right]
    kept[top:bottom, left:right] = np.where(near, window, 0.0)
    return kept


def _dilate(mask: np.ndarray) -> np.ndarray:
    """3×3 binary dilation."""
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    wide = grown.copy()
    wide[:, 1:] |= grown[:, :-1]
    wide[:, :-1] |= grown[:, 1:]
    return wide


def _fit_box(ink: np.ndarray) -> np.ndarray:
    """Scale so the longer side is BOX_SIDE, keeping the aspect ratio (MNIST's 20×20 box)."""
    height, width = ink.shape
    scale = BOX_SIDE / max(height, width)
    new_height = max(1, math.floor(height * scale + 0.5))
    new_width = max(1, math.floor(width * scale + 0.5))
    if (new_height, new_width) == (height, width):
        return ink  # already MNIST-sized: resampling would only blur it
    as_image = Image.fromarray(ink.astype(np.float32))  # float32 -> Pillow mode "F"
    # Pillow's bilinear filter widens with the reduction factor, so shrinking averages the pixels it drops.
    resized = as_image.resize((new_width, new_height), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized, dtype=np.float64), 0.0, 1.0)


def _saturate(ink: np.ndarray) -> np.ndarray:
    """Scale so that typical ink, not the single strongest pixel, is full ink.

    MNIST strokes are saturated: three quarters of a digit's ink pixels are at 0.97 or more. A thin stroke
    that was anti-aliased down to a few pixels (a browser canvas scaled to 28×28) or dimmed by resizing is
    not, and the model reads such faint digits badly. Dividing by the 75th percentile of the ink leaves MNIST
    digits practically unchanged and brings faint strokes back to MNIST's level.
    """
    strokes = ink[ink > 0.0]
    if strokes.size == 0:
        raise ImageError("image is blank: the ink vanished when scaled to 20×20")
    level = float(np.percentile(strokes, INK_LEVEL_PERCENTILE))
    return np.clip(ink / level, 0.0, 1.0)


def _centre(ink: np.ndarray) -> np.ndarray:
    """Paste into the 28×28 field with the centre of mass on the centre, shifting by whole pixels (as MNIST
    did) and never pushing ink out of the field."""
    height, width = ink.shape
    total = ink.sum()
    ys, xs = np.indices(ink.shape)
    com_y = float((ys * ink).sum() / total)
    com_x = float((xs * ink).sum() / total)
    top = min(max(math.floor(CENTRE - com_y + 0.5), 0), FIELD_SIDE - height)
    left = min(max(math.floor(CENTRE - com_x + 0.5), 0), FIELD_SIDE - width)
    field = np.zeros((FIELD_SIDE, FIELD_SIDE), dtype=np.float64)
    field[top : top + height, left : left + width] = ink
    return field
