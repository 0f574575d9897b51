"""The ntfy stand-in the tests use: the package's local server, failures on demand included."""

from sentinel.notify.localntfy import LocalNtfy as FakeNtfy

__all__ = ["FakeNtfy"]
