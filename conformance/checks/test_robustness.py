"""Property-based robustness: any profile value, malformed bytes (spec chapters 01, 04, 05).

Bounded examples; derandomized when `CI` is set (unless `--hypothesis-seed` is given), so a CI
run is reproducible and a local run explores. The connection is reused across examples and
reopened when the target closed it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from conformance.failures import requirement
from conformance.scenarios import expect_rejection
from conformance.wire import Conn, Target

_SEEDED = any(arg.startswith("--hypothesis-seed") for arg in sys.argv)
SETTINGS = settings(
    max_examples=int(os.environ.get("RT_CONFORMANCE_EXAMPLES", "25")),
    deadline=None,
    derandomize=bool(os.environ.get("CI")) and not _SEEDED,
    database=None,
    # No shrinking: a failing target would be probed dozens of times more; the first
    # falsifying example is already explicit bytes in the trace.
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=20)
)
profile_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
inputs = st.fixed_dictionaries(
    {"prompt": st.text(max_size=40)},
    optional={},
).flatmap(
    lambda base: st.dictionaries(
        st.text(max_size=10).filter(lambda k: k not in ("prompt", "delay_ms", "fail")),
        profile_values,
        max_size=4,
    ).map(lambda extra: {**extra, **base})
)


class _Session:
    """One connection reused across examples, reopened after the target closes it."""

    def __init__(self, target: Target) -> None:
        self._target = target
        self._stack = ExitStack()
        self._conn: Conn | None = None

    def conn(self) -> Conn:
        if self._conn is None or self._conn.closed is not None:
            self._stack.close()
            self._stack = ExitStack()
            self._conn = self._stack.enter_context(self._target.connect())
        return self._conn

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def session(target: Target) -> Iterator[_Session]:
    """A reusable session for property checks."""
    s = _Session(target)
    yield s
    s.close()


@pytest.mark.req("RT-CONV-005", "RT-MSG-014", "RT-CONF-011", "RT-CONF-010")
@SETTINGS
@given(value=inputs)
def test_server_echoes_any_profile_input(session: _Session, value: dict[str, Any]) -> None:
    """Any profile-valid map with a str prompt (and arbitrary other keys) is echoed."""
    conn = session.conn()
    conn.send_bytes(msgpack.packb(value, use_bin_type=True))
    with requirement("RT-CONV-005", "RT-CONF-011", "RT-CONF-010"):
        assert conn.recv_output() == {"output": value["prompt"]}


def _malformed() -> st.SearchStrategy[bytes]:
    encoded = inputs.map(lambda v: msgpack.packb(v, use_bin_type=True))
    truncated = encoded.flatmap(lambda b: st.integers(1, len(b) - 1).map(lambda n: b[:n]))
    trailing = st.tuples(encoded, st.binary(min_size=1, max_size=8)).map(lambda t: t[0] + t[1])
    never = st.binary(max_size=8).map(lambda b: b"\xc1" + b)
    return truncated | trailing | never


@pytest.mark.req("RT-CONV-010", "RT-MSG-010", "RT-CTRL-010", "RT-LIFE-020")
@SETTINGS
@given(data=_malformed())
def test_server_rejects_malformed_bytes_cleanly(session: _Session, data: bytes) -> None:
    """Malformed bytes get an error frame, then the session serves on or closes with 1000."""
    conn = session.conn()
    conn.send_bytes(data)
    expect_rejection(conn, ("RT-CONV-010", "RT-MSG-010"))


@pytest.mark.req("RT-CTRL-012")
@SETTINGS
@given(data=_malformed())
def test_server_stays_usable_after_malformed_bytes(session: _Session, data: bytes) -> None:
    """Malformed bytes get an error frame and the same session serves the next input."""
    conn = session.conn()
    conn.send_bytes(data)
    # Accepting the bytes breaks the rules that reject them, not RT-CTRL-012.
    result = expect_rejection(conn, ("RT-CONV-010", "RT-MSG-010"))
    with requirement("RT-CTRL-012"):
        assert result.kept_open, "the server closed the session after malformed bytes"
