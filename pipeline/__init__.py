"""The partnership forms pipeline: generate fillable forms, ingest returns, write committee papers."""

__version__ = "0.1.0"
