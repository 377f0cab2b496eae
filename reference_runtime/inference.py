"""Digit recognition with the published ONNX model, through ONNX Runtime.

The model file is checked against the SHA-256 its MLModel entity announces before it is loaded: the runtime
only ever runs the artifact that was evaluated and described. The bytes that were hashed are the bytes that
are loaded, so the file cannot be swapped between the check and the load.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import onnxruntime as ort

from .preprocess import ImageError, preprocess_array, preprocess_image

__all__ = [
    "INPUT_NAME",
    "OUTPUT_NAME",
    "DigitClassifier",
    "ModelIntegrityError",
    "Prediction",
    "default_mlmodel_path",
    "default_model_path",
    "load_classifier",
    "load_mlmodel_entity",
    "sha256_file",
]

INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
NUM_CLASSES = 10
# Large batches are cut into chunks so memory stays bounded whatever the caller passes; the chunk size is
# fixed so a given set of images always meets the same kernels and gets the same scores.
BATCH_CHUNK = 256

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class ModelIntegrityError(ValueError):
    """The model artifact is not the one expected (checksum mismatch) or not a usable digit model."""


@dataclass(frozen=True)
class Prediction:
    digit: int
    confidence: float
    scores: list[float]  # probability of each digit 0..9, in that order; sums to 1


def _model_dir() -> Path:
    return Path(__file__).resolve().parent / "model"


def default_model_path() -> Path:
    """The committed ONNX model."""
    return _model_dir() / "digits-cnn.onnx"


def default_mlmodel_path() -> Path:
    """The committed MLModel entity (keyValues) describing ``default_model_path()``."""
    return _model_dir() / "mlmodel.json"


def load_mlmodel_entity(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read the MLModel entity (keyValues JSON) written by training; checks only what the runtime relies on.
    Full validation against the Smart Data Model schema is the toolkit's job."""
    source = Path(path) if path is not None else default_mlmodel_path()
    try:
        entity = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read the MLModel entity {source}: {err}") from err
    if not isinstance(entity, dict) or entity.get("type") != "MLModel":
        raise ValueError(f"{source} is not an MLModel entity")
    if not _SHA256_RE.fullmatch(str(entity.get("modelSha256", ""))):
        raise ValueError(f"{source}: modelSha256 must be 64 lower-case hexadecimal digits")
    return entity


