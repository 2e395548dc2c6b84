"""A production app's handshake, paths, query parameters, compression, auth (chapters 02, 03)."""

from __future__ import annotations

import pytest

from conformance.failures import mark_verified, requirement
from conformance.production.app import NA, App


@pytest.mark.req("RT-TRANS-001", "RT-MSG-020", "RT-MSG-021", "RT-CTRL-003", "RT-MSG-022")
def test_app_answers_each_sample_with_one_binary_output(app: App) -> None:
    """Each sample input gets one BINARY msgpack map on a plain v13 handshake."""
    with requirement("RT-TRANS-001"), app.connect() as conn:
        mark_verified("RT-TRANS-001")
        for sample in app.samples:
            conn.send_bytes(app.packed(sample))
            with requirement("RT-MSG-021"):
                frame = conn.recv_data()
            with requirement("RT-MSG-020", "RT-CTRL-003"):
                assert frame.kind == "binary", f"the output came as {frame.summary()}"
            with requirement("RT-MSG-021"):
                if sample.output is not None:
                    assert frame.value == sample.output, (
                        f"{sample.input!r} got {frame.value!r}, declared {sample.output!r}"
                    )
            with requirement("RT-MSG-022"):
                assert frame.value.get("status") != "error", frame.value


@pytest.mark.req("RT-TRANS-003")
@pytest.mark.parametrize("suffix", ["/rt-no-such-endpoint", "/no/such/path"])
def test_app_refuses_unknown_path_before_upgrade(app: App, suffix: str) -> None:
    """A handshake to a path that is no WebSocket endpoint is refused with a non-101 status."""
    path = suffix if suffix.startswith("/rt-") else app.path + suffix
    raw = app.target.handshake(path)
    raw.close()
    assert raw.status != 101, f"the server upgraded a connection to the unknown path {path}"


@pytest.mark.req("RT-TRANS-004")
def test_app_refuses_unknown_path_with_404(app: App) -> None:
    """An unknown WebSocket path gets 404."""
    raw = app.target.handshake("/rt-no-such-endpoint")
    raw.close()
    assert raw.status == 404, f"the unknown path got HTTP {raw.status}"


@pytest.mark.req("RT-TRANS-020", "RT-TRANS-021")
@pytest.mark.parametrize(
    "query",
    [{"rt_unknown_param": "1", "other": "x y"}, {"max_buffering": "1"}, {"max_buffering": "60"}],
    ids=["unknown", "max_buffering=1", "max_buffering=60"],
)
def test_app_accepts_query_parameters(app: App, query: dict[str, str]) -> None:
    """Unknown query parameters are ignored; max_buffering 1..60 is accepted."""
    req = "RT-TRANS-021" if "max_buffering" in query else "RT-TRANS-020"
    with requirement(req), app.connect(query=query) as conn:
        conn.send_bytes(app.packed(app.first))
        app.output(conn, app.first)


@pytest.mark.req("RT-TRANS-030")
def test_app_serves_with_and_without_compression(app: App) -> None:
    """A client that offers no permessage-deflate is served like one that does."""
    for compression in (None, "deflate"):
        with requirement("RT-TRANS-030"), app.connect(compression=compression) as conn:
            conn.send_bytes(app.packed(app.first))
            app.output(conn, app.first)


def _key(app: App) -> str:
    key = app.target.config.key
    if not key:
        pytest.skip(NA + "no key was given (the `key` of --target-config), so auth is unchecked")
    return key


@pytest.mark.req("RT-AUTH-001", "RT-AUTH-002", "RT-AUTH-003")
@pytest.mark.parametrize("form", ["query", "key", "bearer"])
def test_app_accepts_each_credential_form(app: App, form: str) -> None:
    """The key opens a session in `fal_jwt_token`, `Authorization: Key` and `Bearer`."""
    key = _key(app)
    req = {"query": "RT-AUTH-001", "key": "RT-AUTH-002", "bearer": "RT-AUTH-003"}[form]
    query = {"fal_jwt_token": key} if form == "query" else None
    headers = {"key": {"Authorization": f"Key {key}"}, "bearer": {"Authorization": f"Bearer {key}"}}
    with requirement(req), app.connect(query=query, headers=headers.get(form), auth=False) as conn:
        conn.send_bytes(app.packed(app.first))
        app.output(conn, app.first)


@pytest.mark.req("RT-AUTH-010", "RT-AUTH-011")
@pytest.mark.parametrize(
    ("headers", "expected"),
    [({}, 401), ({"Authorization": "Key not-the-credential"}, 403)],
    ids=["no-credential", "wrong-credential"],
)
def test_app_refuses_handshake_without_accepted_credential(
    app: App, headers: dict[str, str], expected: int
) -> None:
    """A handshake without an accepted credential is refused before the upgrade (401 / 403)."""
    _key(app)
    raw = app.handshake(headers=headers, auth=False)
    raw.close()
    with requirement("RT-AUTH-010"):
        assert raw.status != 101, "the server upgraded a connection without an accepted credential"
    with requirement("RT-AUTH-011"):
        assert raw.status == expected, f"refused with {raw.status}, expected {expected}"
