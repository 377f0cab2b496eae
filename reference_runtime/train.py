"""Train the reference digit CNN and publish it: ONNX artifact, MLModel entity, training report, and (through
``evaluate.py``) the evaluation on the held-out digits and their variants with the model card.

Reproducibility is the point of this module: the same seed on the same software gives the same weights.
That is why the data order and augmentation draw from one seeded generator, there are no data-loader
workers, the thread count is fixed, and PyTorch runs in deterministic mode.

Everything in ``mlmodel.json`` is computed from the run (checksums, sample counts, metrics per evaluation set)
except constant descriptive fields. Metrics are measured on the exported ONNX model through
``DigitClassifier``, which is what the runtime serves, not on the PyTorch model it came from.

PyTorch is an optional dependency: ``pip install -e '.[train]'``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from . import dataset
from .evaluate import (
    EVALUATION_SET,
    TARGET_HOLDOUT_ACCURACY,
    TARGET_VARIANT_ACCURACY,
    classification_metrics,
    evaluate,
    publish,
    validate_mlmodel,
)
from .inference import INPUT_NAME, OUTPUT_NAME, DigitClassifier
from .preprocess import preprocess_array

__all__ = [
    "DEFAULT_EPOCHS",
    "MODEL_ID",
    "TARGET_ACCURACY",
    "TrainingReport",
    "TrainingUnavailableError",
    "build_mlmodel_entity",
    "build_model",
    "default_out_dir",
    "export_onnx",
    "fit",
    "main",
    "preprocess_dataset",
    "train",
    "validate_mlmodel",
]

TARGET_ACCURACY = TARGET_HOLDOUT_ACCURACY
DEFAULT_EPOCHS = 20
BATCH_SIZE = 64
MAX_LEARNING_RATE = 3e-3
WEIGHT_DECAY = 1e-4
OPSET = 18

# Augmentation. The runtime's preprocessing already crops, scales and centres every digit, so what is left to
# simulate is the residual variation of real handwriting and of the ways images reach us: rotation, shear,
# scale and aspect, a small shift, an elastic (smooth, random) warp of the strokes, and pens from much thinner
# to much thicker than MNIST's (canvas strokes are thin, felt tips thick). The warp is computed at twice the
# resolution so that strokes can be thinned or thickened by half a pixel.
MAX_ROTATION_DEG = 12.0
MAX_SHEAR = 0.2
MAX_SCALE_DELTA = 0.1
MAX_ASPECT_DELTA = 0.1
MAX_SHIFT_PX = 2.0
ELASTIC_PX = 1.0  # largest displacement of the warp, in pixels of the 28×28 field
ELASTIC_CELLS = 5  # control points of the warp per side
AUGMENT_SCALE = 2  # the warp's working resolution relative to 28×28
# Stroke-width changes at the working resolution (negative thins) and how often each is drawn.
STROKE_CHANGES = ((-2, 0.05), (-1, 0.25), (0, 0.4), (1, 0.2), (2, 0.1))
# Preprocessing brings 3/4 of the ink to full strength (preprocess.INK_LEVEL_PERCENTILE); thinned or
# thickened strokes are rescaled the same way, so the model sees them as it will at run time.
INK_LEVEL_QUANTILE = 0.75

MODEL_ID = "urn:ngsi-ld:MLModel:digits-cnn"
MODEL_VERSION = "1.0.0"
ONNX_FILENAME = "digits-cnn.onnx"
MLMODEL_FILENAME = "mlmodel.json"
REPORT_FILENAME = "training-report.json"
# The runtime rewrites this to the address it serves the artifact from.
PLACEHOLDER_MODEL_URL = f"http://127.0.0.1:5001/artifacts/{ONNX_FILENAME}"

DATASET_NAME = "MNIST, 8,000-digit subset (reference_runtime/data/mnist-8k.npz), fixed training split"
DATASET_URL = "https://yann.lecun.com/exdb/mnist/"
DATASET_LICENSE = "CC-BY-SA-3.0"

INSTALL_HINT = "pip install -e '.[train]'"


class TrainingUnavailableError(RuntimeError):
    """PyTorch (or the ONNX exporter) is not installed."""


@dataclass
class TrainingReport:
    seed: int
    epochs: int
    batch_size: int
    num_threads: int
    train_samples: int
    holdout_samples: int
    accuracy: float
    macro_f1: float
    min_class_recall: float
    per_class_accuracy: dict[str, float]
    per_class_samples: dict[str, int]
    confusion_matrix: list[list[int]]
    epoch_losses: list[float]
    torch_onnx_agreement: float
    max_probability_difference: float
    onnx_path: str
    onnx_sha256: str
    onnx_size_bytes: int
    parameter_count: int
    dataset_sha256: str
    variant_accuracy: dict[str, float]
    evaluation_jobs: int
    cpu_count: int
    durations_seconds: dict[str, float]
    versions: dict[str, str]
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as err:
        raise TrainingUnavailableError(f"PyTorch is not installed; to train, run: {INSTALL_HINT}") from err
    return torch


def default_out_dir() -> Path:
    return Path(__file__).resolve().parent / "model"


def build_model(torch: Any) -> Any:
    """A small CNN (~240k parameters, ~1 MB as ONNX): three conv blocks 28->14->7->3, two dense layers.

    A quarter of this width reaches about 98.7 % on the held-out digits; this size gets about 99 % and still
    trains in about a minute and a half on one CPU thread.
    """
    nn = torch.nn

    def block(c_in: int, c_out: int) -> list[Any]:
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]

    return nn.Sequential(
        *block(1, 32),
        *block(32, 64),
        *block(64, 128),
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Linear(128 * 3 * 3, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


@contextlib.contextmanager
def _deterministic(torch: Any, seed: int, num_threads: int) -> Iterator[None]:
    """Seed and pin PyTorch for the duration of a run, then put the caller's global settings back."""
    previous_threads = torch.get_num_threads()
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(num_threads)
    torch.use_deterministic_algorithms(True)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(previous_deterministic)


