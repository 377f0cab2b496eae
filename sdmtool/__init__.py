"""sdmtool: the Smart Data Model toolkit for MLOps on FIWARE."""

__version__ = "0.1.0"
