"""The MLOps wiring lint: one test per rule (code, severity, ids, JSON path, line and column), clean sets,
the talk's looping SubscriptionQuery, a broker dump in normalized form and the command's exit codes."""

from __future__ import annotations

import copy
import difflib
import importlib
import json
import random
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import sdmtool
from sdmtool import forms, resources
from sdmtool.cli import main
from sdmtool.findings import ERROR, EXIT_INVALID, EXIT_OK, EXIT_USAGE, WARNING, Finding
from sdmtool.lint import RULES, compare_versions, lint, lint_items

MODEL_ID = "urn:ngsi-ld:MLModel:HandwrittenDigitPrediction"
PROCESSING_ID = "urn:ngsi-ld:MLProcessing:digits-01"
QUERY_ID = "urn:ngsi-ld:SubscriptionQuery:digits-01"
DIGIT_ID = "urn:ngsi-ld:HandwritingDigit:0007"
PREDICTED_IRI = "https://smartdatamodels.org/dataModel.MachineLearning/predictedDigit"
CONTEXT = [resources.SUBJECT_CONTEXT_URL, resources.CORE_CONTEXT_URL]


def example(entity_type: str) -> dict[str, Any]:
    path = resources.schemas_dir() / entity_type / "examples" / "example.json"
    return json.loads(path.read_text(encoding="utf-8"))


class Wiring:
    """The bundled examples (a consistent set), to break one member at a time."""

    def __init__(self) -> None:
        self.model = example("MLModel")
        self.processing = example("MLProcessing")
        self.query = example("SubscriptionQuery")
        self.digit = example("HandwritingDigit")
        self.extra: list[dict[str, Any]] = []

    def entities(self) -> list[dict[str, Any]]:
        return [self.model, self.processing, self.query, self.digit, *self.extra]


@pytest.fixture
def wiring() -> Wiring:
    return Wiring()


