"""What a check reports, and how a list of findings turns into a process exit code."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]

ERROR: Severity = "error"
WARNING: Severity = "warning"

# Exit codes of every sdmtool command. 3 is reserved for problems with the schemas or references themselves
# (a broken bundle, an unresolvable $ref): neither the input's fault (1) nor the user's (2).
EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_SCHEMA = 3

# A finding's category says whose problem it is, which is what selects the exit code.
CATEGORY_ENTITY = "entity"  # the data does not follow the model: exit 1
CATEGORY_INPUT = "input"  # the input could not be read or parsed: exit 2
CATEGORY_SCHEMA = "schema"  # the schema/reference side is broken: exit 3

_EXIT_BY_CATEGORY = {CATEGORY_ENTITY: EXIT_INVALID, CATEGORY_INPUT: EXIT_USAGE, CATEGORY_SCHEMA: EXIT_SCHEMA}


def entity_identity(entity: Any) -> tuple[str | None, str | None]:
    """The ``id`` and ``type`` a finding names for an entity: each only when it is a string."""
    if not isinstance(entity, dict):
        return None, None
    entity_id, entity_type = entity.get("id"), entity.get("type")
    return (
        entity_id if isinstance(entity_id, str) else None,
        entity_type if isinstance(entity_type, str) else None,
    )


@dataclass(frozen=True)
class Finding:
    """One problem found in one place.

    ``json_path`` is a JSON Pointer into the entity as it was written (for a normalized entity it points at
    ``/attr/value/...`` or ``/attr/object``), relative to the entity, not to the file that holds it.
    ``line``/``column`` are 1-based and locate the value in the file, when there is a file.
    """

    severity: Severity
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    json_path: str = ""
    entity_id: str | None = None
    entity_type: str | None = None
    form: str | None = None
    index: int | None = None  # position of the entity in its file (array element or NDJSON line)
    category: str = CATEGORY_ENTITY
    document: int | None = None  # YAML: the document of a multi-document file (0-based), shown file.yaml[2]

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def exit_code(findings: Iterable[Finding]) -> int:
    """The most severe outcome wins: schema trouble (3) > unreadable input (2) > invalid data (1) > 0."""
    code = EXIT_OK
    for finding in findings:
        if not finding.is_error:
            continue
        candidate = _EXIT_BY_CATEGORY.get(finding.category, EXIT_INVALID)
        # 3 outranks 2 outranks 1: the order of the numbers is the order of severity.
        code = max(code, candidate)
    return code


def count(findings: Iterable[Finding]) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = warnings = 0
    for finding in findings:
        if finding.is_error:
            errors += 1
        else:
            warnings += 1
    return errors, warnings
