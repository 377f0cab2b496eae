"""Measure the published digit model on the held-out digits and on every rendition of them.

The held-out digits are read as PNG files and each variant (``variants.py``) as the files it renders, all
through the runtime's own path: bytes -> ``preprocess_image`` -> the ONNX model. The results are published
three ways that must agree: ``evaluation.json`` (every number and every prediction), the ``metrics`` of the
MLModel entity, and the model card ``README.md`` with its confusion-matrix plot, all generated here.

Rendering and preprocessing 12,000 images is the slow part, so it can be spread over worker processes; each
image's result depends only on its variant and index, so the numbers do not depend on how many.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from . import dataset, variants
from .inference import DigitClassifier
from .preprocess import ImageError, preprocess_image

__all__ = [
    "CARD_FILENAME",
    "CONFUSION_FILENAME",
    "EVALUATION_FILENAME",
    "HOLDOUT",
    "Evaluation",
    "SetResult",
    "classification_metrics",
    "entity_description",
    "entity_metrics",
    "evaluate",
    "evaluate_published",
    "publish",
    "validate_mlmodel",
]

HOLDOUT = "holdout"
HOLDOUT_TITLE = "held-out MNIST digits as 28×28 PNG (white on black)"
EVALUATION_SET = "MNIST 8k subset, fixed held-out split (never used for training), real preprocessing path"
EVALUATION_FILENAME = "evaluation.json"
CARD_FILENAME = "README.md"
CONFUSION_FILENAME = "confusion-matrix.png"
# Targets of the model (README "The reference model"): what the tests and the card hold it to.
TARGET_HOLDOUT_ACCURACY = 0.985
TARGET_VARIANT_ACCURACY = 0.97
CHUNK = 50  # images per task handed to a worker
NO_PREDICTION = -1  # the preprocessing refused the image (counted as wrong)


@dataclass
class SetResult:
    """The model on one evaluation set: the held-out digits or one variant of them."""

    name: str
    title: str
    sample_count: int
    accuracy: float
    macro_f1: float
    min_class_recall: float
    refused: int  # images the preprocessing rejected, counted as wrong
    per_class_recall: dict[str, float]
    confusion_matrix: list[list[int]]  # rows: true digit, columns: predicted digit (refusals not included)
    predictions: list[int]  # per image, in held-out order; NO_PREDICTION when refused


@dataclass
class Evaluation:
    model_sha256: str
    dataset_sha256: str
    variant_seed_salt: str
    sets: list[SetResult]

    def __getitem__(self, name: str) -> SetResult:
        for result in self.sets:
            if result.name == name:
                return result
        raise KeyError(name)

    @property
    def variant_sets(self) -> list[SetResult]:
        return [s for s in self.sets if s.name != HOLDOUT]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        return cls(**{**data, "sets": [SetResult(**s) for s in data["sets"]]})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Evaluation:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def classification_metrics(labels: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro F1, per-class recall and the confusion matrix; a prediction of ``NO_PREDICTION``
    counts as wrong (it lowers recall) and appears in no column."""
    labels = np.asarray(labels, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    answered = predicted >= 0
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels[answered], predicted[answered]), 1)
    support = np.bincount(labels, minlength=10)
    predicted_count = confusion.sum(axis=0)
    hits = np.diag(confusion)
    recall = np.divide(hits, support, out=np.zeros(10), where=support > 0)
    precision = np.divide(hits, predicted_count, out=np.zeros(10), where=predicted_count > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros(10), where=denominator > 0)
    present = support > 0
    return {
        "accuracy": int(hits.sum()) / len(labels),
        "macro_f1": float(f1[present].mean()),
        "min_class_recall": float(recall[present].min()),
        "per_class_accuracy": {str(d): float(recall[d]) for d in range(10)},
        "per_class_samples": {str(d): int(support[d]) for d in range(10)},
        "confusion_matrix": confusion.tolist(),
    }


