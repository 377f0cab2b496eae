"""sdmtool check-model: one test per rule (rule id, severity, file, JSON path, line and column), the bundled
models (only the publication files missing), the upstream false positives avoided, no finding masking
another (hypothesis), subject folders and the command's exit codes.

Each test copies the bundled MLModel folder, adds the publication files (so that the copy is clean) and
breaks one thing.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sdmtool
from sdmtool import resources
from sdmtool.check_model import RULES, _in_file_order, description_problems, run_checks
from sdmtool.cli import main
from sdmtool.findings import (
    ERROR,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_SCHEMA,
    EXIT_USAGE,
    WARNING,
    Finding,
    exit_code,
)

PROPS = "/allOf/1/properties"
NOTES = "notesHeader: ''\nnotesMiddle: ''\nnotesFooter: ''\nnotesReadme: ''\n"
ADOPTERS = (
    "description: Adopters of the model\n"
    "currentAdopters:\n"
    "  - adopter: Example city\n"
    "    description: Recognises digits\n"
    "    mail: ''\n"
    "    organization: Example\n"
    "    project: ''\n"
    "    comments: ''\n"
    "    startDate: ''\n"
)
GOOD = "Property. Model:'https://schema.org/Text'. A description that is long enough"


def position(text: str, *needles: str) -> tuple[int, int]:
    """(line, column), 1-based, of the last needle, each searched after the end of the one before."""
    offset = end = 0
    for needle in needles:
        offset = text.index(needle, end)
        end = offset + len(needle)
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def value_at(text: str, *needles: str) -> tuple[int, int]:
    """(line, column) just after the last needle: where the value of a member written ``"name": `` starts."""
    line, column = position(text, *needles)
    return line, column + len(needles[-1])


class Model:
    """A writable copy of a bundled model folder with its publication files."""

    def __init__(self, folder: Path, name: str = "MLModel") -> None:
        self.folder = folder / name
        shutil.copytree(resources.schemas_dir() / name, self.folder)
        self.write("notes.yaml", NOTES)
        self.write("ADOPTERS.yaml", ADOPTERS)

    def path(self, relative: str) -> Path:
        return self.folder / relative

    def text(self, relative: str) -> str:
        return self.path(relative).read_text(encoding="utf-8")

    def write(self, relative: str, text: str) -> None:
        self.path(relative).write_text(text, encoding="utf-8")

    def edit(self, relative: str, change: Callable[[Any], Any]) -> None:
        """Rewrite a JSON file after ``change`` mutated its document in place (what it returns is ignored)."""
        document = json.loads(self.text(relative))
        change(document)
        self.write(relative, json.dumps(document, indent=2) + "\n")

    def edit_schema(self, change: Callable[[dict[str, Any]], Any]) -> None:
        self.edit("schema.json", change)

    def properties(self, document: dict[str, Any]) -> dict[str, Any]:
        return document["allOf"][1]["properties"]

    def findings(self) -> list[Finding]:
        return sdmtool.check_model(self.folder)


@pytest.fixture
def model(tmp_path: Path) -> Model:
    return Model(tmp_path)


def only(findings: list[Finding], code: str | None = None) -> Finding:
    """The one finding (of that rule)."""
    chosen = [f for f in findings if code is None or f.code == code]
    assert len(chosen) == 1, [(f.code, f.json_path, f.message) for f in findings]
    return chosen[0]


def at(finding: Finding) -> tuple[str, str, str, str, int | None, int | None]:
    return (
        finding.code,
        finding.severity,
        Path(finding.file or "").name,
        finding.json_path,
        finding.line,
        finding.column,
    )


# --- our own models -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["MLModel", "MLProcessing", "SubscriptionQuery", "HandwritingDigit"])
def test_bundled_models_miss_only_the_publication_files(name: str) -> None:
    findings = sdmtool.check_model(resources.schemas_dir() / name)
    assert sorted((f.code, f.severity, Path(f.file or "").name) for f in findings) == [
        ("sdm.publication-files", WARNING, "ADOPTERS.yaml"),
        ("sdm.publication-files", WARNING, "notes.yaml"),
    ]
    assert exit_code(findings) == EXIT_OK


def test_bundled_subject_misses_only_the_publication_files() -> None:
    findings = sdmtool.check_model(resources.schemas_dir(), subject=True)
    assert {f.code for f in findings} == {"sdm.publication-files"}
    found = sorted(Path(f.file or "").relative_to(resources.schemas_dir()).as_posix() for f in findings)
    assert found == [
        "CONTRIBUTORS.yaml",
        *(f"{name}/{file}" for name in resources.model_names() for file in ("ADOPTERS.yaml", "notes.yaml")),
    ]
    assert exit_code(findings) == EXIT_OK


@pytest.mark.parametrize("name", ["MLModel", "MLProcessing", "SubscriptionQuery", "HandwritingDigit"])
def test_bundled_models_pass_every_other_rule(tmp_path: Path, name: str) -> None:
    assert Model(tmp_path, name).findings() == []


# --- files ----------------------------------------------------------------------------------------------


def test_missing_example_is_reported_and_the_rest_still_checked(model: Model) -> None:
    model.path("examples/example.jsonld").unlink()
    model.edit("examples/example.json", lambda e: e.update(version=12))
    findings = model.findings()
    missing = only(findings, "sdm.files-present")
    assert at(missing) == ("sdm.files-present", ERROR, "example.jsonld", "", None, None)
    assert only(findings, "sdm.keyvalues-example").json_path == "/version"
    assert exit_code(findings) == EXIT_INVALID


def test_examples_folder_in_the_wrong_case(model: Model) -> None:
    """The naming error alone: the examples inside are there (not four times "missing") and checked."""
    model.edit("examples/example.json", lambda e: e.update(version=12))
    model.path("examples").rename(model.path("Examples"))
    findings = model.findings()
    text = model.text("Examples/example.json")
    assert sorted(at(f) for f in findings) == [
        ("sdm.files-present", ERROR, "Examples", "", None, None),
        ("sdm.keyvalues-example", ERROR, "example.json", "/version", *position(text, '"version": ', "12")),
    ]
    wrong = only(findings, "sdm.files-present")
    assert wrong.file == str(model.path("Examples")) and "lower case" in wrong.message
    checked = only(findings, "sdm.keyvalues-example")
    assert checked.file == str(model.path("Examples/example.json"))
    assert exit_code(findings) == EXIT_INVALID


def test_an_example_missing_from_the_wrongly_named_folder_is_missing_there(model: Model) -> None:
    model.path("examples").rename(model.path("Examples"))
    model.path("Examples/example.jsonld").unlink()
    findings = [f for f in model.findings() if f.file != str(model.path("Examples"))]
    missing = only(findings, "sdm.files-present")
    assert at(missing) == ("sdm.files-present", ERROR, "example.jsonld", "", None, None)
    assert missing.file == str(model.path("Examples/example.jsonld"))
    assert missing.message.startswith("Examples/example.jsonld is missing")


def test_an_example_that_is_a_directory_is_said_to_be_one(model: Model) -> None:
    model.path("examples/example.json").unlink()
    model.path("examples/example.json").mkdir()
    findings = model.findings()
    finding = only(findings)
    assert at(finding) == ("sdm.files-present", ERROR, "example.json", "", None, None)
    assert finding.message == "examples/example.json is a directory, not a file"
    assert exit_code(findings) == EXIT_INVALID


def test_an_example_that_is_a_dangling_symlink_is_unreadable(model: Model) -> None:
    model.path("examples/example.json").unlink()
    model.path("examples/example.json").symlink_to("nowhere.json")
    findings = model.findings()
    finding = only(findings)
    assert at(finding) == ("input.unreadable", ERROR, "example.json", "", None, None)
    assert finding.file == str(model.path("examples/example.json"))
    assert "dangling symbolic link" in finding.message and "nowhere.json" in finding.message
    assert exit_code(findings) == EXIT_USAGE


def test_missing_publication_files_are_warnings(model: Model) -> None:
    model.path("notes.yaml").unlink()
    finding = only(model.findings())
    assert at(finding) == ("sdm.publication-files", WARNING, "notes.yaml", "", None, None)


# --- parsing --------------------------------------------------------------------------------------------


def test_json_that_does_not_parse(model: Model) -> None:
    model.write("examples/example.json", '{\n  "id": "urn:ngsi-ld:MLModel:x",\n  "type": "MLModel",\n}\n')
    finding = only(model.findings())
    assert at(finding) == ("sdm.json-parse", ERROR, "example.json", "", 4, 1)
    assert "trailing comma" in finding.message
    assert exit_code([finding]) == EXIT_USAGE


def test_duplicate_json_key(model: Model) -> None:
    text = model.text("examples/example.json").replace(
        '"algorithm": "CNN",', '"algorithm": "CNN", "algorithm": "MLP",'
    )
    model.write("examples/example.json", text)
    finding = only(model.findings(), "sdm.json-parse")
    line, column = position(text, '"algorithm": "MLP"')
    assert at(finding) == ("sdm.json-parse", ERROR, "example.json", "/algorithm", line, column)
    assert exit_code([finding]) == EXIT_INVALID


def test_yaml_that_does_not_parse(model: Model) -> None:
    model.write("ADOPTERS.yaml", "description: x\ncurrentAdopters: [unclosed\n")
    finding = only(model.findings())
    assert finding.code == "sdm.yaml-parse" and finding.line == 3
    assert exit_code([finding]) == EXIT_USAGE


def test_a_folder_name_too_long_is_an_input_error(tmp_path: Path) -> None:
    finding = only(sdmtool.check_model(tmp_path / ("a" * 300)))
    assert (finding.code, finding.severity) == ("input.unreadable", ERROR)
    assert "too long" in finding.message
    assert exit_code([finding]) == EXIT_USAGE


def test_an_unreadable_model_folder_leaves_the_others_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python's Path.is_file/is_dir raise for EACCES (a folder without permissions, as a non-root user sees
    # it); simulated here, because the tests may run as root, for whom no permission bit closes a folder.
    Model(tmp_path, "MLModel")
    locked = Model(tmp_path, "MLProcessing").folder
    (tmp_path / "CONTRIBUTORS.yaml").write_text("description: x\ncontributors: []\n", encoding="utf-8")
    real_is_file = Path.is_file

    def is_file(path: Path) -> bool:
        if locked in path.parents:
            raise PermissionError(13, "Permission denied", str(path))
        return real_is_file(path)

    monkeypatch.setattr(Path, "is_file", is_file)
    checked = run_checks(tmp_path, subject=True)
    (unreadable,) = [f for f in checked.findings if f.code == "input.unreadable"]
    assert unreadable.file == str(locked / "schema.json") and "Permission denied" in unreadable.message
    assert exit_code(checked.findings) == EXIT_USAGE
    assert str(tmp_path / "MLModel" / "schema.json") in checked.inputs  # checked all the same


def test_duplicate_yaml_key(model: Model) -> None:
    model.write("notes.yaml", NOTES + "notesHeader: again\n")
    finding = only(model.findings())
    assert at(finding) == ("sdm.yaml-parse", ERROR, "notes.yaml", "/notesHeader", 5, 1)


@pytest.mark.parametrize(
    ("text", "code", "severity"),
    [
        ("[]\n", "sdm.yaml-structure", WARNING),
        ("description: x\n---\ndescription: y\n", "sdm.yaml-parse", ERROR),
    ],
)
def test_adopters_file_that_is_not_one_mapping(model: Model, text: str, code: str, severity: str) -> None:
    model.write("ADOPTERS.yaml", text)
    findings = model.findings()
    assert {(f.code, f.severity, Path(f.file or "").name) for f in findings} == {
        (code, severity, "ADOPTERS.yaml")
    }


@pytest.mark.parametrize("text", ["", "\n", "# no adopters yet\n", "---\n# none\n"])
def test_an_empty_adopters_file_is_fine(model: Model, text: str) -> None:
    """ADOPTERS.yaml has to exist, but may be empty (a model without adopters yet)."""
    model.write("ADOPTERS.yaml", text)
    assert model.findings() == []


def test_yaml_structure(model: Model) -> None:
    model.write("ADOPTERS.yaml", ADOPTERS + "    website: https://example.org\n")
    model.write("notes.yaml", "notesHeader: ''\nnotesMiddle: ''\nnotesFooter: ''\n")
    findings = model.findings()
    assert sorted(at(f) for f in findings) == [
        ("sdm.yaml-structure", WARNING, "ADOPTERS.yaml", "/currentAdopters/0/website", 10, 14),
        ("sdm.yaml-structure", WARNING, "notes.yaml", "", 1, 1),
    ]
    assert "notesReadme" in next(f.message for f in findings if f.file and f.file.endswith("notes.yaml"))


# --- the schema -----------------------------------------------------------------------------------------


def test_schema_that_is_no_json_schema(model: Model) -> None:
    model.edit_schema(lambda s: model.properties(s)["inputAttributes"].update(minItems=-1))
    finding = only(model.findings())
    line, column = position(model.text("schema.json"), '"inputAttributes"', '"minItems": ')
    assert at(finding) == (
        "sdm.schema-invalid",
        ERROR,
        "schema.json",
        f"{PROPS}/inputAttributes/minItems",
        line,
        column + len('"minItems": '),
    )
    assert exit_code([finding]) == EXIT_SCHEMA


def test_unresolvable_ref_gives_exit_3_and_no_false_example_errors(model: Model) -> None:
    model.edit_schema(
        lambda s: model.properties(s).update(
            owner={"$ref": "https://example.org/elsewhere.json#/definitions/Owner", "description": GOOD}
        )
    )
    model.edit("examples/example.json", lambda e: e.update(owner="someone"))
    findings = model.findings()
    finding = only(findings)
    text = model.text("schema.json")
    line, column = position(text, '"owner"', '"$ref": ')
    assert at(finding) == (
        "sdm.ref-unresolved",
        ERROR,
        "schema.json",
        f"{PROPS}/owner/$ref",
        line,
        column + len('"$ref": '),
    )
    assert exit_code(findings) == EXIT_SCHEMA


def test_metadata_failures_do_not_mask_each_other(model: Model) -> None:
    def break_header(schema: dict[str, Any]) -> None:
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
        schema["$schemaVersion"] = "1.0"
        schema["title"] = "Short"
        schema["modelTags"] = ""
        del schema["derivedFrom"]
        del schema["required"]

    model.edit_schema(break_header)
    found = sorted((f.severity, f.json_path) for f in model.findings())
    assert found == [
        (ERROR, "/$schema"),
        (ERROR, "/$schemaVersion"),
        (ERROR, "/required"),
        (ERROR, "/title"),
        (WARNING, "/derivedFrom"),
        (WARNING, "/modelTags"),
    ]
    assert {f.code for f in model.findings()} == {"sdm.schema-metadata"}


def test_metadata_id_of_another_model_and_type_enum(model: Model) -> None:
    def wrong(schema: dict[str, Any]) -> None:
        schema["$id"] = schema["$id"].replace("/MLModel/", "/MLProcessing/")
        model.properties(schema)["type"]["enum"] = ["MLProcessing"]

    model.edit_schema(wrong)
    findings = [f for f in model.findings() if f.code == "sdm.schema-metadata"]
    assert sorted((f.severity, f.json_path) for f in findings) == [
        (WARNING, "/$id"),
        (WARNING, f"{PROPS}/type"),
    ]


def test_duplicate_id_in_a_subject(tmp_path: Path) -> None:
    first = Model(tmp_path, "MLModel")
    second = Model(tmp_path, "MLProcessing")
    second.edit_schema(lambda s: s.update({"$id": json.loads(first.text("schema.json"))["$id"]}))
    (tmp_path / "CONTRIBUTORS.yaml").write_text("description: x\ncontributors: []\n", encoding="utf-8")
    findings = sdmtool.check_model(tmp_path, subject=True)
    duplicate = [f for f in findings if f.severity == ERROR]
    assert len(duplicate) == 1
    assert duplicate[0].code == "sdm.schema-metadata" and "MLModel" in duplicate[0].message
    assert Path(duplicate[0].file or "").parent.name == "MLProcessing"
    assert duplicate[0].json_path == "/$id"


# --- descriptions ---------------------------------------------------------------------------------------


def test_description_without_a_kind(model: Model) -> None:
    model.edit_schema(
        lambda s: model.properties(s)["algorithm"].update(description="property. Some algorithm name")
    )
    finding = only(model.findings())
    line, column = position(model.text("schema.json"), '"property. Some')
    assert at(finding) == (
        "sdm.description-grammar",
        ERROR,
        "schema.json",
        f"{PROPS}/algorithm/description",
        line,
        column,
    )
    assert "'Property'" in finding.message


def test_items_without_description(model: Model) -> None:
    model.edit_schema(lambda s: model.properties(s)["outputDataTypes"]["items"].pop("description"))
    finding = only(model.findings())
    line, column = position(model.text("schema.json"), '"outputDataTypes"', '"items": ')
    assert at(finding)[:4] == (
        "sdm.description-grammar",
        ERROR,
        "schema.json",
        f"{PROPS}/outputDataTypes/items",
    )
    assert (finding.line, finding.column) == (line, column + len('"items": '))


def test_nested_property_description_and_keyed_pieces(model: Model) -> None:
    def change(schema: dict[str, Any]) -> None:
        members = model.properties(schema)["trainingDataset"]["properties"]
        members["datasetName"]["description"] = "Property. Model: 'https://schema.org/Text'. Name of the data"
        members["sampleCount"]["description"] = "Property. Number of samples used. Units:'samples'."

    model.edit_schema(change)
    paths = sorted(f.json_path for f in model.findings() if f.code == "sdm.description-grammar")
    assert paths == [
        f"{PROPS}/trainingDataset/properties/datasetName/description",
        f"{PROPS}/trainingDataset/properties/sampleCount/description",
    ]


def test_kind_not_first_is_a_warning(model: Model) -> None:
    model.edit_schema(
        lambda s: model.properties(s)["algorithm"].update(description="The algorithm of the model. Property")
    )
    finding = only(model.findings())
    assert (finding.code, finding.severity) == ("sdm.description-grammar", WARNING)


def test_ref_target_description_is_checked_where_it_is(model: Model) -> None:
    def change(schema: dict[str, Any]) -> None:
        schema["$defs"] = {"Checksum": {"type": "string", "description": "A checksum of the artifact"}}
        model.properties(schema)["modelSha256"] = {"$ref": "#/$defs/Checksum"}

    model.edit_schema(change)
    finding = only(model.findings())
    line, column = position(model.text("schema.json"), '"A checksum of')
    assert at(finding) == (
        "sdm.description-grammar",
        ERROR,
        "schema.json",
        "/$defs/Checksum/description",
        line,
        column,
    )


def test_property_level_branch_is_only_a_warning(model: Model) -> None:
    def change(schema: dict[str, Any]) -> None:
        node = model.properties(schema)["version"]
        node.pop("type")
        node.pop("minLength")
        node["anyOf"] = [
            {"type": "string", "description": "The version as text"},
            {"type": "integer", "description": GOOD},
        ]

    model.edit_schema(change)
    finding = only(model.findings())
    assert at(finding)[:4] == (
        "sdm.description-grammar",
        WARNING,
        "schema.json",
        f"{PROPS}/version/anyOf/0/description",
    )


def test_items_anyof_branch_is_one_error_not_also_a_branch_warning(model: Model) -> None:
    """The official suite checks the descriptions of an items' anyOf branches: an error, said once."""

    def change(schema: dict[str, Any]) -> None:
        model.properties(schema)["outputDataTypes"]["items"] = {
            "description": GOOD,
            "anyOf": [
                {"type": "string", "description": "A data type written as text"},
                {"type": "integer", "description": GOOD},
            ],
        }

    model.edit_schema(change)
    finding = only(model.findings())
    text = model.text("schema.json")
    assert at(finding) == (
        "sdm.description-grammar",
        ERROR,
        "schema.json",
        f"{PROPS}/outputDataTypes/items/anyOf/0/description",
        *position(text, '"outputDataTypes"', '"A data type written'),
    )
    assert "names no NGSI kind" in finding.message