def position(text: str, *needles: str) -> tuple[int, int]:
    """(line, column), 1-based, of the last needle, each searched after the end of the one before."""
    offset = end = 0
    for needle in needles:
        offset = text.index(needle, end)
        end = offset + len(needle)
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def lint_file(
    tmp_path: Path, entities: list[dict[str, Any]], name: str = "set.json"
) -> tuple[list[Finding], str]:
    path = tmp_path / name
    text = json.dumps(entities, indent=2, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return lint(path), text


def only(findings: list[Finding], code: str) -> Finding:
    found = [finding for finding in findings if finding.code == code]
    assert len(found) == 1, findings
    assert found[0].code in RULES
    return found[0]


def codes(findings: list[Finding]) -> list[str]:
    return [finding.code for finding in findings]


# --- clean sets --------------------------------------------------------------------------------------


def test_bundled_examples_are_consistent(wiring: Wiring) -> None:
    paths = sorted(resources.schemas_dir().glob("*/examples/example.json"))
    assert len(paths) == 4
    assert lint(paths) == []
    # Every form of every example at once: the copies of one entity in other forms are the same entity.
    assert lint([path.parent for path in paths]) == []
    # One more digit, not predicted yet, and the runtime's own model beside the example one.
    fresh = {"id": "urn:ngsi-ld:HandwritingDigit:0008", "type": "HandwritingDigit"}
    fresh["imagePath"] = "file:///data/digits/0008.png"
    runtime_model = Path(__file__).resolve().parent.parent / "reference_runtime" / "model" / "mlmodel.json"
    assert lint([*wiring.entities(), fresh]) == []
    assert lint([*paths, runtime_model]) == []


def test_api_inputs(wiring: Wiring, tmp_path: Path) -> None:
    assert sdmtool.lint is lint
    assert lint(wiring.entities()) == []
    (tmp_path / "a.json").write_text(json.dumps(wiring.entities()[:2]))
    (tmp_path / "b.ndjson").write_text("\n".join(json.dumps(e) for e in wiring.entities()[2:]) + "\n")
    assert lint(tmp_path) == []
    assert lint([tmp_path / "a.json", str(tmp_path / "b.ndjson")]) == []
    # An entity alone: its references dangle; no file, so no line.
    findings = lint(wiring.processing)
    assert [(f.code, f.json_path) for f in findings] == [
        ("lint.ref.missing", "/refMLModel"),
        ("lint.ref.missing", "/refSubscriptionQuery"),
    ]
    assert all(f.line is None and f.file is None and f.index == 0 for f in findings)
    with pytest.raises(TypeError, match="lint"):
        lint(b"{}")  # type: ignore[arg-type]
    # Not entities (a JSON Schema, a number, no id): left out, with a warning each (validate says why).
    findings = lint([{"$schema": "x"}, 3, {"type": "MLModel"}])  # type: ignore[list-item]
    assert [(f.code, f.severity, f.index) for f in findings] == [
        ("lint.not-entity", WARNING, i) for i in range(3)
    ]
    schema, number, no_id = (finding.message for finding in findings)
    assert "JSON Schema" in schema and "not an entity: 3" in number and "without a string id" in no_id
    # No entity at all: a warning, as validate gives (a broker query without its Link header answers []).
    (tmp_path / "empty.json").write_text("[]")
    (finding,) = lint(tmp_path / "empty.json")
    assert (finding.code, finding.file) == ("input.no-entities", str(tmp_path / "empty.json"))


def test_paths_are_written_ones_in_notifications_and_features(wiring: Wiring, tmp_path: Path) -> None:
    processing = forms.to_normalized(wiring.processing) | {
        "refMLModel": {"type": "Relationship", "object": "urn:ngsi-ld:MLModel:nope"}
    }
    del processing["refSubscriptionQuery"]  # a notification carries only the attributes it was asked for
    notification = {"id": "urn:ngsi-ld:Notification:1", "type": "Notification", "data": [processing]}
    findings, text = lint_file(tmp_path, [notification])
    finding = only(findings, "lint.ref.missing")
    assert (finding.json_path, finding.index) == ("/data/0/refMLModel/object", 0)
    assert (finding.line, finding.column) == position(text, '"urn:ngsi-ld:MLModel:nope"')
    assert "lint.ref.absent" not in codes(findings)
    feature = {"type": "Feature", "id": processing["id"], "geometry": None}
    feature["properties"] = {k: v for k, v in processing.items() if k != "id"}
    collection = {"type": "FeatureCollection", "features": [feature]}
    (tmp_path / "set.geojson").write_text(json.dumps(collection, indent=2), encoding="utf-8")
    findings = lint(tmp_path / "set.geojson")
    assert only(findings, "lint.ref.missing").json_path == "/properties/refMLModel/object"


def test_duplicate_ids(wiring: Wiring, tmp_path: Path) -> None:
    changed = copy.deepcopy(wiring.model) | {"version": "13"}
    findings, text = lint_file(tmp_path, [*wiring.entities(), changed])
    finding = only(findings, "lint.duplicate-id")
    assert finding.severity == WARNING and finding.entity_id == MODEL_ID and MODEL_ID in finding.message
    assert finding.json_path == "/id" and finding.index == 4
    line, column = position(text, f'"id": "{MODEL_ID}"', f'"id": "{MODEL_ID}"')
    assert (finding.line, finding.column) == (line, column + len('"id": '))
    # The same entity again (a second copy, or another form of it) is no finding.
    assert lint([*wiring.entities(), forms.to_normalized(wiring.model, context=CONTEXT)]) == []


def test_both_entities_of_a_duplicate_id_are_checked(wiring: Wiring) -> None:
    """Which copy comes first must not decide whether the set passes."""
    looping = copy.deepcopy(wiring.model) | {"version": "13", "outputAttributes": ["imagePath"]}
    for entities in ([*wiring.entities(), looping], [looping, *wiring.entities()]):
        findings = lint(entities)
        assert sorted((f.code, f.severity, f.entity_id, f.json_path) for f in findings) == [
            ("lint.duplicate-id", WARNING, MODEL_ID, "/id"),
            ("lint.loop", ERROR, QUERY_ID, "/watchedAttributes/0"),
        ]
        assert "writes imagePath" in only(findings, "lint.loop").message
    # A wrong type in one of the copies is found whichever comes first.
    query_copy = copy.deepcopy(wiring.query) | {"id": MODEL_ID}
    for entities in ([*wiring.entities(), query_copy], [query_copy, *wiring.entities()]):
        found = {(f.code, f.entity_id) for f in lint(entities)}
        assert ("lint.ref.type", PROCESSING_ID) in found and ("lint.ref.type", DIGIT_ID) in found


# --- rule 1: references ------------------------------------------------------------------------------


def test_dangling_reference(wiring: Wiring, tmp_path: Path) -> None:
    gone = "urn:ngsi-ld:SubscriptionQuery:gone"
    wiring.processing["refSubscriptionQuery"] = gone
    findings, text = lint_file(tmp_path, wiring.entities())
    assert codes(findings) == ["lint.ref.missing"]
    (finding,) = findings
    assert finding.severity == ERROR and finding.category == "entity"
    assert finding.entity_id == PROCESSING_ID and finding.entity_type == "MLProcessing"
    assert (
        PROCESSING_ID in finding.message
        and gone in finding.message
        and "SubscriptionQuery" in finding.message
    )
    assert finding.json_path == "/refSubscriptionQuery" and finding.file == str(tmp_path / "set.json")
    assert (finding.line, finding.column) == position(text, f'"{gone}"')
    assert finding.index == 1


def test_dangling_reference_suggests_the_close_id(wiring: Wiring) -> None:
    # Slide 18 refers to urn:ngsi-ld:SubscriptionQuery:01; slide 19 names it urn:ngsi-ld:Subscription:01.
    wiring.query["id"] = "urn:ngsi-ld:Subscription:01"
    wiring.processing["refSubscriptionQuery"] = "urn:ngsi-ld:SubscriptionQuery:01"
    finding = only(lint(wiring.entities()), "lint.ref.missing")
    assert "did you mean urn:ngsi-ld:Subscription:01?" in finding.message


def test_reference_of_the_wrong_type(wiring: Wiring, tmp_path: Path) -> None:
    wiring.processing["refMLModel"] = QUERY_ID
    wiring.digit["refMLModel"] = PROCESSING_ID
    findings, text = lint_file(tmp_path, wiring.entities())
    assert codes(findings) == ["lint.ref.type", "lint.ref.type"]
    job, digit = findings
    assert job.severity == ERROR and job.entity_id == PROCESSING_ID and job.json_path == "/refMLModel"
    assert QUERY_ID in job.message and "which is a SubscriptionQuery, not a MLModel" in job.message
    assert (job.line, job.column) == position(text, '"refMLModel"', f'"{QUERY_ID}"')
    assert digit.entity_id == DIGIT_ID and digit.json_path == "/refMLModel"
    assert "which is a MLProcessing, not a MLModel" in digit.message
    assert (digit.line, digit.column) == position(
        text, f'"id": "{DIGIT_ID}"', '"refMLModel"', f'"{PROCESSING_ID}"'
    )


def test_dangling_item_of_a_list_of_references(wiring: Wiring, tmp_path: Path) -> None:
    other = "urn:ngsi-ld:MLProcessing:other"
    wiring.model["refMLProcessing"] = [PROCESSING_ID, other]
    findings, text = lint_file(tmp_path, wiring.entities())
    finding = only(findings, "lint.ref.missing")
    assert finding.entity_id == MODEL_ID and finding.json_path == "/refMLProcessing/1"
    assert other in finding.message and MODEL_ID in finding.message
    assert (finding.line, finding.column) == position(text, f'"{other}"')


def test_output_entity_absent_is_a_warning(wiring: Wiring, tmp_path: Path) -> None:
    target = "urn:ngsi-ld:PredictionResult:board"
    wiring.processing["refOutputEntity"] = target
    findings, text = lint_file(tmp_path, wiring.entities())
    (finding,) = findings
    assert (finding.code, finding.severity) == ("lint.ref.missing", WARNING)
    assert finding.entity_id == PROCESSING_ID and target in finding.message
    assert finding.json_path == "/refOutputEntity" and (finding.line, finding.column) == position(
        text, f'"{target}"'
    )
    # Present, of any type: fine.
    assert lint([*wiring.entities(), {"id": target, "type": "PredictionResult"}]) == []


def test_every_instance_of_a_multi_instance_reference_is_checked(wiring: Wiring, tmp_path: Path) -> None:
    processing = forms.to_normalized(wiring.processing)
    gone = "urn:ngsi-ld:MLModel:gone"
    processing["refMLModel"] = [
        {"type": "Relationship", "object": MODEL_ID},
        {"type": "Relationship", "object": gone, "datasetId": "urn:ngsi-ld:Dataset:candidate"},
    ]
    findings, text = lint_file(tmp_path, [wiring.model, processing, wiring.query, wiring.digit])
    assert codes(findings) == ["lint.ref.missing"]
    (finding,) = findings
    assert finding.severity == ERROR and finding.entity_id == PROCESSING_ID
    assert finding.json_path == "/refMLModel/1/object"
    assert gone in finding.message and PROCESSING_ID in finding.message
    assert (finding.line, finding.column) == position(text, f'"{gone}"')


def test_missing_references_are_suggested_without_comparing_every_id(
    wiring: Wiring, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lint's work grows with the set, not with its square: counted, not timed."""
    lint_module = importlib.import_module("sdmtool.lint")  # the package's `lint` is the function
    calls = {"get": 0, "compared": 0}
    get, set_seq1 = lint_module._Entity.get, difflib.SequenceMatcher.set_seq1

    def counting_get(self: Any, name: str) -> Any:
        calls["get"] += 1
        return get(self, name)

    def counting_set_seq1(self: difflib.SequenceMatcher[str], a: str) -> None:
        calls["compared"] += 1
        set_seq1(self, a)

    monkeypatch.setattr(lint_module._Entity, "get", counting_get)
    monkeypatch.setattr(difflib.SequenceMatcher, "set_seq1", counting_set_seq1)

    def work(size: int) -> tuple[int, int]:
        entities: list[dict[str, Any]] = []
        for i in range(size):
            model = copy.deepcopy(wiring.model) | {"id": f"urn:ngsi-ld:MLModel:m{i}", "name": f"model {i}"}
            del model["refMLProcessing"]
            query = copy.deepcopy(wiring.query) | {"id": f"urn:ngsi-ld:SubscriptionQuery:q{i}"}
            processing = copy.deepcopy(wiring.processing) | {
                "id": f"urn:ngsi-ld:MLProcessing:p{i}",
                "refMLModel": model["id"],
                "refSubscriptionQuery": query["id"],
            }
            digit = copy.deepcopy(wiring.digit) | {
                "id": f"urn:ngsi-ld:HandwritingDigit:{i}",
                "refMLModel": f"urn:ngsi-ld:MLModel:x{i}",  # no such model: a suggestion is looked for
            }
            entities += [model, query, processing, digit]
        calls.update(get=0, compared=0)
        findings = lint(entities)
        assert codes(findings) == ["lint.ref.missing"] * size
        assert (
            findings[0].json_path == "/refMLModel"
            and findings[0].entity_id == "urn:ngsi-ld:HandwritingDigit:0"
        )
        return calls["get"], calls["compared"]

    small, large = work(25), work(100)
    assert large[0] < 5 * small[0]  # four times the entities: about four times the look-ups
    assert large[1] < 5 * small[1]


def test_processing_without_model_or_query(wiring: Wiring, tmp_path: Path) -> None:
    del wiring.processing["refSubscriptionQuery"]
    findings, text = lint_file(tmp_path, wiring.entities())
    finding = only(findings, "lint.ref.absent")
    assert finding.severity == WARNING and finding.entity_id == PROCESSING_ID
    assert finding.json_path == "/refSubscriptionQuery"
    line, _ = position(text, f'"id": "{PROCESSING_ID}"')
    assert (finding.line, finding.column) == (line - 1, 3)  # a missing member: located at its entity


def test_empty_list_of_references_is_absent(wiring: Wiring) -> None:
    """An empty list names no model (or query): the job cannot run, as when the member is missing."""
    wiring.processing["refMLModel"] = []
    wiring.processing["refSubscriptionQuery"] = []
    for processing, suffix in ((wiring.processing, ""), (forms.to_normalized(wiring.processing), "/object")):
        findings = lint([wiring.model, processing, wiring.query, wiring.digit])
        assert [(f.code, f.severity, f.entity_id, f.json_path) for f in findings] == [
            ("lint.ref.absent", WARNING, PROCESSING_ID, "/refMLModel" + suffix),
            ("lint.ref.absent", WARNING, PROCESSING_ID, "/refSubscriptionQuery" + suffix),
        ]
        assert f"MLProcessing {PROCESSING_ID} has no refMLModel" in findings[0].message
        assert f"MLProcessing {PROCESSING_ID} has no refSubscriptionQuery" in findings[1].message


# --- rule 2: the inputs are delivered ----------------------------------------------------------------


def test_inputs_not_notified(wiring: Wiring, tmp_path: Path) -> None:
    wiring.query["notification"]["attributes"] = ["imagePath"]
    findings, text = lint_file(tmp_path, wiring.entities())
    assert codes(findings) == ["lint.inputs.not-notified"]
    (finding,) = findings
    assert finding.severity == ERROR and finding.entity_id == QUERY_ID
    for named in (QUERY_ID, MODEL_ID, PROCESSING_ID, "imageMetadata"):
        assert named in finding.message
    assert finding.json_path == "/notification/attributes"
    assert (finding.line, finding.column) == position(text, '"notification"', '"attributes"', "[")
    # Without notification.attributes every attribute is delivered.
    del wiring.query["notification"]["attributes"]
    assert lint(wiring.entities()) == []


def test_pick_and_omit_that_drop_an_input(wiring: Wiring, tmp_path: Path) -> None:
    del wiring.query["notification"]["attributes"]
    wiring.query["notification"]["omit"] = ["digitScores", "imagePath"]
    findings, text = lint_file(tmp_path, wiring.entities())
    assert codes(findings) == ["lint.inputs.not-notified"]
    (finding,) = findings
    assert finding.severity == ERROR and finding.entity_id == QUERY_ID
    assert finding.json_path == "/notification/omit/1"
    assert (finding.line, finding.column) == position(text, '"omit"', '"imagePath"')
    assert "notification.omit" in finding.message and "imagePath" in finding.message
    assert "imageMetadata" not in finding.message
    for named in (QUERY_ID, MODEL_ID, PROCESSING_ID):
        assert named in finding.message
    # pick keeps only what it names.
    del wiring.query["notification"]["omit"]
    wiring.query["notification"]["pick"] = ["id", "imageMetadata"]
    findings, text = lint_file(tmp_path, wiring.entities())
    assert codes(findings) == ["lint.inputs.not-notified"]
    (finding,) = findings
    assert finding.json_path == "/notification/pick" and "notification.pick" in finding.message
    assert "imagePath" in finding.message and "imageMetadata" not in finding.message
    assert (finding.line, finding.column) == position(text, '"pick"', "[")
    wiring.query["notification"]["pick"] = ["id", "imagePath", "imageMetadata"]
    wiring.query["notification"]["omit"] = ["digitScores"]
    assert lint(wiring.entities()) == []


# --- rule 3: no loop ---------------------------------------------------------------------------------


def test_slide_19_query_is_a_loop(tmp_path: Path) -> None:
    """The talk's SubscriptionQuery watches the outputs and asks for the inputs, the other way round."""
    model = {
        "id": "urn:ngsi-ld:MLModel:01",
        "type": "MLModel",
        "version": "1",
        "inputAttributes": ["imagePath"],
        "outputAttributes": ["predictedDigit", "confidence"],
    }
    processing = {
        "id": "urn:ngsi-ld:MLProcessing:01",
        "type": "MLProcessing",
        "refMLModel": "urn:ngsi-ld:MLModel:01",
        "refSubscriptionQuery": "urn:ngsi-ld:SubscriptionQuery:01",
    }
    query = {
        "id": "urn:ngsi-ld:SubscriptionQuery:01",
        "type": "SubscriptionQuery",
        "entities": [{"type": "HandwritingDigit"}],
        "notification": {
            "attributes": ["imagePath", "imageMetadata"],
            "format": "keyValues",
            "endpoint": {"uri": "http://my-domain-name", "accept": "application/json"},
        },
        "q": "language==urn:ngsi-ld:lang:Spanish",
        "watchedAttributes": ["predictedDigit", "confidence"],
        "@context": CONTEXT,
    }
    findings, text = lint_file(tmp_path, [model, processing, query])
    loop = only(findings, "lint.loop")
    assert loop.severity == ERROR and loop.entity_id == query["id"]
    assert loop.json_path == "/watchedAttributes/0"
    assert (loop.line, loop.column) == position(text, '"watchedAttributes"', '"predictedDigit"')
    chain = (
        "HandwritingDigit change → SubscriptionQuery urn:ngsi-ld:SubscriptionQuery:01 → MLProcessing "
        "urn:ngsi-ld:MLProcessing:01 → MLModel urn:ngsi-ld:MLModel:01 writes predictedDigit, confidence → "
        "HandwritingDigit change"
    )
    assert chain in loop.message and "refuses" in loop.message
    # Its q reads an attribute no HandwritingDigit has: the other half of what is wrong with it.
    assert only(findings, "lint.query.attribute").severity == WARNING
    assert codes(findings) == ["lint.query.attribute", "lint.loop"]


def test_watched_output_written_as_an_iri(wiring: Wiring) -> None:
    wiring.query["watchedAttributes"] = ["imagePath", PREDICTED_IRI]
    finding = only(lint(wiring.entities()), "lint.loop")
    assert finding.severity == ERROR and finding.json_path == "/watchedAttributes/1"
    assert "holds the output(s) predictedDigit" in finding.message


def test_no_watched_attributes_is_a_loop_when_results_go_to_the_data(wiring: Wiring, tmp_path: Path) -> None:
    del wiring.query["watchedAttributes"]
    findings, text = lint_file(tmp_path, wiring.entities())
    assert codes(findings) == ["lint.loop"]
    (finding,) = findings
    assert finding.severity == WARNING and finding.entity_id == QUERY_ID
    chain = (
        f"HandwritingDigit change → SubscriptionQuery {QUERY_ID} → MLProcessing {PROCESSING_ID} → MLModel "
        f"{MODEL_ID} writes predictedDigit, confidence, digitScores, refMLModel, modelVersion, datePredicted "
        "→ HandwritingDigit change"
    )
    assert chain in finding.message
    assert 'add watchedAttributes ["imagePath", "imageMetadata"]' in finding.message
    # A missing member is reported at its path, located at the entity that lacks it.
    assert finding.json_path == "/watchedAttributes"
    line, _ = position(text, f'"id": "{QUERY_ID}"')
    assert (finding.line, finding.column) == (line - 1, 3)


def test_no_watched_attributes_with_a_separate_output_entity(wiring: Wiring) -> None:
    del wiring.query["watchedAttributes"]
    board = {"id": "urn:ngsi-ld:PredictionResult:board", "type": "PredictionResult"}
    wiring.processing["refOutputEntity"] = board["id"]
    wiring.extra.append(board)
    assert lint(wiring.entities()) == []  # the query does not select the entity the results go to
    # An output entity the query selects loops all the same.
    summary = {"id": "urn:ngsi-ld:HandwritingDigit:summary", "type": "HandwritingDigit"}
    wiring.processing["refOutputEntity"] = summary["id"]
    wiring.extra = [summary]
    finding = only(lint(wiring.entities()), "lint.loop")
    assert f"HandwritingDigit {summary['id']} change → SubscriptionQuery {QUERY_ID}" in finding.message
    # ... unless its selectors leave it out.
    wiring.query["entities"] = [
        {"type": "HandwritingDigit", "idPattern": "^urn:ngsi-ld:HandwritingDigit:[0-9]+$"}
    ]
    assert lint(wiring.entities()) == []


def test_loop_through_the_queries_of_two_jobs(tmp_path: Path) -> None:
    """Neither job notifies itself, but each one's write-back notifies the other."""

    def job(name: str, inputs: list[str], outputs: list[str]) -> list[dict[str, Any]]:
        model = {
            "id": f"urn:ngsi-ld:MLModel:{name}",
            "type": "MLModel",
            "name": name,
            "version": "1",
            "inputAttributes": inputs,
            "outputAttributes": outputs,
        }
        query = {
            "id": f"urn:ngsi-ld:SubscriptionQuery:{name}",
            "type": "SubscriptionQuery",
            "entities": [{"type": "HandwritingDigit"}],
            "watchedAttributes": inputs,
            "notification": {"endpoint": {"uri": f"http://127.0.0.1:5001/{name}"}},
        }
        processing = {
            "id": f"urn:ngsi-ld:MLProcessing:{name}",
            "type": "MLProcessing",
            "refMLModel": model["id"],
            "refSubscriptionQuery": query["id"],
        }
        return [model, query, processing]

    first = job("A", ["imagePath"], ["predictedDigit", "confidence"])
    second = job("B", ["confidence"], ["imagePath"])
    findings, text = lint_file(tmp_path, first + second)
    loop = only(findings, "lint.loop")
    assert codes(findings) == ["lint.loop"]  # once, not again at the other query
    assert loop.severity == ERROR and loop.entity_id == "urn:ngsi-ld:SubscriptionQuery:A"
    assert loop.json_path == "/watchedAttributes/0"
    assert (loop.line, loop.column) == position(text, '"urn:ngsi-ld:SubscriptionQuery:A"', '"imagePath"')
    chain = (
        "HandwritingDigit change → SubscriptionQuery urn:ngsi-ld:SubscriptionQuery:A → MLProcessing "
        "urn:ngsi-ld:MLProcessing:A → MLModel urn:ngsi-ld:MLModel:A writes confidence → HandwritingDigit "
        "change → SubscriptionQuery urn:ngsi-ld:SubscriptionQuery:B → MLProcessing "
        "urn:ngsi-ld:MLProcessing:B → MLModel urn:ngsi-ld:MLModel:B writes imagePath → HandwritingDigit "
        "change → SubscriptionQuery urn:ngsi-ld:SubscriptionQuery:A"
    )
    assert "notification loop through 2 jobs" in loop.message and chain in loop.message
    # Whichever order the files come in, the loop is named at the same query.
    reordered = lint(second + first)
    assert [(f.code, f.entity_id, f.json_path) for f in reordered] == [
        ("lint.loop", "urn:ngsi-ld:SubscriptionQuery:A", "/watchedAttributes/0")
    ]
    assert chain in reordered[0].message
    # B without watchedAttributes: sdm-runtime watches its input, confidence, so the loop is the same
    # (and B's query, as it is, would notify B of its own write-back: the warning of rule 3).
    del second[1]["watchedAttributes"]
    assert [(f.code, f.entity_id, f.json_path) for f in lint(first + second)] == [
        ("lint.loop", "urn:ngsi-ld:SubscriptionQuery:A", "/watchedAttributes/0"),
        ("lint.loop", "urn:ngsi-ld:SubscriptionQuery:B", "/watchedAttributes"),
    ]
    # B writing what A does not watch: no loop.
    second[1]["watchedAttributes"] = ["confidence"]
    second[0]["outputAttributes"] = ["annotatedDigit"]
    assert lint(first + second) == []


def test_jobs_sharing_a_query_without_watched_attributes_loop(tmp_path: Path) -> None:
    """sdm-runtime subscribes each job of a query without watchedAttributes on its own model's inputs: two
    jobs of one query whose write-backs are each other's inputs loop as if they had a query each."""
    query = {
        "id": "urn:ngsi-ld:SubscriptionQuery:q1",
        "type": "SubscriptionQuery",
        "entities": [{"type": "HandwritingDigit"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:5001/notify/data"}},
    }
    entities: list[dict[str, Any]] = [query]
    for name, inputs, outputs in (("1", "imagePath", "predictedDigit"), ("2", "predictedDigit", "imagePath")):
        entities += [
            {
                "id": f"urn:ngsi-ld:MLModel:m{name}",
                "type": "MLModel",
                "inputAttributes": [inputs],
                "outputAttributes": [outputs],
            },
            {
                "id": f"urn:ngsi-ld:MLProcessing:p{name}",
                "type": "MLProcessing",
                "refMLModel": f"urn:ngsi-ld:MLModel:m{name}",
                "refSubscriptionQuery": query["id"],
            },
        ]
    findings, _ = lint_file(tmp_path, entities)
    assert [(f.code, f.severity, f.entity_id, f.json_path) for f in findings] == [
        ("lint.loop", WARNING, query["id"], "/watchedAttributes"),  # each job alone (rule 3)
        ("lint.loop", WARNING, query["id"], "/watchedAttributes"),
        ("lint.loop", ERROR, query["id"], "/watchedAttributes"),  # the two together
    ]
    chain = (
        "HandwritingDigit change → SubscriptionQuery urn:ngsi-ld:SubscriptionQuery:q1 → MLProcessing "
        "urn:ngsi-ld:MLProcessing:p1 → MLModel urn:ngsi-ld:MLModel:m1 writes predictedDigit → "
        "HandwritingDigit change → SubscriptionQuery urn:ngsi-ld:SubscriptionQuery:q1 → MLProcessing "
        "urn:ngsi-ld:MLProcessing:p2 → MLModel urn:ngsi-ld:MLModel:m2 writes imagePath → HandwritingDigit "
        "change → SubscriptionQuery urn:ngsi-ld:SubscriptionQuery:q1"
    )
    loop = findings[2].message
    assert "notification loop through 2 jobs" in loop and chain in loop
    assert (
        "SubscriptionQuery urn:ngsi-ld:SubscriptionQuery:q1 has no watchedAttributes and serves MLProcessing "
        "urn:ngsi-ld:MLProcessing:p1, MLProcessing urn:ngsi-ld:MLProcessing:p2" in loop
    )
    # The advice of rule 3 is no longer to add the job's inputs to a query the other job shares.
    assert (
        "give MLProcessing urn:ngsi-ld:MLProcessing:p1 a SubscriptionQuery of its own with watchedAttributes "
        '["imagePath"]: this one also serves MLProcessing urn:ngsi-ld:MLProcessing:p2' in findings[0].message
    )
    assert "MLProcessing urn:ngsi-ld:MLProcessing:p2 a SubscriptionQuery of its own" in findings[1].message
    # With watchedAttributes the jobs of the query share them: each job's own loop is what to fix (rule 3).
    query["watchedAttributes"] = ["imagePath", "predictedDigit"]
    assert [(f.code, f.severity, f.entity_id, f.json_path) for f in lint(entities)] == [
        ("lint.loop", ERROR, query["id"], "/watchedAttributes/1"),  # m1 writes predictedDigit
        ("lint.loop", ERROR, query["id"], "/watchedAttributes/0"),  # m2 writes imagePath
    ]


def chained_job(name: str, watched: str, written: str) -> list[dict[str, Any]]:
    """A model, its query (watching its input) and its MLProcessing, all named ``name``."""
    return [
        {
            "id": f"urn:ngsi-ld:MLModel:{name}",
            "type": "MLModel",
            "inputAttributes": [watched],
            "outputAttributes": [written],
        },
        {
            "id": f"urn:ngsi-ld:SubscriptionQuery:{name}",
            "type": "SubscriptionQuery",
            "entities": [{"type": "HandwritingDigit"}],
            "watchedAttributes": [watched],
        },
        {
            "id": f"urn:ngsi-ld:MLProcessing:{name}",
            "type": "MLProcessing",
            "refMLModel": f"urn:ngsi-ld:MLModel:{name}",
            "refSubscriptionQuery": f"urn:ngsi-ld:SubscriptionQuery:{name}",
        },
    ]


def test_loop_through_three_jobs_and_a_knot_are_reported_once() -> None:
    ring = [
        ("A", "imagePath", "confidence"),
        ("B", "confidence", "digitScores"),
        ("C", "digitScores", "imagePath"),
    ]
    entities = [entity for job in ring for entity in chained_job(*job)]
    (loop,) = lint(entities)
    assert (loop.code, loop.entity_id, loop.json_path) == (
        "lint.loop",
        "urn:ngsi-ld:SubscriptionQuery:A",
        "/watchedAttributes/0",
    )
    assert "through 3 jobs" in loop.message
    for name, _, written in ring:
        assert f"MLModel urn:ngsi-ld:MLModel:{name} writes {written}" in loop.message
    # D closes a second, shorter loop with A: one finding for the knot, its shortest loop and the other jobs.
    (loop,) = lint([*entities, *chained_job("D", "confidence", "imagePath")])
    assert (loop.code, loop.entity_id, loop.json_path) == (
        "lint.loop",
        "urn:ngsi-ld:SubscriptionQuery:A",
        "/watchedAttributes/0",
    )
    assert (
        "through 2 jobs" in loop.message and "MLModel urn:ngsi-ld:MLModel:D writes imagePath" in loop.message
    )
    assert loop.message.endswith(
        "4 jobs notify one another in all: other loops run through MLProcessing urn:ngsi-ld:MLProcessing:B, "
        "MLProcessing urn:ngsi-ld:MLProcessing:C"
    )
    # Results written to an entity that the next query does not select break the ring.
    entities[2]["refOutputEntity"] = "urn:ngsi-ld:HandwritingDigit:0007"
    entities[4]["entities"] = [{"type": "HandwritingDigit", "idPattern": "^urn:ngsi-ld:HandwritingDigit:1"}]
    digit = {"id": "urn:ngsi-ld:HandwritingDigit:0007", "type": "HandwritingDigit"}
    assert lint([*entities, digit]) == []


def selecting(job: list[dict[str, Any]], **selector: str) -> list[dict[str, Any]]:
    """A :func:`chained_job` whose query selects the HandwritingDigits of the id or idPattern given."""
    job[1]["entities"] = [{"type": "HandwritingDigit", **selector}]
    return job


def test_loop_through_id_patterns_that_cannot_be_compared() -> None:
    """Whether two different idPatterns share an id is not told: a loop through them is only possible."""
    digit = "urn:ngsi-ld:HandwritingDigit:"
    first = selecting(chained_job("A", "imagePath", "confidence"), idPattern=f"^{digit}A$")
    second = selecting(chained_job("B", "confidence", "imagePath"), idPattern=f"^{digit}B$")
    (loop,) = lint(first + second)
    assert (loop.code, loop.severity, loop.entity_id, loop.json_path) == (
        "lint.loop",
        WARNING,
        "urn:ngsi-ld:SubscriptionQuery:A",
        "/watchedAttributes/0",
    )
    assert loop.message.startswith("possible notification loop through 2 jobs")
    assert loop.message.endswith(
        "it loops only if the idPatterns of SubscriptionQuery urn:ngsi-ld:SubscriptionQuery:A and "
        "SubscriptionQuery urn:ngsi-ld:SubscriptionQuery:B match common ids, which cannot be told from "
        "patterns"
    )
    # The same pattern selects the same ids: a loop for sure.
    second[1]["entities"][0]["idPattern"] = f"^{digit}A$"
    (loop,) = lint(first + second)
    assert (loop.code, loop.severity, loop.entity_id) == (
        "lint.loop",
        ERROR,
        "urn:ngsi-ld:SubscriptionQuery:A",
    )
    assert loop.message.startswith("notification loop through 2 jobs") and "idPatterns" not in loop.message
    # An id is matched against a pattern: the loop is there or not.
    first[1]["entities"] = [{"type": "HandwritingDigit", "id": f"{digit}A"}]
    second[1]["entities"][0]["idPattern"] = f"^{digit}[AB]$"
    assert [(f.code, f.severity) for f in lint(first + second)] == [("lint.loop", ERROR)]
    second[1]["entities"][0]["idPattern"] = f"^{digit}B$"
    assert lint(first + second) == []


def test_loops_through_many_id_patterns_are_decided_per_selection_not_per_pair(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Jobs that each select their own idPattern, half writing what the other half watches: the pairs of
    jobs that may notify each other grow with the square of the jobs, the selections compared must not."""
    lint_module = importlib.import_module("sdmtool.lint")
    calls = {"feeds": 0}
    feeds = lint_module._Job.feeds

    def counting_feeds(self: Any, *args: Any) -> Any:
        calls["feeds"] += 1
        return feeds(self, *args)

    monkeypatch.setattr(lint_module._Job, "feeds", counting_feeds)
    size = 40
    entities: list[dict[str, Any]] = []
    for i in range(size):
        watched, written = ("imagePath", "confidence") if i % 2 == 0 else ("confidence", "imagePath")
        pattern = f"^urn:ngsi-ld:HandwritingDigit:{i}$"
        entities += selecting(chained_job(f"J{i:03}", watched, written), idPattern=pattern)
    (loop,) = lint(entities)
    assert calls["feeds"] <= 2 * size  # not size * size / 2: once per job and selection it may notify
    assert (loop.code, loop.severity, loop.entity_id, loop.json_path) == (
        "lint.loop",
        WARNING,
        "urn:ngsi-ld:SubscriptionQuery:J000",
        "/watchedAttributes/0",
    )
    assert loop.message.startswith("possible notification loop through 2 jobs")
    assert "MLModel urn:ngsi-ld:MLModel:J001 writes imagePath" in loop.message
    assert f"{size} jobs notify one another in all" in loop.message
    assert (
        "the idPatterns of SubscriptionQuery urn:ngsi-ld:SubscriptionQuery:J000 and SubscriptionQuery "
        "urn:ngsi-ld:SubscriptionQuery:J001 match common ids" in loop.message
    )


def test_watched_output_behind_an_alias_of_the_entity_context(wiring: Wiring, tmp_path: Path) -> None:
    wiring.query["@context"] = [{"pd": PREDICTED_IRI}, resources.UPSTREAM_CONTEXT_URL]
    wiring.query["watchedAttributes"] = ["imagePath", "pd"]
    findings, text = lint_file(tmp_path, wiring.entities())
    assert codes(findings) == ["lint.loop"]
    (finding,) = findings
    assert finding.severity == ERROR and finding.entity_id == QUERY_ID
    assert finding.json_path == "/watchedAttributes/1"
    assert (finding.line, finding.column) == position(text, '"watchedAttributes"', '"pd"')
    assert f"holds the output(s) predictedDigit of MLModel {MODEL_ID}" in finding.message
    # An alias of a member name, a compact IRI with a prefix of the entity's context, the core context.
    gone = "urn:ngsi-ld:MLModel:gone"
    del wiring.processing["refMLModel"]
    wiring.processing["uses"] = gone
    wiring.processing["@context"] = [
        {"mlm": "https://smartdatamodels.org/dataModel.MachineLearning/", "uses": "mlm:refMLModel"},
        resources.CORE_CONTEXT_URL,
    ]
    wiring.query["@context"] = {"mlm": "https://smartdatamodels.org/dataModel.MachineLearning/"}
    wiring.query["watchedAttributes"] = ["imagePath", "mlm:confidence"]
    findings = lint(wiring.entities())
    assert [(f.code, f.entity_id, f.json_path) for f in findings] == [
        ("lint.ref.missing", PROCESSING_ID, "/uses")
    ]
    assert gone in findings[0].message
    wiring.processing["refMLModel"] = MODEL_ID
    del wiring.processing["uses"]
    (finding,) = lint(wiring.entities())
    assert (finding.code, finding.json_path) == ("lint.loop", "/watchedAttributes/1")
    assert "holds the output(s) confidence" in finding.message


def test_every_instance_of_multi_instance_watched_attributes(wiring: Wiring, tmp_path: Path) -> None:
    query = forms.to_normalized(wiring.query)
    query["watchedAttributes"] = [
        {"type": "Property", "value": ["imagePath"]},
        {"type": "Property", "value": ["predictedDigit"], "datasetId": "urn:ngsi-ld:Dataset:b"},
    ]
    findings, text = lint_file(tmp_path, [wiring.model, wiring.processing, query, wiring.digit])
    assert codes(findings) == ["lint.loop"]
    (finding,) = findings
    assert finding.severity == ERROR and finding.entity_id == QUERY_ID
    assert finding.json_path == "/watchedAttributes/1/value/0"
    assert (finding.line, finding.column) == position(text, '"watchedAttributes"', '"predictedDigit"')
    assert f"holds the output(s) predictedDigit of MLModel {MODEL_ID}" in finding.message


def test_loop_to_an_output_entity_outside_the_set(wiring: Wiring) -> None:
    target = "urn:ngsi-ld:HandwritingDigit:0042"
    wiring.processing["refOutputEntity"] = target
    wiring.query["watchedAttributes"] = ["predictedDigit"]
    findings = lint(wiring.entities())
    assert [(f.code, f.severity, f.entity_id, f.json_path) for f in findings] == [
        ("lint.ref.missing", WARNING, PROCESSING_ID, "/refOutputEntity"),
        ("lint.loop", ERROR, QUERY_ID, "/watchedAttributes/0"),
    ]
    message = findings[1].message
    assert f"writes them to {target}, which is not in the set" in message
    assert "cannot be told" in message and "does not select" not in message


def test_id_pattern_is_posix_and_id_decides(wiring: Wiring) -> None:
    del wiring.query["watchedAttributes"]
    wiring.processing["refOutputEntity"] = DIGIT_ID
    wiring.query["entities"] = [
        {"type": "HandwritingDigit", "idPattern": "^urn:ngsi-ld:HandwritingDigit:[[:digit:]]+$"}
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Python's re reads [[:digit:]] as a nested set, and warns
        finding = only(lint(wiring.entities()), "lint.loop")
    assert finding.severity == WARNING and finding.entity_id == QUERY_ID
    assert f"HandwritingDigit {DIGIT_ID} change → SubscriptionQuery {QUERY_ID}" in finding.message
    # With an id, the id decides (as on a broker): the idPattern is not looked at.
    wiring.query["entities"] = [{"type": "HandwritingDigit", "id": DIGIT_ID, "idPattern": "^nomatch$"}]
    assert only(lint(wiring.entities()), "lint.loop").json_path == "/watchedAttributes"
    wiring.query["entities"] = [{"type": "HandwritingDigit", "id": "urn:ngsi-ld:HandwritingDigit:1"}]
    assert lint(wiring.entities()) == []


def test_id_pattern_that_backtracks_does_not_hang(wiring: Wiring, tmp_path: Path) -> None:
    """(a+)+$ against a's and a '!' takes Python's re hours; the broker's matcher, linear time."""
    digit = wiring.digit | {"id": "urn:ngsi-ld:HandwritingDigit:" + "a" * 40 + "!"}
    root = Path(__file__).resolve().parent.parent
    wiring.processing["refOutputEntity"] = digit["id"]
    wiring.query["entities"] = [
        {"type": "HandwritingDigit", "idPattern": "^urn:ngsi-ld:HandwritingDigit:(a+)+$"}
    ]
    del wiring.query["watchedAttributes"]
    path = tmp_path / "set.json"
    path.write_text(json.dumps([wiring.model, wiring.processing, wiring.query, digit]), encoding="utf-8")
    # In a child process: a backtracking match holds the interpreter, so only a kill stops it.
    script = "import sys, sdmtool; print([f.code for f in sdmtool.lint(sys.argv[1])])"
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "[]"  # the pattern does not select the output entity: no loop


def test_id_pattern_too_costly_to_match_is_no_match(wiring: Wiring) -> None:
    """The matcher gives up on a pattern of hundreds of states against an id of thousands of characters;
    a broker's subscription then takes it as no match, and so does the lint (it raised before)."""
    letters = random.Random(1)  # an id without a period, so that the matcher meets new states throughout
    digit = wiring.digit | {"id": "urn:ngsi-ld:HandwritingDigit:" + "".join(letters.choices("ab", k=20000))}
    wiring.processing["refOutputEntity"] = digit["id"]
    wiring.query["watchedAttributes"] = ["predictedDigit"]
    wiring.query["entities"] = [{"type": "HandwritingDigit", "idPattern": "[ab]*a" + "[ab]" * 200 + "c"}]
    findings = lint([wiring.model, wiring.processing, wiring.query, digit])
    assert [(f.code, f.severity, f.entity_id, f.json_path) for f in findings] == [
        ("lint.loop", ERROR, QUERY_ID, "/watchedAttributes/0")
    ]
    assert "which the query does not select, so it does not loop yet" in findings[0].message


# --- rule 4: outputs exist in the target type ---------------------------------------------------------


def test_output_not_in_the_target_schema(wiring: Wiring, tmp_path: Path) -> None:
    wiring.model["outputAttributes"] = [*wiring.model["outputAttributes"], "predictionClass"]
    findings, text = lint_file(tmp_path, wiring.entities())
    assert codes(findings) == ["lint.output.undeclared"]
    (finding,) = findings
    assert finding.severity == ERROR and finding.entity_id == MODEL_ID
    for named in ("predictionClass", MODEL_ID, "HandwritingDigit", PROCESSING_ID, QUERY_ID):
        assert named in finding.message
    assert finding.json_path == "/outputAttributes/6"
    assert (finding.line, finding.column) == position(text, '"outputAttributes"', '"predictionClass"')
    # Written to an entity of a type without a bundled schema: nothing to check against.
    board = {"id": "urn:ngsi-ld:PredictionResult:board", "type": "PredictionResult"}
    wiring.processing["refOutputEntity"] = board["id"]
    assert lint([*wiring.entities(), board]) == []


def test_outputs_of_an_entity_of_several_types(wiring: Wiring) -> None:
    """``A;B`` selects entities that have both types, so their attributes: an output is declared when one
    of the types declares it. ``(A|B)`` selects entities of either: each alternative must declare it."""
    wiring.query["entities"] = [{"type": "HandwritingDigit;MLModel"}]
    assert lint(wiring.entities()) == []
    wiring.model["outputAttributes"] = [*wiring.model["outputAttributes"], "predictionClass"]
    (finding,) = lint(wiring.entities())
    assert (finding.code, finding.severity, finding.entity_id, finding.json_path) == (
        "lint.output.undeclared",
        ERROR,
        MODEL_ID,
        "/outputAttributes/6",
    )
    assert (
        f"output 'predictionClass' of MLModel {MODEL_ID} is not an attribute of any of HandwritingDigit, "
        f"MLModel (the type SubscriptionQuery {QUERY_ID} selects" in finding.message
    )
    # An entity of both types, where the results are written.
    wiring.model["outputAttributes"].pop()
    wiring.digit["type"] = ["HandwritingDigit", "MLModel"]
    wiring.processing["refOutputEntity"] = DIGIT_ID
    assert lint(wiring.entities()) == []
    # Alternatives: predictedDigit is no attribute of MLModel.
    wiring.query["entities"] = [{"type": "(HandwritingDigit|MLModel)"}]
    del wiring.processing["refOutputEntity"]
    findings = lint(wiring.entities())
    assert [(f.code, f.severity, f.entity_id, f.json_path) for f in findings] == [
        ("lint.output.undeclared", ERROR, MODEL_ID, f"/outputAttributes/{i}") for i in range(6)
    ]
    assert (
        f"output 'predictedDigit' of MLModel {MODEL_ID} is not an attribute of MLModel ("
        in findings[0].message
    )


# --- rule 5: the newest model ------------------------------------------------------------------------


def test_older_model_version(wiring: Wiring, tmp_path: Path) -> None:
    wiring.model["version"] = "1.2.0"
    newer = copy.deepcopy(wiring.model) | {"id": "urn:ngsi-ld:MLModel:digits-v110", "version": "1.10.0"}
    del newer["refMLProcessing"]
    older = copy.deepcopy(newer) | {"id": "urn:ngsi-ld:MLModel:digits-v09", "version": "0.9"}
    wiring.extra = [newer, older]
    findings, text = lint_file(tmp_path, wiring.entities())
    assert codes(findings) == ["lint.model.outdated"]
    (finding,) = findings
    assert finding.severity == WARNING and finding.entity_id == PROCESSING_ID
    for named in (PROCESSING_ID, MODEL_ID, "1.2.0", newer["id"], "1.10.0"):
        assert named in finding.message
    assert older["id"] not in finding.message
    assert finding.json_path == "/refMLModel"
    assert (finding.line, finding.column) == position(text, '"refMLModel"', f'"{MODEL_ID}"')
    # Pointing at the newest: fine.
    wiring.model["version"] = "2.0.0-rc.1"
    assert lint(wiring.entities()) == []


def test_model_versions_that_cannot_be_ordered(wiring: Wiring) -> None:
    wiring.model["version"] = "summer"
    other = copy.deepcopy(wiring.model) | {"id": "urn:ngsi-ld:MLModel:other", "version": "winter"}
    del other["refMLProcessing"]
    wiring.extra = [other]
    finding = only(lint(wiring.entities()), "lint.model.unordered")
    assert finding.severity == WARNING and finding.json_path == "/refMLModel"
    assert (
        "summer" in finding.message and "winter" in finding.message and "cannot be ordered" in finding.message
    )
    assert MODEL_ID in finding.message and other["id"] in finding.message


def test_many_versions_of_one_model_are_parsed_once(wiring: Wiring, monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of versions of one name: each is parsed once, not once per pair of models."""
    lint_module = importlib.import_module("sdmtool.lint")
    calls = {"parse": 0}
    parse_version = lint_module.parse_version

    def counting_parse(text: str) -> Any:
        calls["parse"] += 1
        return parse_version(text)

    monkeypatch.setattr(lint_module, "parse_version", counting_parse)
    size = 40
    entities: list[dict[str, Any]] = [wiring.query]
    for i in range(size):
        model = copy.deepcopy(wiring.model) | {"id": f"urn:ngsi-ld:MLModel:m{i}", "version": f"1.{i}"}
        del model["refMLProcessing"]
        processing = wiring.processing | {"id": f"urn:ngsi-ld:MLProcessing:p{i}", "refMLModel": model["id"]}
        entities += [model, processing]
    findings = lint(entities)
    assert calls["parse"] == size
    assert [(f.code, f.severity, f.entity_id, f.json_path) for f in findings] == [
        ("lint.model.outdated", WARNING, f"urn:ngsi-ld:MLProcessing:p{i}", "/refMLModel")
        for i in range(size - 1)
    ]
    assert (
        "uses MLModel urn:ngsi-ld:MLModel:m0 version 1.0, older than MLModel "
        f"urn:ngsi-ld:MLModel:m{size - 1} version 1.{size - 1}" in findings[0].message
    )
    # Versions that cannot be ordered: one warning per job, naming the first such model and counting the rest.
    for i, version in enumerate(("summer", "winter", "1.0.0+a", "1.0.0+b")):
        entities[1 + 2 * i]["version"] = version
    unordered = [f for f in lint(entities) if f.code == "lint.model.unordered"]
    assert [(f.severity, f.entity_id, f.json_path) for f in unordered[:4]] == [
        (WARNING, f"urn:ngsi-ld:MLProcessing:p{i}", "/refMLModel") for i in range(4)
    ]
    assert unordered[0].message.endswith(
        'and MLModel urn:ngsi-ld:MLModel:m1 has the same name "Handwritten digit recognition" and version '
        f"winter: the two versions cannot be ordered, so which one is newer is unknown ({size - 2} more "
        "MLModels of that name cannot be ordered with it either)"
    )
    assert "MLModel urn:ngsi-ld:MLModel:m0 has the same name" in unordered[2].message
    assert "(2 more MLModels" in unordered[2].message  # winter, and 1.0.0+b: the same version, another build


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("1.2.0", "1.10.0"),
        ("9", "12"),
        ("1.0.0-rc.1", "1.0.0"),
        ("1.0.0-alpha", "1.0.0-alpha.1"),
        ("v1.9", "2"),
    ],
)
def test_versions_compare_semantically(older: str, newer: str) -> None:
    assert compare_versions(older, newer) == -1
    assert compare_versions(newer, older) == 1


def test_versions_that_are_equal_or_unordered() -> None:
    assert compare_versions("1.2", "1.2.0") == 0
    assert compare_versions("1.0.0+cc555ead", "1.0.0+cc555ead") == 0
    assert compare_versions("1.0.0+aaaa", "1.0.0+bbbb") is None
    assert compare_versions("latest", "1.0") is None


# --- rule 6: the SubscriptionQuery itself ------------------------------------------------------------


def test_q_that_does_not_parse(wiring: Wiring, tmp_path: Path) -> None:
    wiring.query["q"] = 'imageMetadata[mediaType]=="image/png";'  # a clause must follow ';'
    findings, text = lint_file(tmp_path, wiring.entities())
    assert codes(findings) == ["lint.query.syntax"]
    (finding,) = findings
    assert finding.severity == ERROR and finding.entity_id == QUERY_ID and QUERY_ID in finding.message
    assert "at position 38" in finding.message and finding.json_path == "/q"
    # The column is that of the offending character, after the escaped quotes of the JSON string.
    line, column = position(text, '"q": ', '"')
    assert (finding.line, finding.column) == (
        line,
        column + len(r'"imageMetadata[mediaType]==\"image/png\";'),
    )


def test_unknown_entity_type_in_the_query(wiring: Wiring, tmp_path: Path) -> None:
    wiring.query["entities"] = [{"type": "HandwritingDigit"}, {"type": "HandwritenDigit"}]
    findings, text = lint_file(tmp_path, wiring.entities())
    assert codes(findings) == ["lint.query.unknown-type"]
    (finding,) = findings
    assert finding.severity == WARNING and finding.entity_id == QUERY_ID
    assert "did you mean HandwritingDigit?" in finding.message
    assert finding.json_path == "/entities/1/type"
    assert (finding.line, finding.column) == position(text, '"HandwritenDigit"')


def test_q_reads_an_attribute_the_type_does_not_have(wiring: Wiring, tmp_path: Path) -> None:
    wiring.query["q"] = "language==urn:ngsi-ld:lang:Spanish;annotatedDigit==7"
    findings, text = lint_file(tmp_path, wiring.entities())
    assert codes(findings) == ["lint.query.attribute"]
    (finding,) = findings
    assert (
        finding.severity == WARNING
        and "'language'" in finding.message
        and "annotatedDigit" not in finding.message
    )
    assert finding.json_path == "/q" and (finding.line, finding.column) == position(text, '"q": ', '"')
    # Beside a type without a schema, whose entities may have any attribute, there is nothing to tell.
    wiring.query["entities"] = [{"type": "Shelf"}, {"type": "HandwritingDigit"}]
    findings, _ = lint_file(tmp_path, wiring.entities())
    assert codes(findings) == ["lint.query.unknown-type"]


def test_type_selection_in_the_query(wiring: Wiring, tmp_path: Path) -> None:
    wiring.query["entities"] = [{"type": "(HandwritingDigit|HandwritenDigit)"}]
    findings, text = lint_file(tmp_path, wiring.entities())
    assert codes(findings) == ["lint.query.unknown-type"]
    (finding,) = findings
    assert finding.severity == WARNING and finding.entity_id == QUERY_ID
    assert finding.json_path == "/entities/0/type"
    assert (finding.line, finding.column) == position(text, '"(HandwritingDigit|HandwritenDigit)"')
    assert (
        "which names HandwritenDigit" in finding.message
        and "did you mean HandwritingDigit?" in finding.message
    )
    # Bundled types only: nothing to tell (';' asks for both types, '|' and ',' for either).
    for selection in (
        "(HandwritingDigit|MLModel)",
        "HandwritingDigit;MLModel",
        "MLModel,HandwritingDigit",
        "*",
    ):
        wiring.query["entities"] = [{"type": selection}]
        assert "lint.query.unknown-type" not in codes(lint(wiring.entities()))
    # The selection is matched: the write-back to the digit, which it selects, loops.
    wiring.processing["refOutputEntity"] = DIGIT_ID
    wiring.query["watchedAttributes"] = ["predictedDigit"]
    wiring.query["entities"] = [{"type": "(Shelf|HandwritingDigit)"}]
    finding = only(lint(wiring.entities()), "lint.loop")
    assert f"HandwritingDigit {DIGIT_ID} change → SubscriptionQuery {QUERY_ID}" in finding.message
    # What no broker accepts.
    wiring.query["entities"] = [{"type": "(HandwritingDigit|MLModel"}]
    finding = only(lint(wiring.entities()), "lint.query.syntax")
    assert finding.severity == ERROR and finding.json_path == "/entities/0/type"
    assert "clause 4.17" in finding.message and "a '(' is not closed" in finding.message


# --- forms and dumps ---------------------------------------------------------------------------------


def test_broker_dump_in_normalized_form(wiring: Wiring, tmp_path: Path) -> None:
    wiring.query["watchedAttributes"] = ["predictedDigit"]
    dump = []
    for entity in wiring.entities():
        normalized = forms.to_normalized(entity)
        normalized["createdAt"] = normalized["modifiedAt"] = "2026-11-20T10:00:00Z"
        dump.append(normalized)
    findings, text = lint_file(tmp_path, dump, "broker-dump.json")
    assert codes(findings) == ["lint.loop"]
    (finding,) = findings
    assert finding.severity == ERROR and finding.form == "normalized" and finding.entity_id == QUERY_ID
    assert finding.json_path == "/watchedAttributes/value/0"
    assert (finding.line, finding.column) == position(text, '"watchedAttributes"', '"predictedDigit"')
    assert f"MLModel {MODEL_ID} writes predictedDigit → HandwritingDigit change" in finding.message
    # Relationships are read from their `object`, in NGSI-v2 form from `value`.
    wiring.processing["refMLModel"] = "urn:ngsi-ld:MLModel:gone"
    findings, text = lint_file(tmp_path, [forms.to_normalized(e) for e in wiring.entities()])
    finding = only(findings, "lint.ref.missing")
    assert finding.json_path == "/refMLModel/object"
    assert (finding.line, finding.column) == position(text, '"urn:ngsi-ld:MLModel:gone"')
    findings, _ = lint_file(tmp_path, [forms.to_ngsiv2_normalized(e) for e in wiring.entities()])
    assert only(findings, "lint.ref.missing").json_path == "/refMLModel/value"


def test_lint_items_reports_unreadable_inputs() -> None:
    from sdmtool import reader

    findings = lint_items(reader.read_bytes("broken.json", b'{"id": "x",}'))
    (finding,) = findings
    assert finding.category == "input" and finding.code.startswith("input.") and finding.line == 1


# --- command line ------------------------------------------------------------------------------------


def test_cli_exit_codes(wiring: Wiring, tmp_path: Path) -> None:
    runner = CliRunner()
    examples = [str(path) for path in sorted(resources.schemas_dir().glob("*/examples/example.json"))]
    clean = runner.invoke(main, ["lint", *examples])
    assert clean.exit_code == EXIT_OK, clean.output
    assert "4 entities (4 keyValues) in 4 inputs" in clean.output

    wiring.query["watchedAttributes"] = ["predictedDigit"]
    looping = tmp_path / "loop.json"
    looping.write_text(json.dumps(wiring.entities(), indent=2))
    result = runner.invoke(main, ["lint", str(looping)])
    assert result.exit_code == EXIT_INVALID, result.output
    line, column = position(looping.read_text(), '"watchedAttributes"', '"predictedDigit"')
    assert f"{looping}:{line}:{column}: error: /watchedAttributes/0: notification loop" in result.output
    assert result.output.rstrip().endswith("1 error, 0 warnings")

    # Warnings alone do not fail.
    del wiring.query["watchedAttributes"]
    assert runner.invoke(main, ["lint", "-"], input=json.dumps(wiring.entities())).exit_code == EXIT_OK

    broken = tmp_path / "broken.json"
    broken.write_text('[{"id": "urn:ngsi-ld:MLModel:1", "type": "MLModel",}]')
    assert runner.invoke(main, ["lint", str(broken)]).exit_code == EXIT_USAGE
    assert runner.invoke(main, ["lint", str(looping), str(tmp_path / "nope.json")]).exit_code == EXIT_USAGE
    assert runner.invoke(main, ["lint"]).exit_code == EXIT_USAGE


def test_cli_json_report(wiring: Wiring, tmp_path: Path) -> None:
    wiring.processing["refMLModel"] = QUERY_ID
    path = tmp_path / "set.json"
    path.write_text(json.dumps(wiring.entities()))
    result = CliRunner().invoke(main, ["lint", "--format", "json", str(path)])
    assert result.exit_code == EXIT_INVALID
    document = json.loads(result.output)
    (finding,) = document["findings"]
    assert finding["code"] == "lint.ref.type" and finding["entity_id"] == PROCESSING_ID
    assert finding["json_path"] == "/refMLModel" and finding["line"] == 1
    assert document["exit_code"] == EXIT_INVALID


def test_findings_in_a_multi_document_yaml_name_their_document(tmp_path: Path) -> None:
    import yaml

    query = example("SubscriptionQuery") | {"watchedAttributes": ["imagePath", "predictedDigit"]}
    documents = [example("MLModel"), example("MLProcessing"), query]
    (tmp_path / "set.yaml").write_text(yaml.safe_dump_all(documents, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(main, ["lint", "--format", "json", str(tmp_path / "set.yaml")])
    assert result.exit_code == EXIT_INVALID, result.output
    (loop,) = [f for f in json.loads(result.output)["findings"] if f["code"] == "lint.loop"]
    assert (loop["document"], loop["json_path"]) == (2, "/watchedAttributes/1")
