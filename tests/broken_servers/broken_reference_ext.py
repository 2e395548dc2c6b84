"""The reference server with one extension-channel rule broken (spec chapter 15).

    python tests/broken_servers/broken_reference_ext.py --fault NAME [--port 0]

`server.py` does not implement the 1.1 extension channel, so the catalogue there cannot show
that the suite's chapter-15 checks catch a server that gets the channel wrong. This script runs
the reference (`python -m reference serve`, the conformance app) with one function of its
extension layer replaced before it starts; `test_ext_faults.py` runs the extension checks
against it. Unlike `server.py` it shares the reference's code: each fault is a small,
deliberate edit of one rule, named by the requirement it breaks. Loopback only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from reference.core import extensions, frames, heartbeat, session, websocket
from reference.server import drivers, http


def _first_rt_ext() -> None:
    """RT-EXT-009: `rt_ext` given twice is read at its first occurrence, not its last."""

    def query(self: http.Request) -> dict[str, str]:
        pairs = parse_qsl(urlsplit(self.target).query, keep_blank_values=True)
        return dict(reversed(pairs))

    http.Request.query = property(query)  # type: ignore[assignment,method-assign]


def _tokens_any_case() -> None:
    """RT-EXT-009: tokens matched without regard to case (`Correlation` taken as correlation)."""
    negotiate = extensions.negotiate

    def lowered(
        query: dict[str, str], heartbeat_interval: float = extensions.HEARTBEAT_INTERVAL
    ) -> extensions.Extensions:
        raw = query.get(extensions.QUERY_PARAMETER)
        if raw is not None:
            query = {**query, extensions.QUERY_PARAMETER: raw.lower()}
        return negotiate(query, heartbeat_interval)

    vars(drivers)["negotiate"] = lowered  # the name drivers.make_driver calls


def _ignore_end_of_input() -> None:
    """RT-EXT-011: an end-of-input frame is taken for an ordinary (rejected) text frame."""
    extensions.is_end_of_input = lambda text: False


def _drop_text(action: str) -> Callable[[], None]:
    """A fault that never sends the x-fal-message frames of `action` (the session's and the
    heartbeat's alike: every text frame leaves through `WebSocketEndpoint.send_text`)."""
    marker = f'"action":"{action}"'

    def install() -> None:
        send_text = websocket.WebSocketEndpoint.send_text

        def filtered(self: websocket.WebSocketEndpoint, text: str) -> None:
            if marker not in text:
                send_text(self, text)

        websocket.WebSocketEndpoint.send_text = filtered  # type: ignore[method-assign]

    return install


def _timeout_for_end_of_output() -> None:
    """RT-EXT-020: with end-of-output on, a normal end still sends the 1.0 TIMEOUT frame."""
    timeout = frames.error_frame(frames.ErrorCode.TIMEOUT, frames.TIMEOUT_REASON)
    extensions.end_of_output_frame = lambda reason: timeout


def _errors_without_index() -> None:
    """RT-EXT-030: error frames never carry `input_index`, correlation on or not."""
    error_frame = frames.error_frame
    vars(session)["error_frame"] = lambda code, reason, index=None: error_frame(code, reason)


def _never_lost() -> None:
    """RT-EXT-041: a ping whose pong never comes does not fail the connection."""
    due = heartbeat.Heartbeat.due

    def patient(self: heartbeat.Heartbeat, now: float) -> heartbeat.Beat:
        beat = due(self, now)
        return heartbeat.Beat.NOTHING if beat is heartbeat.Beat.LOST else beat

    heartbeat.Heartbeat.due = patient  # type: ignore[method-assign]


FAULTS: dict[str, Callable[[], Any]] = {
    "timeout-not-end-of-output": _timeout_for_end_of_output,
    "errors-without-index": _errors_without_index,
    # RT-EXT-032: an input dropped under `buffering` is never announced.
    "no-dropped-frame": _drop_text("dropped"),
    # RT-EXT-040: the heartbeat's ping goes out on time, its `heartbeat` frame never.
    "beat-without-frame": _drop_text("heartbeat"),
    "never-lost": _never_lost,
    "rt-ext-first-occurrence": _first_rt_ext,
    "rt-ext-tokens-any-case": _tokens_any_case,
    "ignore-end-of-input": _ignore_end_of_input,
    # RT-EXT-031: with correlation on, outputs go without the `output` frame before them.
    "untagged-outputs": _drop_text("output"),
    # RT-EXT-002: the session opens without its hello.
    "no-hello": _drop_text("hello"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fault", choices=sorted(FAULTS), required=True)
    parser.add_argument("--port", default="0")
    args = parser.parse_args()
    FAULTS[args.fault]()
    from reference.__main__ import main as serve

    argv = ["serve", "--host", "127.0.0.1", "--port", args.port, "--heartbeat-interval", "1"]
    return serve(argv)


if __name__ == "__main__":
    sys.exit(main())
