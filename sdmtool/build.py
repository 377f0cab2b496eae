"""Derive the generated files from the schemas and the hand-written keyValues examples.

Outputs (all committed, all reproducible byte for byte):

* ``contexts/context.jsonld``: the subject ``@context``, one term per entity type and per member name
  at any depth of any schema;
* per model, ``examples/example.jsonld`` (keyValues), ``examples/example-normalized.jsonld`` (NGSI-LD
  normalized) and ``examples/example-normalized.json`` (NGSI-v2 normalized).

``python -m sdmtool.build`` writes them; ``--check`` writes nothing and exits 1 when one is stale.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sdmtool import forms, resources, schemas

# Where terms without an NGSI-LD core definition live. GSMA-Commons terms are shared by every SDM
# subject, so they sit at the root of the SDM namespace (as upstream maps them); the rest are ours.
SDM_NAMESPACE = "https://smartdatamodels.org/"
SUBJECT_NAMESPACE = f"{SDM_NAMESPACE}dataModel.{resources.SUBJECT}/"
NGSI_LD_NAMESPACE = "https://uri.etsi.org/ngsi-ld/"


EXAMPLE_SOURCE = "example.json"
EXAMPLE_KEY_VALUES_LD = "example.jsonld"
EXAMPLE_NORMALIZED_LD = "example-normalized.jsonld"
EXAMPLE_NORMALIZED_V2 = "example-normalized.json"


def dumps(document: Any, *, sort_keys: bool = False) -> str:
    """The one serialisation of every generated file: 2-space indent, UTF-8 as is, trailing newline."""
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=sort_keys) + "\n"


@functools.cache
def _core_terms() -> dict[str, Any]:
    with open(resources.core_context_path(), encoding="utf-8") as handle:
        return json.load(handle)["@context"]


def _expand_iri(value: str, core: Mapping[str, Any]) -> str:
    """Expand a compact IRI or a term of the core context to a full IRI; keywords stay as they are.

    Full IRIs keep the subject context usable on its own, and give the very same term definition as the
    core context: that matters because the core terms are ``@protected``.
    """
    if value.startswith("@") or "://" in value:
        return value
    if ":" in value:
        prefix, suffix = value.split(":", 1)
        base = core.get(prefix)
        if isinstance(base, str) and not base.startswith("@"):
            return base + suffix
        return value
    target = core.get(value)
    if isinstance(target, str):
        return _expand_iri(target, core)
    if isinstance(target, dict) and isinstance(target.get("@id"), str):
        return _expand_iri(target["@id"], core)
    return value


def _core_definition(term: str) -> Any:
    core = _core_terms()
    definition = core[term]
    if isinstance(definition, str):
        return _expand_iri(definition, core)
    expanded: dict[str, Any] = {}
    for key, value in definition.items():
        if key in {"@id", "@type"} and isinstance(value, str):
            expanded[key] = _expand_iri(value, core)
        else:
            expanded[key] = value
    return expanded


def term_definition(term: str, *, common: frozenset[str] = frozenset()) -> Any:
    """The IRI (or expanded definition) of one term, by precedence: NGSI-LD core, GSMA-Commons, subject."""
    if term in _core_terms():
        return _core_definition(term)
    if term in common:
        return SDM_NAMESPACE + term
    return SUBJECT_NAMESPACE + term


def build_context() -> dict[str, Any]:
    """The subject ``@context`` for every entity type and every member name of every bundled schema."""
    common = frozenset(schemas.common_member_names())
    terms: dict[str, Any] = {"ngsi-ld": NGSI_LD_NAMESPACE}
    for entity_type in schemas.entity_types():
        # Entity types are never core terms, so their IRI always sits in the subject namespace.
        terms[entity_type] = SUBJECT_NAMESPACE + entity_type
        for name in schemas.all_member_names(entity_type):
            # `id` / `type` at any depth (entity identity, SubscriptionQuery entity selectors) are the
            # core keyword aliases: the core-first precedence maps them to @id / @type.
            terms[name] = term_definition(name, common=common)
    return {"@context": dict(sorted(terms.items()))}


def _example_path(entity_type: str, name: str) -> Path:
    return resources.schemas_dir() / entity_type / "examples" / name


def load_source_example(entity_type: str) -> dict[str, Any]:
    with open(_example_path(entity_type, EXAMPLE_SOURCE), encoding="utf-8") as handle:
        return json.load(handle)


def ld_context() -> list[str]:
    """What the generated JSON-LD examples reference: the subject context first, then the core one."""
    return [resources.SUBJECT_CONTEXT_URL, resources.CORE_CONTEXT_URL]


class BuildError(ValueError):
    """A generated file cannot be derived from its source (an example NGSI-v2 cannot hold)."""


def build_examples(entity_type: str) -> dict[str, Any]:
    """The three derived forms of the model's keyValues example, keyed by file name."""
    source = load_source_example(entity_type)
    key_values_ld = dict(source)
    key_values_ld["@context"] = ld_context()
    try:
        ngsiv2 = forms.to_ngsiv2_normalized(source)
    except forms.ConversionError as error:
        # Never write an invalid example: say which value of the source stands in the way.
        raise BuildError(
            f"{entity_type}/examples/{EXAMPLE_SOURCE}: cannot derive {EXAMPLE_NORMALIZED_V2} (NGSI-v2 "
            f"normalized): {error}"
        ) from error
    return {
        EXAMPLE_KEY_VALUES_LD: key_values_ld,
        EXAMPLE_NORMALIZED_LD: forms.to_normalized(source, context=ld_context()),
        EXAMPLE_NORMALIZED_V2: ngsiv2,
    }


def generated_files() -> dict[Path, str]:
    """Every generated file with its exact expected content."""
    files: dict[Path, str] = {resources.subject_context_path(): dumps(build_context(), sort_keys=True)}
    for entity_type in schemas.entity_types():
        for name, document in build_examples(entity_type).items():
            files[_example_path(entity_type, name)] = dumps(document)
    return files


def stale_files(files: Mapping[Path, str] | None = None) -> list[Path]:
    """Generated files whose committed content differs from what the build would write."""
    stale = []
    for path, content in (generated_files() if files is None else files).items():
        try:
            current = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current != content:
            stale.append(path)
    return stale


def write_files(files: Mapping[Path, str] | None = None) -> list[Path]:
    """Write the stale files only (so timestamps of up-to-date files do not move); return them."""
    files = generated_files() if files is None else files
    written = stale_files(files)
    for path in written:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path], encoding="utf-8", newline="\n")
    return written


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def run(check: bool = False, *, out: Any = None, err: Any = None) -> int:
    """Shared by ``python -m sdmtool.build`` and ``sdmtool build``: 0 up to date / written, 1 stale or
    not derivable (then nothing is written)."""
    out = sys.stdout if out is None else out
    try:
        files = generated_files()
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr if err is None else err)
        return 1
    if check:
        stale = stale_files(files)
        for path in stale:
            print(f"stale: {_display(path)}", file=out)
        if stale:
            print(f"{len(stale)} generated file(s) out of date: run `sdmtool build`", file=out)
            return 1
        print("generated files are up to date", file=out)
        return 0
    written = write_files(files)
    for path in written:
        print(f"wrote {_display(path)}", file=out)
    if not written:
        print("generated files are up to date", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    unknown = [arg for arg in args if arg != "--check"]
    if unknown:
        print(f"usage: python -m sdmtool.build [--check] (unknown: {' '.join(unknown)})", file=sys.stderr)
        return 2
    return run(check="--check" in args)


if __name__ == "__main__":
    sys.exit(main())