def _augment(torch: Any, batch: Any, generator: Any) -> Any:
    """Randomly warped copies of a batch of preprocessed digits (N, 1, 28, 28); every draw comes from
    ``generator``, so a seed fixes them all."""
    functional = torch.nn.functional
    n = batch.shape[0]
    side = 28 * AUGMENT_SCALE

    def uniform(*shape: int) -> Any:
        return torch.rand(*shape, generator=generator) * 2.0 - 1.0

    # Affine part. affine_grid maps output to input coordinates in [-1, 1], so dividing by the scale enlarges.
    angle = uniform(n) * math.radians(MAX_ROTATION_DEG)
    shear = uniform(n) * MAX_SHEAR
    scale = 1.0 + uniform(n) * MAX_SCALE_DELTA
    aspect = 1.0 + uniform(n) * MAX_ASPECT_DELTA
    shift = uniform(n, 2) * (2.0 * MAX_SHIFT_PX / 28.0)
    sx, sy = 1.0 / (scale * aspect), aspect / scale
    cos, sin = torch.cos(angle), torch.sin(angle)
    # rotation @ shear @ diag(sx, sy)
    theta = torch.stack(
        [
            torch.stack([cos * sx, (cos * shear - sin) * sy, shift[:, 0]], dim=1),
            torch.stack([sin * sx, (sin * shear + cos) * sy, shift[:, 1]], dim=1),
        ],
        dim=1,
    )
    grid = functional.affine_grid(theta, [n, 1, side, side], align_corners=False)
    # Elastic part: a smooth displacement field interpolated from a few random control points.
    control = uniform(n, 2, ELASTIC_CELLS, ELASTIC_CELLS) * (2.0 * ELASTIC_PX / 28.0)
    warp = functional.interpolate(control, size=(side, side), mode="bicubic", align_corners=True)
    grid = grid + warp.permute(0, 2, 3, 1)
    out = functional.grid_sample(batch, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    # Stroke width: grey-level erosion (min filter) or dilation (max filter) at the working resolution.
    draw = torch.rand(n, generator=generator)
    cumulative = 0.0
    changed = out
    for change, probability in STROKE_CHANGES:
        selected = ((draw >= cumulative) & (draw < cumulative + probability)).view(n, 1, 1, 1)
        cumulative += probability
        if change == 0:
            continue
        size = 2 * abs(change) + 1
        if change > 0:
            filtered = functional.max_pool2d(out, size, stride=1, padding=abs(change))
        else:
            filtered = -functional.max_pool2d(-out, size, stride=1, padding=abs(change))
        changed = torch.where(selected, filtered, changed)
    out = functional.avg_pool2d(changed, AUGMENT_SCALE)

    # Bring the ink back to full strength as preprocessing does; a digit thinned away keeps its original.
    flat = out.reshape(n, -1)
    level = torch.nanquantile(torch.where(flat > 0, flat, torch.nan), INK_LEVEL_QUANTILE, dim=1)
    usable = torch.isfinite(level) & (level > 0.05)
    level = torch.where(usable, level, torch.ones_like(level)).view(n, 1, 1, 1)
    out = torch.clamp(out / level, 0.0, 1.0)
    return torch.where(usable.view(n, 1, 1, 1), out, batch)


def preprocess_dataset(images: np.ndarray) -> np.ndarray:
    """Run every raw MNIST digit through the runtime's own preprocessing: (N, 1, 28, 28) float32."""
    return np.stack([preprocess_array(image) for image in images]).astype(np.float32)


def fit(
    tensors: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int = 0,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int = BATCH_SIZE,
    num_threads: int = 1,
    augment: bool = True,
    on_epoch: Callable[[int, int, float], None] | None = None,
) -> tuple[Any, list[float]]:
    """Train a fresh CNN on preprocessed tensors (N, 1, 28, 28); return (model in eval mode, epoch losses).
    ``on_epoch(epoch, epochs, loss)`` is called after each epoch (1-based), for progress."""
    torch = _import_torch()
    if len(tensors) != len(labels) or len(labels) == 0:
        raise ValueError("tensors and labels must be non-empty and of the same length")
    with _deterministic(torch, seed, num_threads):
        generator = torch.Generator().manual_seed(seed)
        model = build_model(torch)
        x_all = torch.from_numpy(np.ascontiguousarray(tensors, dtype=np.float32))
        y_all = torch.from_numpy(np.asarray(labels, dtype=np.int64))
        steps_per_epoch = math.ceil(len(y_all) / batch_size)
        optimiser = torch.optim.AdamW(model.parameters(), lr=MAX_LEARNING_RATE, weight_decay=WEIGHT_DECAY)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimiser, max_lr=MAX_LEARNING_RATE, total_steps=epochs * steps_per_epoch
        )
        loss_fn = torch.nn.CrossEntropyLoss()
        losses: list[float] = []
        model.train()
        for epoch in range(1, epochs + 1):
            order = torch.randperm(len(y_all), generator=generator)
            total = 0.0
            for start in range(0, len(order), batch_size):
                index = order[start : start + batch_size]
                x = x_all[index]
                if augment:
                    x = _augment(torch, x, generator)
                optimiser.zero_grad(set_to_none=True)
                loss = loss_fn(model(x), y_all[index])
                loss.backward()
                optimiser.step()
                schedule.step()
                total += float(loss.detach()) * len(index)
            losses.append(total / len(y_all))
            if on_epoch is not None:
                on_epoch(epoch, epochs, losses[-1])
        model.eval()
    return model, losses


