"""The renditions of held-out digits: deterministic, of the promised kind, and usable by the runtime."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from reference_runtime import dataset, variants
from reference_runtime.cli import main as runtime_cli
from reference_runtime.preprocess import preprocess_image

EXIF_ORIENTATION = 0x0112


@pytest.fixture(scope="module")
def holdout() -> tuple[np.ndarray, np.ndarray]:
    return dataset.holdout()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_every_listed_case_has_a_variant() -> None:
    assert list(variants.VARIANTS) == [
        "canvas", "scan", "jpeg", "exif", "photo", "tiny", "offcentre", "thick", "thin", "palette", "gray16",
    ]  # fmt: skip
    for name, spec in variants.VARIANTS.items():
        assert spec.name == name and spec.title and spec.media_type in ("image/png", "image/jpeg")


@pytest.mark.parametrize("name", list(variants.VARIANTS))
def test_renditions_depend_only_on_variant_and_index(
    holdout: tuple[np.ndarray, np.ndarray], name: str
) -> None:
    images = holdout[0]
    in_order = dict(variants.render_holdout(name, images, [4, 5]))
    alone = variants.render(name, images[5], 5)
    assert alone == in_order[5]
    assert in_order[4] != in_order[5]
    # Another index draws other random choices even for the same digit.
    assert variants.render(name, images[5], 6) != alone


def test_each_variant_is_the_kind_of_file_it_claims(holdout: tuple[np.ndarray, np.ndarray]) -> None:
    images = holdout[0]
    for index in range(2):
        files = {name: variants.render(name, images[index], index) for name in variants.VARIANTS}
        shown = {name: opened(data) for name, data in files.items()}
        for name, image in shown.items():
            expected = "PNG" if variants.VARIANTS[name].media_type == "image/png" else "JPEG"
            assert image.format == expected, name
        canvas = np.asarray(shown["canvas"])
        assert shown["canvas"].mode == "RGBA" and canvas[..., 3].min() == 0 and canvas[..., 3].max() > 200
        assert len(np.unique(canvas[..., :3].reshape(-1, 3), axis=0)) == 1  # one pen colour; ink is alpha
        assert shown["palette"].mode == "P" and "transparency" in shown["palette"].info
        assert shown["gray16"].mode.startswith("I;16")
        gray16 = np.asarray(shown["gray16"])
        assert gray16.max() > 255 and gray16.max() < 65535 * 0.95  # 16-bit values, not the full range
        assert shown["exif"].getexif().get(EXIF_ORIENTATION) in range(2, 9)
        assert 1_000_000 <= shown["photo"].width * shown["photo"].height <= 2_500_000
        assert max(shown["tiny"].size) <= 20
        assert min(shown["offcentre"].size) >= 160


def test_renditions_go_through_preprocessing(holdout: tuple[np.ndarray, np.ndarray]) -> None:
    images = holdout[0]
    for name in variants.VARIANTS:
        for index in range(2):
            tensor = preprocess_image(variants.render(name, images[index], index))
            assert tensor.shape == (1, 28, 28) and tensor.max() == 1.0, name


def test_exif_variant_is_sideways_without_its_tag(holdout: tuple[np.ndarray, np.ndarray]) -> None:
    rotated = 0
    for index in range(20):
        image = opened(variants.render("exif", holdout[0][index], index))
        rotated += image.getexif()[EXIF_ORIENTATION] in (5, 6, 7, 8)
    assert 0 < rotated < 20  # both quarter turns and flips/half turns occur


def test_skeleton_is_one_pixel_wide() -> None:
    bar = np.zeros((20, 40), dtype=bool)
    bar[8:13, 5:35] = True
    centre = variants.skeleton(bar)
    assert centre.sum() > 0
    assert centre.sum(axis=0).max() == 1  # one pixel across the bar
    assert np.flatnonzero(centre.any(axis=0)).size >= 20  # and most of its length kept


def test_unknown_variant_is_refused(holdout: tuple[np.ndarray, np.ndarray]) -> None:
    with pytest.raises(ValueError, match="unknown variant 'sepia'"):
        variants.render("sepia", holdout[0][0], 0)


def test_cli_writes_the_renditions(tmp_path: Path, holdout: tuple[np.ndarray, np.ndarray]) -> None:
    result = CliRunner().invoke(
        runtime_cli, ["variants", str(tmp_path), "--count", "3", "--variant", "tiny", "--variant", "exif"]
    )
    assert result.exit_code == 0, result.output
    labels = holdout[1]
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir()) == [
        f"{i:04d}-{labels[i]}.png" for i in range(3)
    ]
    assert sorted(p.name for p in (tmp_path / "exif").iterdir()) == [
        f"{i:04d}-{labels[i]}.jpg" for i in range(3)
    ]
    assert (tmp_path / "tiny" / f"0001-{labels[1]}.png").read_bytes() == variants.render(
        "tiny", holdout[0][1], 1
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exif", "tiny"]


def test_cli_refuses_an_unknown_variant(tmp_path: Path) -> None:
    result = CliRunner().invoke(runtime_cli, ["variants", str(tmp_path), "--variant", "sepia"])
    assert result.exit_code == 2
    assert "unknown variant sepia" in result.output
