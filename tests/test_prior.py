"""The learned prior weight works through a busy kit's pairs of spells a bounded number at a time, to the same end."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from test_detect import D0, prior_home

from sentinel.detect import prior
from sentinel.detect.routine import Params, fit


@pytest.mark.parametrize("steady", [True, False])
def test_the_weight_and_lines_are_the_same_worked_out_in_small_chunks(steady: bool, monkeypatch) -> None:
    now = D0 + timedelta(days=28)
    whole = fit(prior_home(steady), now, Params())
    monkeypatch.setattr(prior, "MAX_PAIRS", 50)  # a few spells' pairs at a time
    chunked = fit(prior_home(steady), now, Params())
    assert chunked.prior_weight == whole.prior_weight
    assert chunked.lines.keys() == whole.lines.keys()
    for context, lines in whole.lines.items():
        assert chunked.lines[context] == pytest.approx(lines, rel=1e-9)


def test_chunks_cover_every_spell_once_and_keep_to_the_bound() -> None:
    costs = np.array([3, 3, 3, 10, 1, 1, 2])
    runs = prior._chunks(costs, 6)
    assert np.concatenate(runs).tolist() == list(range(len(costs)))
    assert [int(costs[r].sum()) for r in runs] == [6, 3, 10, 4]  # a costlier one alone, never split
