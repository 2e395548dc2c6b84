"""The real `fal_client` 1.0.3 against the reference server (spec chapters 02, 03, 05, 09, 13).

The driver (`interop/fal_client_driver.py`) runs in the fal venv and connects the way the
real client does in production: the gateway path `/{owner}/{app}/realtime`, `fal_jwt_token`
from the token REST call (a stub on 127.0.0.1), `max_buffering` in the query, a
permessage-deflate offer. One driver run per session serves every test here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from interop.launch import ServerProcess, run_fal_client_driver

APP = "local/conformance-app"


@pytest.fixture(scope="module")
def observed(fal_venv_python: Path, reference_server: ServerProcess) -> dict[str, Any]:
    """Every driver scenario, run once against the reference server."""
    return run_fal_client_driver(fal_venv_python, reference_server.url, app=APP)


def scenario(observed: dict[str, Any], name: str) -> dict[str, Any]:
    result: dict[str, Any] = observed["scenarios"][name]
    assert result["ok"], f"scenario {name} raised: {result.get('exception')}\n{result}"
    return result


def test_fal_client_realtime_round_trips_on_gateway_path_with_jwt(
    observed: dict[str, Any], reference_server: ServerProcess
) -> None:
    result = scenario(observed, "realtime")
    [connection] = result["connections"]
    assert connection["url"] == (
        f"{reference_server.url}/{APP}/realtime?fal_jwt_token=local-jwt-token"
    )
    assert result["outputs"] == [{"output": p} for p in ("hello", "p1", "p2", "p3")]


def test_fal_client_asks_the_token_endpoint_for_the_app_alias(observed: dict[str, Any]) -> None:
    scenario(observed, "realtime")
    assert observed["token_calls"], "fal_client made no token call with use_jwt=True"
    call = observed["token_calls"][0]
    assert call["path"] == "/tokens/"
    assert call["authorization"] == "Key local-key-id:local-key-secret"
    assert call["body"] == {"allowed_apps": ["conformance-app"], "token_expiration": 120}


def test_fal_client_without_jwt_sends_max_buffering_and_round_trips(
    observed: dict[str, Any], reference_server: ServerProcess
) -> None:
    result = scenario(observed, "realtime_no_jwt")
    [connection] = result["connections"]
    assert connection["url"] == f"{reference_server.url}/{APP}/realtime?max_buffering=5"
    assert connection["headers"]["Authorization"] == "Key local-key-id:local-key-secret"
    assert result["outputs"] == [{"output": "no-jwt"}]


def test_fal_client_raises_realtime_error_with_our_invalid_input_code(
    observed: dict[str, Any],
) -> None:
    result = scenario(observed, "invalid_input")
    assert result["before"] == {"output": {"output": "before"}}
    error = result["error"]
    assert error["error"] == "INVALID_INPUT", error
    assert "prompt" in error["reason"]
    assert "Traceback" not in error["reason"]
    assert error["payload"]["type"] == "x-fal-error"
    # The reference keeps the session after one bad input; fal_client just keeps reading.
    assert result["after"] == {"output": {"output": "after"}}


def test_fal_client_raises_realtime_error_for_a_failing_handler(
    observed: dict[str, Any],
) -> None:
    error = scenario(observed, "handler_error")["error"]
    assert error["error"] == "INTERNAL_ERROR", error
    assert error["reason"] == "requested failure"


def test_fal_client_reads_a_server_stream_then_its_timeout_end(observed: dict[str, Any]) -> None:
    outcomes = scenario(observed, "server_streaming")["outcomes"]
    assert outcomes[:3] == [{"output": {"output": f"s-{i}"}} for i in range(3)]
    # fal_client surfaces every x-fal-error, TIMEOUT (the normal end) included.
    assert outcomes[3]["error"] == "TIMEOUT"
    assert len(outcomes) == 4


def test_fal_client_realtime_async_round_trips_and_surfaces_errors(
    observed: dict[str, Any],
) -> None:
    result = scenario(observed, "realtime_async")
    assert result["outputs"] == [{"output": "async-1"}, {"output": "async-2"}]
    assert result["error"]["error"] == "INVALID_INPUT", result["error"]


def test_fal_client_ws_connect_echoes_text_then_closes_1000(
    observed: dict[str, Any], reference_server: ServerProcess
) -> None:
    result = scenario(observed, "ws_connect")
    assert result["connections"][0]["url"].startswith(f"{reference_server.url}/{APP}/echo?")
    assert result["texts"] == ["abc-0", "abc-1", "abc-2"]
    assert result["close"] == {"code": 1000, "type": "ConnectionClosedOK"}
    assert result["binary"] == {"hex": b"\x00\x01bin".hex()}


def test_fal_client_ws_connect_async_echoes_text(observed: dict[str, Any]) -> None:
    assert scenario(observed, "ws_connect_async")["texts"] == ["xyz-0", "xyz-1", "xyz-2"]
