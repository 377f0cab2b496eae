"""The published evaluation: the model card, the MLModel entity's metrics and evaluation.json agree, the
targets hold, and the numbers are what the runtime's own path measures."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from reference_runtime import dataset, variants
from reference_runtime.cli import main as runtime_cli
from reference_runtime.evaluate import (
    HOLDOUT,
    NO_PREDICTION,
    TARGET_HOLDOUT_ACCURACY,
    TARGET_VARIANT_ACCURACY,
    Evaluation,
    SetResult,
    classification_metrics,
    entity_description,
    entity_metrics,
    evaluate,
    publish,
)
from reference_runtime.inference import DigitClassifier, default_model_path, load_mlmodel_entity
from reference_runtime.model_card import CELL, MARGIN, TITLE_HEIGHT, render_confusion_png, render_model_card

MODEL_DIR = default_model_path().parent


@pytest.fixture(scope="module")
def entity() -> dict:
    return load_mlmodel_entity()


@pytest.fixture(scope="module")
def evaluation() -> Evaluation:
    return Evaluation.load(MODEL_DIR / "evaluation.json")


@pytest.fixture(scope="module")
def report() -> dict:
    return json.loads((MODEL_DIR / "training-report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def labels() -> np.ndarray:
    return dataset.holdout()[1]


def test_model_card_is_generated_from_the_published_files(
    entity: dict, evaluation: Evaluation, report: dict
) -> None:
    committed = (MODEL_DIR / "README.md").read_text(encoding="utf-8")
    assert committed == render_model_card(entity, evaluation, report), "run: sdm-runtime evaluate"


def test_entity_carries_the_evaluation_and_the_artifact_checksum(
    entity: dict, evaluation: Evaluation, report: dict
) -> None:
    assert entity["metrics"] == entity_metrics(evaluation)
    onnx_sha = hashlib.sha256(default_model_path().read_bytes()).hexdigest()
    assert evaluation.model_sha256 == entity["modelSha256"] == report["onnx_sha256"] == onnx_sha
    assert evaluation.dataset_sha256 == entity["trainingDataset"]["datasetSha256"]
    assert evaluation.variant_seed_salt == variants.SEED_SALT
    train_samples = entity["trainingDataset"]["sampleCount"]
    assert entity["description"] == entity_description(report["parameter_count"], train_samples, evaluation)
    # One accuracy per set, each naming its set; the held-out one is also the training report's.
    accuracies = [m for m in entity["metrics"] if m["metricName"] == "accuracy"]
    assert len(accuracies) == 1 + len(variants.VARIANTS)
    assert accuracies[0]["metricValue"] == report["accuracy"] == evaluation[HOLDOUT].accuracy
    for metric, name in zip(accuracies[1:], variants.VARIANTS, strict=True):
        assert f"'{name}'" in metric["evaluationSet"]
        assert metric["metricValue"] == evaluation[name].accuracy == report["variant_accuracy"][name]


def test_card_shows_the_entity_numbers(entity: dict) -> None:
    card = (MODEL_DIR / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line for line in card.splitlines() if line.startswith("| ")}
    accuracies = [m for m in entity["metrics"] if m["metricName"] == "accuracy"]
    for metric, name in zip(
        accuracies, ["held-out MNIST", *(f"`{v}`" for v in variants.VARIANTS)], strict=True
    ):
        assert f"**{metric['metricValue'] * 100:.1f} %**" in rows[name]
        assert f"| {metric['sampleCount']:,} |" in rows[name]
    assert entity["modelSha256"] in card and f"`{entity['version']}`" in card
    assert "(confusion-matrix.png)" in card


def test_targets_hold_on_every_set(evaluation: Evaluation) -> None:
    assert [s.name for s in evaluation.sets] == [HOLDOUT, *variants.VARIANTS]
    assert all(s.sample_count == 1000 for s in evaluation.sets)
    assert evaluation[HOLDOUT].accuracy >= TARGET_HOLDOUT_ACCURACY
    for result in evaluation.variant_sets:
        assert result.accuracy >= TARGET_VARIANT_ACCURACY, result.name


def test_published_numbers_follow_from_the_predictions(evaluation: Evaluation, labels: np.ndarray) -> None:
    for result in evaluation.sets:
        predicted = np.array(result.predictions)
        metrics = classification_metrics(labels, predicted)
        assert result.accuracy == metrics["accuracy"] == float(np.mean(predicted == labels))
        assert result.macro_f1 == metrics["macro_f1"]
        assert result.min_class_recall == metrics["min_class_recall"]
        assert result.confusion_matrix == metrics["confusion_matrix"]
        assert result.refused == int(np.sum(predicted == NO_PREDICTION))


def test_a_sample_of_every_set_is_predicted_as_published(evaluation: Evaluation) -> None:
    # The real path again (render, encode, preprocess, ONNX) in two worker processes.
    classifier = DigitClassifier.from_mlmodel()
    sample = evaluate(classifier, count=10, jobs=2)
    for measured, published in zip(sample.sets, evaluation.sets, strict=True):
        assert measured.name == published.name
        assert measured.predictions == published.predictions[:10], measured.name


def test_committed_plot_is_the_rendered_one(evaluation: Evaluation) -> None:
    committed = Image.open(MODEL_DIR / "confusion-matrix.png")
    rendered = Image.open(io.BytesIO(render_confusion_png(evaluation)))
    assert committed.format == "PNG" and committed.size == rendered.size
    # Fonts may rasterise a little differently elsewhere; the cells may not.
    difference = np.abs(np.asarray(committed.convert("L"), float) - np.asarray(rendered.convert("L"), float))
    assert difference.mean() < 2.0


def synthetic(confusion: np.ndarray) -> Evaluation:
    labels = np.repeat(np.arange(10), confusion.sum(axis=1))
    predicted = np.concatenate([np.repeat(np.arange(10), row) for row in confusion])
    metrics = classification_metrics(labels, predicted)
    result = SetResult(
        name=HOLDOUT,
        title="synthetic",
        sample_count=len(labels),
        accuracy=metrics["accuracy"],
        macro_f1=metrics["macro_f1"],
        min_class_recall=metrics["min_class_recall"],
        refused=0,
        per_class_recall=metrics["per_class_accuracy"],
        confusion_matrix=metrics["confusion_matrix"],
        predictions=predicted.tolist(),
    )
    return Evaluation(model_sha256="0" * 64, dataset_sha256="1" * 64, variant_seed_salt="x", sets=[result])


def test_plot_shades_cells_by_their_share_of_the_row() -> None:
    confusion = np.eye(10, dtype=int) * 50
    confusion[3, 3], confusion[3, 8] = 40, 10
    pixels = np.asarray(Image.open(io.BytesIO(render_confusion_png(synthetic(confusion)))).convert("L"))

    def corner(row: int, col: int) -> int:  # a cell's corner, away from the count written in it
        return int(pixels[TITLE_HEIGHT + row * CELL + 3, MARGIN + col * CELL + 3])

    assert corner(0, 0) < 80  # the whole row: darkest
    assert corner(0, 1) > 245  # nothing: white
    assert corner(0, 0) < corner(3, 3) < corner(3, 8) < corner(0, 1)


def test_refused_images_count_as_wrong() -> None:
    metrics = classification_metrics(np.array([0, 1, 2, 3]), np.array([0, NO_PREDICTION, 2, 2]))
    assert metrics["accuracy"] == 0.5
    assert metrics["per_class_accuracy"]["1"] == 0.0
    assert np.sum(metrics["confusion_matrix"]) == 3


def test_cli_evaluate_rewrites_a_model_folder(tmp_path: Path, evaluation: Evaluation) -> None:
    for name in ("digits-cnn.onnx", "mlmodel.json", "training-report.json"):
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    result = CliRunner().invoke(
        runtime_cli, ["evaluate", "--model-dir", str(tmp_path), "--count", "3", "--jobs", "1", "--write"]
    )
    written = Evaluation.load(tmp_path / "evaluation.json")
    below = any(
        s.accuracy < (TARGET_HOLDOUT_ACCURACY if s.name == HOLDOUT else TARGET_VARIANT_ACCURACY)
        for s in written.sets
    )
    assert result.exit_code == (1 if below else 0), result.output
    assert re.search(r"^holdout +\d+\.\d\d%  \(3 images\)", result.output, re.MULTILINE)
    for measured, published in zip(written.sets, evaluation.sets, strict=True):
        assert measured.predictions == published.predictions[:3]  # one process gives what two gave
    entity = json.loads((tmp_path / "mlmodel.json").read_text(encoding="utf-8"))
    assert {m["sampleCount"] for m in entity["metrics"]} == {3}
    assert (tmp_path / "README.md").read_text(encoding="utf-8").startswith("# Model card")
    assert (tmp_path / "confusion-matrix.png").read_bytes().startswith(b"\x89PNG")


def test_cli_evaluate_reports_a_mismatched_artifact(tmp_path: Path) -> None:
    shutil.copy(MODEL_DIR / "digits-cnn.onnx", tmp_path / "digits-cnn.onnx")
    entity = {**load_mlmodel_entity(), "modelSha256": "2" * 64}
    (tmp_path / "mlmodel.json").write_text(json.dumps(entity), encoding="utf-8")
    result = CliRunner().invoke(runtime_cli, ["evaluate", "--model-dir", str(tmp_path), "--count", "1"])
    assert result.exit_code == 1
    assert "refusing to load it" in result.output


def test_publish_refuses_an_evaluation_of_another_model(
    entity: dict, evaluation: Evaluation, report: dict, tmp_path: Path
) -> None:
    other = replace(evaluation, model_sha256="3" * 64)
    with pytest.raises(ValueError, match=r"measured the model 3{64}"):
        publish(tmp_path, entity, other, report)
    assert list(tmp_path.iterdir()) == []
