"""Reference inference runtime for the MachineLearning Smart Data Models."""

__version__ = "0.1.0"
