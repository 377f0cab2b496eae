"""Held-out digits rendered the ways people really send them, to measure the model on each.

Every variant turns one raw MNIST digit (uint8 28×28, white on black) into the bytes of an image file: a
browser canvas, a scanned page, a heavily compressed JPEG, a phone photo stored sideways with an EXIF
orientation tag, a large photo of a sheet of paper, a tiny icon, a small digit far off-centre, thick and thin
strokes, a palette PNG with transparency and a 16-bit scan.

Renditions are deterministic: the random draws of digit ``i`` in variant ``v`` come from a generator seeded
with a hash of ``v`` and ``i`` only, so a rendition never depends on which other digits were rendered, in
which order, or on NumPy's global state. Only NumPy and Pillow operations are used; JPEG bytes depend on the
libjpeg Pillow ships, which can differ between Pillow releases (the numbers then move by a digit or two).
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

__all__ = [
    "VARIANTS",
    "Variant",
    "render",
    "render_holdout",
    "skeleton",
    "write_variants",
]

SEED_SALT = "sdmtool-digit-variants-v1"


@dataclass(frozen=True)
class Variant:
    name: str
    title: str  # one line for tables: what the rendition looks like
    media_type: str
    render: Callable[[np.ndarray, np.random.Generator], bytes]

    @property
    def extension(self) -> str:
        return {"image/png": "png", "image/jpeg": "jpg"}[self.media_type]


def generator(variant: str, index: int) -> np.random.Generator:
    """The random source of one rendition: a function of the variant name and the digit index only."""
    digest = hashlib.sha256(f"{SEED_SALT}:{variant}:{index}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


# Shapes -------------------------------------------------------------------------------------------------


def _glyph(digit: np.ndarray, box: int) -> np.ndarray:
    """The digit cropped to its ink and scaled (bicubic, aspect kept) so its longer side is ``box`` pixels:
    float ink in [0, 1], the smooth shape a pen would have left at that resolution."""
    rows = np.flatnonzero(digit.any(axis=1))
    cols = np.flatnonzero(digit.any(axis=0))
    crop = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = crop.shape
    scale = box / max(height, width)
    # A one-pixel empty margin keeps the bicubic filter from clipping strokes at the crop edge.
    padded = np.pad(crop, 1)
    size = (max(1, round((width + 2) * scale)), max(1, round((height + 2) * scale)))
    image = Image.fromarray(padded).resize(size, Image.Resampling.BICUBIC)
    return np.clip(np.asarray(image, dtype=np.float64) / 255.0, 0.0, 1.0)


def _sharpen(ink: np.ndarray, threshold: float = 0.35, softness: float = 0.2) -> np.ndarray:
    """A hard-edged stroke with about one pixel of anti-aliasing, like ink or a canvas line."""
    return np.clip((ink - threshold) / softness + 0.5, 0.0, 1.0)


def skeleton(mask: np.ndarray) -> np.ndarray:
    """One-pixel-wide centre lines of a binary shape (Zhang-Suen thinning, vectorised)."""
    image = np.pad(mask.astype(bool), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = image.astype(np.uint8)
            # Neighbours P2..P9 clockwise from north.
            n = [
                p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:],
                p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2],
            ]  # fmt: skip
            count = sum(n)
            transitions = sum(((n[k] == 0) & (n[(k + 1) % 8] == 1)).astype(np.uint8) for k in range(8))
            if step == 0:
                first, second = n[0] * n[2] * n[4], n[2] * n[4] * n[6]
            else:
                first, second = n[0] * n[2] * n[6], n[0] * n[4] * n[6]
            remove = (
                image[1:-1, 1:-1]
                & (count >= 2)
                & (count <= 6)
                & (transitions == 1)
                & (first == 0)
                & (second == 0)
            )
            if remove.any():
                image[1:-1, 1:-1] &= ~remove
                changed = True
        if not changed:
            return image[1:-1, 1:-1]


def _pen(glyph: np.ndarray, width: float) -> np.ndarray:
    """The digit redrawn with a round pen of ``width`` pixels along its centre lines (a canvas stroke)."""
    centre = skeleton(glyph > 0.5)
    ys, xs = np.nonzero(centre)
    radius = width / 2.0
    reach = math.ceil(radius + 1)
    height, width_px = glyph.shape
    out = np.zeros((height + 2 * reach, width_px + 2 * reach))
    # Stamp an anti-aliased disc at every skeleton pixel (coverage by distance, one pixel of soft edge).
    offset_y, offset_x = np.mgrid[-reach : reach + 1, -reach : reach + 1]
    disc = np.clip(radius + 0.5 - np.hypot(offset_y, offset_x), 0.0, 1.0)
    for (dy, dx), coverage in np.ndenumerate(disc):
        if coverage > 0.0:
            rows, cols = ys + dy, xs + dx
            out[rows, cols] = np.maximum(out[rows, cols], coverage)
    return out


def _dilate(ink: np.ndarray, size: int) -> np.ndarray:
    image = Image.fromarray((ink * 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(size))
    return np.asarray(image, dtype=np.float64) / 255.0


def _blur(ink: np.ndarray, radius: float) -> np.ndarray:
    """Gaussian blur of ink in [0, 1]; Pillow blurs 8-bit images only, a precision the renditions do not
    miss."""
    image = Image.fromarray(_to_uint8(ink)).filter(ImageFilter.GaussianBlur(radius))
    return np.asarray(image, dtype=np.float64) / 255.0


def _resize(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Float array resized to (width, height) with Pillow's bicubic filter."""
    image = Image.fromarray(values.astype(np.float32)).resize(size, Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.float64)


