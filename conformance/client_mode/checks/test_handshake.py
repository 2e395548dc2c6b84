"""Client checks: the URL, path, query and extensions of the opening handshake (chapter 02)."""

from __future__ import annotations

import pytest

from conformance.client_mode.cases import get_case
from conformance.client_mode.judge import explain, session_ended
from conformance.client_mode.session import ClientRuns


def allowed_routes(case: str) -> set[str]:
    """The bare path and its gateway form under /{owner}/{app}."""
    spec = get_case(case)
    return {spec.path, f"/{spec.app_id.strip('/')}{spec.path}"}


@pytest.mark.req("TBD:path")
@pytest.mark.parametrize("case", ["echo", "server-streaming"])
def test_client_connects_to_the_endpoint_path(client_runs: ClientRuns, case: str) -> None:
    """The client opens RT_PATH, bare or under /{owner}/{app}, on the server it was given."""
    rec = client_runs.get(case)
    assert rec.connections, explain(rec, "the client never connected")
    for conn in rec.connections:
        route = conn.handshake.route
        assert route in allowed_routes(case), explain(
            rec, f"path {route!r} is none of {sorted(allowed_routes(case))}"
        )


@pytest.mark.req("TBD:query")
def test_client_query_parameters_are_well_formed(client_runs: ClientRuns) -> None:
    """Query parameters appear once each; max_buffering, when sent, is an integer in 1..60."""
    rec = client_runs.get("echo")
    assert rec.connections, explain(rec, "the client never connected")
    for conn in rec.connections:
        for name, values in conn.handshake.query.items():
            assert len(values) == 1, explain(
                rec, f"query parameter {name!r} given {len(values)} times"
            )
        for value in conn.handshake.query.get("max_buffering", []):
            ok = value.isdigit() and 1 <= int(value) <= 60
            assert ok, explain(rec, f"max_buffering={value!r} is not an integer in 1..60")


@pytest.mark.req("TBD:no-deflate")
def test_client_works_when_the_server_declines_compression(client_runs: ClientRuns) -> None:
    """With permessage-deflate declined, the client sends and receives as usual."""
    rec = client_runs.get("echo")
    session_ended(rec)
    assert not any(c.deflate_negotiated for c in rec.connections)
    want = get_case("echo").expected_outputs
    assert rec.outputs == want, explain(rec, f"outputs {rec.outputs!r}, expected {want!r}")


@pytest.mark.req("TBD:no-deflate")
def test_client_works_when_the_server_accepts_compression(client_runs: ClientRuns) -> None:
    """When the client offers permessage-deflate and the server accepts, nothing else changes."""
    rec = client_runs.get("deflate-accepted")
    session_ended(rec)
    want = get_case("deflate-accepted").expected_outputs
    assert rec.outputs == want, explain(rec, f"outputs {rec.outputs!r}, expected {want!r}")