def sha256_file(path: str | os.PathLike[str]) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class DigitClassifier:
    """Recognises one handwritten digit per image.

    Safe to share between threads: ONNX Runtime allows concurrent ``run`` calls on one session, and this
    object holds no mutable state of its own.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        expected_sha256: str,
        *,
        intra_op_threads: int = 1,
    ) -> None:
        expected = expected_sha256.strip().lower()
        if not _SHA256_RE.fullmatch(expected):
            raise ValueError(f"expected_sha256 must be 64 hexadecimal digits, got {expected_sha256!r}")
        self.model_path = Path(model_path)
        try:
            model_bytes = self.model_path.read_bytes()
        except OSError as err:
            raise ModelIntegrityError(f"cannot read the model file {self.model_path}: {err}") from err
        actual = hashlib.sha256(model_bytes).hexdigest()
        if actual != expected:
            raise ModelIntegrityError(
                f"model file {self.model_path} has SHA-256 {actual}, but {expected} was expected; "
                "refusing to load it (wrong or modified artifact)"
            )
        self.sha256 = actual

        options = ort.SessionOptions()
        # One thread per call by default: the runtime gets its parallelism from concurrent requests, and a
        # single thread keeps results independent of the machine's core count.
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            self._session = ort.InferenceSession(
                model_bytes, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime raises its own exception types for a bad graph
            raise ModelIntegrityError(f"ONNX Runtime cannot load {self.model_path}: {err}") from err
        self._check_signature()

    @classmethod
    def from_mlmodel(
        cls,
        entity: dict[str, Any] | None = None,
        model_path: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> DigitClassifier:
        """The classifier for an MLModel entity (default: the committed one and its committed artifact)."""
        entity = entity if entity is not None else load_mlmodel_entity()
        path = model_path if model_path is not None else default_model_path()
        return cls(path, entity["modelSha256"], **kwargs)

    def _check_signature(self) -> None:
        inputs = self._session.get_inputs()
        outputs = self._session.get_outputs()
        if [i.name for i in inputs] != [INPUT_NAME] or OUTPUT_NAME not in [o.name for o in outputs]:
            raise ModelIntegrityError(
                f"{self.model_path} is not a digit model: expected input '{INPUT_NAME}' and output "
                f"'{OUTPUT_NAME}', found inputs {[i.name for i in inputs]} and outputs "
                f"{[o.name for o in outputs]}"
            )
        shape = inputs[0].shape
        if len(shape) != 4 or list(shape[1:]) != [1, 28, 28]:
            raise ModelIntegrityError(f"{self.model_path}: input shape {shape} is not (N, 1, 28, 28)")

    def predict(self, image_bytes: bytes) -> Prediction:
        """Recognise the digit in PNG or JPEG bytes; raises ``ImageError`` for unusable images."""
        return self._predict_tensors(preprocess_image(image_bytes)[np.newaxis])[0]

    def predict_array(self, image: np.ndarray) -> Prediction:
        """Recognise the digit in a raw 2-D grayscale array (e.g. an MNIST uint8 28×28 digit)."""
        return self._predict_tensors(preprocess_array(image)[np.newaxis])[0]

    def predict_images(self, images: Sequence[bytes]) -> list[Prediction | ImageError]:
        """Recognise several PNG or JPEG images with one model call (the batched path).

        Each image is preprocessed on its own; the usable ones go through the model as one batch. The result
        list matches ``images`` item for item: a ``Prediction``, or the ``ImageError`` that says why that
        image could not be used, so one bad image never costs the others their answer.
        """
        results: list[Prediction | ImageError | None] = [None] * len(images)
        tensors: list[np.ndarray] = []
        usable: list[int] = []
        for position, data in enumerate(images):
            try:
                tensors.append(preprocess_image(data))
                usable.append(position)
            except ImageError as err:
                results[position] = err
        for position, prediction in zip(usable, self.predict_batch(tensors), strict=True):
            results[position] = prediction
        return [r for r in results if r is not None]

    def predict_batch(self, arrays: Sequence[np.ndarray] | np.ndarray) -> list[Prediction]:
        """Predictions for already-preprocessed tensors: a sequence of (1, 28, 28) float32 arrays as returned
        by ``preprocess_image`` / ``preprocess_array``, or one stacked (N, 1, 28, 28) array."""
        if isinstance(arrays, np.ndarray) and arrays.ndim == 4:
            batch = arrays
        else:
            if len(arrays) == 0:
                return []
            batch = np.stack([np.asarray(a) for a in arrays])
        if batch.shape[1:] != (1, 28, 28):
            raise ValueError(
                f"expected preprocessed tensors of shape (1, 28, 28), got a batch of shape {batch.shape}"
            )
        return self._predict_tensors(batch)

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Raw model output (N, 10) float32 for a preprocessed (N, 1, 28, 28) batch."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        chunks = [
            self._session.run([OUTPUT_NAME], {INPUT_NAME: batch[start : start + BATCH_CHUNK]})[0]
            for start in range(0, len(batch), BATCH_CHUNK)
        ]
        if not chunks:
            return np.zeros((0, NUM_CLASSES), dtype=np.float32)
        return np.concatenate(chunks)

    def _predict_tensors(self, batch: np.ndarray) -> list[Prediction]:
        if not np.isfinite(batch).all() or batch.min() < 0.0 or batch.max() > 1.0:
            raise ValueError("preprocessed tensors must hold finite values in [0, 1]")
        probs = self.probabilities(batch).astype(np.float64)
        # The graph ends in a softmax; renormalising in float64 makes the published scores sum to 1 exactly
        # enough for consumers that check it, without changing which digit wins.
        probs /= probs.sum(axis=1, keepdims=True)
        digits = probs.argmax(axis=1)
        return [
            Prediction(digit=int(d), confidence=float(p[d]), scores=[float(v) for v in p])
            for d, p in zip(digits, probs, strict=True)
        ]


def load_classifier(
    entity_path: str | os.PathLike[str] | None = None, **kwargs: Any
) -> tuple[DigitClassifier, dict[str, Any]]:
    """The classifier and the MLModel entity it implements (default: the committed pair).

    The artifact is the file named by the last segment of the entity's ``modelUrl`` in the entity's folder,
    else the committed model. Either way it must match the entity's ``modelSha256`` or loading fails.
    Raises ``ValueError`` (``ModelIntegrityError`` included) when the pair cannot be used.
    """
    entity = load_mlmodel_entity(entity_path)
    model_path = default_model_path()
    if entity_path is not None:
        name = PurePosixPath(urlsplit(str(entity.get("modelUrl", ""))).path).name
        beside = Path(entity_path).resolve().parent / name
        if name and beside.is_file():
            model_path = beside
    return DigitClassifier(model_path, entity["modelSha256"], **kwargs), entity