def _place(ink: np.ndarray, height: int, width: int, top: int, left: int) -> np.ndarray:
    """``ink`` pasted on an empty field of the given size at (top, left), clipped to the field."""
    field = np.zeros((height, width))
    h, w = ink.shape
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + h, height), min(left + w, width)
    field[y0:y1, x0:x1] = ink[y0 - top : y1 - top, x0 - left : x1 - left]
    return field


def _place_randomly(
    ink: np.ndarray, height: int, width: int, rng: np.random.Generator, margin: int = 0
) -> np.ndarray:
    """``ink`` at a random position of an empty field, at least ``margin`` pixels from its edges (when the
    field leaves room for that)."""
    h, w = ink.shape

    def offset(room: int) -> int:
        low = min(margin, room // 2)
        return int(rng.integers(low, room - low + 1))

    return _place(ink, height, width, offset(max(0, height - h)), offset(max(0, width - w)))


def _smooth_noise(height: int, width: int, cells: int, rng: np.random.Generator) -> np.ndarray:
    """Low-frequency noise in about [-1, 1]: a coarse random grid interpolated up (paper fibres, shading)."""
    grid = rng.standard_normal((cells, cells)).astype(np.float32)
    return np.clip(_resize(grid, (width, height)), -3.0, 3.0) / 1.5


def _paper(height: int, width: int, rng: np.random.Generator, level: float, texture: float) -> np.ndarray:
    paper = level + texture * _smooth_noise(height, width, 8, rng)
    return paper + 0.5 * texture * _smooth_noise(height, width, 40, rng)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _ink_on_paper(
    ink: np.ndarray, paper: np.ndarray, ink_rgb: Sequence[float], paper_rgb: Sequence[float]
) -> np.ndarray:
    """RGB float image: coloured ink laid on tinted paper (multiplicative, as ink absorbs light)."""
    colour = np.stack([paper * c for c in paper_rgb], axis=-1)
    pigment = np.asarray(ink_rgb, dtype=np.float64)
    return colour * (1.0 - ink[..., None] * (1.0 - pigment))


def _dark_ink(rng: np.random.Generator) -> list[float]:
    """A pen colour: black, blue-black or pencil grey."""
    kind = rng.integers(0, 3)
    if kind == 0:
        return [float(rng.uniform(0.02, 0.15))] * 3
    if kind == 1:
        return [float(rng.uniform(0.05, 0.15)), float(rng.uniform(0.1, 0.2)), float(rng.uniform(0.3, 0.5))]
    return [float(rng.uniform(0.25, 0.4))] * 3


def _paper_tint(rng: np.random.Generator) -> list[float]:
    return [float(rng.uniform(0.93, 1.0)), float(rng.uniform(0.92, 1.0)), float(rng.uniform(0.85, 1.0))]


# Variants -----------------------------------------------------------------------------------------------


def _canvas(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """What a browser canvas exports: RGBA, transparent background, the stroke only in alpha; drawn with a
    uniform round pen, the digit somewhere on a canvas of a few hundred pixels."""
    box = int(rng.integers(120, 240))
    glyph = _glyph(digit, box)
    stroke = _pen(glyph, width=box / 20 * float(rng.uniform(1.2, 2.4)))
    height, width = int(rng.integers(240, 320)), int(rng.integers(240, 420))
    alpha = _place_randomly(stroke, max(height, stroke.shape[0]), max(width, stroke.shape[1]), rng)
    rgba = np.zeros((*alpha.shape, 4), dtype=np.uint8)
    if rng.random() < 0.5:  # the pen colour: black, or any colour the page chose
        rgba[..., :3] = rng.integers(0, 256, 3).astype(np.uint8)
    rgba[..., 3] = _to_uint8(alpha)
    return _encode(Image.fromarray(rgba), "PNG")


def _scan_rgb(
    digit: np.ndarray, rng: np.random.Generator, box: int, side: tuple[int, int], noise: float
) -> np.ndarray:
    glyph = _sharpen(_glyph(digit, box), threshold=float(rng.uniform(0.25, 0.45)))
    height, width = side
    ink = _place_randomly(glyph, height, width, rng, margin=4)
    paper = _paper(height, width, rng, level=float(rng.uniform(0.8, 0.95)), texture=0.03)
    rgb = _ink_on_paper(_blur(ink, float(rng.uniform(0.4, 1.0))), paper, _dark_ink(rng), _paper_tint(rng))
    return rgb + rng.normal(0.0, noise, rgb.shape)


def _scan(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A flatbed scan: dark ink on tinted paper with texture, slight blur and sensor noise (PNG)."""
    box = int(rng.integers(60, 130))
    side = (box + int(rng.integers(30, 120)), box + int(rng.integers(30, 120)))
    rgb = _scan_rgb(digit, rng, box, side, noise=0.02)
    return _encode(Image.fromarray(_to_uint8(rgb)), "PNG")


def _jpeg(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A small dark-on-light image saved as a heavily compressed JPEG (quality 30-50)."""
    box = int(rng.integers(28, 64))
    side = (box + int(rng.integers(8, 40)), box + int(rng.integers(8, 40)))
    rgb = _scan_rgb(digit, rng, box, side, noise=0.01)
    return _encode(Image.fromarray(_to_uint8(rgb)), "JPEG", quality=int(rng.integers(30, 51)))


# Image.transpose operations that undo EXIF orientations 2..8, and the one that produces each stored layout.
EXIF_UNDO = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_INVERSE = {
    Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270,
}
EXIF_ORIENTATION_TAG = 0x0112


def _exif_rotated(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A camera JPEG whose pixels are stored sideways (or mirrored) with the EXIF orientation that makes a
    viewer show it upright; read without that tag, the digit is rotated."""
    box = int(rng.integers(80, 160))
    side = (box + int(rng.integers(40, 160)), box + int(rng.integers(40, 160)))
    upright = Image.fromarray(_to_uint8(_scan_rgb(digit, rng, box, side, noise=0.015)))
    orientation = int(rng.integers(2, 9))
    undo = EXIF_UNDO[orientation]
    stored = upright.transpose(_INVERSE.get(undo, undo))
    exif = Image.Exif()
    exif[EXIF_ORIENTATION_TAG] = orientation
    return _encode(stored, "JPEG", quality=90, exif=exif)


def _photo(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A phone photo of a digit written on paper: 1-2.4 megapixels, uneven light (a gradient and a shadow),
    colour cast, slight tilt and blur, the digit a small part of the frame (JPEG quality 85)."""
    width = int(rng.integers(1200, 1800))
    height = width * 3 // 4
    if rng.random() < 0.5:
        width, height = height, width
    # The lighting is computed at a sixteenth of the area and enlarged: it varies slowly anyway.
    small = (width // 4, height // 4)
    ys, xs = np.mgrid[0 : small[1], 0 : small[0]] / max(small)
    angle = rng.uniform(0, 2 * math.pi)
    light = 0.9 + 0.24 * (math.cos(angle) * (xs - 0.5) + math.sin(angle) * (ys - 0.5))
    shadow = rng.uniform(0, 1, 2) * np.array(small[::-1]) / max(small)
    light -= 0.18 * np.exp(-(((ys - shadow[0]) ** 2 + (xs - shadow[1]) ** 2) / 0.08))
    light = light + 0.02 * _smooth_noise(small[1], small[0], 10, rng)
    illumination = _resize(light, (width, height)).astype(np.float32)
    tint = np.asarray(_paper_tint(rng), dtype=np.float32) * rng.uniform(0.9, 1.05, 3).astype(np.float32)
    rgb = illumination[..., None] * tint

    box = int(min(width, height) * rng.uniform(0.08, 0.2))
    glyph = _sharpen(_glyph(digit, box), threshold=float(rng.uniform(0.25, 0.45)))
    tilt = float(rng.uniform(-8, 8))
    glyph = np.asarray(
        Image.fromarray(glyph.astype(np.float32)).rotate(tilt, Image.Resampling.BILINEAR, expand=True)
    )
    blur = float(rng.uniform(0.8, 2.0))
    pad = math.ceil(3 * blur)
    ink = _blur(np.pad(glyph, pad), blur).astype(np.float32)
    h, w = ink.shape
    top = int(rng.integers(h // 2, height - h - h // 2))
    left = int(rng.integers(w // 2, width - w - w // 2))
    # Ink only darkens the window it was written in; the rest of the sheet is untouched paper.
    pigment = np.asarray(_dark_ink(rng), dtype=np.float32)
    rgb[top : top + h, left : left + w] *= 1.0 - ink[..., None] * (1.0 - pigment)
    rgb *= 255.0
    rgb += rng.standard_normal((height, width, 1), dtype=np.float32) * 3.0  # sensor noise
    pixels = np.clip(rgb, 0.0, 255.0).astype(np.uint8)
    return _encode(Image.fromarray(pixels), "JPEG", quality=85)


def _tiny(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """An icon-sized image: the digit 12-16 pixels tall in an image barely larger, either polarity."""
    box = int(rng.integers(12, 17))
    glyph = _glyph(digit, box)
    side = box + int(rng.integers(0, 5))
    ink = _place_randomly(glyph, side, side, rng)
    gray = ink if rng.random() < 0.5 else 1.0 - ink
    return _encode(Image.fromarray(_to_uint8(gray)), "PNG")


def _off_centre(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A small digit (20-48 pixels) near an edge or a corner of a large, otherwise empty, image."""
    box = int(rng.integers(20, 49))
    glyph = _glyph(digit, box)
    height, width = int(rng.integers(160, 320)), int(rng.integers(160, 320))
    h, w = glyph.shape
    edge = int(rng.integers(0, 4))
    top = int(rng.integers(0, height - h)) if edge in (0, 1) else (0 if edge == 2 else height - h)
    left = int(rng.integers(0, width - w)) if edge in (2, 3) else (0 if edge == 0 else width - w)
    top, left = (top, left) if rng.random() < 0.5 else (min(top, 4), min(left, 4))  # half in a corner
    gray = _place(glyph, height, width, top, left)
    gray = gray if rng.random() < 0.5 else 1.0 - gray
    return _encode(Image.fromarray(_to_uint8(gray)), "PNG")


def _thick(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A felt-tip digit: strokes 1.6-2.4 times MNIST's, either polarity."""
    box = 100
    glyph = _sharpen(_glyph(digit, box))
    widen = 2 * int(rng.integers(2, 5)) + 1  # 5..9 pixels at this size: 1-1.8 px more at MNIST's scale
    ink = _dilate(glyph, widen)
    side = max(ink.shape) + int(rng.integers(10, 40))
    field = _place_randomly(ink, side, side, rng, margin=4)
    gray = field if rng.random() < 0.5 else 1.0 - field
    return _encode(Image.fromarray(_to_uint8(gray)), "PNG")


def _thin(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A fine pen: a uniform stroke about one pixel wide at MNIST's 20-pixel scale, either polarity."""
    box = int(rng.integers(60, 120))
    glyph = _glyph(digit, box)
    stroke = _pen(glyph, width=box / 20 * float(rng.uniform(0.8, 1.3)))
    side = max(stroke.shape) + int(rng.integers(10, 40))
    field = _place_randomly(stroke, side, side, rng, margin=4)
    gray = field if rng.random() < 0.5 else 1.0 - field
    return _encode(Image.fromarray(_to_uint8(gray)), "PNG")


def _palette(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """An 8-colour palette PNG with a transparent background index and semi-transparent edge colours (tRNS),
    as image editors and GIF converters write them."""
    box = int(rng.integers(60, 160))
    glyph = _sharpen(_glyph(digit, box))
    side = box + int(rng.integers(10, 60))
    ink = _place_randomly(glyph, side, side, rng, margin=4)
    levels = 8
    indices = np.rint(ink * (levels - 1)).astype(np.uint8)
    colour = rng.integers(0, 90, 3)
    palette: list[int] = []
    for _ in range(levels):
        palette.extend(int(c) for c in colour)
    image = Image.fromarray(indices, mode="P")
    image.putpalette(palette)
    # Index 0 is fully transparent, the others ever more opaque: the ink again lives in the alpha channel.
    image.info["transparency"] = bytes(round(255 * k / (levels - 1)) for k in range(levels))
    return _encode(image, "PNG")


def _sixteen_bit(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A 16-bit grayscale scan: dark ink on paper using only part of the 0-65535 range, with noise."""
    box = int(rng.integers(60, 130))
    side = (box + int(rng.integers(30, 100)), box + int(rng.integers(30, 100)))
    glyph = _sharpen(_glyph(digit, box), threshold=float(rng.uniform(0.25, 0.45)))
    ink = _blur(_place_randomly(glyph, *side, rng, margin=4), 0.7)
    paper, pigment = rng.uniform(0.55, 0.9), rng.uniform(0.05, 0.25)
    gray = paper * (1.0 - ink * (1.0 - pigment)) + rng.normal(0.0, 0.01, ink.shape)
    pixels = np.clip(np.rint(gray * 65535.0), 0, 65535).astype(np.uint16)
    return _encode(Image.fromarray(pixels), "PNG")


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("canvas", "browser canvas: RGBA, ink only in alpha, uniform pen", "image/png", _canvas),
        Variant("scan", "scan: dark ink on textured paper, noise, PNG", "image/png", _scan),
        Variant("jpeg", "small dark-on-light JPEG, quality 30-50", "image/jpeg", _jpeg),
        Variant("exif", "JPEG stored sideways or mirrored, EXIF orientation", "image/jpeg", _exif_rotated),
        Variant("photo", "phone photo, 1-2.4 MP, uneven light, tilt, JPEG", "image/jpeg", _photo),
        Variant("tiny", "tiny: digit 12-16 px tall, either polarity", "image/png", _tiny),
        Variant("offcentre", "small digit near an edge of a large image", "image/png", _off_centre),
        Variant("thick", "thick felt-tip strokes, either polarity", "image/png", _thick),
        Variant("thin", "thin uniform pen (about 1 px at 20-px scale)", "image/png", _thin),
        Variant("palette", "8-colour palette PNG, transparency in tRNS", "image/png", _palette),
        Variant("gray16", "16-bit grayscale scan, partial range, noise", "image/png", _sixteen_bit),
    )
}


def render(variant: str, digit: np.ndarray, index: int) -> bytes:
    """The image file (bytes) of held-out digit number ``index`` rendered as ``variant``."""
    try:
        spec = VARIANTS[variant]
    except KeyError:
        raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}") from None
    return spec.render(np.asarray(digit, dtype=np.uint8), generator(variant, index))


def render_holdout(
    variant: str, images: np.ndarray, indices: Sequence[int] | None = None
) -> Iterator[tuple[int, bytes]]:
    """(index, image bytes) for the given held-out digits (default: all) rendered as ``variant``."""
    chosen = range(len(images)) if indices is None else indices
    for index in chosen:
        yield index, render(variant, images[index], index)


def write_variants(
    out_dir: Path, names: Sequence[str], images: np.ndarray, labels: np.ndarray, count: int
) -> int:
    """Write the first ``count`` held-out digits of each variant as ``<variant>/<index>-<label>.<ext>``."""
    written = 0
    for name in names:
        folder = out_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        for index, data in render_holdout(name, images, range(min(count, len(images)))):
            (folder / f"{index:04d}-{labels[index]}.{VARIANTS[name].extension}").write_bytes(data)
            written += 1
    return written