def _torch_probabilities(torch: Any, model: Any, tensors: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        logits = model(torch.from_numpy(np.ascontiguousarray(tensors, dtype=np.float32)))
        return torch.softmax(logits, dim=1).numpy()


def export_onnx(model: Any, path: Path) -> None:
    """Write the model with a softmax head: input ``image`` (N, 1, 28, 28) float32 -> ``probabilities``
    (N, 10). Written beside the target and renamed, so a reader never sees a half-written file."""
    torch = _import_torch()
    head = torch.nn.Sequential(model, torch.nn.Softmax(dim=1)).eval()
    example = torch.zeros(2, 1, 28, 28)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".digits-", suffix=".onnx", dir=path.parent)
    os.close(fd)
    try:
        # The exporter reports progress on stdout and raises deprecation warnings about its own internals,
        # which nobody running training can act on.
        with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            torch.onnx.export(
                head,
                (example,),
                tmp_name,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=65536)},),
                opset_version=OPSET,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
        _strip_debug_metadata(Path(tmp_name))
        os.chmod(tmp_name, 0o644)  # mkstemp creates it private; the artifact is meant to be served
        os.replace(tmp_name, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)


def _strip_debug_metadata(path: Path) -> None:
    """Drop the exporter's per-node debugging annotations (Python stack traces with absolute paths of the
    machine that trained): without them the artifact, hence its checksum, is the same in every checkout."""
    import onnx

    model = onnx.load(str(path))
    for container in (model.graph, *model.functions):
        for node in container.node:
            del node.metadata_props[:]
            node.doc_string = ""
    model.graph.doc_string = ""
    onnx.save(model, str(path))


