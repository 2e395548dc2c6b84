"""Client checks driven by the spec's vectors (spec/vectors: msgpack-output, url-building).

The scripted server sends each `msgpack-output` vector as one binary message; the client must
deliver the deliver cases (in the JSON view) and never deliver an error case, and a robust
client reports an error case as `DECODE_ERROR` and keeps the session. Each `url-building`
vector is one run whose handshake request target must be the vector's URL.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import msgpack
import pytest

from conformance.client_mode.judge import as_doubles, expect, session_ended
from conformance.client_mode.session import ClientRuns
from conformance.client_mode.vector_cases import (
    AFTER,
    BEFORE,
    output_deliver_vectors,
    output_error_vectors,
    url_path,
    url_vectors,
)
from conformance.failures import mark_verified
from conformance.requirements import load_requirements


def _view(value: Any) -> Any:
    """The JSON view, tolerating an adapter that prints NaN/Infinity as bare JSON numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        name = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return {"$float": name}
    if isinstance(value, dict):
        return {k: _view(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_view(v) for v in value]
    return value


def _raw_outputs(rec: Any) -> list[Any]:
    return [_view(e.get("data")) for e in rec.of("output")]


def _is_subsequence(wanted: list[Any], got: list[Any]) -> bool:
    it = iter(got)
    return all(any(w == g for g in it) for w in wanted)


@pytest.mark.req("RT-MSG-025", "RT-MSG-023", "RT-CONV-005", "RT-CONV-011", "RT-CONV-014")
def test_client_delivers_output_vectors(client_runs: ClientRuns) -> None:
    """Every deliver vector a core client must deliver reaches the caller, in order."""
    rec = client_runs.get("output-vectors-deliver")
    session_ended(rec)
    got = _raw_outputs(rec)
    misses = []
    for vector in output_deliver_vectors():
        if vector.get("level", "MUST") != "MUST":
            continue
        blame = [r for r in vector["requirements"] if r != "RT-MSG-023"] or ["RT-MSG-023"]
        misses += [] if vector["value"] in got else [(vector, blame)]
    _expect_all_delivered(
        rec, got, misses, "RT-MSG-025", "RT-MSG-023", "RT-CONV-005", "RT-CONV-011", "RT-CONV-014"
    )
    wanted = [v["value"] for v in output_deliver_vectors() if v.get("level", "MUST") == "MUST"]
    expect(_is_subsequence(wanted, got), rec, f"outputs out of order: {got}", "RT-MSG-032")


@pytest.mark.req("RT-MSG-024", "RT-CONV-015")
def test_client_delivers_robust_output_vectors(client_runs: ClientRuns) -> None:
    """A robust client also delivers lookalike maps and exact big integers."""
    rec = client_runs.get("output-vectors-deliver")
    session_ended(rec)
    got = _raw_outputs(rec)
    rounded = [as_doubles(g) for g in got]
    misses = [
        (vector, _blame_miss(vector, rounded))
        for vector in output_deliver_vectors()
        if vector.get("level", "MUST") == "SHOULD" and vector["value"] not in got
    ]
    _expect_all_delivered(rec, got, misses, "RT-MSG-024", "RT-CONV-015")


def _blame_miss(vector: dict[str, Any], rounded: list[Any]) -> list[str]:
    """A missed vector's requirements; not "accept" (RT-CONV-005) when it came out rounded."""
    reqs = list(vector["requirements"])
    if as_doubles(vector["value"]) in rounded and "RT-CONV-015" in reqs:
        return [r for r in reqs if r != "RT-CONV-005"]  # delivered, its integer inexact
    return reqs


def _expect_all_delivered(
    rec: Any, got: list[Any], misses: list[tuple[dict[str, Any], list[str]]], *marked: str
) -> None:
    """Fail on every vector missed at once, blaming only their requirements.

    Judging all vectors before failing keeps one missed vector from leaving the check's other
    requirements undecided: those no miss blames count as verified.
    """
    blamed = {r for _, reqs in misses for r in reqs}
    mark_verified(*(r for r in marked if r not in blamed))
    lines = [f"{v['description']}: not delivered as {v['value']}" for v, _ in misses]
    expect(not misses, rec, "; ".join(lines) + f"; got {got}", *sorted(blamed))


ERROR_CASES = [
    pytest.param(n, v, id=f"{n}-{v['reason']}", marks=pytest.mark.req(*v["requirements"]))
    for n, v in enumerate(output_error_vectors())
]


@pytest.mark.req("RT-CONV-010", "RT-CONV-016", "RT-CTRL-026")
@pytest.mark.parametrize(("n", "vector"), ERROR_CASES)
def test_client_does_not_deliver_output_vector(
    client_runs: ClientRuns, n: int, vector: dict[str, Any]
) -> None:
    """An error vector never reaches the caller as an output; robust: DECODE_ERROR, then more."""
    rec = client_runs.get(f"output-vector-error-{n}")
    session_ended(rec)
    got = _raw_outputs(rec)
    leaked = [o for o in got if o not in (BEFORE, AFTER)]
    level = vector["level"]
    must_reqs = [r for r in vector["requirements"] if level == "MUST"] or vector["requirements"]
    expect(not leaked, rec, f"{vector['description']} was delivered as {leaked}", *must_reqs)
    if level == "SHOULD":
        codes = [e.get("code") for e in rec.of("error")]
        expect(
            "DECODE_ERROR" in codes,
            rec,
            f"{vector['description']}: reported as {codes or 'nothing'}, not DECODE_ERROR",
            "RT-CONV-016",
            "RT-CTRL-026",
        )
        expect(AFTER in got, rec, "the session did not go on after the error", "RT-CONV-016")


def _client_reqs(vector: dict[str, Any]) -> list[str]:
    known = load_requirements()
    return [r for r in vector["requirements"] if known[r].applies_to_client()]


URL_CASES = [
    pytest.param(n, v, id=f"{n}", marks=pytest.mark.req(*_client_reqs(v)))
    for n, v in enumerate(url_vectors())
]


@pytest.mark.req("RT-TRANS-010", "RT-TRANS-011", "RT-TRANS-015", "RT-TRANS-016")
@pytest.mark.parametrize(("n", "vector"), URL_CASES)
def test_client_builds_vector_url(client_runs: ClientRuns, n: int, vector: dict[str, Any]) -> None:
    """The client connects to the vector's URL, or refuses the app id without connecting."""
    rec = client_runs.get(f"url-vector-{n}")
    session_ended(rec)
    targets = [c.handshake.path for c in rec.connections]
    if vector["verdict"] == "refuse":
        message = f"{vector['app_id']!r} was not refused: it connected to {targets}"
        expect(not targets, rec, message, *_client_reqs(vector))
        return
    want = url_path(vector)
    message = f"request target {targets[:1]}, expected {want!r}"
    expect(targets[:1] == [want], rec, message, *_client_reqs(vector))


@pytest.mark.req("RT-CONV-012")
def test_client_sends_no_duplicate_keys(client_runs: ClientRuns) -> None:
    """No map of any input the client sent holds the same key twice."""
    rec = client_runs.get("types")
    session_ended(rec)

    def pairs(items: list[tuple[Any, Any]]) -> dict[Any, Any]:
        keys = [k for k, _ in items]
        expect(len(set(keys)) == len(keys), rec, f"a map with a repeated key: {keys}")
        return dict(items)

    for frame in rec.frames:
        if frame.kind == "binary":
            with contextlib.suppress(ValueError, msgpack.ExtraData):  # other checks judge these
                msgpack.unpackb(frame.payload, raw=False, object_pairs_hook=pairs)


@pytest.mark.req("RT-TRANS-006")
def test_client_offers_no_subprotocol(client_runs: ClientRuns) -> None:
    """The handshake carries no Sec-WebSocket-Protocol header."""
    rec = client_runs.get("echo")
    session_ended(rec)
    offered = [v for c in rec.connections for v in c.handshake.header("Sec-WebSocket-Protocol")]
    expect(not offered, rec, f"the client offered subprotocols {offered}")


@pytest.mark.req("RT-LIFE-036")
def test_client_exposes_the_close_code(client_runs: ClientRuns) -> None:
    """A session closed with 1011 is reported with that code."""
    rec = client_runs.get("close-1011")
    session_ended(rec)
    codes = [e.get("code") for e in rec.of("closed")] + [
        e.get("code") for e in rec.of("error") if e.get("code") != "INVALID_INPUT"
    ]
    text = " ".join(str(e) for e in rec.of("error") + rec.of("exception"))
    expect(1011 in codes or "1011" in text, rec, f"the close code 1011 was not reported: {codes}")


@pytest.mark.req("RT-CTRL-025")
def test_client_stays_usable_after_an_input_error(client_runs: ClientRuns) -> None:
    """After INVALID_INPUT for the 2nd input, the 3rd input's output still reaches the caller."""
    rec = client_runs.get("error-invalid-input")
    session_ended(rec)
    expect({"output": "c"} in rec.outputs, rec, f"outputs after the error: {rec.outputs}")
