"""The ntfy stand-in the tests use: the package's local server, failures on demand included."""

from sentinel.demo.ntfy import LocalNtfy as FakeNtfy

__all__ = ["FakeNtfy"]
