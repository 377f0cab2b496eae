"""sdmtool: the Smart Data Model toolkit for MLOps on FIWARE."""

__version__ = "0.1.0"

from sdmtool.check_model import check_model
from sdmtool.findings import Finding
from sdmtool.lint import lint
from sdmtool.validate import validate

__all__ = ["Finding", "__version__", "check_model", "lint", "validate"]
