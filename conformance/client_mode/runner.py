"""Run a client adapter against one scripted case and record both sides (spec chapter 13).

The adapter is COMMAND, run through the shell with these environment variables:
RT_SERVER_URL, RT_CASE, RT_APP_ID, RT_INPUTS, RT_PATH, RT_RECV_TIMEOUT, and when the case
gives credentials RT_TOKEN / RT_KEY (plus RT_REST_URL, the fake token endpoint, with RT_KEY);
RT_EXTENSIONS on the extension cases (spec 13.3, 15).
It prints one JSON object per line per event and exits 0 when the session ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from typing import Any

from conformance.client_mode import cases as _cases
from conformance.client_mode.cases import Case
from conformance.client_mode.recording import Recording
from conformance.client_mode.server import ScriptedServer
from conformance.client_mode.token_endpoint import TokenEndpoint

# Output lines hold up to 16 MiB of data (twice that as hex), so read lines without a small cap.
LINE_LIMIT = 128 * 1024 * 1024


def case_env(case: Case, server_url: str, rest_url: str | None) -> dict[str, str]:
    """The environment variables the adapter contract gives COMMAND for ``case``."""
    env = {
        "RT_SERVER_URL": server_url,
        "RT_CASE": case.name,
        "RT_APP_ID": case.app_id,
        "RT_INPUTS": json.dumps(case.inputs),
        "RT_PATH": case.path,
        "RT_RECV_TIMEOUT": f"{case.recv_timeout:g}",
    }
    if case.token is not None:
        env["RT_TOKEN"] = case.token
    if case.key is not None:
        env["RT_KEY"] = case.key
    if rest_url is not None:
        env["RT_REST_URL"] = rest_url
    if case.extensions is not None:
        env["RT_EXTENSIONS"] = ",".join(case.extensions)  # only extension cases opt in (15.1)
    return env


def deadline_for(case: Case, startup: float) -> float:
    """How long the adapter may run for ``case`` before the suite kills it."""
    return startup + 3 * case.recv_timeout + 5.0


async def run_case_async(case: Case, command: str, *, startup: float = 15.0) -> Recording:
    """Start the scripted server (and token endpoint), run COMMAND, return what was seen."""
    recording = Recording(case=case.name, command=command)
    server = ScriptedServer(
        case.script,
        recording,
        accept_deflate=case.accept_deflate,
        refuse_status=case.refuse_status,
        input_wait=case.input_wait,
    )
    endpoint: TokenEndpoint | None = None
    if case.token_shape is not None:
        recording.issued_token = _cases.TOKEN
        endpoint = TokenEndpoint(recording, _cases.TOKEN, shape=case.token_shape)
        await endpoint.start()
    await server.start()
    try:
        env = {**os.environ, **case_env(case, server.url, endpoint.url if endpoint else None)}
        await _run_command(command, env, deadline_for(case, startup), recording)
    finally:
        await server.stop()
        if endpoint is not None:
            await endpoint.stop()
    return recording


def run_case(case: Case, command: str, *, startup: float = 15.0) -> Recording:
    """Synchronous :func:`run_case_async` in a fresh event loop."""
    return asyncio.run(run_case_async(case, command, startup=startup))


async def _run_command(command: str, env: dict[str, str], deadline: float, rec: Recording) -> None:
    proc = await asyncio.create_subprocess_shell(
        command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        limit=LINE_LIMIT,
        start_new_session=True,  # its own process group, so the deadline ends the whole tree
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    stdout_task = asyncio.create_task(_read_events(proc.stdout, rec))
    stderr_task = asyncio.create_task(proc.stderr.read())
    try:
        await asyncio.wait_for(proc.wait(), deadline)
    except TimeoutError:
        rec.killed = True
        _kill_group(proc.pid)
        await proc.wait()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stdout_task, 5.0)
    try:
        err = await asyncio.wait_for(stderr_task, 5.0)
    except TimeoutError:
        err = b""
    rec.stderr = err.decode("utf-8", "replace")
    rec.returncode = proc.returncode
    # A child left behind by the adapter (its own group) must not outlive the run.
    _kill_group(proc.pid)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def _read_events(stream: asyncio.StreamReader, rec: Recording) -> None:
    while True:
        line = await stream.readline()
        if not line:
            return
        text = line.decode("utf-8", "replace").strip()
        if not text:
            continue
        try:
            event: Any = json.loads(text)
        except ValueError:
            rec.bad_lines.append(text)
            continue
        if isinstance(event, dict) and isinstance(event.get("event"), str):
            rec.events.append(event)
        else:
            rec.bad_lines.append(text)
