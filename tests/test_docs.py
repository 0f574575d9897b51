"""Docs that are generated from code stay in step with it."""

from __future__ import annotations

from conftest import ROOT
from sentinel.config.reference import render


def test_config_reference_is_up_to_date() -> None:
    assert (ROOT / "docs" / "config.md").read_text() == render(), (
        "run: python -m sentinel.config.reference > docs/config.md"
    )


def test_every_config_key_is_in_the_commented_example() -> None:
    example = (ROOT / "configs" / "example.yaml").read_text()
    from sentinel.config.model import Config
    from sentinel.config.schema import reference

    for key, *_ in reference(Config):
        leaf = key.rsplit(".", 1)[-1].removesuffix("[]")
        assert f"{leaf}:" in example, f"configs/example.yaml does not mention {key}"
