"""The committed ONNX model, its MLModel entity, and DigitClassifier, through the real preprocessing path."""

from __future__ import annotations

import hashlib
import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from PIL import Image
from referencing import Registry, Resource

from reference_runtime import dataset
from reference_runtime.evaluate import EVALUATION_SET
from reference_runtime.inference import (
    DigitClassifier,
    ModelIntegrityError,
    Prediction,
    default_mlmodel_path,
    default_model_path,
    load_classifier,
    load_mlmodel_entity,
)
from reference_runtime.preprocess import ImageError, preprocess_array, preprocess_image

REPO = Path(__file__).resolve().parents[1]
COMMON_SCHEMA_URL = "https://smart-data-models.github.io/data-models/common-schema.json"


def png(pixels: np.ndarray | Image.Image) -> bytes:
    image = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def canvas_rendition(digit: np.ndarray, side: int | None = None) -> bytes:
    """The digit as a browser canvas would send it: scaled up, off-centre on a transparent RGBA canvas, ink
    only in alpha; optionally scaled down to ``side``×``side`` as the demo page does before upload."""
    stroke = Image.fromarray(digit).resize((280, 280), Image.Resampling.BILINEAR)
    rgba = np.zeros((300, 400, 4), dtype=np.uint8)
    rgba[11:291, 37:317, 3] = np.asarray(stroke)
    image = Image.fromarray(rgba)
    if side is not None:
        image = image.resize((side, side), Image.Resampling.BILINEAR)
    return png(image)


@pytest.fixture(scope="module")
def entity() -> dict:
    return load_mlmodel_entity()


@pytest.fixture(scope="module")
def classifier(entity: dict) -> DigitClassifier:
    return DigitClassifier.from_mlmodel(entity)


@pytest.fixture(scope="module")
def holdout() -> tuple[np.ndarray, np.ndarray]:
    return dataset.holdout()


@pytest.fixture(scope="module")
def holdout_predictions(classifier: DigitClassifier, holdout: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Every held-out digit written as a PNG file's bytes and recognised from those bytes."""
    return np.array([classifier.predict(png(digit)).digit for digit in holdout[0]])


def metric(entity: dict, name: str) -> dict:
    # The held-out metrics; the other accuracies are per variant (tests/test_variants_evaluation.py).
    (found,) = [
        m for m in entity["metrics"] if m["metricName"] == name and m["evaluationSet"] == EVALUATION_SET
    ]
    return found


def test_committed_artifact_matches_its_entity(entity: dict) -> None:
    data = default_model_path().read_bytes()
    assert hashlib.sha256(data).hexdigest() == entity["modelSha256"]
    assert len(data) < 2 * 1024 * 1024


def test_mlmodel_entity_validates_against_the_schema(entity: dict) -> None:
    schemas = REPO / "schemas"
    common = json.loads((schemas / "external" / "common-schema.json").read_text(encoding="utf-8"))
    schema = json.loads((schemas / "MLModel" / "schema.json").read_text(encoding="utf-8"))
    registry = Registry().with_resource(COMMON_SCHEMA_URL, Resource.from_contents(common))
    validator = Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())
    assert [e.message for e in validator.iter_errors(entity)] == []
    assert entity["id"] == "urn:ngsi-ld:MLModel:digits-cnn"
    assert isinstance(entity["version"], str)
    assert entity["trainingDataset"]["sampleCount"] == 7000
    data_sha = hashlib.sha256(dataset.default_data_path().read_bytes()).hexdigest()
    assert entity["trainingDataset"]["datasetSha256"] == data_sha


def test_held_out_accuracy_through_the_real_path(
    entity: dict, holdout: tuple[np.ndarray, np.ndarray], holdout_predictions: np.ndarray
) -> None:
    labels = holdout[1]
    accuracy = float((holdout_predictions == labels).mean())
    print(f"held-out accuracy through PNG bytes: {accuracy:.4f} on {len(labels)} digits")
    assert len(labels) == 1000
    assert accuracy >= 0.985
    published = metric(entity, "accuracy")
    assert published["metricValue"] == pytest.approx(accuracy, abs=1e-9)
    assert published["sampleCount"] == len(labels)


def test_published_per_class_metrics_match(
    entity: dict, holdout: tuple[np.ndarray, np.ndarray], holdout_predictions: np.ndarray
) -> None:
    labels = holdout[1]
    recall = np.array([(holdout_predictions[labels == d] == d).mean() for d in range(10)])
    precision = np.array([(labels[holdout_predictions == d] == d).mean() for d in range(10)])
    f1 = 2 * precision * recall / (precision + recall)
    assert metric(entity, "minClassRecall")["metricValue"] == pytest.approx(recall.min(), abs=1e-9)
    assert metric(entity, "macroF1")["metricValue"] == pytest.approx(f1.mean(), abs=1e-9)


def test_prediction_contract(classifier: DigitClassifier, holdout: tuple[np.ndarray, np.ndarray]) -> None:
    prediction = classifier.predict(png(holdout[0][0]))
    assert isinstance(prediction, Prediction)
    assert isinstance(prediction.digit, int) and 0 <= prediction.digit <= 9
    assert len(prediction.scores) == 10
    assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in prediction.scores)
    assert sum(prediction.scores) == pytest.approx(1.0, abs=1e-9)
    assert prediction.confidence == max(prediction.scores) == prediction.scores[prediction.digit]


