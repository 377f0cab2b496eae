"""The ``sdmtool`` command: a thin layer over the Python API (exit codes in :mod:`sdmtool.findings`)."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import click

from sdmtool import __version__, forms, reader
from sdmtool import build as build_module

# By name: `sdmtool.validate` is the exported function, which shadows the module of the same name.
from sdmtool.catalog import load_catalog, parse_ref_map
from sdmtool.check_model import run_checks as run_model_checks
from sdmtool.findings import EXIT_USAGE, Finding, entity_identity, exit_code
from sdmtool.lint import lint_items
from sdmtool.progress import Progress, wanted
from sdmtool.report import LISTS_ENTITIES, REPORTERS, Checked, Summary, render, use_color
from sdmtool.validate import FORM_CHOICES, line_proof, validate_items


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sdmtool")
def main() -> None:
    """Smart Data Model toolkit for MLOps on FIWARE (NGSI-LD)."""


class _Counter:
    """Counts entities and inputs while the reader streams them, for the summary line.

    With ``record``, also lists every entity (for the reports that have one entry per entity, valid or not).
    """

    def __init__(self, record: bool = False, progress: Progress | None = None) -> None:
        self.entities = 0
        self.sources: dict[str, None] = {}  # a set that keeps the order of reading
        self.record = record
        self.checked: list[Checked] = []
        self.progress = progress or Progress(enabled=False)
        self.forms: dict[str, int] = {}

    def input_read(self, name: str) -> None:
        self.sources[name] = None  # an input with no entity (an empty array) still counts as checked
        self.progress.describe(name)

    def wrap(self, items: Iterator[reader.Item]) -> Iterator[reader.Item]:
        for item in items:
            if isinstance(item, reader.SourceEntity | reader.ProvenEntity):
                self.entities += 1
                self.progress.advance()
                if self.record:
                    self.checked.append(_checked(item))
            if item.source not in self.sources:
                self.sources[item.source] = None
                self.progress.describe(item.source)
            yield item

    def entity_form(self, item: reader.SourceEntity | reader.ProvenEntity, form: str | None) -> None:
        """The form ``item`` was read in (validate): counted, and kept on its record."""
        if form is not None:
            self.forms[form] = self.forms.get(form, 0) + 1
        if self.record and self.checked:
            # Validation follows the reader one entity at a time: the last record is this entity's.
            self.checked[-1] = dataclasses.replace(self.checked[-1], form=form)

    def summary(self, command: str) -> Summary:
        inputs = tuple(self.sources) if self.record else ()
        return Summary(
            self.entities,
            len(self.sources),
            inputs=inputs,
            checked=tuple(self.checked),
            command=command,
            forms=tuple(self.forms.items()),
        )


def _report_and_exit(output_format: str, findings: list[Finding], summary: Summary) -> NoReturn:
    """Writes the report to stdout and exits with the code the findings call for (never the format's)."""
    color = output_format == "text" and use_color(sys.stdout)
    report = render(output_format, findings, summary, color=color)
    try:
        if sys.stdout is None:  # started with stdout closed
            raise OSError("there is no standard output")
        click.echo(report, nl=False, color=color or None)
        sys.stdout.flush()
    except BrokenPipeError:
        raise  # a reader that stopped reading (| head): click's own handling
    except OSError as error:  # a full disk, a closed descriptor: the report is lost, and that is an error
        click.echo(f"Error: cannot write the report: {error.strerror or error}", err=True)
        _silence_stdout()
        sys.exit(EXIT_USAGE)
    sys.exit(exit_code(findings))


def _silence_stdout() -> None:
    """Let the interpreter's last flush of stdout (whose buffer still holds the report) succeed silently."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):  # no stdout at all: nothing to flush
        pass


def _checked(item: reader.SourceEntity | reader.ProvenEntity) -> Checked:
    if isinstance(item, reader.ProvenEntity):
        return Checked(item.source, item.index, item.entity_id, item.entity_type)
    return Checked(item.source, item.index, *entity_identity(item.value), document=item.document)


# The same reports for every checking command (validate, lint, check-model).
report_format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(REPORTERS)),
    default="text",
    show_default=True,
    help="Report format: text (coloured on a terminal unless NO_COLOR is set), json, junit (JUnit XML), "
    "sarif (SARIF 2.1.0, for GitHub code scanning) or github (GitHub Actions annotations).",
)


def _ref_map(context: click.Context, parameter: click.Parameter, value: tuple[str, ...]) -> dict[str, Path]:
    try:
        return parse_ref_map(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx=context, param=parameter) from None


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--form",
    type=click.Choice(FORM_CHOICES),
    default="auto",
    show_default=True,
    help="Representation of the entities; auto detects it per entity (ngsiv2 = ngsiv2-normalized).",
)
@click.option(
    "--schema",
    "schema_paths",
    multiple=True,
    type=click.Path(exists=True),
    metavar="FILE|DIR",
    help="Also validate against these schemas (other Smart Data Models); repeatable. In a DIR: every "
    "schema.json and every *.json that declares $schema. The entity type is read from the schema.",
)
@click.option(
    "--ref-map",
    multiple=True,
    callback=_ref_map,
    metavar="URL_PREFIX=DIR",
    help="Resolve remote $refs under URL_PREFIX from files under DIR, offline; repeatable.",
)
@click.option(
    "--skip-non-entities",
    is_flag=True,
    help="Pass over JSON and YAML documents that cannot be entities (no id, type or data at the top: "
    "package.json, CI configuration), as a pre-commit hook is given them. Parse errors are still errors.",
)
@report_format_option
def validate(
    paths: tuple[str, ...],
    form: str,
    schema_paths: tuple[str, ...],
    ref_map: dict[str, Path],
    skip_non_entities: bool,
    output_format: str,
) -> None:
    """Validate entities in files, directories (recursively) or '-' (stdin).

    JSON, NDJSON, YAML (.yaml/.yml, multi-document) and notifications (each entity of data[]).
    Exit status: 0 all valid, 1 some entity invalid, 2 usage error or unreadable input, 3 a schema
    problem (an unresolvable $ref, a schema file that is not a JSON Schema).
    """
    catalog = load_catalog(schema_paths, ref_map)
    with Progress(enabled=wanted()) as progress:
        counter = _Counter(record=output_format in LISTS_ENTITIES, progress=progress)
        chosen = None if form == "auto" else form
        proof = line_proof(forms.canonical_form(chosen) if chosen else None, catalog)
        read = reader.read(
            paths, on_input=counter.input_read, line_proof=proof, skip_non_entities=skip_non_entities
        )
        items = counter.wrap(read)
        findings = list(
            validate_items(
                items,
                form=chosen,
                catalog=catalog,
                on_entity=counter.entity_form,
                input_names=counter.sources,
            )
        )
    _report_and_exit(output_format, findings, counter.summary("validate"))


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@report_format_option
def lint(paths: tuple[str, ...], output_format: str) -> None:
    """Check the MLOps wiring of a set of entities (files, directories, '-' for stdin, a broker dump).

    References resolve to entities of the right type, the SubscriptionQuery delivers the model inputs and
    never watches its outputs (no notification loop), outputs exist in the target type, the newest model
    version is used, q parses. Exit status: 0 no error, 1 wiring errors, 2 usage error or unreadable input.
    """
    with Progress(enabled=wanted()) as progress:
        counter = _Counter(record=output_format in LISTS_ENTITIES, progress=progress)
        items = counter.wrap(reader.read(paths, on_input=counter.input_read))
        findings = lint_items(items, input_names=counter.sources, on_entity=counter.entity_form)
    _report_and_exit(output_format, findings, counter.summary("lint"))


@main.command("check-model")
@click.argument("directory", metavar="DIR")
@click.option(
    "--subject",
    is_flag=True,
    help="DIR is a subject folder: check every model folder in it and the subject's own files.",
)
@report_format_option
def check_model(directory: str, subject: bool, output_format: str) -> None:
    """Check a model folder (schema.json, examples/) against the Smart Data Models contribution rules.

    Each finding names its rule (sdm.*), file, line, column and JSON path. Exit status: 0 no error,
    1 rule errors, 2 usage error or a file that cannot be read or parsed, 3 a schema that cannot be used
    (an unresolvable $ref, not a JSON Schema).
    """
    result = run_model_checks(directory, subject=subject)
    checked = tuple(
        Checked(e.source, e.index, e.entity_id, e.entity_type, form=e.form) for e in result.examples
    )
    forms_seen: dict[str, int] = {}
    for example in checked:
        if example.form is not None:
            forms_seen[example.form] = forms_seen.get(example.form, 0) + 1
    summary = Summary(
        len(result.examples),
        len(result.inputs),
        inputs=tuple(result.inputs),
        checked=checked,
        command="check-model",
        forms=tuple(forms_seen.items()),
    )
    _report_and_exit(output_format, result.findings, summary)


@main.command()
@click.option("--check", is_flag=True, help="Write nothing; exit 1 and list the stale files if any.")
def build(check: bool) -> None:
    """Generate the subject @context and the example forms from the schemas and keyValues examples."""
    sys.exit(build_module.run(check=check))


if __name__ == "__main__":
    main()
