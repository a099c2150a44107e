"""The failure counts behind the lockouts: a moving window on a clock the
test moves, and memory that does not keep expired keys for ever."""

from __future__ import annotations

from limits import parse

from tousu.services.gateway.throttle.failures import FailureWindow


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_blocked_until_its_oldest_counted_failure_leaves_the_window() -> None:
    clock = Clock()
    window = FailureWindow(parse("3/minute"), clock)
    window.fail("k")
    clock.now += 20
    window.fail("k")
    window.fail("k")
    assert window.blocked("k") == 40  # the first failure leaves in 40 s
    assert window.blocked("other") is None
    clock.now += 40
    assert window.blocked("k") is None
    window.fail("k")
    assert window.blocked("k") == 20
    window.clear("k")
    assert window.blocked("k") is None


def test_expired_keys_are_swept_as_keys_pile_up() -> None:
    clock = Clock()
    window = FailureWindow(parse("5/15 minutes"), clock)
    for n in range(15_000):
        window.fail(("TS2603-0000-00", f"198.51.{n // 256}.{n % 256}"))
    clock.now += 15 * 60
    for n in range(15_000):
        window.fail(str(n))
    # The first 15,000 expired and were dropped at a sweep; the live ones stay.
    assert 15_000 <= len(window._failures) < 20_000
    assert window.blocked("0") is None