def test_ref_target_used_as_a_property_and_as_items_gets_one_verdict_per_branch(model: Model) -> None:
    def change(schema: dict[str, Any]) -> None:
        schema["$defs"] = {
            "Tag": {
                "description": GOOD,
                "anyOf": [{"type": "string", "description": "A tag written as text"}, {"type": "integer"}],
            }
        }
        properties = model.properties(schema)
        properties["mainTag"] = {"$ref": "#/$defs/Tag"}
        properties["tags"] = {"type": "array", "description": GOOD, "items": {"$ref": "#/$defs/Tag"}}
        properties["moreTags"] = {"type": "array", "description": GOOD, "items": {"$ref": "#/$defs/Tag"}}

    model.edit_schema(change)
    text = model.text("schema.json")
    assert sorted(at(f) for f in model.findings()) == [
        (
            "sdm.description-grammar",
            ERROR,
            "schema.json",
            "/$defs/Tag/anyOf/0/description",
            *position(text, '"Tag"', '"A tag written'),
        ),
        (
            "sdm.description-grammar",
            ERROR,
            "schema.json",
            "/$defs/Tag/anyOf/1",
            *position(text, '"Tag"', '"A tag written', "{"),
        ),
    ]


def test_ref_target_used_by_two_properties_is_reported_once(model: Model) -> None:
    def change(schema: dict[str, Any]) -> None:
        schema["$defs"] = {
            "Dataset": {
                "type": "object",
                "description": "A data set used for training",
                "properties": {
                    "name": {"type": "string"},
                    "files": {"type": "array", "description": GOOD, "items": {"type": "string"}},
                },
            }
        }
        properties = model.properties(schema)
        properties["sourceDataset"] = {"$ref": "#/$defs/Dataset"}
        properties["otherDataset"] = {"$ref": "#/$defs/Dataset", "description": GOOD}

    model.edit_schema(change)
    text = model.text("schema.json")
    assert sorted(at(f) for f in model.findings()) == [
        (
            "sdm.description-grammar",
            ERROR,
            "schema.json",
            "/$defs/Dataset/description",
            *position(text, '"Dataset"', '"A data set used'),
        ),
        (
            "sdm.description-grammar",
            ERROR,
            "schema.json",
            "/$defs/Dataset/properties/files/items",
            *value_at(text, '"Dataset"', '"files"', '"items": '),
        ),
        (
            "sdm.description-grammar",
            ERROR,
            "schema.json",
            "/$defs/Dataset/properties/name",
            *value_at(text, '"Dataset"', '"name": '),
        ),
    ]


