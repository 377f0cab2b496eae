"""The fixed data split, the committed training report, and reproducible training."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from reference_runtime import dataset, train, variants
from reference_runtime.inference import DigitClassifier, default_mlmodel_path, default_model_path

MODEL_DIR = default_model_path().parent
# Fingerprint of the held-out indices: the split must never move, or published accuracy would be measured on
# digits the model may have trained on.
HOLDOUT_FINGERPRINT = "fdeba163828965bf772bd53eab7f5703d7c45bd21a20d7ed848ed39a45884e19"


def require_torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed (pip install -e '.[train]')")


def test_split_is_fixed_disjoint_and_complete() -> None:
    train_idx, holdout_idx = dataset.split_indices()
    assert len(train_idx) == 7000 and len(holdout_idx) == 1000
    assert np.intersect1d(train_idx, holdout_idx).size == 0
    assert np.array_equal(np.union1d(train_idx, holdout_idx), np.arange(8000))
    assert hashlib.sha256(holdout_idx.astype("<i8").tobytes()).hexdigest() == HOLDOUT_FINGERPRINT


def test_holdout_and_training_set_are_the_split_rows() -> None:
    images, labels = dataset.load_mnist()
    train_idx, holdout_idx = dataset.split_indices()
    held_images, held_labels = dataset.holdout()
    train_images, train_labels = dataset.training_set()
    assert np.array_equal(held_images, images[holdout_idx])
    assert np.array_equal(held_labels, labels[holdout_idx])
    assert np.array_equal(train_images, images[train_idx])
    assert np.array_equal(train_labels, labels[train_idx])
    assert held_images.dtype == np.uint8 and held_images.shape == (1000, 28, 28)
    assert set(np.unique(held_labels)) == set(range(10))


def test_load_mnist_rejects_malformed_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    np.savez(bad, images=np.zeros((3, 28, 28), np.float32), labels=np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        dataset.load_mnist(bad)
    missing = tmp_path / "missing.npz"
    np.savez(missing, images=np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="labels"):
        dataset.load_mnist(missing)


def test_committed_report_agrees_with_the_artifacts() -> None:
    report = json.loads((MODEL_DIR / "training-report.json").read_text(encoding="utf-8"))
    entity = json.loads(default_mlmodel_path().read_text(encoding="utf-8"))
    onnx_sha = hashlib.sha256(default_model_path().read_bytes()).hexdigest()
    assert report["onnx_sha256"] == entity["modelSha256"] == onnx_sha
    assert report["onnx_size_bytes"] == default_model_path().stat().st_size
    (accuracy,) = [
        m["metricValue"]
        for m in entity["metrics"]
        if m["metricName"] == "accuracy" and m["evaluationSet"] == train.EVALUATION_SET
    ]
    assert report["accuracy"] == accuracy >= train.TARGET_ACCURACY
    assert report["torch_onnx_agreement"] == 1.0
    assert report["train_samples"] == 7000 and report["holdout_samples"] == 1000
    assert np.trace(report["confusion_matrix"]) == round(accuracy * 1000)
    # Training and the whole evaluation within the 10-minute budget (measured on 2 cores).
    assert report["durations_seconds"]["total"] < 600
    assert report["epochs"] == train.DEFAULT_EPOCHS and report["seed"] == 0 and report["num_threads"] == 1


@pytest.fixture(scope="module")
def small_training_set() -> tuple[np.ndarray, np.ndarray]:
    images, labels = dataset.training_set()
    return train.preprocess_dataset(images[:500]), labels[:500]


def test_training_is_deterministic_by_seed(small_training_set: tuple[np.ndarray, np.ndarray]) -> None:
    torch = require_torch()
    tensors, labels = small_training_set
    threads_before = torch.get_num_threads()
    deterministic_before = torch.are_deterministic_algorithms_enabled()

    progress: list[tuple[int, int, float]] = []
    first, first_losses = train.fit(tensors, labels, seed=0, epochs=1)
    second, second_losses = train.fit(
        tensors, labels, seed=0, epochs=1, on_epoch=lambda *epoch: progress.append(epoch)
    )
    assert progress == [(1, 1, second_losses[0])]  # progress is told, and changes nothing
    other, _ = train.fit(tensors, labels, seed=1, epochs=1)

    first_state, second_state, other_state = (m.state_dict() for m in (first, second, other))
    assert first_state.keys() == second_state.keys()
    assert all(torch.equal(first_state[k], second_state[k]) for k in first_state)
    assert first_losses == second_losses
    weights = [k for k in first_state if k.endswith("weight")]
    assert not any(torch.equal(first_state[k], other_state[k]) for k in weights)
    # The caller's global PyTorch settings are put back.
    assert torch.get_num_threads() == threads_before
    assert torch.are_deterministic_algorithms_enabled() == deterministic_before


def test_quick_end_to_end_run_writes_consistent_artifacts(tmp_path: Path) -> None:
    require_torch()
    pytest.importorskip("onnx", reason="onnx is not installed (pip install -e '.[train]')")
    report = train.train(seed=3, epochs=1, out_dir=tmp_path, train_limit=300, evaluation_count=4)
    entity = json.loads((tmp_path / "mlmodel.json").read_text(encoding="utf-8"))
    train.validate_mlmodel(entity)
    onnx_path = tmp_path / "digits-cnn.onnx"
    assert entity["modelSha256"] == report.onnx_sha256 == hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    assert entity["trainingDataset"]["sampleCount"] == report.train_samples == 300
    assert report.torch_onnx_agreement == 1.0
    saved = json.loads((tmp_path / "training-report.json").read_text(encoding="utf-8"))
    assert saved["accuracy"] == report.accuracy
    assert set(saved["variant_accuracy"]) == set(variants.VARIANTS)
    # The published accuracy is what the runtime's classifier measures on the held-out digits evaluated.
    classifier = DigitClassifier(onnx_path, entity["modelSha256"])
    held_images, held_labels = dataset.holdout()
    predicted = [p.digit for p in classifier.predict_batch(train.preprocess_dataset(held_images[:4]))]
    measured = float(np.mean(np.array(predicted) == held_labels[:4]))
    published = [m for m in entity["metrics"] if m["metricName"] == "accuracy"]
    assert published[0]["metricValue"] == pytest.approx(measured, abs=1e-9)
    assert [m["sampleCount"] for m in published] == [4] * (1 + len(variants.VARIANTS))
    # The model card and its plot are written beside the artifact.
    assert report.onnx_sha256 in (tmp_path / "README.md").read_text(encoding="utf-8")
    assert (tmp_path / "confusion-matrix.png").read_bytes().startswith(b"\x89PNG")
    assert (
        json.loads((tmp_path / "evaluation.json").read_text(encoding="utf-8"))["model_sha256"]
        == report.onnx_sha256
    )


def test_augmentation_is_seeded_bounded_and_varies_the_pen(
    small_training_set: tuple[np.ndarray, np.ndarray],
) -> None:
    torch = require_torch()
    batch = torch.from_numpy(small_training_set[0][:64])
    first = train._augment(torch, batch, torch.Generator().manual_seed(5))
    again = train._augment(torch, batch, torch.Generator().manual_seed(5))
    other = train._augment(torch, batch, torch.Generator().manual_seed(6))
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert first.shape == batch.shape and first.min() >= 0.0 and first.max() <= 1.0
    # Every digit is still a digit (never emptied), and pens both thinner and thicker than MNIST's occur.
    ink_before = batch.sum(dim=(1, 2, 3))
    ink_after = first.sum(dim=(1, 2, 3))
    assert (ink_after > 0).all()
    ratio = ink_after / ink_before
    assert (ratio < 0.8).any() and (ratio > 1.3).any()


def test_invalid_entity_is_reported() -> None:
    with pytest.raises(ValueError, match="modelSha256"):
        train.validate_mlmodel({"id": train.MODEL_ID, "type": "MLModel", "modelSha256": "ABC"})


def test_missing_torch_gives_an_install_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    assert train.main(["--epochs", "1", "--out-dir", "unused"]) == 1
    assert "pip install -e '.[train]'" in capsys.readouterr().err
    with pytest.raises(train.TrainingUnavailableError, match=r"pip install -e '\.\[train\]'"):
        train.fit(np.zeros((1, 1, 28, 28), np.float32), np.zeros(1, np.int64))