def _png(digit: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(digit).save(buffer, "PNG")
    return buffer.getvalue()


def image_bytes(set_name: str, digit: np.ndarray, index: int) -> bytes:
    """The file the evaluation reads for held-out digit ``index`` of ``set_name``."""
    return _png(digit) if set_name == HOLDOUT else variants.render(set_name, digit, index)


_worker_images: np.ndarray | None = None


def _load_worker_images(data_path: str | None) -> None:
    global _worker_images
    _worker_images = dataset.holdout(data_path)[0]


def _prepare(task: tuple[str, list[int]]) -> tuple[np.ndarray, list[bool]]:
    """Preprocessed tensors of some images of one set, and which of them the preprocessing refused."""
    set_name, indices = task
    assert _worker_images is not None
    tensors = np.zeros((len(indices), 1, 28, 28), dtype=np.float32)
    refused = []
    for row, index in enumerate(indices):
        try:
            tensors[row] = preprocess_image(image_bytes(set_name, _worker_images[index], index))
            refused.append(False)
        except ImageError:
            refused.append(True)
    return tensors, refused


def evaluate(
    classifier: DigitClassifier,
    *,
    sets: Sequence[str] | None = None,
    count: int | None = None,
    jobs: int = 1,
    data_path: str | Path | None = None,
) -> Evaluation:
    """Run the model on the held-out digits and their renditions (default: every variant, every digit)."""
    names = [HOLDOUT, *variants.VARIANTS] if sets is None else list(sets)
    for name in names:
        if name != HOLDOUT and name not in variants.VARIANTS:
            raise ValueError(
                f"unknown evaluation set {name!r}; choose from holdout, {', '.join(variants.VARIANTS)}"
            )
    labels = dataset.holdout(data_path)[1]
    total = len(labels) if count is None else min(count, len(labels))
    tasks = [
        (name, list(range(start, min(start + CHUNK, total))))
        for name in names
        for start in range(0, total, CHUNK)
    ]
    source = str(data_path) if data_path is not None else None
    if jobs > 1:
        # "spawn": a forked copy of a process that already runs ONNX Runtime threads is not safe.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            jobs, mp_context=context, initializer=_load_worker_images, initargs=(source,)
        ) as pool:
            prepared = list(pool.map(_prepare, tasks))
    else:
        _load_worker_images(source)
        prepared = [_prepare(task) for task in tasks]

    results = []
    for name in names:
        chunks = [p for (task_name, _), p in zip(tasks, prepared, strict=True) if task_name == name]
        tensors = np.concatenate([c[0] for c in chunks])
        refused = np.array([r for c in chunks for r in c[1]], dtype=bool)
        predicted = np.full(total, NO_PREDICTION, dtype=np.int64)
        if (~refused).any():
            predicted[~refused] = [p.digit for p in classifier.predict_batch(tensors[~refused])]
        metrics = classification_metrics(labels[:total], predicted)
        results.append(
            SetResult(
                name=name,
                title=HOLDOUT_TITLE if name == HOLDOUT else variants.VARIANTS[name].title,
                sample_count=total,
                accuracy=metrics["accuracy"],
                macro_f1=metrics["macro_f1"],
                min_class_recall=metrics["min_class_recall"],
                refused=int(refused.sum()),
                per_class_recall=metrics["per_class_accuracy"],
                confusion_matrix=metrics["confusion_matrix"],
                predictions=[int(p) for p in predicted],
            )
        )
    source_path = Path(data_path) if data_path is not None else dataset.default_data_path()
    return Evaluation(
        model_sha256=classifier.sha256,
        dataset_sha256=hashlib.sha256(source_path.read_bytes()).hexdigest(),
        variant_seed_salt=variants.SEED_SALT,
        sets=results,
    )


# The MLModel entity ------------------------------------------------------------------------------------


def variant_evaluation_set(result: SetResult) -> str:
    return f"held-out split rendered by reference_runtime.variants as '{result.name}': {result.title}"


def entity_metrics(evaluation: Evaluation) -> list[dict[str, Any]]:
    """The ``metrics`` of the MLModel entity: accuracy, macro F1 and lowest class recall on the held-out
    digits, then the accuracy on each variant."""
    holdout = evaluation[HOLDOUT]
    metrics = [
        {
            "metricName": name,
            "metricValue": value,
            "evaluationSet": EVALUATION_SET,
            "sampleCount": holdout.sample_count,
        }
        for name, value in (
            ("accuracy", holdout.accuracy),
            ("macroF1", holdout.macro_f1),
            ("minClassRecall", holdout.min_class_recall),
        )
    ]
    metrics.extend(
        {
            "metricName": "accuracy",
            "metricValue": result.accuracy,
            "evaluationSet": variant_evaluation_set(result),
            "sampleCount": result.sample_count,
        }
        for result in evaluation.variant_sets
    )
    return metrics


