"""Generated files: in sync with the schemas and examples, deterministic, and a context that agrees with
upstream's and with the NGSI-LD core context."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sdmtool import build, forms, resources, schemas
from sdmtool.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
MODELS = schemas.entity_types()


def committed_context() -> dict[str, Any]:
    return json.loads(resources.subject_context_path().read_text(encoding="utf-8"))["@context"]


def upstream_context() -> dict[str, Any]:
    return json.loads((FIXTURES / "upstream-context.jsonld").read_text(encoding="utf-8"))["@context"]


def core_context() -> dict[str, Any]:
    return json.loads(resources.core_context_path().read_text(encoding="utf-8"))["@context"]


def test_committed_files_are_in_sync() -> None:
    stale = build.stale_files()
    assert stale == [], f"run `python -m sdmtool.build`: {stale}"


def test_build_is_deterministic() -> None:
    assert build.generated_files() == build.generated_files()
    for path, content in build.generated_files().items():
        assert content.endswith("}\n") and not content.endswith("\n\n"), path
        assert "\t" not in content and '\n  "' in content, path


def test_check_reports_stale_files(tmp_path: Path) -> None:
    target = tmp_path / "context.jsonld"
    files = {target: build.dumps({"a": 1})}
    assert build.stale_files(files) == [target]
    assert build.write_files(files) == [target]
    assert build.stale_files(files) == []
    assert build.write_files(files) == []  # up-to-date files are not rewritten
    target.write_text("{}\n")
    assert build.stale_files(files) == [target]


def test_run_check_exit_codes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = io.StringIO()
    assert build.run(check=True, out=out) == 0
    assert "up to date" in out.getvalue()
    stale = tmp_path / "stale.jsonld"
    monkeypatch.setattr(build, "generated_files", lambda: {stale: "{}\n"})
    out = io.StringIO()
    assert build.run(check=True, out=out) == 1
    assert "stale.jsonld" in out.getvalue()
    assert not stale.exists()  # --check writes nothing


def test_a_source_ngsiv2_cannot_hold_is_reported_and_nothing_written(monkeypatch: pytest.MonkeyPatch) -> None:
    source = build.load_source_example("SubscriptionQuery")
    source["entities"][0]["idPattern"] = "^urn:ngsi-ld:HandwritingDigit:(a|b)$"
    real = build.load_source_example
    monkeypatch.setattr(
        build, "load_source_example", lambda name: source if name == "SubscriptionQuery" else real(name)
    )

    def no_writing(files: Any = None) -> list[Path]:
        raise AssertionError("an invalid example must not be written")

    monkeypatch.setattr(build, "write_files", no_writing)
    for check in (False, True):
        out, err = io.StringIO(), io.StringIO()
        assert build.run(check=check, out=out, err=err) == 1
        assert out.getvalue() == ""
        message = err.getvalue()
        assert message.startswith("error: SubscriptionQuery/examples/example.json: cannot derive")
        assert "example-normalized.json" in message and "/entities/0/idPattern" in message
        assert "found ( )" in message


def test_cli_build_check() -> None:
    result = CliRunner().invoke(main, ["build", "--check"])
    assert result.exit_code == 0, result.output


def test_module_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sdmtool.build", "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert build.main(["--bogus"]) == 2


# --- the subject @context ----------------------------------------------------------------------------


def test_context_keys_are_sorted() -> None:
    text = resources.subject_context_path().read_text(encoding="utf-8")
    keys = list(json.loads(text)["@context"])
    assert keys == sorted(keys)


def test_every_type_and_attribute_is_in_the_context() -> None:
    context = committed_context()
    for entity_type in MODELS:
        assert context[entity_type] == build.SUBJECT_NAMESPACE + entity_type
        missing = schemas.all_member_names(entity_type) - set(context)
        assert not missing, (entity_type, missing)
    assert context["ngsi-ld"] == "https://uri.etsi.org/ngsi-ld/"
    assert context["id"] == "@id" and context["type"] == "@type"


def test_context_agrees_with_upstream() -> None:
    ours, theirs = committed_context(), upstream_context()
    shared = set(ours) & set(theirs)
    assert len(shared) > 40
    assert {name: (ours[name], theirs[name]) for name in shared if ours[name] != theirs[name]} == {}
    # What upstream has and we do not is only what our schemas no longer declare.
    assert set(theirs) - set(ours) == {"endPoint", "temporalQ"}


def _expand(value: str, core: dict[str, Any]) -> str:
    if value.startswith("@") or "://" in value:
        return value
    if ":" in value:
        prefix, suffix = value.split(":", 1)
        return core[prefix] + suffix
    target = core[value]
    return _expand(target if isinstance(target, str) else target["@id"], core)


def test_core_terms_take_the_core_definition() -> None:
    """Identical after prefix resolution, so the context works before or after the protected core."""
    ours, core = committed_context(), core_context()
    shared = (set(ours) & set(core)) - {"@version", "@protected"}
    assert {"q", "entities", "notification", "watchedAttributes", "format", "uri", "accept"} <= shared
    assert {"expiresAt", "throttling", "geoQ", "endpoint", "key", "value", "coordinates"} <= shared
    for term in shared:
        mine, theirs = ours[term], core[term]
        if isinstance(theirs, str):
            assert mine == _expand(theirs, core), term
        else:
            assert isinstance(mine, dict), term
            assert set(mine) == set(theirs), term
            for key, value in theirs.items():
                expected = _expand(value, core) if key in {"@id", "@type"} else value
                assert mine[key] == expected, (term, key)


def test_nested_subscription_selector_terms_are_core() -> None:
    context = committed_context()
    # `type` / `id` inside SubscriptionQuery entities[] must stay the JSON-LD keywords, not subject terms.
    assert context["type"] == "@type" and context["id"] == "@id"
    assert not any(
        isinstance(v, str) and v.endswith(("/type", "/id")) and v.startswith(build.SDM_NAMESPACE)
        for v in context.values()
    )


def test_common_terms_use_the_sdm_root() -> None:
    context = committed_context()
    assert context["name"] == "https://smartdatamodels.org/name"
    assert context["description"] == "http://purl.org/dc/terms/description"
    assert context["dateCreated"] == "https://smartdatamodels.org/dateCreated"
    assert context["version"] == build.SUBJECT_NAMESPACE + "version"


# --- generated examples ------------------------------------------------------------------------------


@pytest.mark.parametrize("entity_type", MODELS)
def test_generated_examples(entity_type: str) -> None:
    folder = resources.schemas_dir() / entity_type / "examples"
    source = json.loads((folder / "example.json").read_text(encoding="utf-8"))
    key_values = json.loads((folder / "example.jsonld").read_text(encoding="utf-8"))
    normalized = json.loads((folder / "example-normalized.jsonld").read_text(encoding="utf-8"))
    ngsiv2 = json.loads((folder / "example-normalized.json").read_text(encoding="utf-8"))
    context = [resources.SUBJECT_CONTEXT_URL, resources.CORE_CONTEXT_URL]
    assert key_values == source | {"@context": context}
    assert normalized["@context"] == context
    assert forms.detect_form(normalized) == "normalized"
    assert forms.to_key_values(normalized) == key_values
    assert "@context" not in ngsiv2
    assert forms.from_ngsiv2_normalized(ngsiv2) == source
    for name, member in ngsiv2.items():
        if name not in {"id", "type"}:
            assert member["type"] not in {"Property", "Relationship", "GeoProperty"}, name


def test_generated_contexts_resolve_offline() -> None:
    local = resources.local_context_files()
    for url in (resources.SUBJECT_CONTEXT_URL, resources.CORE_CONTEXT_URL):
        assert local[url].is_file()
