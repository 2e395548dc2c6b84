"""The real `fal_client`'s two auth modes against the reference server with a key (chapter 03).

fal_client's token call goes to the reference server's own `POST /tokens/` (no stub): it
authenticates with `Authorization: Key $FAL_KEY` and connects with the issued token as
`fal_jwt_token`; with `use_jwt=False` it sends the key in the handshake instead.
"""

from __future__ import annotations

from pathlib import Path

from interop.launch import ServerProcess, run_fal_client_driver

SCENARIOS = ("realtime", "realtime_no_jwt", "ws_connect")


def http_base(server: ServerProcess) -> str:
    return f"http://127.0.0.1:{server.port}"


def test_fal_client_gets_a_token_from_the_reference_and_connects_with_it(
    fal_venv_python: Path, keyed_reference_server: ServerProcess, reference_key: str
) -> None:
    observed = run_fal_client_driver(
        fal_venv_python,
        keyed_reference_server.url,
        scenarios=SCENARIOS,
        rest_url=http_base(keyed_reference_server),
        fal_key=reference_key,
    )
    results = observed["scenarios"]
    assert all(r["ok"] for r in results.values()), results
    assert results["realtime"]["outputs"] == [{"output": p} for p in ("hello", "p1", "p2", "p3")]
    jwt_url = results["realtime"]["connections"][0]["url"]
    assert "fal_jwt_token=" in jwt_url
    assert reference_key not in jwt_url  # an issued token, not the key
    assert results["realtime_no_jwt"]["outputs"] == [{"output": "no-jwt"}]
    assert results["ws_connect"]["texts"] == ["abc-0", "abc-1", "abc-2"]


def test_fal_client_with_a_wrong_key_is_refused(
    fal_venv_python: Path, keyed_reference_server: ServerProcess
) -> None:
    observed = run_fal_client_driver(
        fal_venv_python,
        keyed_reference_server.url,
        scenarios=("realtime", "realtime_no_jwt"),
        rest_url=http_base(keyed_reference_server),
        fal_key="not-the-key",
    )
    results = observed["scenarios"]
    # The token call is refused, so no handshake is attempted.
    assert not results["realtime"]["ok"]
    assert results["realtime"]["connections"] == []
    # The key in the handshake is refused before the upgrade with 403.
    assert not results["realtime_no_jwt"]["ok"]
    assert "403" in results["realtime_no_jwt"]["exception"], results["realtime_no_jwt"]