def validate_mlmodel(entity: dict[str, Any]) -> None:
    """Raise ValueError listing every way ``entity`` breaks the bundled MLModel schema."""
    from jsonschema import Draft202012Validator, FormatChecker
    from referencing import Registry, Resource

    from sdmtool import resources

    def load(path: Path) -> Any:
        return json.loads(path.read_text(encoding="utf-8"))

    common = Resource.from_contents(load(resources.common_schema_path()))
    registry = Registry().with_resource(resources.COMMON_SCHEMA_URL, common)
    validator = Draft202012Validator(
        load(resources.schema_path("MLModel")), registry=registry, format_checker=FormatChecker()
    )
    errors = sorted(validator.iter_errors(entity), key=lambda e: list(e.absolute_path))
    if errors:
        details = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors)
        raise ValueError(f"MLModel entity does not match its schema: {details}")


def entity_description(parameter_count: int | None, train_samples: int, evaluation: Evaluation) -> str:
    size = f" ({parameter_count:,} parameters)" if parameter_count else ""
    text = (
        f"Small convolutional network{size} that recognises one handwritten digit 0-9. Input: the image "
        "normalised as MNIST (ink bright on dark, fitted into 20×20, centred by centre of mass in 28×28). "
        f"Trained on {train_samples:,} MNIST digits; accuracy {evaluation[HOLDOUT].accuracy:.1%} on "
        f"{evaluation[HOLDOUT].sample_count:,} held-out digits"
    )
    others = evaluation.variant_sets
    if others:
        worst = min(r.accuracy for r in others)
        text += (
            f", at least {worst:.1%} on each of {len(others)} renditions of them "
            f"({', '.join(r.name for r in others)})"
        )
    return text + "."


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def publish(
    out_dir: Path, entity: dict[str, Any], evaluation: Evaluation, report: dict[str, Any]
) -> dict[str, Any]:
    """Write the evaluation's results beside the artifact: the MLModel entity's metrics (and description),
    ``evaluation.json``, the model card and its plot. Returns the updated entity."""
    from .model_card import render_confusion_png, render_model_card

    if evaluation.model_sha256 != entity["modelSha256"]:
        raise ValueError(
            f"the evaluation measured the model {evaluation.model_sha256}, "
            f"not the entity's {entity['modelSha256']}"
        )
    updated = dict(entity)
    train_samples = int(entity.get("trainingDataset", {}).get("sampleCount", 0))
    updated["description"] = entity_description(report.get("parameter_count"), train_samples, evaluation)
    updated["metrics"] = entity_metrics(evaluation)
    validate_mlmodel(updated)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_text(out_dir / "mlmodel.json", json.dumps(updated, indent=2, ensure_ascii=False) + "\n")
    _write_text(out_dir / EVALUATION_FILENAME, json.dumps(evaluation.to_dict(), indent=1) + "\n")
    _write_text(out_dir / CARD_FILENAME, render_model_card(updated, evaluation, report))
    (out_dir / CONFUSION_FILENAME).write_bytes(render_confusion_png(evaluation))
    return updated


def evaluate_published(
    model_dir: Path | None = None, *, count: int | None = None, jobs: int = 1, write: bool | None = None
) -> tuple[dict[str, Any], Evaluation]:
    """Re-measure the model published in ``model_dir`` (default: the committed one) and rewrite its
    metrics, evaluation, card and plot. ``write`` defaults to whether the measurement is whole: with
    ``count`` (a partial one) nothing is rewritten unless asked, since the published figures are those of
    every held-out digit."""
    from .inference import default_mlmodel_path, load_classifier

    folder = model_dir if model_dir is not None else default_mlmodel_path().parent
    classifier, entity = load_classifier(folder / "mlmodel.json")
    report_path = folder / "training-report.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.is_file() else {}
    evaluation = evaluate(classifier, count=count, jobs=jobs)
    if not (count is None if write is None else write):
        return entity, evaluation
    return publish(folder, entity, evaluation, report), evaluation
