"""The JS send rules without I/O (reference/core/sendrules.py; time passed in)."""

from __future__ import annotations

import pytest

from reference.core.sendrules import Link, LinkAction, Throttle


def test_throttle_passes_only_the_first_send_at_once() -> None:
    throttle = Throttle(0.1)
    assert throttle.offer(b"a", 0.0) == (b"a", None)
    assert throttle.offer(b"b", 0.01) == (None, 0.1)
    assert throttle.offer(b"c", 0.02) == (None, 0.1)  # replaces b
    assert throttle.fire(0.1) == b"c"
    assert throttle.fire(0.11) is None  # nothing waits
    # after a quiet spell the due time is in the past: the next timer tick
    assert throttle.offer(b"d", 5.0) == (None, 0.2)
    assert throttle.fire(5.0) == b"d"
    assert throttle.offer(b"e", 5.01) == (None, 5.1)


def test_throttle_zero_is_off_and_negative_is_refused() -> None:
    throttle = Throttle(0)
    assert [throttle.offer(m, 0.0) for m in (b"a", b"b")] == [(b"a", None), (b"b", None)]
    with pytest.raises(ValueError, match="0 is off"):
        Throttle(-1)


def test_link_keeps_the_latest_while_connecting_and_writes_it_once() -> None:
    link = Link()
    assert link.send(b"a", is_open=False) is LinkAction.CONNECT
    assert link.send(b"b", is_open=False) is LinkAction.QUEUE
    assert link.send(b"c", is_open=True) is LinkAction.QUEUE  # not open until opened()
    assert link.opened() == b"c"
    assert link.opened() is None
    assert link.send(b"d", is_open=True) is LinkAction.WRITE
    assert link.send(b"e", is_open=False) is LinkAction.CONNECT  # closed: reconnect lazily
    link.failed()
    assert (link.connecting, link.queued) == (False, None)
