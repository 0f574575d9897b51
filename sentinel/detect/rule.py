"""Where to draw every line at once: one price for a false alert, counted on the lines as they are applied."""

from __future__ import annotations

import math

import numpy as np

from sentinel.detect.lines import BINS, DAY_S
from sentinel.detect.night import NOON, Night
from sentinel.detect.survival import GRID, along, at


class Rule:
    """The lines as they are applied (floor, ceiling, the usual night), and the false alerts they cost.

    Minimising the mean delay of a detection subject to a budget of false alerts
    gives each context and time of day its own line, the one that minimises
    x + price x P(spell > x): where a longer wait buys little safety from false
    alerts the line stays short; where the quiet spell might well go on, it
    waits. One price balances them all against the budget, counted on the
    lines as applied. Spells longer than the ceiling alert whatever the price:
    the model counts them apart (``forced``) and spends the budget on the rest.
    """

    def __init__(
        self, survival: np.ndarray, rate: np.ndarray, floor: float, upper: np.ndarray, night: Night | None
    ) -> None:
        shape = survival.shape[:-1]  # day types x contexts x bins
        self.rate = rate
        upper = np.minimum(upper, GRID[-1])
        # Only the grid lines between the floor and the highest ceiling can be chosen: the rest is not searched.
        usable = (floor <= GRID) & (upper.max(initial=floor) >= GRID)
        lines = np.flatnonzero(usable)  # a run of the grid: a slice, not a copy
        usable_lines = slice(int(lines[0]), int(lines[-1]) + 1) if len(lines) else slice(0, 0)
        grid = GRID[usable_lines]
        allowed = grid[None, :] <= upper[:, None]
        candidates = np.concatenate(
            [np.where(allowed, grid[None, :], np.inf), np.full((len(upper), 1), floor), upper[:, None]], axis=-1
        )
        self.candidates = candidates  # contexts x candidates: the same for every day type and half hour
        self.grid = np.broadcast_to(candidates[None, :, None, :], (*shape, len(grid) + 2))
        self.surv_upper = at(survival, np.broadcast_to(upper[None, :, None], shape))
        at_floor = at(survival, np.full(shape, floor))
        self.survival = np.concatenate(
            [survival[..., usable_lines], at_floor[..., None], self.surv_upper[..., None]], axis=-1
        )
        # The usual night's lower bound per half hour (0 outside it), read at the half hour's middle.
        since_noon = ((np.arange(BINS) + 0.5) * DAY_S / BINS - NOON) % DAY_S
        self.night = np.zeros(BINS)
        if night is not None:
            inside = (night.bed_from <= since_noon) & (since_noon < night.usually_up)
            self.night = np.where(inside, night.up_by + floor - since_noon, 0.0)
        night_line = np.minimum(self.night[None, None, :], upper[None, :, None])
        self.surv_night = at(survival, np.broadcast_to(np.maximum(night_line, GRID[0]), shape))
        self.forced = float(np.sum(rate * self.surv_upper))

    def _pick(self, price: float, grid: np.ndarray, curves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per cell (a row of ``grid``), the candidate that minimises line + price x P(spell > line), and that P."""
        index = np.argmin(grid + price * curves, axis=-1)
        cells = np.arange(len(index))
        return grid[cells, index], curves[cells, index]

    def _pick_all(self, price: float) -> tuple[np.ndarray, np.ndarray]:
        """``_pick`` for every cell: day types x contexts x half hours."""
        index = np.argmin(self.grid + price * self.survival, axis=-1)
        # Plain indexing: the candidates are per context, the curves one row per cell.
        line = self.candidates[np.arange(self.candidates.shape[0])[None, :, None], index]
        return line, along(self.survival, index)

    def lines(self, price: float) -> np.ndarray:
        return self._pick_all(price)[0]

    def applied(self, price: float) -> tuple[np.ndarray, float]:
        """The lines chosen at ``price``, and their false alerts a day as applied (the usual night lengthens some)."""
        line, s = self._pick_all(price)
        s = np.where(self.night[None, None, :] > line, self.surv_night, s)
        return line, float(np.sum(self.rate * s))

    def price(self, budget_per_day: float, hint: float | None = None) -> float:
        """The price at which the lines' false alerts, beyond those forced by the ceilings, fit the budget."""
        busy = self.rate > 0  # only where spells begin can false alerts happen
        grid, curves, weights = self.grid[busy], self.survival[busy], self.rate[busy]
        night = np.broadcast_to(self.night[None, None, :], self.rate.shape)[busy]
        at_night = self.surv_night[busy]
        target = budget_per_day + self.forced

        def false_alerts_per_day(price: float) -> float:
            line, s = self._pick(price, grid, curves)
            return float(weights @ np.where(night > line, at_night, s))

        low, high, steps = 1.0, 1e12, 24  # bisection on a log scale: to within 0.0002 %
        if hint is not None and false_alerts_per_day(hint * 4) <= target < false_alerts_per_day(hint / 4):
            low, high, steps = hint / 4, hint * 4, 12  # a day changes the price little: 0.03 %, as fine
        elif false_alerts_per_day(high) > target:
            return high
        for _ in range(steps):  # far finer than the 8 % grid either way
            mid = math.sqrt(low * high)
            if false_alerts_per_day(mid) > target:
                low = mid
            else:
                high = mid
        return high
