"""The conformance app's `/realtime/webrtc` session (spec 11-webrtc; features `webrtc-signaling`
and `webrtc-media`), as an async generator over signaling maps that yields signaling maps.

With the `[webrtc]` extra the session is a real loopback media peer (`media.media_session`);
without it, `signaling_only_session` keeps the message shapes and order (RT-RTC-001/003/004/005)
and answers an offer with an `error` saying that media is not available (RT-RTC-003).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from reference.webrtc import available
from reference.webrtc.messages import READY, error, offer_sdp

NO_MEDIA = "media is not available on this server: install the [webrtc] extra (aiortc)"


async def signaling_only_session(
    signals: AsyncIterator[Mapping[str, Any]],
) -> AsyncIterator[dict[str, Any]]:
    """`ready`, then an `error` for every offer; everything else gets no output (RT-RTC-005)."""
    yield READY  # RT-RTC-001
    async for message in signals:
        if message.get("type") != "offer":
            continue  # icecandidate (nil included, RT-RTC-004) and unknown types (RT-RTC-005)
        if offer_sdp(message) is None:
            yield error("an offer needs a str sdp")
        else:
            yield error(NO_MEDIA)


def webrtc_session(signals: AsyncIterator[Mapping[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    """The media session when aiortc is installed, else the signaling-only one."""
    if not available():
        return signaling_only_session(signals)
    from reference.webrtc.media import media_session  # the extra, imported only when used

    return media_session(signals)
