"""The signaling messages both sessions send (spec 11-webrtc): `ready` and `error`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

READY: dict[str, Any] = {"type": "ready"}


def error(text: str) -> dict[str, Any]:
    """A signaling `error` message (RT-RTC-003, RT-RTC-014)."""
    return {"type": "error", "error": text}


def offer_sdp(message: Mapping[str, Any]) -> str | None:
    """The offer's SDP when it is a str, else None (such an offer gets an `error`)."""
    sdp = message.get("sdp")
    return sdp if isinstance(sdp, str) else None
