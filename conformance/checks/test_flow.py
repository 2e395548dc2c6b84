"""Queues, buffering, batching and slow readers (spec chapters 04-messages and 07-flow-control)."""

from __future__ import annotations

import contextlib
import json
import select
import threading
import time

import msgpack
import pytest

from conformance.failures import ConformanceFailure, requirement
from conformance.frames import BINARY, CLOSE, TEXT, FrameParser, client_frame
from conformance.validation import validate_control
from conformance.wire import Target


def _quiet(conn: object, seconds: float) -> None:
    """Wait `seconds` for a frame that must not come (the deadline passing is the point)."""
    from conformance.wire import Conn

    assert isinstance(conn, Conn)
    try:
        frame = conn.recv(timeout=seconds)
    except ConformanceFailure:
        return
    raise ConformanceFailure(f"unexpected frame while the handler was busy: {frame.summary()}")


@pytest.mark.req("RT-FLOW-001", "RT-FLOW-002", "RT-FLOW-007", "RT-MSG-030", "RT-CONF-020")
@pytest.mark.feature("delay")
def test_server_queues_inputs_while_handler_runs(target: Target) -> None:
    """Inputs that arrive while the handler runs wait in arrival order; none is dropped."""
    with target.connect() as conn:
        conn.send_msgpack({"prompt": "slow", "delay_ms": 300})
        for i in range(5):
            conn.send_msgpack({"prompt": f"q{i}"})
        outputs = [conn.recv_output()["output"] for _ in range(6)]
        with requirement("RT-FLOW-001", "RT-FLOW-002"):
            assert sorted(outputs) == sorted(["slow", *(f"q{i}" for i in range(5))]), outputs
        # Start order is not visible from outside; output order is, and needs both.
        with requirement("RT-MSG-030", "RT-FLOW-007"):
            assert outputs == ["slow", *(f"q{i}" for i in range(5))], outputs


@pytest.mark.req("RT-FLOW-003", "RT-FLOW-004", "RT-MSG-030", "RT-CONF-020")
@pytest.mark.feature("buffering")
def test_server_keeps_latest_inputs_under_buffering(target: Target) -> None:
    """With buffering 2, inputs beyond two waiting ones push out the oldest, silently."""
    with target.connect("/realtime/latest") as conn:
        conn.send_msgpack({"prompt": "0", "delay_ms": 500})
        _quiet(conn, 0.15)  # the handler has started on "0" by now
        for i in range(1, 10):
            conn.send_msgpack({"prompt": str(i)})
        frames = [conn.recv_data() for _ in range(3)]
        with requirement("RT-FLOW-004"):
            errors = [f.summary() for f in frames if f.kind == "text"]
            assert not errors, f"dropped inputs were answered with error frames: {errors}"
        got = [f.value["output"] for f in frames]
        with requirement("RT-FLOW-003", "RT-CONF-020"):
            assert sorted(got) == ["0", "8", "9"], f"outputs {got}; expected 0 and the latest 8, 9"
        with requirement("RT-MSG-030"):
            assert got == ["0", "8", "9"], f"outputs out of input order: {got}"


@pytest.mark.req("RT-FLOW-010", "RT-FLOW-011", "RT-CONF-020")
@pytest.mark.feature("batching")
def test_server_answers_each_batch_once_in_order(target: Target) -> None:
    """Waiting inputs are batched (at most 4), one output per batch, batches in order."""
    prompts = list("abcdefghi")
    with target.connect("/realtime/batch") as conn:
        conn.send_msgpack({"prompt": prompts[0], "delay_ms": 300})
        _quiet(conn, 0.1)
        for p in prompts[1:]:
            conn.send_msgpack({"prompt": p})
        batches: list[list[str]] = []
        while sum(len(b) for b in batches) < len(prompts):
            batches.append(conn.recv_output()["output"].split(","))
        with requirement("RT-FLOW-010"):
            _quiet(conn, 0.5)  # a duplicated batch output would arrive here
        with requirement("RT-FLOW-010", "RT-CONF-020"):
            assert sorted(p for b in batches for p in b) == prompts, (
                f"batch outputs {batches}: each input must be in exactly one output of one call"
            )
            assert all(1 <= len(b) <= 4 for b in batches), f"batches {batches} exceed 4 inputs"
            assert any(len(b) > 1 for b in batches), (
                f"8 waiting inputs were never batched: {batches}"
            )
        with requirement("RT-FLOW-011"):
            assert [p for b in batches for p in b] == prompts, f"batches out of order: {batches}"


