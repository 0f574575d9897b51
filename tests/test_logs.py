"""At most so many log lines a minute for one kind of junk; how many were left out is said with the next."""

from __future__ import annotations

from sentinel.logs import Throttle


def test_a_throttle_lets_ten_lines_a_minute_through_and_counts_the_rest() -> None:
    now = [0.0]
    throttle = Throttle(most=10, every=60.0, clock=lambda: now[0])
    said = [throttle.allow() for _ in range(25)]
    assert said[:10] == [""] * 10 and said[10:] == [None] * 15
    now[0] = 59.9
    assert throttle.allow() is None
    now[0] = 60.0  # a new minute: the count of those left out comes with the first line
    assert throttle.allow() == " (16 more like it were not logged)"
    assert throttle.allow() == ""
