"""The catalogue of broken servers: each fault and the requirements it breaks (spec 13).

A fault names one or more `server.py` switches and declares the requirement IDs the suite must
report: `must` fail (exit status 1) and `should` warn at the default `--level must` (and fail
at `--level should`). The sets are what the fault breaks by the spec's text, not what the suite
happened to say: a difference is a finding in the suite or in the spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The optional conformance-app features server.py hosts (all but WebRTC signalling).
FEATURES = frozenset(
    {
        "delay",
        "handler-error",
        "server-streaming",
        "bidi",
        "client-streaming",
        "session-timeout",
        "buffering",
        "batching",
        "gateway-paths",
    }
)
#: The credential server.py requires when a fault runs with the `auth` feature.
KEY = "broken-servers-key"


@dataclass(frozen=True)
class Fault:
    """One broken server and what the suite must say about it."""

    name: str
    must: frozenset[str] = frozenset()
    should: frozenset[str] = frozenset()
    switches: tuple[str, ...] = ()
    auth: bool = False
    select: tuple[str, ...] = ()
    note: str = ""
    features: frozenset[str] = field(default=FEATURES)

    def __post_init__(self) -> None:
        if not self.switches:
            object.__setattr__(self, "switches", (self.name,))
        if self.auth:
            object.__setattr__(self, "features", self.features | {"auth"})


def fault(name: str, must: str = "", should: str = "", **kwargs: object) -> Fault:
    """A catalogue entry; `must` and `should` are space-separated requirement IDs."""
    return Fault(
        name=name,
        must=frozenset(must.split()),
        should=frozenset(should.split()),
        **kwargs,  # type: ignore[arg-type]
    )


#: The correct server: it passes every requirement, with and without the auth feature.
CLEAN = (
    fault("no-fault", switches=()),
    fault("no-fault-auth", switches=(), auth=True),
)

FAULTS = (
    # 01-conventions: the msgpack profile on input.
    fault("accept-trailing-bytes", must="RT-CONV-010 RT-MSG-010"),
    fault("accept-ext-types", should="RT-CONV-009"),
    fault("accept-non-str-keys", must="RT-MSG-010", should="RT-CONV-009"),
    fault("accept-invalid-utf8", must="RT-MSG-010"),
    # 02-transport: paths, query parameters, compression, size limits.
    fault("unknown-path-upgraded", must="RT-TRANS-003", should="RT-TRANS-004"),
    fault("unknown-path-403", should="RT-TRANS-004"),
    fault("gateway-paths-unrouted", should="RT-TRANS-002"),
    fault("refuse-unknown-query", must="RT-TRANS-020"),
    fault("refuse-max-buffering", must="RT-TRANS-021"),
    fault("require-deflate", must="RT-TRANS-030"),
    fault("no-1009-accept", must="RT-TRANS-044"),
    fault("no-1009-drop", must="RT-TRANS-044"),
    fault("small-size-limit", must="RT-TRANS-042", should="RT-TRANS-043"),
    # 03-authentication.
    fault("auth-not-enforced", must="RT-AUTH-010", auth=True),
    fault("auth-wrong-status", should="RT-AUTH-011", auth=True),
    # 04-messages: inputs, outputs, ordering.
    fault("accept-non-map", must="RT-MSG-010"),
    fault("accept-text-input", must="RT-MSG-011"),
    fault("text-outputs", must="RT-MSG-020 RT-CTRL-004"),
    fault("drop-output", must="RT-MSG-021"),
    fault("reorder-outputs", must="RT-MSG-030", should="RT-MSG-031"),
    # 05-control-frames: error frames and what follows them.
    fault("msgpack-errors", must="RT-CTRL-002"),
    fault("error-no-reason", must="RT-CTRL-005"),
    fault("control-wrong-type", must="RT-CTRL-004"),
    fault("swallow-errors", must="RT-CTRL-010"),
    fault("wrong-close-after-error", must="RT-CTRL-010", should="RT-CTRL-012 RT-CTRL-016"),
    fault("no-close-frame-after-error", must="RT-CTRL-010", should="RT-CTRL-012 RT-CTRL-016"),
    fault("close-after-bad-input", should="RT-CTRL-012"),
    fault("close-after-handler-error", should="RT-CTRL-016"),
    fault("internal-error-for-bad-input", should="RT-CTRL-011"),
    fault("traceback-in-reason", should="RT-SEC-???"),
    fault("lose-outputs-before-error", should="RT-CTRL-013"),
    # 06-lifecycle: session timeouts, pings.
    fault("session-timeout-ignored", must="RT-CTRL-017 RT-LIFE-???"),
    fault("no-pong", must="RT-LIFE-???"),
    # 07-flow-control: buffering and batching.
    fault("buffering-fifo", must="RT-FLOW-???"),
    fault("batch-per-input", must="RT-FLOW-???"),
    # 08-streaming.
    fault("stream-no-timeout", must="RT-CTRL-017 RT-STREAM-???"),
    fault("stream-reordered", should="RT-STREAM-???"),
    fault("stream-ignores-extra-inputs", should="RT-STREAM-???"),
    fault("bidi-no-timeout", must="RT-CTRL-017 RT-STREAM-???"),
    fault("collect-per-input", must="RT-STREAM-???"),
    # 09-raw-websocket.
    fault("echo-twice", must="RT-RAW-???"),
    fault("echo-no-close", must="RT-RAW-???"),
    # 10-http.
    fault("http-disagrees", must="RT-HTTP-???"),
    fault("http-validation-200", must="RT-HTTP-???"),
    fault("health-broken", must="RT-HTTP-???"),
)
