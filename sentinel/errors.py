"""The exceptions sentinel raises; all derive from SentinelError."""

from __future__ import annotations


class SentinelError(Exception):
    """Root of every error sentinel raises on purpose."""


class ConfigError(SentinelError, ValueError):
    """The configuration is invalid; ``issues`` holds every problem found."""

    def __init__(self, issues: list[str]) -> None:
        super().__init__("\n".join(issues))
        self.issues = issues


class StoreError(SentinelError, RuntimeError):
    """The state database cannot be opened or migrated."""


class CsvFormatError(SentinelError, ValueError):
    """An event CSV row is malformed; the message names file and line."""