def test_a_finding_said_twice_is_reported_once() -> None:
    # The last guard: whatever rule says the same thing twice at one place, the report says it once.
    first = Finding(ERROR, "sdm.description-grammar", "no kind", "schema.json", 3, 5, "/a/description")
    other = Finding(ERROR, "sdm.description-grammar", "too short", "schema.json", 3, 5, "/a/description")
    assert _in_file_order([first, other, first]) == [first, other]


def test_boolean_property_and_items_schemas_have_no_description(model: Model) -> None:
    """A boolean schema cannot carry the description every property and every items needs."""

    def change(schema: dict[str, Any]) -> None:
        properties = model.properties(schema)
        properties["anything"] = True
        properties["outputDataTypes"]["items"] = True

    model.edit_schema(change)
    text = model.text("schema.json")
    findings = model.findings()
    assert sorted(at(f) for f in findings) == [
        (
            "sdm.description-grammar",
            ERROR,
            "schema.json",
            f"{PROPS}/anything",
            *value_at(text, '"anything": '),
        ),
        (
            "sdm.description-grammar",
            ERROR,
            "schema.json",
            f"{PROPS}/outputDataTypes/items",
            *value_at(text, '"outputDataTypes"', '"items": '),
        ),
    ]
    assert all("boolean schema true" in f.message for f in findings)