def test_renditions_are_predicted_like_the_original(
    classifier: DigitClassifier, holdout: tuple[np.ndarray, np.ndarray], holdout_predictions: np.ndarray
) -> None:
    digits, expected = holdout[0][:200], holdout_predictions[:200]
    alpha = np.zeros((200, 28, 28, 4), dtype=np.uint8)
    alpha[..., 3] = digits
    exact = {
        "rgba ink in alpha": [classifier.predict(png(a)).digit for a in alpha],
        "dark on light": [classifier.predict(png(255 - d)).digit for d in digits],
    }
    for name, predicted in exact.items():
        assert np.array_equal(predicted, expected), name
    # Rescaled renditions resample the strokes, so a rare borderline digit may flip.
    rescaled = {
        "280px canvas": [classifier.predict(canvas_rendition(d)).digit for d in digits],
        "canvas scaled to 28px": [classifier.predict(canvas_rendition(d, 28)).digit for d in digits],
    }
    for name, predicted in rescaled.items():
        assert np.mean(np.array(predicted) == expected) >= 0.98, name


def test_batch_and_single_predictions_agree(
    classifier: DigitClassifier, holdout: tuple[np.ndarray, np.ndarray]
) -> None:
    digits = holdout[0][:300]
    tensors = [preprocess_array(d) for d in digits]
    from_list = classifier.predict_batch(tensors)
    from_stack = classifier.predict_batch(np.stack(tensors))
    singles = [classifier.predict_array(d) for d in digits[:20]]
    assert [p.digit for p in from_list] == [p.digit for p in from_stack]
    assert [p.digit for p in singles] == [p.digit for p in from_list[:20]]
    for single, batched in zip(singles, from_list, strict=False):
        np.testing.assert_allclose(single.scores, batched.scores, atol=1e-6)
    assert classifier.predict_batch([]) == []


def test_batched_images_path_matches_single_predictions(
    classifier: DigitClassifier, holdout: tuple[np.ndarray, np.ndarray]
) -> None:
    files = [png(d) for d in holdout[0][:40]]
    files[7] = b"not an image"
    files[20] = png(np.zeros((28, 28), np.uint8))  # no ink
    results = classifier.predict_images(files)
    assert len(results) == len(files)
    assert isinstance(results[7], ImageError) and "not a PNG or JPEG" in str(results[7])
    assert isinstance(results[20], ImageError) and "blank" in str(results[20])
    for index, (data, result) in enumerate(zip(files, results, strict=True)):
        if index in (7, 20):
            continue
        single = classifier.predict(data)
        assert isinstance(result, Prediction) and result.digit == single.digit, index
        np.testing.assert_allclose(result.scores, single.scores, atol=1e-6)
    assert classifier.predict_images([]) == []
    assert all(isinstance(r, ImageError) for r in classifier.predict_images([b"x", b"y"]))


def test_batch_rejects_unprocessed_arrays(
    classifier: DigitClassifier, holdout: tuple[np.ndarray, np.ndarray]
) -> None:
    with pytest.raises(ValueError, match=r"\(1, 28, 28\)"):
        classifier.predict_batch(list(holdout[0][:3]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        classifier.predict_batch(holdout[0][:3, np.newaxis])


def test_concurrent_calls_give_the_sequential_results(
    classifier: DigitClassifier, holdout: tuple[np.ndarray, np.ndarray]
) -> None:
    images = [png(d) for d in holdout[0][:200]]
    sequential = [classifier.predict(b) for b in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(classifier.predict, images))
    assert concurrent == sequential


def test_unusable_image_raises_image_error(classifier: DigitClassifier) -> None:
    with pytest.raises(ImageError, match="not a PNG or JPEG"):
        classifier.predict(b"GIF89a not really")
    with pytest.raises(ImageError, match="blank"):
        classifier.predict(png(np.full((28, 28), 255, np.uint8)))


def test_checksum_mismatch_refuses_to_load(entity: dict) -> None:
    wrong = "0" * 64
    with pytest.raises(ModelIntegrityError, match=f"{entity['modelSha256']}.*{wrong}.*refusing"):
        DigitClassifier(default_model_path(), wrong)
    with pytest.raises(ValueError, match="64 hexadecimal"):
        DigitClassifier(default_model_path(), "not-a-checksum")


def test_unreadable_or_foreign_model_files(tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match="cannot read"):
        DigitClassifier(tmp_path / "missing.onnx", "0" * 64)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not an onnx model")
    with pytest.raises(ModelIntegrityError, match="cannot load"):
        DigitClassifier(junk, hashlib.sha256(junk.read_bytes()).hexdigest())


def test_load_classifier_pairs_entity_and_artifact(entity: dict, tmp_path: Path) -> None:
    classifier, loaded = load_classifier()
    assert loaded == entity
    assert classifier.model_path == default_model_path()
    # A copied pair: the artifact named by modelUrl is taken from the entity's folder.
    (tmp_path / "digits-cnn.onnx").write_bytes(default_model_path().read_bytes())
    (tmp_path / "mlmodel.json").write_text(json.dumps(entity), encoding="utf-8")
    classifier, _ = load_classifier(tmp_path / "mlmodel.json")
    assert classifier.model_path == tmp_path / "digits-cnn.onnx"
    # An entity announcing another checksum is refused, as a ValueError the CLI reports cleanly.
    (tmp_path / "mlmodel.json").write_text(json.dumps({**entity, "modelSha256": "1" * 64}), encoding="utf-8")
    with pytest.raises(ValueError, match="refusing"):
        load_classifier(tmp_path / "mlmodel.json")


def test_uppercase_checksum_is_accepted(entity: dict) -> None:
    classifier = DigitClassifier(default_model_path(), entity["modelSha256"].upper())
    assert classifier.sha256 == entity["modelSha256"]


def test_default_paths_point_at_the_committed_files() -> None:
    assert default_model_path().is_file()
    assert default_mlmodel_path().is_file()
    assert preprocess_image(png(np.eye(28, dtype=np.uint8) * 255)).shape == (1, 28, 28)
