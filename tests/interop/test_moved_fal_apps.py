"""fal apps moved to the reference with only their imports changed (README, spec chapter 14).

`interop/apps/seed_app.py` is the example of fal's realtime endpoints page (`/` HTTP,
`/realtime`, `/echo` raw WebSocket) and `interop/apps/streaming_app.py` a streaming app (bidi,
server-streaming from a plain generator, a JSON codec through `encode_message`/
`decode_message` with `input_modal`, `output_modal` and `content_type`). Each runs as is on the
real fal runner; its copy with the import lines changed (and nothing else) runs on the
reference. The real `fal_client` drives both (`run`, `realtime`, `realtime_async`,
`ws_connect`), and the reference must give what fal gives, in order where fal reorders.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from interop.launch import ServerProcess, fal_runner_cmd, running_server

REPO_ROOT = Path(__file__).resolve().parents[2]
APPS = REPO_ROOT / "interop" / "apps"
DRIVER = REPO_ROOT / "interop" / "fal_apps_driver.py"
#: The only edits a fal app needs: fal's module and the WebSocket class come from `reference`.
FASTAPI_WEBSOCKET = "from fastapi import WebSocket  # type: ignore[import-not-found]"
IMPORTS = {
    "import fal": "import reference as fal",
    FASTAPI_WEBSOCKET: "from reference import WebSocket",
}
SEED = ["seed_http", "seed_realtime", "seed_realtime_async", "seed_echo"]
STREAMING = ["stream_bidi", "stream_countdown", "stream_json_codec"]
RAW = ["raw_messages", "raw_json_async"]


def moved_source(original: str) -> str:
    """The app's source with its import lines changed, checked to differ in nothing else."""
    moved = "\n".join(IMPORTS.get(line, line) for line in original.split("\n"))
    changed = [
        line[1:]
        for line in difflib.unified_diff(original.split("\n"), moved.split("\n"), lineterm="")
        if line[:1] == "-" and not line.startswith("---")
    ]
    assert changed, "no import line to change"
    assert set(changed) <= set(IMPORTS), changed
    return moved


def run_driver(python: Path, server: ServerProcess, scenarios: list[str]) -> dict[str, Any]:
    cmd = [str(python), str(DRIVER), server.url]
    for name in scenarios:
        cmd += ["--scenario", name]
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=180, cwd=REPO_ROOT, check=False
    )
    try:
        results: dict[str, Any] = json.loads(done.stdout)["scenarios"]
    except json.JSONDecodeError:
        pytest.fail(f"driver failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-3000:]}")
    for name, result in results.items():
        assert result["ok"], f"{name} on {server.url}: {result}\n{server.log_tail()}"
    return results


@pytest.fixture(scope="module")
def moved_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("moved_apps")
    for name in ("seed_app", "streaming_app", "raw_app"):
        (target / f"{name}.py").write_text(moved_source((APPS / f"{name}.py").read_text()))
    return target


def on_both(
    fal_python: Path, moved_dir: Path, app: str, scenarios: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(fal runner results, reference results) of the same driver scenarios."""
    with running_server([*fal_runner_cmd(fal_python), "--app", f"interop.apps.{app}"]) as fal:
        on_fal = run_driver(fal_python, fal, scenarios)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(moved_dir), str(REPO_ROOT)])}
    cmd = [sys.executable, "-m", "reference", "serve", "--host", "127.0.0.1", "--port", "0"]
    with running_server([*cmd, "--app", app], env=env) as ref:
        on_ref = run_driver(fal_python, ref, scenarios)
    return on_fal, on_ref


@pytest.fixture(scope="module")
def seed(fal_venv_python: Path, moved_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    return on_both(fal_venv_python, moved_dir, "seed_app:RealtimeApp", SEED)


@pytest.fixture(scope="module")
def streaming(fal_venv_python: Path, moved_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    return on_both(fal_venv_python, moved_dir, "streaming_app:StreamingApp", STREAMING)


@pytest.fixture(scope="module")
def raw(fal_venv_python: Path, moved_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    return on_both(fal_venv_python, moved_dir, "raw_app:RawApp", RAW)


def test_moving_an_app_changes_only_its_import_lines() -> None:
    original = (APPS / "seed_app.py").read_text()
    moved = moved_source(original)
    assert "import reference as fal" in moved
    assert moved.count("\n") == original.count("\n")


def test_seed_app_moved_to_the_reference_answers_every_client_call_as_fal(
    seed: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    on_fal, on_ref = seed
    assert on_ref["seed_http"]["output"] == {"output": "over http"}
    assert on_ref["seed_realtime"]["outputs"] == [{"output": p} for p in "abc"]
    assert on_ref["seed_realtime_async"]["outputs"] == [{"output": p} for p in "xy"]
    echo = on_ref["seed_echo"]
    words = ("one", "two", "three")
    assert [json.loads(r) for r in echo["replies"]] == [{"echo": w} for w in words]
    assert echo["close"] == {"code": 1000}
    assert on_ref == on_fal


def test_streaming_app_moved_to_the_reference_streams_in_order(
    streaming: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    on_fal, on_ref = streaming
    words = [("hello", 0), ("big", 1), ("world", 2), ("again", 3)]
    outcomes = on_ref["stream_bidi"]["outcomes"]
    assert [o["output"] for o in outcomes[:-1]] == [{"token": t, "index": i} for t, i in words]
    assert outcomes[-1]["error"] == "TIMEOUT"  # the idle end, as fal_client reports it
    # fal gives the same outputs, in an order of its own (RT-STREAM-004).
    fal_outcomes = on_fal["stream_bidi"]["outcomes"]
    key = [json.dumps(o, sort_keys=True) for o in outcomes[:-1]]
    assert Counter(key) == Counter(json.dumps(o, sort_keys=True) for o in fal_outcomes[:-1])
    assert fal_outcomes[-1]["error"] == "TIMEOUT"
    countdown = on_ref["stream_countdown"]["outcomes"]
    assert [o["output"]["token"] for o in countdown[:-1]] == ["3", "2", "1"]
    assert countdown[-1]["error"] == "TIMEOUT"


def test_custom_codec_endpoint_speaks_json_with_fal_client_as_on_fal(
    streaming: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    on_fal, on_ref = streaming
    assert on_ref["stream_json_codec"]["outputs"] == [{"token": "SHOUT", "index": 5}]
    assert on_ref["stream_json_codec"] == on_fal["stream_json_codec"]


def test_raw_app_on_starlettes_websocket_surface_moves_and_answers_as_on_fal(
    raw: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """receive() dicts, iter_json, headers, query_params, send_json (Starlette's surface)."""
    on_fal, on_ref = raw
    assert on_ref["raw_messages"]["text"] == {
        "text": "hello",
        "has_user_agent": True,
        "missing_param": "none",
    }
    assert on_ref["raw_messages"]["binary"] == "030201"
    replies = on_ref["raw_json_async"]["replies"]
    assert replies == [
        '{"got":{"b":1,"a":[2]},"keys":["a","b"]}',
        '{"got":{"é":"ü"},"keys":["é"]}',  # UTF-8 as is, as Starlette writes it
    ]
    assert on_ref["raw_json_async"]["close"] == {"code": 1000}
    assert on_ref == on_fal