def test_attributes_named_missing_or_invalid_are_fine(model: Model) -> None:
    """The official check fails any description whose messages contain "missing" or "invalid"."""

    def change(schema: dict[str, Any]) -> None:
        properties = model.properties(schema)
        properties["missingValue"] = {"type": "number", "description": GOOD}
        properties["invalidCount"] = {"type": "integer", "description": GOOD}

    model.edit_schema(change)
    model.edit("examples/example.json", lambda e: e.update(missingValue=-1, invalidCount=0))
    assert model.findings() == []


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from("abcdefgh ,;-"), max_size=40))
def test_kind_first_and_free_text_is_clean_when_long_enough(text: str) -> None:
    description = f"Property. {text}"
    problems = description_problems(description)
    if len(description) >= 15:
        assert problems == []
    else:
        assert [severity for severity, _ in problems] == [ERROR]


# --- structure and names --------------------------------------------------------------------------------


def test_string_with_items(model: Model) -> None:
    model.edit_schema(
        lambda s: model.properties(s)["modelUrl"].update(items={"type": "string", "description": GOOD})
    )
    finding = only(model.findings(), "sdm.string-structure")
    line, column = position(model.text("schema.json"), '"modelUrl"', '"items": ')
    assert at(finding) == (
        "sdm.string-structure",
        ERROR,
        "schema.json",
        f"{PROPS}/modelUrl/items",
        line,
        column + len('"items": '),
    )


def test_array_without_items(model: Model) -> None:
    model.edit_schema(lambda s: model.properties(s)["outputDataTypes"].pop("items"))
    finding = only(model.findings())
    assert at(finding)[:4] == ("sdm.array-object-structure", ERROR, "schema.json", f"{PROPS}/outputDataTypes")


def test_a_combinator_that_brings_no_items_or_properties_is_no_excuse(model: Model) -> None:
    def change(schema: dict[str, Any]) -> None:
        properties = model.properties(schema)
        properties["outputDataTypes"] = {"type": "array", "description": GOOD, "allOf": [{"minItems": 1}]}
        properties["trainingDataset"] = {
            "type": "object",
            "description": GOOD,
            "anyOf": [{"minProperties": 1}],
        }

    model.edit_schema(change)
    found = {f.json_path for f in model.findings() if f.code == "sdm.array-object-structure"}
    assert found == {f"{PROPS}/outputDataTypes", f"{PROPS}/trainingDataset"}

    def brought(schema: dict[str, Any]) -> None:  # a branch or a $ref that brings them is enough
        properties = model.properties(schema)
        properties["outputDataTypes"]["allOf"].append({"items": {"type": "string"}})
        schema.setdefault("$defs", {})["Members"] = {"additionalProperties": True}
        properties["trainingDataset"]["anyOf"].append({"$ref": "#/$defs/Members"})

    model.edit_schema(brought)
    assert not [f for f in model.findings() if f.code == "sdm.array-object-structure"]


def test_object_without_properties_unless_declared_free_form(model: Model) -> None:
    def free_members(schema: dict[str, Any]) -> None:
        node = model.properties(schema)["trainingDataset"]
        node["type"] = ["object", "null"]  # a type list is understood
        del node["properties"]

    model.edit_schema(free_members)
    findings = model.findings()
    assert at(only(findings, "sdm.array-object-structure"))[3] == f"{PROPS}/trainingDataset"
    # Its members are no longer declared.
    assert {f.json_path for f in findings if f.code == "sdm.example-keys-declared"} >= {
        "/trainingDataset/datasetName",
        "/trainingDataset/value/datasetName",
    }
    model.edit_schema(lambda s: model.properties(s)["trainingDataset"].update(additionalProperties=True))
    assert model.findings() == []


def test_attribute_names(model: Model) -> None:
    def change(schema: dict[str, Any]) -> None:
        properties = model.properties(schema)
        properties["ModelCard"] = {"type": "string", "description": GOOD}
        properties["model_card"] = {"type": "string", "description": GOOD}
        properties["model card"] = {"type": "string", "description": GOOD}

    model.edit_schema(change)
    found = sorted((f.json_path, f.severity) for f in model.findings())
    assert found == [
        (f"{PROPS}/ModelCard", WARNING),
        (f"{PROPS}/model card", ERROR),
        (f"{PROPS}/model_card", WARNING),
    ]
    assert {f.code for f in model.findings()} == {"sdm.attribute-name"}


def test_attribute_names_declared_through_a_ref_are_attributes_too(model: Model) -> None:
    def change(schema: dict[str, Any]) -> None:
        schema["$defs"] = {"Extra": {"properties": {"createdAt": {"type": "string", "description": GOOD}}}}
        schema["allOf"].append({"$ref": "#/$defs/Extra"})

    model.edit_schema(change)
    finding = only(model.findings(), "sdm.attribute-name")
    assert (finding.json_path, finding.severity) == ("/$defs/Extra/properties/createdAt", WARNING)
    assert "NGSI-LD member name" in finding.message


# --- the examples ---------------------------------------------------------------------------------------


def test_key_values_example_against_the_schema(model: Model) -> None:
    model.edit("examples/example.json", lambda e: e.update(version=12, modelUrl="not a uri"))
    findings = model.findings()
    text = model.text("examples/example.json")
    assert sorted(at(f) for f in findings) == [
        ("sdm.keyvalues-example", ERROR, "example.json", "/modelUrl", *position(text, '"not a uri"')),
        ("sdm.keyvalues-example", ERROR, "example.json", "/version", *position(text, '"version": ', "12")),
    ]
    assert "quote it" in next(f.message for f in findings if f.json_path == "/version")


def test_ngsi_ld_key_values_example_needs_a_context_and_a_uri_id(model: Model) -> None:
    def change(entity: dict[str, Any]) -> None:
        del entity["@context"]
        entity["id"] = "MLModel.01"

    model.edit("examples/example.jsonld", change)
    findings = model.findings()
    assert sorted((f.code, f.json_path) for f in findings) == [
        ("sdm.keyvalues-example", ""),
        ("sdm.keyvalues-example", "/id"),
    ]