def build_mlmodel_entity(
    *,
    onnx_sha256: str,
    accuracy: float,
    macro_f1: float,
    min_class_recall: float,
    holdout_samples: int,
    train_samples: int,
    dataset_sha256: str,
    parameter_count: int,
    torch_version: str,
) -> dict[str, Any]:
    """The keyValues MLModel entity for one training run."""
    framework_version = torch_version.split("+")[0]
    return {
        "id": MODEL_ID,
        "type": "MLModel",
        "name": "Handwritten digit recognition (CNN)",
        "description": (
            f"Small convolutional network ({parameter_count:,} parameters) that recognises one "
            "handwritten digit 0-9. Input: the image normalised as MNIST (ink bright on dark, fitted into "
            f"20×20, centred by centre of mass in 28×28). Trained on {train_samples:,} MNIST digits; "
            f"accuracy {accuracy:.1%} on {holdout_samples:,} held-out digits."
        ),
        "typeOfAlgorithm": "classification",
        "algorithm": "CNN",
        "mlFramework": f"PyTorch {framework_version}, exported to ONNX",
        "version": f"{MODEL_VERSION}+{onnx_sha256[:8]}",
        "modelFormat": "onnx",
        "modelUrl": PLACEHOLDER_MODEL_URL,
        "modelSha256": onnx_sha256,
        "inputAttributes": ["imagePath"],
        "outputAttributes": [
            "predictedDigit",
            "confidence",
            "digitScores",
            "refMLModel",
            "modelVersion",
            "datePredicted",
        ],
        "acceptableDataSources": ["HandwritingDigit"],
        "outputDataTypes": ["integer", "number"],
        "metrics": [
            {
                "metricName": "accuracy",
                "metricValue": accuracy,
                "evaluationSet": EVALUATION_SET,
                "sampleCount": holdout_samples,
            },
            {
                "metricName": "macroF1",
                "metricValue": macro_f1,
                "evaluationSet": EVALUATION_SET,
                "sampleCount": holdout_samples,
            },
            {
                "metricName": "minClassRecall",
                "metricValue": min_class_recall,
                "evaluationSet": EVALUATION_SET,
                "sampleCount": holdout_samples,
            },
        ],
        "trainingDataset": {
            "datasetName": DATASET_NAME,
            "datasetUrl": DATASET_URL,
            "datasetLicense": DATASET_LICENSE,
            "datasetSha256": dataset_sha256,
            "sampleCount": train_samples,
        },
    }


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _versions(torch: Any) -> dict[str, str]:
    import onnx
    import onnxruntime

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
    }


