"""WebRTC media on loopback for the conformance app and the reference client (spec 11-webrtc).

`sdp` is plain text handling and always importable. `peer`, `invert` and `session` need the
`[webrtc]` extra (aiortc, PyAV); `available()` says whether it is installed, without importing it,
so `import reference` never pulls aiortc in.
"""

from __future__ import annotations

import importlib.util


def available() -> bool:
    """True when aiortc (the `[webrtc]` extra) is installed, so a real media peer can run."""
    return all(importlib.util.find_spec(name) is not None for name in ("aiortc", "av"))