def test_ngsiv2_normalized_example(model: Model) -> None:
    def change(entity: dict[str, Any]) -> None:
        entity["version"] = {"type": "Property", "value": "12"}
        entity["algorithm"] = {"type": "Text"}

    model.edit("examples/example-normalized.json", change)
    text = model.text("examples/example-normalized.json")
    found = sorted(at(f) for f in model.findings())
    assert found == [
        (
            "sdm.ngsiv2-example",
            ERROR,
            "example-normalized.json",
            "/algorithm",
            *position(text, '"algorithm": ', "{"),
        ),
        (
            "sdm.ngsiv2-example",
            ERROR,
            "example-normalized.json",
            "/version/type",
            *position(text, '"Property"'),
        ),
    ]


def test_ngsi_ld_normalized_example_kind_follows_the_description(model: Model) -> None:
    model.edit(
        "examples/example-normalized.jsonld",
        lambda e: e.update(
            refMLProcessing={"type": "Property", "value": ["urn:ngsi-ld:MLProcessing:digits-01"]}
        ),
    )
    finding = only(model.findings())
    line, column = position(
        model.text("examples/example-normalized.jsonld"), '"refMLProcessing"', '"Property"'
    )
    assert at(finding) == (
        "sdm.ngsild-example",
        ERROR,
        "example-normalized.jsonld",
        "/refMLProcessing/type",
        line,
        column,
    )


def test_multi_instance_attribute_is_checked_instance_by_instance(model: Model) -> None:
    def change(entity: dict[str, Any]) -> None:
        entity["algorithm"] = [
            {"type": "Property", "value": "CNN", "datasetId": "urn:ngsi-ld:Dataset:a"},
            {"type": "Property", "value": 5, "datasetId": "urn:ngsi-ld:Dataset:b"},
        ]

    model.edit("examples/example-normalized.jsonld", change)
    finding = only(model.findings())
    line, column = position(model.text("examples/example-normalized.jsonld"), '"value": 5')
    assert at(finding) == (
        "sdm.ngsild-example",
        ERROR,
        "example-normalized.jsonld",
        "/algorithm/1/value",
        line,
        column + len('"value": '),
    )


@pytest.fixture
def processing(tmp_path: Path) -> Model:
    return Model(tmp_path, "MLProcessing")


KEY_VALUES_EXAMPLES = ["examples/example.jsonld", "examples/example.json"]


@pytest.mark.parametrize("file", KEY_VALUES_EXAMPLES)
def test_key_values_multi_instance_attribute_is_accepted_as_validate_accepts_it(
    processing: Model, file: str
) -> None:
    processing.edit(file, lambda e: e.update(processedCount={"dataset": {"@none": 5, "urn:ngsi-ld:d:1": 7}}))
    assert sdmtool.validate(processing.path(file)) == []
    assert processing.findings() == []


@pytest.mark.parametrize("file", KEY_VALUES_EXAMPLES)
@pytest.mark.parametrize(
    ("dataset", "path", "value_of"),
    [
        (
            {"@none": 5, "urn:ngsi-ld:d:1": "x"},
            "/processedCount/dataset/urn:ngsi-ld:d:1",
            '"urn:ngsi-ld:d:1": ',
        ),
        ({"@none": 5, "bad key": 7}, "/processedCount/dataset/bad key", '"bad key": '),
        ({}, "/processedCount/dataset", '"dataset": '),
    ],
)
def test_key_values_multi_instance_attribute_is_checked_instance_by_instance(
    processing: Model, file: str, dataset: dict[str, Any], path: str, value_of: str
) -> None:
    """Held to what `validate` finds there: each value against the schema, datasetIds, an empty dataset."""
    processing.edit(file, lambda e: e.update(processedCount={"dataset": dataset}))
    line, column = value_at(processing.text(file), '"processedCount"', value_of)
    finding = only(processing.findings())
    name = Path(file).name
    assert at(finding) == ("sdm.keyvalues-example", ERROR, name, path, line, column)
    (expected,) = sdmtool.validate(processing.path(file))
    assert (expected.json_path, expected.line, expected.column) == (path, line, column)
    assert finding.message == expected.message


@pytest.mark.parametrize("file", KEY_VALUES_EXAMPLES)
def test_members_of_each_key_values_instance_are_declared(processing: Model, file: str) -> None:
    """Inside each instance's value, not at "dataset" (which no schema declares)."""
    instances = {"@none": {"server": "a"}, "urn:ngsi-ld:d:1": {"server": "b", "bogus": 1}}
    processing.edit(file, lambda e: e.update(connectionParameters={"dataset": instances}))
    text = processing.text(file)
    finding = only(processing.findings())
    assert at(finding) == (
        "sdm.example-keys-declared",
        ERROR,
        Path(file).name,
        "/connectionParameters/dataset/urn:ngsi-ld:d:1/bogus",
        *value_at(text, '"urn:ngsi-ld:d:1": ', '"bogus": '),
    )
    assert finding.message == "'connectionParameters.bogus' is not declared in the schema"


def test_ngsiv2_key_values_has_no_multi_instance_attributes(processing: Model) -> None:
    """example.json read as NGSI-v2 (its id no URI), as `validate` reads it: the object is the value."""

    def change(entity: dict[str, Any]) -> None:
        entity.update(id="MLProcessing.01", processedCount={"dataset": {"@none": 5}})

    processing.edit("examples/example.json", change)
    text = processing.text("examples/example.json")
    assert sorted(at(f) for f in processing.findings()) == [
        (
            "sdm.example-keys-declared",
            ERROR,
            "example.json",
            "/processedCount/dataset",
            *value_at(text, '"processedCount"', '"dataset": '),
        ),
        (
            "sdm.keyvalues-example",
            ERROR,
            "example.json",
            "/processedCount",
            *value_at(text, '"processedCount": '),
        ),
    ]
    (expected,) = sdmtool.validate(processing.path("examples/example.json"))
    assert (expected.code, expected.json_path) == ("schema.type", "/processedCount")
    assert "got an object" in expected.message


def test_inline_context_objects_are_accepted(model: Model) -> None:
    context = [{"digits": "https://example.org/digits#"}, resources.SUBJECT_CONTEXT_URL]
    model.edit("examples/example-normalized.jsonld", lambda e: e.update({"@context": context}))
    model.edit("examples/example.jsonld", lambda e: e.update({"@context": context[0]}))
    assert model.findings() == []


def test_ngsi_ld_normalized_example_needs_a_context(model: Model) -> None:
    model.edit("examples/example-normalized.jsonld", lambda e: e.pop("@context"))
    assert at(only(model.findings()))[:4] == ("sdm.ngsild-example", ERROR, "example-normalized.jsonld", "")


@pytest.mark.parametrize(
    ("file", "path"),
    [
        ("examples/example.json", "/trainingDataset/extra"),
        ("examples/example.jsonld", "/trainingDataset/extra"),
        ("examples/example-normalized.json", "/trainingDataset/value/extra"),
        ("examples/example-normalized.jsonld", "/trainingDataset/value/extra"),
    ],
)
def test_every_member_of_every_example_is_declared(model: Model, file: str, path: str) -> None:
    def change(entity: dict[str, Any]) -> None:
        member = entity["trainingDataset"]
        member.get("value", member)["extra"] = 1

    model.edit(file, change)
    finding = only(model.findings())
    line, column = position(model.text(file), '"extra": ', "1")
    assert at(finding) == ("sdm.example-keys-declared", ERROR, Path(file).name, path, line, column)