def train(
    seed: int = 0,
    epochs: int = DEFAULT_EPOCHS,
    out_dir: str | Path | None = None,
    *,
    data_path: str | Path | None = None,
    num_threads: int = 1,
    train_limit: int | None = None,
    evaluation_count: int | None = None,
    jobs: int = 1,
    on_epoch: Callable[[int, int, float], None] | None = None,
) -> TrainingReport:
    """Train on the fixed training split, export ONNX, evaluate it on the held-out split and its variants,
    write the artifacts.

    Writes ``digits-cnn.onnx``, ``mlmodel.json``, ``training-report.json``, ``evaluation.json``, the model
    card ``README.md`` and ``confusion-matrix.png`` into ``out_dir`` (default: the package's ``model/``
    folder). ``train_limit`` trains on the first N training digits only and ``evaluation_count`` renders
    only the first N held-out digits of each variant (quick runs); ``jobs`` worker processes render them.
    ``on_epoch``: see :func:`fit`.
    """
    torch = _import_torch()
    try:
        import onnx
    except ImportError as err:
        raise TrainingUnavailableError(f"exporting needs the onnx package: {INSTALL_HINT}") from err

    started = time.perf_counter()
    source = Path(data_path) if data_path is not None else dataset.default_data_path()
    dataset_sha256 = hashlib.sha256(source.read_bytes()).hexdigest()
    images, labels = dataset.load_mnist(source)
    train_idx, holdout_idx = dataset.split_indices(len(labels))
    if train_limit is not None:
        train_idx = train_idx[:train_limit]
    train_x = preprocess_dataset(images[train_idx])
    holdout_x = preprocess_dataset(images[holdout_idx])
    train_y, holdout_y = labels[train_idx], labels[holdout_idx]
    prepared = time.perf_counter()

    model, losses = fit(
        train_x, train_y, seed=seed, epochs=epochs, num_threads=num_threads, on_epoch=on_epoch
    )
    trained = time.perf_counter()

    out = Path(out_dir) if out_dir is not None else default_out_dir()
    onnx_path = out / ONNX_FILENAME
    export_onnx(model, onnx_path)
    onnx.checker.check_model(str(onnx_path), full_check=True)
    onnx_sha256 = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    exported = time.perf_counter()

    # Published numbers come from the artifact as the runtime runs it.
    classifier = DigitClassifier(onnx_path, onnx_sha256)
    onnx_probs = classifier.probabilities(holdout_x)
    predicted = np.array([p.digit for p in classifier.predict_batch(holdout_x)])
    with _deterministic(torch, seed, num_threads):
        torch_probs = _torch_probabilities(torch, model, holdout_x)
    agreement = float((torch_probs.argmax(axis=1) == predicted).mean())
    max_difference = float(np.abs(torch_probs - onnx_probs).max())
    if agreement != 1.0:
        raise RuntimeError(
            f"ONNX Runtime disagrees with PyTorch on {1 - agreement:.2%} of the held-out digits "
            f"(largest probability difference {max_difference:.2e}); the export is not faithful"
        )
    metrics = classification_metrics(holdout_y, predicted)
    parameter_count = sum(int(p.numel()) for p in model.parameters())

    entity = build_mlmodel_entity(
        onnx_sha256=onnx_sha256,
        accuracy=metrics["accuracy"],
        macro_f1=metrics["macro_f1"],
        min_class_recall=metrics["min_class_recall"],
        holdout_samples=len(holdout_y),
        train_samples=len(train_y),
        dataset_sha256=dataset_sha256,
        parameter_count=parameter_count,
        torch_version=torch.__version__,
    )
    validate_mlmodel(entity)
    evaluation = evaluate(classifier, count=evaluation_count, jobs=jobs, data_path=data_path)
    finished = time.perf_counter()

    report = TrainingReport(
        seed=seed,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        num_threads=num_threads,
        train_samples=len(train_y),
        holdout_samples=len(holdout_y),
        accuracy=metrics["accuracy"],
        macro_f1=metrics["macro_f1"],
        min_class_recall=metrics["min_class_recall"],
        per_class_accuracy=metrics["per_class_accuracy"],
        per_class_samples=metrics["per_class_samples"],
        confusion_matrix=metrics["confusion_matrix"],
        epoch_losses=losses,
        torch_onnx_agreement=agreement,
        max_probability_difference=max_difference,
        onnx_path=ONNX_FILENAME,
        onnx_sha256=onnx_sha256,
        onnx_size_bytes=onnx_path.stat().st_size,
        parameter_count=parameter_count,
        dataset_sha256=dataset_sha256,
        variant_accuracy={r.name: r.accuracy for r in evaluation.variant_sets},
        evaluation_jobs=jobs,
        cpu_count=os.cpu_count() or 1,
        durations_seconds={
            "preprocess": round(prepared - started, 3),
            "train": round(trained - prepared, 3),
            "export": round(exported - trained, 3),
            "evaluate": round(finished - exported, 3),
            "total": round(finished - started, 3),
        },
        versions=_versions(torch),
    )
    _write_json(out / REPORT_FILENAME, report.to_dict())
    publish(out, entity, evaluation, report.to_dict())
    return report


