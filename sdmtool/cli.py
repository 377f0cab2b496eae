"""The ``sdmtool`` command: a thin layer over the Python API (exit codes in :mod:`sdmtool.findings`)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import click

from sdmtool import __version__, reader
from sdmtool import build as build_module
from sdmtool.findings import exit_code
from sdmtool.report import REPORTERS, Summary, render

# By name: `sdmtool.validate` is the exported function, which shadows the module of the same name.
from sdmtool.validate import FORM_CHOICES, validate_items


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sdmtool")
def main() -> None:
    """Smart Data Model toolkit for MLOps on FIWARE (NGSI-LD)."""


class _Counter:
    """Counts entities and inputs while the reader streams them, for the summary line."""

    def __init__(self) -> None:
        self.entities = 0
        self.sources: set[str] = set()

    def input_read(self, name: str) -> None:
        self.sources.add(name)  # an input with no entity (an empty array) still counts as checked

    def wrap(self, items: Iterator[reader.Item]) -> Iterator[reader.Item]:
        for item in items:
            if isinstance(item, reader.SourceEntity):
                self.entities += 1
            self.sources.add(item.source)
            yield item


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--form",
    type=click.Choice(FORM_CHOICES),
    default="auto",
    show_default=True,
    help="Representation of the entities; auto detects it per entity.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(REPORTERS)),
    default="text",
    show_default=True,
    help="Report format.",
)
def validate(paths: tuple[str, ...], form: str, output_format: str) -> None:
    """Validate entities in files, directories (recursively) or '-' (stdin).

    Exit status: 0 all valid, 1 some entity invalid, 2 usage error or unreadable input.
    """
    counter = _Counter()
    items = counter.wrap(reader.read(paths, on_input=counter.input_read))
    findings = list(validate_items(items, form=None if form == "auto" else form))
    summary = Summary(entities=counter.entities, sources=len(counter.sources))
    click.echo(render(output_format, findings, summary), nl=False)
    sys.exit(exit_code(findings))


@main.command()
@click.option("--check", is_flag=True, help="Write nothing; exit 1 and list the stale files if any.")
def build(check: bool) -> None:
    """Generate the subject @context and the example forms from the schemas and keyValues examples."""
    sys.exit(build_module.run(check=check))


if __name__ == "__main__":
    main()