def test_an_undeclared_attribute_is_reported_beside_the_problem_of_its_value(model: Model) -> None:
    """A null, a broken GeoJSON, a missing value or NGSI-v2 type is one problem; the name the schema does not
    declare is another."""
    model.edit(
        "examples/example-normalized.jsonld",
        lambda e: e.update(
            location={"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1]}},
            bar={"type": "Property"},
        ),
    )
    model.edit("examples/example.json", lambda e: e.update(foo=None))
    model.edit("examples/example-normalized.json", lambda e: e.update(bar={"value": 1}))
    key_values = model.text("examples/example.json")
    v2 = model.text("examples/example-normalized.json")
    ld = model.text("examples/example-normalized.jsonld")
    declared = "sdm.example-keys-declared"
    assert sorted(at(f) for f in model.findings()) == sorted(
        [
            (declared, ERROR, "example.json", "/foo", *value_at(key_values, '"foo": ')),
            ("sdm.keyvalues-example", ERROR, "example.json", "/foo", *value_at(key_values, '"foo": ')),
            (declared, ERROR, "example-normalized.json", "/bar", *value_at(v2, '"bar": ')),
            ("sdm.ngsiv2-example", ERROR, "example-normalized.json", "/bar", *value_at(v2, '"bar": ')),
            (declared, ERROR, "example-normalized.jsonld", "/location", *value_at(ld, '"location": ')),
            (
                "sdm.ngsild-example",
                ERROR,
                "example-normalized.jsonld",
                "/location/value/coordinates",
                *value_at(ld, '"location": ', '"coordinates": '),
            ),
            (declared, ERROR, "example-normalized.jsonld", "/bar", *value_at(ld, '"bar": ')),
            ("sdm.ngsild-example", ERROR, "example-normalized.jsonld", "/bar", *value_at(ld, '"bar": ')),
        ]
    )


def test_declared_free_form_object_accepts_any_member(model: Model) -> None:
    model.edit_schema(
        lambda s: model.properties(s).update(
            hyperParameters={
                "type": "object",
                "additionalProperties": {"type": "number"},
                "description": GOOD,
            }
        )
    )
    model.edit(
        "examples/example.json", lambda e: e.update(hyperParameters={"learningRate": 0.01, "epochs": 10})
    )
    assert model.findings() == []


# --- no finding masks another (hypothesis) --------------------------------------------------------------

MUTATIONS: dict[str, Callable[[Model], None]] = {
    "header": lambda m: m.edit_schema(lambda s: s.update(title="Short")),
    "required": lambda m: m.edit_schema(lambda s: s.pop("required")),
    "description": lambda m: m.edit_schema(lambda s: m.properties(s)["algorithm"].update(description="x")),
    "items": lambda m: m.edit_schema(lambda s: m.properties(s)["acceptableDataSources"].pop("items")),
    "name": lambda m: m.edit_schema(
        lambda s: m.properties(s).update(Bad={"type": "string", "description": GOOD})
    ),
    "keyvalues": lambda m: m.edit("examples/example.json", lambda e: e.update(version=12)),
    "v2": lambda m: m.edit(
        "examples/example-normalized.json", lambda e: e.update(mlFramework={"value": "x"})
    ),
    "ld": lambda m: m.edit("examples/example-normalized.jsonld", lambda e: e.update(algorithm="CNN")),
    "undeclared": lambda m: m.edit("examples/example.jsonld", lambda e: e.update(unknownThing=1)),
    "notes": lambda m: m.write("notes.yaml", "notesHeader: ''\n"),
}


def _signature(findings: list[Finding]) -> set[tuple[str, str, str, str]]:
    return {(f.code, Path(f.file or "").name, f.json_path, f.message) for f in findings}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sets(st.sampled_from(sorted(MUTATIONS)), min_size=2, max_size=4))
def test_findings_of_independent_defects_add_up(
    tmp_path_factory: pytest.TempPathFactory, chosen: set[str]
) -> None:
    alone: set[tuple[str, str, str, str]] = set()
    for name in chosen:
        single = Model(tmp_path_factory.mktemp("single"))
        MUTATIONS[name](single)
        found = _signature(single.findings())
        assert found, name
        alone |= found
    combined = Model(tmp_path_factory.mktemp("combined"))
    for name in chosen:
        MUTATIONS[name](combined)
    assert _signature(combined.findings()) == alone


_KEYWORDS = st.sampled_from(
    [
        "type",
        "properties",
        "items",
        "allOf",
        "anyOf",
        "$ref",
        "description",
        "required",
        "additionalProperties",
    ]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.sampled_from(["string", "object", "array", "#/allOf/0", "#/nowhere", GOOD, "(("]),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(_KEYWORDS, st.text(max_size=2)), inner, max_size=3),
    ),
    max_leaves=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(_KEYWORDS, _JSON, max_size=5), st.sampled_from(["schema.json", "examples/example.jsonld"])
)
def test_any_json_gives_findings_never_a_crash(model: Model, document: dict[str, Any], file: str) -> None:
    original = model.text(file)
    try:
        model.write(file, json.dumps(document))
        findings = model.findings()
    finally:
        model.write(file, original)
    assert findings and all(f.code in RULES for f in findings)


# --- subject folders ------------------------------------------------------------------------------------


def test_subject_files(tmp_path: Path) -> None:
    Model(tmp_path)
    (tmp_path / "CONTRIBUTORS.yaml").write_text(
        "description: x\ncontributors:\n  - name: Ada\n    nickname: A\n", encoding="utf-8"
    )
    (tmp_path / "notes_context.jsonld").write_text(
        json.dumps({"@context": {"digit": "schema:digit", "ok": "https://example.org/ok"}}, indent=2),
        encoding="utf-8",
    )
    findings = sdmtool.check_model(tmp_path, subject=True)
    text = (tmp_path / "notes_context.jsonld").read_text(encoding="utf-8")
    assert sorted(at(f) for f in findings) == [
        (
            "sdm.subject-files",
            ERROR,
            "notes_context.jsonld",
            "/@context/digit",
            *position(text, '"schema:digit"'),
        ),
        ("sdm.yaml-structure", WARNING, "CONTRIBUTORS.yaml", "/contributors/0/nickname", 4, 15),
    ]


def test_shared_subject_schema_resolves_refs(tmp_path: Path) -> None:
    shared = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.org/dataModel.Example/example-schema.json",
        "definitions": {"Checksum": {"type": "string", "description": "A checksum of the artifact"}},
    }
    (tmp_path / "example-schema.json").write_text(json.dumps(shared), encoding="utf-8")
    model = Model(tmp_path)
    reference = shared["$id"] + "#/definitions/Checksum"
    model.edit_schema(lambda s: model.properties(s).update(modelSha256={"$ref": reference}))
    finding = only(model.findings())  # resolved (no sdm.ref-unresolved); its description is checked
    assert (finding.code, finding.json_path) == ("sdm.description-grammar", f"{PROPS}/modelSha256")
    assert f"(in {reference}/description)" in finding.message


