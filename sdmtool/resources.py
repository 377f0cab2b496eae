"""Where the bundled schemas and JSON-LD contexts live, and which URLs they stand for.

Everything sdmtool and the runtime read at run time is bundled, so nothing is fetched from the network:
remote ``$ref`` targets and ``@context`` URLs are mapped to files shipped with the package.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent

SUBJECT = "MachineLearning"
SCHEMA_BASE_URL = f"https://smart-data-models.github.io/dataModel.{SUBJECT}/"
COMMON_SCHEMA_URL = "https://smart-data-models.github.io/data-models/common-schema.json"

# The subject context under its published name, and the URL the upstream examples and the talk use.
SUBJECT_CONTEXT_URL = f"https://smart-data-models.github.io/dataModel.{SUBJECT}/context.jsonld"
UPSTREAM_CONTEXT_URL = (
    f"https://raw.githubusercontent.com/smart-data-models/dataModel.{SUBJECT}/master/context.jsonld"
)
CORE_CONTEXT_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
# Every published name of the core context: the unversioned URL and -v1.0 ... -v1.9. Whichever a client
# names, a broker applies its own core context, last (clause 5.5.7); so does the embedded one, with its copy.
_CORE_CONTEXT_URL = re.compile(
    r"https://uri\.etsi\.org/ngsi-ld/v1/ngsi-ld-core-context(?:-v1\.[0-9]+)?\.jsonld"
)


def is_core_context_url(url: str) -> bool:
    """Whether ``url`` names the NGSI-LD core context, in any of its versions."""
    return _CORE_CONTEXT_URL.fullmatch(url) is not None


def _bundled(name: str) -> Path:
    """A wheel carries the folders under ``sdmtool/_bundled``; a source checkout has them at the top."""
    installed = _PACKAGE_DIR / "_bundled" / name
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / name


@functools.cache
def schemas_dir() -> Path:
    return _bundled("schemas")


@functools.cache
def contexts_dir() -> Path:
    return _bundled("contexts")


def schema_path(entity_type: str) -> Path:
    return schemas_dir() / entity_type / "schema.json"


def model_names() -> list[str]:
    """Entity types that have a schema in the bundle, sorted."""
    return sorted(p.parent.name for p in schemas_dir().glob("*/schema.json"))


def common_schema_path() -> Path:
    return schemas_dir() / "external" / "common-schema.json"


def subject_context_path() -> Path:
    return contexts_dir() / "context.jsonld"


def core_context_path() -> Path:
    return contexts_dir() / "ngsi-ld-core-context-v1.8.jsonld"


def local_context_files() -> dict[str, Path]:
    """Context URL -> bundled file, for every context the toolkit and runtime can load offline."""
    return {
        SUBJECT_CONTEXT_URL: subject_context_path(),
        UPSTREAM_CONTEXT_URL: subject_context_path(),
        CORE_CONTEXT_URL: core_context_path(),
    }
