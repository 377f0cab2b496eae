"""The model card (``model/README.md``) and its confusion-matrix plot, rendered from the published files.

Everything the card says about the model comes from three inputs: the MLModel entity, the evaluation
(``evaluation.json``) and the training report; nothing is typed by hand, so the card cannot drift from the
artifact. The plot is drawn with Pillow, which the runtime needs anyway, rather than a plotting library.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .evaluate import (
    CONFUSION_FILENAME,
    HOLDOUT,
    TARGET_HOLDOUT_ACCURACY,
    TARGET_VARIANT_ACCURACY,
    Evaluation,
    SetResult,
)

__all__ = ["render_confusion_png", "render_model_card"]

CELL = 30
MARGIN = 56
GAP = 48
TITLE_HEIGHT = 40


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _pooled(results: list[SetResult]) -> np.ndarray:
    return np.sum([np.asarray(r.confusion_matrix) for r in results], axis=0)


def render_confusion_png(evaluation: Evaluation) -> bytes:
    """Two confusion matrices side by side: the held-out digits, and all variants pooled. Cells are shaded by
    the share of their row (the true digit) and show the count."""
    panels = [
        (f"held-out MNIST ({evaluation[HOLDOUT].sample_count:,} digits)", _pooled([evaluation[HOLDOUT]]))
    ]
    if evaluation.variant_sets:
        pooled = evaluation.variant_sets
        count = sum(r.sample_count for r in pooled)
        panels.append((f"{len(pooled)} variants pooled ({count:,} images)", _pooled(pooled)))
    side = 10 * CELL
    width = MARGIN + len(panels) * side + (len(panels) - 1) * GAP + 16
    height = TITLE_HEIGHT + side + MARGIN
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    label_font, count_font, title_font = _font(13), _font(10), _font(14)
    for number, (title, matrix) in enumerate(panels):
        left = MARGIN + number * (side + GAP)
        top = TITLE_HEIGHT
        draw.text((left + side / 2, 14), title, fill="black", font=title_font, anchor="mm")
        totals = matrix.sum(axis=1, keepdims=True)
        share = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
        for row in range(10):
            for col in range(10):
                # A square root makes the rare confusions visible next to the full diagonal.
                strength = float(np.sqrt(share[row, col]))
                shade = tuple(int(255 - strength * (255 - c)) for c in (8, 48, 107))
                box = (left + col * CELL, top + row * CELL, left + (col + 1) * CELL, top + (row + 1) * CELL)
                draw.rectangle(box, fill=shade, outline=(220, 220, 220))
                if matrix[row, col]:
                    colour = "white" if strength > 0.6 else "black"
                    centre = (box[0] + CELL / 2, box[1] + CELL / 2)
                    draw.text(centre, str(int(matrix[row, col])), fill=colour, font=count_font, anchor="mm")
            draw.text(
                (left - 10, top + row * CELL + CELL / 2), str(row), fill="black", font=label_font, anchor="mm"
            )
            draw.text(
                (left + row * CELL + CELL / 2, top + side + 12),
                str(row),
                fill="black",
                font=label_font,
                anchor="mm",
            )
        draw.text(
            (left + side / 2, top + side + 34), "predicted digit", fill="black", font=label_font, anchor="mm"
        )
    axis = Image.new("RGB", (side, 18), "white")
    ImageDraw.Draw(axis).text((side / 2, 9), "true digit", fill="black", font=label_font, anchor="mm")
    image.paste(axis.rotate(90, expand=True), (8, TITLE_HEIGHT))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else (plural or singular + 's')}"


def _percent(value: float) -> str:
    return f"{value * 100:.1f} %"


def _metrics_table(evaluation: Evaluation) -> list[str]:
    lines = [
        "| evaluation set | what the images are | images | accuracy | macro F1 | lowest class recall "
        "| refused |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for result in evaluation.sets:
        name = "held-out MNIST" if result.name == HOLDOUT else f"`{result.name}`"
        lines.append(
            f"| {name} | {result.title} | {result.sample_count:,} | **{_percent(result.accuracy)}** | "
            f"{result.macro_f1:.3f} | {_percent(result.min_class_recall)} | {result.refused} |"
        )
    return lines


def _architecture(report: dict[str, Any]) -> list[str]:
    parameters = report.get("parameter_count")
    count = (
        f"{parameters:,} parameters" if isinstance(parameters, int) else "parameters: see the training report"
    )
    return [
        f"A small convolutional network ({count}), exported to ONNX (opset 18) with the softmax in the "
        "graph:",
        "",
        "| layer | output |",
        "|---|---|",
        "| input `image`: float32, ink 1 on background 0 | N × 1 × 28 × 28 |",
        "| 3×3 conv 32 + batch norm + ReLU + 2×2 max pool | N × 32 × 14 × 14 |",
        "| 3×3 conv 64 + batch norm + ReLU + 2×2 max pool | N × 64 × 7 × 7 |",
        "| 3×3 conv 128 + batch norm + ReLU + 2×2 max pool | N × 128 × 3 × 3 |",
        "| dropout 0.3, dense 128 + ReLU, dense 10, softmax | output `probabilities`: N × 10 |",
    ]


def render_model_card(entity: dict[str, Any], evaluation: Evaluation, report: dict[str, Any]) -> str:
    """The Markdown model card for one artifact; ``report`` is the training report (may be empty)."""
    holdout = evaluation[HOLDOUT]
    worst = min(evaluation.variant_sets, key=lambda r: r.accuracy, default=None)
    dataset_info = entity.get("trainingDataset", {})
    durations = report.get("durations_seconds", {})
    versions = report.get("versions", {})
    lines = [
        f"# Model card: {entity.get('name', entity['id'])}",
        "",
        "Generated by `sdm-runtime evaluate` (which `sdm-runtime train` runs) from `mlmodel.json`, "
        "`evaluation.json` and `training-report.json`; do not edit by hand.",
        "",
        "| | |",
        "|---|---|",
        f"| entity | `{entity['id']}` (MLModel), version `{entity.get('version')}` |",
        f"| artifact | `digits-cnn.onnx`, {report.get('onnx_size_bytes', 0) / 1024:,.0f} KiB, "
        f"SHA-256 `{entity['modelSha256']}` |",
        f"| task | {entity.get('typeOfAlgorithm')}: one handwritten digit 0-9 per image |",
        f"| framework | {entity.get('mlFramework')}; served with ONNX Runtime |",
        f"| held-out accuracy | **{_percent(holdout.accuracy)}** on {holdout.sample_count:,} MNIST digits |",
    ]
    if worst is not None:
        lines.append(
            f"| lowest variant accuracy | **{_percent(worst.accuracy)}** (`{worst.name}`); "
            f"targets: ≥ {_percent(TARGET_HOLDOUT_ACCURACY)} held out, ≥ {_percent(TARGET_VARIANT_ACCURACY)} "
            "every variant |"
        )
    lines += [
        "",
        "## Intended use and inputs",
        "",
        "Recognising one handwritten digit in an image that a person sends: a drawing from a browser "
        "canvas, a scan, a phone photo. PNG and JPEG are read, up to 10 MiB, 12,000 pixels a side and "
        "36 megapixels; grayscale (8 or 16 bits), RGB, RGBA (a canvas with the ink in the alpha "
        "channel) and palette images with or without transparency; either polarity; EXIF orientation "
        "is applied. Every image is normalised as MNIST was (crop to the ink, fit into 20×20 keeping the "
        "aspect ratio, centre of mass at the centre of 28×28) by `reference_runtime/preprocess.py`; "
        "unusable images (not an image, truncated, too large, no ink) are refused with a message, never "
        "guessed at.",
        "",
        "## Data",
        "",
        f"- Training: {dataset_info.get('sampleCount', '?'):,} digits of the fixed training split of "
        "`reference_runtime/data/mnist-8k.npz`, 8,000 real MNIST digits (LeCun, Cortes and Burges, "
        f"{dataset_info.get('datasetLicense', 'CC-BY-SA-3.0')}; origin and split rule in "
        "`reference_runtime/data/SOURCES.md`), SHA-256 "
        f"`{dataset_info.get('datasetSha256', evaluation.dataset_sha256)}`.",
        f"- Evaluation: the {holdout.sample_count:,} held-out digits, never used for training, read as PNG "
        f"files, and the same digits rendered {len(evaluation.variant_sets)} other ways by "
        "`reference_runtime/variants.py` (deterministic: each rendition is a function of the variant and "
        "the digit's index only). The renditions are synthetic, drawn from MNIST digits with NumPy and "
        "Pillow; they are never used for training.",
        "",
        "## Architecture",
        "",
        *_architecture(report),
        "",
        "## Training",
        "",
        "```sh",
        f"sdm-runtime train --seed {report.get('seed', 0)} --epochs {report.get('epochs', '?')} "
        f"--threads {report.get('num_threads', 1)}    # the defaults; needs the 'train' extra",
        "```",
        "",
        "AdamW with a one-cycle learning rate, cross-entropy, batches of "
        f"{report.get('batch_size', '?')}. Every batch is augmented on the fly (PyTorch operations, one "
        "seeded generator): rotation, shear, scale and aspect, shift, an elastic warp, and strokes thinned "
        "or thickened by one or two pixels. Training is deterministic by seed at a fixed "
        "thread count: two runs on one machine give byte-identical ONNX files (another CPU's "
        "floating-point kernels may give slightly different weights, and numbers).",
    ]
    if durations:
        lines += [
            "",
            f"Last run: {durations.get('total', 0):.0f} s in all, of which training "
            f"{durations.get('train', 0):.0f} s ({_count(report.get('num_threads', 1), 'PyTorch thread')}) "
            f"and evaluation {durations.get('evaluate', 0):.0f} s "
            f"({_count(report.get('evaluation_jobs', 1), 'worker process', 'worker processes')}) on a "
            f"{report.get('cpu_count', '?')}-core machine; PyTorch {versions.get('torch', '?')}, "
            f"ONNX Runtime {versions.get('onnxruntime', '?')}, NumPy {versions.get('numpy', '?')}, Python "
            f"{versions.get('python', '?')}.",
        ]
    lines += [
        "",
        "## Metrics",
        "",
        "Measured on the ONNX artifact through the runtime's own path (file bytes -> preprocessing -> ONNX "
        "Runtime). The MLModel entity `mlmodel.json` carries the same numbers (`metrics`: accuracy per set, "
        "plus macro F1 and lowest class recall on the held-out digits). Refused images count as wrong.",
        "",
        *_metrics_table(evaluation),
        "",
        f"![Confusion matrices]({CONFUSION_FILENAME})",
        "",
        "Per-class recall on the held-out digits: "
        + ", ".join(f"{digit}: {_percent(value)}" for digit, value in holdout.per_class_recall.items())
        + ".",
        "",
        "```sh",
        "sdm-runtime evaluate                 # re-measure the committed model, rewrite this card",
        "sdm-runtime variants samples/ --count 20   # look at the renditions",
        "```",
        "",
        "## Known limits",
        "",
        "- One digit per image. Several digits, letters or an empty page give no meaningful answer; the "
        'model has no "not a digit" class and its confidence is not calibrated for such inputs.',
        "- The digit must be the only dark (or light) mark of note: a table edge in a photo, a ruled line "
        "crossing the digit or a large stain is taken as ink. Weak marks (paper texture, noise, JPEG "
        "ringing, mild shading) are removed.",
        "- Rotations of more than 10-15 degrees are not undone, except those an EXIF orientation tag "
        "records.",
        "- MNIST was written by American Census Bureau employees and high-school students: handwriting "
        "styles it lacks (a crossed 7, a 1 with a long flag) are not covered by this evaluation.",
        "- The variants are synthetic renditions of MNIST digits, not photographs of real handwriting; a "
        "filled loop in an MNIST digit stays filled when redrawn thin or thick, which accounts for most "
        "errors in those variants.",
        "- JPEG renditions depend on the libjpeg that Pillow ships; another Pillow release may move a "
        "variant's accuracy by a digit or two.",
        "",
    ]
    return "\n".join(lines)
