"""SDP and ICE-candidate text for loopback-only peers (spec 11: RT-RTC-010..012, RT-CONF-032).

No aiortc here: the signaling rules work on plain strings, so the signaling-only endpoint and the
tests use them without the `[webrtc]` extra. Candidates travel as trickled `icecandidate`
messages, never inside a description (RT-RTC-011): `split_candidates` takes them out of an SDP
that a peer library filled in, and `keep_loopback` drops every candidate whose address is not
127.0.0.1, so media is never sent anywhere else (RT-CONF-032).
"""

from __future__ import annotations

from typing import Any

LOOPBACK = "127.0.0.1"
_CANDIDATE = "a=candidate:"
_END = "a=end-of-candidates"


def candidate_text(candidate: str) -> str:
    """The candidate attribute without its optional `candidate:` / `a=candidate:` prefix."""
    text = candidate.strip()
    for prefix in ("a=candidate:", "candidate:"):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def candidate_address(candidate: str) -> str | None:
    """The connection address of a candidate (`foundation component proto prio ADDR port typ`)."""
    fields = candidate_text(candidate).split()
    return fields[4] if len(fields) >= 8 else None


def is_loopback(candidate: str) -> bool:
    """Whether a candidate is a 127.0.0.1 candidate, the only kind a loopback peer uses."""
    return candidate_address(candidate) == LOOPBACK


def _lines(sdp: str) -> list[str]:
    return [line for line in sdp.replace("\r\n", "\n").split("\n") if line]


def _join(lines: list[str]) -> str:
    return "\r\n".join(lines) + "\r\n"


def split_candidates(sdp: str) -> tuple[str, list[dict[str, Any]]]:
    """(the SDP without candidates or end-of-candidates, the candidates as trickle messages).

    Each candidate message is `{"candidate": "candidate:...", "sdpMid": mid, "sdpMLineIndex": i}`
    as RTCIceCandidateInit has it; `i` counts m-sections from 0.
    """
    kept: list[str] = []
    found: list[dict[str, Any]] = []
    index = -1
    mid: str | None = None
    pending: list[str] = []
    for line in _lines(sdp):
        if line.startswith("m="):
            found.extend(_messages(pending, mid, index))
            pending, mid, index = [], None, index + 1
        if line.startswith("a=mid:"):
            mid = line[len("a=mid:") :]
        if line.startswith(_CANDIDATE):
            pending.append("candidate:" + line[len(_CANDIDATE) :])
            continue
        if line == _END:
            continue
        kept.append(line)
    found.extend(_messages(pending, mid, index))
    return _join(kept), found


def _messages(candidates: list[str], mid: str | None, index: int) -> list[dict[str, Any]]:
    if index < 0:  # session-level candidates have no m-section: not valid SDP, dropped
        return []
    return [{"candidate": c, "sdpMid": mid, "sdpMLineIndex": index} for c in candidates]


def keep_loopback(sdp: str) -> str:
    """The SDP without any candidate line whose address is not 127.0.0.1 (RT-CONF-032)."""
    kept = [
        line
        for line in _lines(sdp)
        if not line.startswith(_CANDIDATE) or is_loopback(line[len(_CANDIDATE) :])
    ]
    return _join(kept)


def candidates_in(sdp: str) -> list[str]:
    """Every candidate line of an SDP (without the `a=candidate:` prefix)."""
    return [line[len(_CANDIDATE) :] for line in _lines(sdp) if line.startswith(_CANDIDATE)]


def has_video(sdp: str) -> bool:
    """Whether the description has a video m-section."""
    return any(line.startswith("m=video ") for line in _lines(sdp))