@pytest.mark.parametrize("subject", [True, False])
def test_structure_rules_follow_refs_into_the_subject_schema(tmp_path: Path, subject: bool) -> None:
    """As the description rule does: at the $ref of schema.json, naming the place in the shared schema."""
    shared_id = "https://smart-data-models.github.io/dataModel.MachineLearning/machinelearning-schema.json"
    shared = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": shared_id,
        "definitions": {
            "Str": {"type": "string", "items": {"type": "string", "description": GOOD}, "description": GOOD},
            "Arr": {"type": "array", "description": GOOD},
            "Obj": {"type": "object", "description": GOOD},
        },
    }
    (tmp_path / "machinelearning-schema.json").write_text(json.dumps(shared), encoding="utf-8")
    (tmp_path / "CONTRIBUTORS.yaml").write_text("description: x\ncontributors: []\n", encoding="utf-8")
    model = Model(tmp_path)
    model.edit_schema(
        lambda s: model.properties(s).update(
            {f"ml{name}": {"$ref": f"{shared_id}#/definitions/{name}"} for name in ("Str", "Arr", "Obj")}
        )
    )
    findings = sdmtool.check_model(tmp_path, subject=True) if subject else model.findings()
    text = model.text("schema.json")
    assert sorted((*at(f), f.message.rsplit(" (in ", 1)[1]) for f in findings) == [
        (
            "sdm.array-object-structure",
            ERROR,
            "schema.json",
            f"{PROPS}/mlArr",
            *value_at(text, '"mlArr": '),
            f"{shared_id}#/definitions/Arr)",
        ),
        (
            "sdm.array-object-structure",
            ERROR,
            "schema.json",
            f"{PROPS}/mlObj",
            *value_at(text, '"mlObj": '),
            f"{shared_id}#/definitions/Obj)",
        ),
        (
            "sdm.string-structure",
            ERROR,
            "schema.json",
            f"{PROPS}/mlStr",
            *value_at(text, '"mlStr": '),
            f"{shared_id}#/definitions/Str/items)",
        ),
    ]


SHARED_ID = "https://smart-data-models.github.io/dataModel.MachineLearning/shared-schema.json"


def _shared(tmp_path: Path, definitions: dict[str, Any]) -> None:
    shared = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SHARED_ID,
        "$defs": definitions,
    }
    (tmp_path / "shared-schema.json").write_text(json.dumps(shared, indent=2), encoding="utf-8")
    (tmp_path / "CONTRIBUTORS.yaml").write_text("description: x\ncontributors: []\n", encoding="utf-8")


@pytest.mark.parametrize("subject", [True, False])
def test_a_target_in_the_shared_schema_is_reported_once_at_the_first_ref(
    tmp_path: Path, subject: bool
) -> None:
    _shared(tmp_path, {"D": {"type": "string", "description": "Prop. bad grammar in shared"}})
    model = Model(tmp_path)
    reference = {"$ref": f"{SHARED_ID}#/$defs/D"}
    model.edit_schema(lambda s: model.properties(s).update(algorithm=reference, mlFramework=reference))
    findings = sdmtool.check_model(tmp_path, subject=True) if subject else model.findings()
    finding = only(findings, "sdm.description-grammar")
    assert at(finding) == (
        "sdm.description-grammar",
        ERROR,
        "schema.json",
        f"{PROPS}/algorithm",
        *value_at(model.text("schema.json"), '"algorithm": '),
    )
    assert finding.message.endswith(f"(in {SHARED_ID}#/$defs/D/description)")  # where to fix it


def test_a_shared_target_is_reported_at_the_first_ref_in_document_order(tmp_path: Path) -> None:
    """Not at the first the walk meets: here the walk meets mlShared's before the one in $defs."""
    _shared(
        tmp_path,
        {
            "D": {"type": "string", "description": "Prop. bad grammar in shared"},
            "Arr": {"type": "array", "description": GOOD},
        },
    )
    model = Model(tmp_path)
    holder = {
        "type": "object",
        "description": GOOD,
        "properties": {
            "inner": {"$ref": f"{SHARED_ID}#/$defs/D"},
            "list": {"$ref": f"{SHARED_ID}#/$defs/Arr"},
        },
    }

    def change(schema: dict[str, Any]) -> None:
        written = dict(schema)
        schema.clear()
        schema.update({"$defs": {"Holder": holder}, **written})  # written before the properties
        model.properties(schema).update(
            mlShared={"$ref": f"{SHARED_ID}#/$defs/D"},
            mlOther={"$ref": f"{SHARED_ID}#/$defs/Arr"},
            mlHolder={"$ref": "#/$defs/Holder"},
        )

    model.edit_schema(change)
    text = model.text("schema.json")
    assert sorted((*at(f), f.message.rsplit(" (in ", 1)[1]) for f in model.findings()) == [
        (
            "sdm.array-object-structure",
            ERROR,
            "schema.json",
            "/$defs/Holder/properties/list",
            *value_at(text, '"Holder"', '"list": '),
            f"{SHARED_ID}#/$defs/Arr)",
        ),
        (
            "sdm.description-grammar",
            ERROR,
            "schema.json",
            "/$defs/Holder/properties/inner",
            *value_at(text, '"Holder"', '"inner": '),
            f"{SHARED_ID}#/$defs/D/description)",
        ),
    ]


def test_a_structure_problem_in_the_shared_schema_is_reported_once(tmp_path: Path) -> None:
    _shared(tmp_path, {"Arr": {"type": "array", "description": GOOD}})
    model = Model(tmp_path)
    reference = {"$ref": f"{SHARED_ID}#/$defs/Arr"}
    model.edit_schema(lambda s: model.properties(s).update(mlOther=reference, mlShared=reference))
    finding = only(model.findings())
    assert at(finding) == (
        "sdm.array-object-structure",
        ERROR,
        "schema.json",
        f"{PROPS}/mlOther",
        *value_at(model.text("schema.json"), '"mlOther": '),
    )
    assert finding.message.endswith(f"(in {SHARED_ID}#/$defs/Arr)")


def test_a_shared_place_named_two_ways_is_still_one_place(tmp_path: Path) -> None:
    """#/$defs/Obj/properties/x, and x reached inside #/$defs/Obj: one place, reported once."""
    _shared(
        tmp_path,
        {
            "Obj": {
                "type": "object",
                "description": GOOD,
                "properties": {"x": {"type": "string", "description": "Prop. bad grammar in shared"}},
            }
        },
    )
    model = Model(tmp_path)
    model.edit_schema(
        lambda s: model.properties(s).update(
            mlOther={"$ref": f"{SHARED_ID}#/$defs/Obj/properties/x"},
            mlHolder={"$ref": f"{SHARED_ID}#/$defs/Obj"},
        )
    )
    finding = only(model.findings())
    assert at(finding) == (
        "sdm.description-grammar",
        ERROR,
        "schema.json",
        f"{PROPS}/mlOther",
        *value_at(model.text("schema.json"), '"mlOther": '),
    )
    assert finding.message.endswith(f"(in {SHARED_ID}#/$defs/Obj/properties/x/description)")


def test_subject_with_a_model_folder_without_schema(tmp_path: Path) -> None:
    Model(tmp_path)
    (tmp_path / "Broken" / "examples").mkdir(parents=True)
    (tmp_path / "CONTRIBUTORS.yaml").write_text("description: x\ncontributors: []\n", encoding="utf-8")
    findings = sdmtool.check_model(tmp_path, subject=True)
    assert {f.code for f in findings} == {"sdm.files-present", "sdm.publication-files"}
    assert {Path(f.file or "").parts[-2] for f in findings if f.code == "sdm.files-present"} == {
        "Broken",
        "examples",
    }


# --- the command ----------------------------------------------------------------------------------------


def run(*args: str) -> Any:
    return CliRunner().invoke(main, ["check-model", *args])


def test_command_exit_0_with_warnings_only() -> None:
    result = run(str(resources.schemas_dir() / "MLModel"))
    assert result.exit_code == EXIT_OK, result.output
    assert "[sdm.publication-files]" in result.output
    assert result.output.rstrip().endswith("0 errors, 2 warnings")