def default_jobs() -> int:
    """Worker processes for the evaluation: two, or one on a single-core machine."""
    return min(2, os.cpu_count() or 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sdm-runtime train",
        description="Train the reference digit CNN on the bundled MNIST subset and publish it as ONNX, "
        "with its MLModel entity, a training report, the evaluation on the held-out digits and their "
        "variants, and the model card.",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help=f"default: {DEFAULT_EPOCHS}")
    parser.add_argument(
        "--out-dir", type=Path, default=None, help="artifact folder (default: reference_runtime/model)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="PyTorch threads; the weights depend on it (default: 1)"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=default_jobs(),
        help="processes rendering the evaluation images; results do not depend on it (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.threads < 1 or args.jobs < 1:
        parser.error("--epochs, --threads and --jobs must be at least 1")
    try:
        report = train(
            seed=args.seed,
            epochs=args.epochs,
            out_dir=args.out_dir,
            num_threads=args.threads,
            jobs=args.jobs,
            on_epoch=_print_epoch,
        )
    except TrainingUnavailableError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    out = args.out_dir if args.out_dir is not None else default_out_dir()
    worst = min(report.variant_accuracy.items(), key=lambda item: item[1], default=("-", 1.0))
    print(
        f"held-out accuracy {report.accuracy:.2%} on {report.holdout_samples} digits "
        f"(macro F1 {report.macro_f1:.4f}, lowest class recall {report.min_class_recall:.2%}); "
        f"lowest variant accuracy {worst[1]:.2%} ({worst[0]}); "
        f"trained in {report.durations_seconds['train']:.0f} s, "
        f"{report.durations_seconds['total']:.0f} s in all; "
        f"{report.onnx_size_bytes / 1024:.0f} KiB ONNX, sha256 {report.onnx_sha256}; written to {out}"
    )
    failed = False
    if report.accuracy < TARGET_ACCURACY:
        print(f"error: held-out accuracy is below the {TARGET_ACCURACY:.1%} target", file=sys.stderr)
        failed = True
    for name, accuracy in report.variant_accuracy.items():
        if accuracy < TARGET_VARIANT_ACCURACY:
            print(
                f"error: accuracy on the variant {name} is {accuracy:.2%}, below the "
                f"{TARGET_VARIANT_ACCURACY:.0%} target",
                file=sys.stderr,
            )
            failed = True
    return 1 if failed else 0


def _print_epoch(epoch: int, epochs: int, loss: float) -> None:
    # Minutes of training: say how far it is (on stderr, beside the exporter's messages).
    print(f"epoch {epoch}/{epochs}: loss {loss:.4f}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
