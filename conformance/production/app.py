"""A production app as the checks see it: its realtime path and sample inputs (spec 13.4).

The conformance app's checks know every output in advance; here the suite knows only inputs
the app accepts (and, when the user gives them, the outputs those must produce), so each step
asks only what any app on the protocol must do: one BINARY msgpack map per accepted input, an
error frame per rejected one, and the session's rules around them.
"""

from __future__ import annotations

import itertools
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import msgpack
import pytest

from conformance.failures import requirement
from conformance.production.samples import Sample
from conformance.rawconn import RawConn
from conformance.scenarios import Rejection
from conformance.wire import Conn, Target

NA = "not applicable: "
EXTRA_KEY = "rt_conformance_extra"  # an input key no app uses (RT-MSG-014 lets it through)


@dataclass(frozen=True)
class Mode:
    """What the user told the suite about the production app."""

    samples: tuple[Sample, ...]
    path: str = "/realtime"


class App:
    """The production app on the target, reached through the check's traced `Target`."""

    def __init__(self, target: Target, mode: Mode) -> None:
        self.target = target
        self.samples = mode.samples
        self.path = mode.path

    @property
    def first(self) -> Sample:
        """The first sample input."""
        return self.samples[0]

    def cycle(self, count: int) -> list[Sample]:
        """`count` samples, repeating the given ones in order."""
        return list(itertools.islice(itertools.cycle(self.samples), count))

    def connect(self, **kwargs: Any) -> AbstractContextManager[Conn]:
        """A traced WebSocket connection to the app's realtime path."""
        return self.target.connect(self.path, **kwargs)

    def handshake(self, **kwargs: Any) -> RawConn:
        """A raw upgrade request to the app's realtime path."""
        return self.target.handshake(self.path, **kwargs)

    # -- inputs, as explicit bytes ---------------------------------------------------------
    @staticmethod
    def packed(sample: Sample) -> bytes:
        """The sample input as one msgpack map."""
        return bytes(msgpack.packb(sample.input, use_bin_type=True))

    def with_extra(self, sample: Sample, value: bytes) -> bytes:
        """The sample input plus one key the app does not use holding `value` (raw msgpack).

        msgpack keeps insertion order, so the extra key is last and its nil (c0) the last byte.
        """
        base = self.packed(Sample({**sample.input, EXTRA_KEY: None}))
        return base[:-1] + value

    def padded(self, sample: Sample, total: int) -> bytes:
        """The sample input grown to exactly `total` bytes by an unused str32 key."""
        base = self.packed(Sample({**sample.input, EXTRA_KEY: ""}))
        n = total - (len(base) - 1) - 5
        if n < 0:
            raise ValueError(f"the sample input is already longer than {total} bytes")
        return base[:-1] + b"\xdb" + n.to_bytes(4, "big") + b"a" * n

    # -- answers ---------------------------------------------------------------------------
    def output(
        self, conn: Conn, sample: Sample | None = None, timeout: float = 5.0
    ) -> dict[str, Any]:
        """The next output (a BINARY msgpack map); equal to `sample.output` when declared."""
        out = conn.recv_output(timeout=timeout, schema=None)
        if sample is not None and sample.output is not None:
            with requirement("RT-MSG-021"):
                assert out == sample.output, (
                    f"the output {out!r} is not the one declared for {sample.input!r}: "
                    f"{sample.output!r}"
                )
        return out

    def needs_extra_keys(self) -> None:
        """Skip (not applicable) when the app refuses an input carrying a key it does not use."""
        with self.connect() as conn:
            conn.send_bytes(self.with_extra(self.first, b"\xc0"))
            frame = conn.recv_data()
        if frame.kind != "binary":
            pytest.skip(
                f"{NA}the app refuses a sample input with the unused key {EXTRA_KEY!r} "
                f"({frame.summary()}), so the suite cannot place test values in one (RT-MSG-014)"
            )

    def expect_rejection(
        self, conn: Conn, rejected_by: tuple[str, ...], unanswered: tuple[str, ...] = ()
    ) -> Rejection:
        """After a bad input: an error frame, then service of a sample input or close 1000.

        The same steps as the conformance app's (conformance.scenarios), with the app's own
        sample input as the probe that shows the session still serves.
        """
        with requirement("RT-CTRL-010"):  # silence: swallowed, not answered
            frame = conn.recv_data()
        with requirement(*rejected_by):  # an output: accepted what must be rejected
            assert frame.kind != "binary", (
                f"the server answered a bad input with an output: {frame.summary()}"
            )
        with requirement("RT-CTRL-010", *unanswered):
            assert frame.is_error_frame, f"expected an x-fal-error frame, got {frame.summary()}"
        error = frame.value
        assert isinstance(error, dict)
        with requirement("RT-CTRL-018"):
            assert error["error"] != "TIMEOUT", "a rejected input was reported as TIMEOUT"
        conn.send_bytes(self.packed(self.first))
        after = conn.recv_data()
        if after.kind == "close":
            with requirement("RT-CTRL-010", "RT-LIFE-020"):
                assert after.code == 1000, f"after the error frame: {after.summary()}"
            return Rejection(error, False, after)
        with requirement("RT-MSG-013"):
            assert after.kind == "binary", (
                f"after the error frame the server sent {after.summary()} instead of the "
                "sample input's output"
            )
        return Rejection(error, True, after)