def test_command_exit_1_with_the_finding_in_every_format(model: Model) -> None:
    model.edit("examples/example.json", lambda e: e.update(version=12))
    line, column = position(model.text("examples/example.json"), '"version": ', "12")
    text = run(str(model.folder))
    assert text.exit_code == EXIT_INVALID
    assert f"example.json:{line}:{column}: error: /version: must be a string" in text.output
    assert text.output.splitlines()[0].endswith("[sdm.keyvalues-example]")
    report = json.loads(run("--format", "json", str(model.folder)).output)
    assert report["exit_code"] == EXIT_INVALID
    assert [(f["code"], f["json_path"], f["line"]) for f in report["findings"]] == [
        ("sdm.keyvalues-example", "/version", line)
    ]
    sarif = json.loads(run("--format", "sarif", str(model.folder)).output)
    rule = sarif["runs"][0]["tool"]["driver"]["rules"][0]
    assert rule["shortDescription"]["text"] == RULES["sdm.keyvalues-example"][1]
    assert '<testsuites name="sdmtool check-model"' in run("--format", "junit", str(model.folder)).output


@pytest.mark.parametrize("kind", ["missing", "file", "subject-without-flag", "empty-subject"])
def test_command_exit_2_on_usage_errors(tmp_path: Path, kind: str) -> None:
    if kind == "missing":
        args = [str(tmp_path / "nowhere")]
    elif kind == "file":
        (tmp_path / "schema.json").write_text("{}", encoding="utf-8")
        args = [str(tmp_path / "schema.json")]
    elif kind == "subject-without-flag":
        Model(tmp_path)
        args = [str(tmp_path)]
    else:
        args = ["--subject", str(tmp_path)]
    result = run(*args)
    assert result.exit_code == EXIT_USAGE, result.output
    assert "input." in result.output
    if kind == "subject-without-flag":
        assert "use --subject" in result.output


def test_command_exit_3_on_an_unresolvable_ref(model: Model) -> None:
    model.edit_schema(
        lambda s: s["allOf"].append({"$ref": "https://example.org/other-schema.json#/definitions/X"})
    )
    result = run(str(model.folder))
    assert result.exit_code == EXIT_SCHEMA, result.output
    assert "[sdm.ref-unresolved]" in result.output


def test_rules_are_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## `sdmtool check-model`", 1)[1].split("\n## ", 1)[0]
    for rule, (severity, _) in RULES.items():
        assert f"`{rule}`" in section, rule
        assert severity in section


def test_examples_are_held_to_the_value_rules_validate_applies(model: Model) -> None:
    # NGSI-LD: a unit code that is no string, JSON null in a sub-attribute, an attribute written twice over
    # (double wrapping, said once), an undeclared attribute (at its name); NGSI-v2: forbidden characters.
    def normalized(entity: dict[str, Any]) -> None:
        entity["version"]["unitCode"] = 5
        entity["name"]["note"] = {"type": "Property", "value": None}
        entity["algorithm"] = {"type": "Property", "value": {"type": "Property", "value": "CNN"}}
        entity["colour"] = {"type": "Property", "value": "x"}

    model.edit("examples/example-normalized.jsonld", normalized)
    model.edit(
        "examples/example-normalized.json", lambda e: e.update(name={"type": "Text", "value": "a (b)"})
    )
    found = sorted((f.code, Path(f.file or "").name, f.json_path) for f in model.findings())
    assert found == [
        ("sdm.example-keys-declared", "example-normalized.jsonld", "/colour"),
        ("sdm.ngsild-example", "example-normalized.jsonld", "/algorithm/value"),
        ("sdm.ngsild-example", "example-normalized.jsonld", "/name/note/value"),
        ("sdm.ngsild-example", "example-normalized.jsonld", "/version/unitCode"),
        ("sdm.ngsiv2-example", "example-normalized.json", "/name/value"),
    ]
    text = model.text("examples/example-normalized.jsonld")
    (colour,) = [f for f in model.findings() if f.json_path == "/colour"]
    line, column = position(text, '"colour": ')
    assert (colour.line, colour.column) == (line, column + len('"colour": '))


@pytest.mark.parametrize(
    ("file", "entity_id", "rule", "found"),
    [
        ("examples/example-normalized.json", "MLModel(1)", "sdm.ngsiv2-example", "found ( )"),
        ("examples/example.json", "MLModel;1", "sdm.keyvalues-example", "found ;"),
    ],
)
def test_forbidden_characters_in_an_ngsiv2_id_are_said_once(
    model: Model, file: str, entity_id: str, rule: str, found: str
) -> None:
    model.edit(file, lambda e: e.update(id=entity_id))
    finding = only(model.findings())
    assert at(finding) == (rule, ERROR, Path(file).name, "/id", *value_at(model.text(file), '"id": '))
    assert finding.message.endswith(found)


def test_an_ngsi_ld_id_in_the_ngsiv2_example_still_gets_the_ngsiv2_characters(model: Model) -> None:
    # Read as NGSI-LD keyValues (a URI id), so the NGSI-v2 value rules do not see it: check-model says it.
    model.edit("examples/example.json", lambda e: e.update(id="urn:ngsi-ld:MLModel:a;b"))
    finding = only(model.findings())
    text = model.text("examples/example.json")
    assert at(finding) == ("sdm.keyvalues-example", ERROR, "example.json", "/id", *value_at(text, '"id": '))
    assert finding.message == "NGSI-v2 ids cannot contain ';'"


def test_subscription_query_examples_are_held_to_the_subscription_rules(tmp_path: Path) -> None:
    """The rules `validate` holds a SubscriptionQuery to: a q that does not parse, at the bad character."""
    model = Model(tmp_path, "SubscriptionQuery")
    model.edit("examples/example.json", lambda e: e.update(q="speed>>50"))
    model.edit("examples/example-normalized.jsonld", lambda e: e["q"].update(value="speed>>50"))
    key_values = model.text("examples/example.json")
    normalized = model.text("examples/example-normalized.jsonld")
    findings = model.findings()
    assert sorted(at(f) for f in findings) == [
        ("sdm.keyvalues-example", ERROR, "example.json", "/q", *position(key_values, '"speed>', ">")),
        (
            "sdm.ngsild-example",
            ERROR,
            "example-normalized.jsonld",
            "/q/value",
            *position(normalized, '"speed>', ">"),
        ),
    ]
    assert all("q is not a valid NGSI-LD query" in f.message for f in findings)


def test_a_repeated_dataset_id_hides_no_error_of_the_other_instances(model: Model) -> None:
    def change(entity: dict[str, Any]) -> None:
        entity["algorithm"] = [
            {"type": "Property", "value": 5, "datasetId": "urn:ngsi-ld:Dataset:a"},
            {"type": "Property", "value": "b", "datasetId": "urn:ngsi-ld:Dataset:b"},
            {"type": "Property", "value": "c", "datasetId": "urn:ngsi-ld:Dataset:b"},
        ]

    model.edit("examples/example-normalized.jsonld", change)
    assert sorted(f.json_path for f in model.findings()) == ["/algorithm/0/value", "/algorithm/2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "got an array"),
        ("[{}, {}]", "got an array"),
        ('{"type": "Notification", "data": [{}]}', "not a notification"),
        ('"x"', "got a string"),
    ],
)
def test_an_example_is_one_entity(model: Model, text: str, message: str) -> None:
    model.write("examples/example.jsonld", text)
    finding = only(model.findings())
    assert (finding.code, finding.json_path) == ("sdm.keyvalues-example", "") and message in finding.message
    assert sdmtool.findings.exit_code([finding]) == sdmtool.findings.EXIT_INVALID


def test_a_schema_that_is_an_array_is_an_invalid_schema(model: Model) -> None:
    model.write("schema.json", "[]")
    (finding,) = [f for f in model.findings() if f.code == "sdm.schema-invalid"]
    assert "one JSON object" in finding.message
    assert not [f for f in model.findings() if f.code == "sdm.json-parse"]