def _slow_reader(target: Target, count: int, size: int) -> list[str]:
    """Send `count` inputs of `size` bytes, reading nothing for 2 s, then read every output.

    A raw socket driven by select(): the client keeps writing while it does not read, and never
    blocks on a write (a blocked writer that also owns the reader would deadlock against a
    server that rightly stops reading from a client that does not read: RT-FLOW-021).
    """
    raw = target.handshake("/realtime", rcvbuf=16384)
    outputs: list[str] = []
    try:
        assert raw.status == 101, f"handshake got HTTP {raw.status}"
        pending = bytearray()
        for i in range(count):
            pending += client_frame(BINARY, msgpack.packb({"prompt": f"{i:04d}" + "x" * size}))
        raw.sock.setblocking(False)
        start = time.monotonic()
        quiet_until = start + target.scale(2.0)  # outputs pile up meanwhile
        deadline = start + target.scale(30.0)
        parser = FrameParser()
        while len(outputs) < count:
            now = time.monotonic()
            if now > deadline:
                raise ConformanceFailure(f"only {len(outputs)} of {count} outputs arrived")
            reading = [raw.sock] if now >= quiet_until else []
            writing = [raw.sock] if pending else []
            readable, writable, _ = select.select(reading, writing, [], 0.05)
            if writable:
                with contextlib.suppress(BlockingIOError):
                    del pending[: raw.sock.send(pending[:65536])]
            if readable:
                data = raw.sock.recv(1 << 20)
                if not data:
                    raise ConformanceFailure(f"the server closed after {len(outputs)} outputs")
                for frame in parser.feed(data):
                    if frame.opcode == BINARY:
                        outputs.append(msgpack.unpackb(frame.payload)["output"][:4])
                    elif frame.opcode == TEXT:  # an output sent as TEXT blames its rule
                        try:
                            value = json.loads(frame.payload)
                        except ValueError:
                            value = None
                        validate_control(value, frame.payload)
                    elif frame.opcode == CLOSE:
                        raise ConformanceFailure(f"the server closed: {frame.close_code}")
        target.recorder.note(0, f"outputs in arrival order: {outputs}")
    finally:
        raw.close()
    return outputs


@pytest.mark.req("RT-FLOW-020")
def test_server_drops_no_output_for_slow_reader(target: Target) -> None:
    """A client that reads slowly still gets every output."""
    outputs = _slow_reader(target, 40, 256 * 1024)
    assert sorted(outputs) == [f"{i:04d}" for i in range(40)], "outputs were lost"


@pytest.mark.req("RT-MSG-031")
def test_server_keeps_order_for_slow_reader(target: Target) -> None:
    """A client that reads slowly still gets the outputs in input order."""
    outputs = _slow_reader(target, 40, 256 * 1024)
    with requirement("RT-MSG-031"):
        assert outputs == [f"{i:04d}" for i in range(40)], f"order seen: {outputs}"


@pytest.mark.req("RT-FLOW-021")
def test_server_pushes_back_on_client_that_does_not_read(target: Target) -> None:
    """A server stops reading from a client whose outputs it cannot send (bounded memory)."""
    budget = 64 * 1024 * 1024
    chunk = 64 * 1024  # well under the 1 MiB every server accepts (RT-TRANS-042)
    sent = 0
    progress = threading.Event()
    with target.connect(rcvbuf=16384) as conn:
        stop = threading.Event()

        def flood() -> None:
            nonlocal sent
            payload = {"prompt": "y" * chunk}
            with contextlib.suppress(Exception):  # the abort below ends a blocked send
                while sent < budget and not stop.is_set():
                    conn.send_msgpack(payload)
                    sent += chunk
                    progress.set()

        thread = threading.Thread(target=flood, daemon=True)
        thread.start()
        stalled = False  # set when sends block, or the server ends the flooding session
        while thread.is_alive():
            progress.clear()
            if not progress.wait(timeout=target.scale(1.0)) and thread.is_alive():
                stalled = True  # a send has been blocked for a second: the server pushes back
                break
        stalled = stalled or sent < budget  # the server closed the flooding connection
        stop.set()
        conn.abort()
        thread.join(timeout=target.scale(5.0))
        with requirement("RT-FLOW-021"):
            assert stalled, f"the server read {sent >> 20} MiB from a client that reads nothing"
