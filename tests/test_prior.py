"""The learned prior weight works through a busy kit's pairs of spells a bounded number at a time, to the same end."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest
from test_detect import D0, prior_home

from sentinel.detect import prior
from sentinel.detect.lines import wall_seconds
from sentinel.detect.routine import Params, fit
from sentinel.detect.summary import _model_dict, _model_of


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


def test_a_kit_too_busy_to_judge_or_a_home_with_too_little_keeps_the_weight_of_one_spell(monkeypatch) -> None:
    now = D0 + timedelta(days=28)
    assert fit(prior_home(False), now, Params()).prior_weight == max(prior.PRIOR_WEIGHTS)  # judged: leans on the home
    monkeypatch.setattr(prior, "MAX_JUDGED_PAIRS", 100)  # not even the last day's pairs fit
    assert fit(prior_home(False), now, Params()).prior_weight == prior.DEFAULT
    monkeypatch.setattr(prior, "MAX_JUDGED_PAIRS", 20_000_000)
    monkeypatch.setattr(prior, "MIN_SPELLS", 10**6)  # as after a fortnight away: a day or two of evidence
    assert fit(prior_home(False), now, Params()).prior_weight == prior.DEFAULT


@pytest.mark.parametrize("hint", [(3.0, None), (0.0, 0.0), (float("nan"), 0.0), (2.0, float("nan")), (2.0, "2024")])
def test_a_hint_that_is_not_a_weight_of_the_grid_chosen_this_week_is_chosen_anew(hint) -> None:
    now = D0 + timedelta(days=28)
    hint = (hint[0], wall_seconds(now) if hint[1] == 0.0 else hint[1])
    model = fit(prior_home(True), now, Params(), prior_hint=hint)
    assert model.prior_weight == min(prior.PRIOR_WEIGHTS) and model.prior_chosen_s == wall_seconds(now)


@pytest.mark.parametrize(("weight", "chosen"), [(float("nan"), None), (0.0, None), (-1.0, None), (1.0, "2024-01-29")])
def test_a_stored_routine_with_a_damaged_weight_is_refused(weight, chosen) -> None:
    model = fit(prior_home(True), D0 + timedelta(days=28), Params())
    data = json.loads(json.dumps(_model_dict(model)))
    data["prior_weight"], data["prior_chosen_s"] = weight, chosen
    with pytest.raises(ValueError):
        _model_of(data)
