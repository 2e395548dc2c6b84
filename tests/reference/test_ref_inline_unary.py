"""The unary hot path steps the handler inside `data_received` (realtime.py, issue 14).

Over real sockets: a handler that completes at once, one that suspends, and one that uses
task-bound asyncio APIs must each behave exactly as when the worker task runs it; outputs
keep input order when fast and suspending inputs are pipelined (RT-CTRL-011, RT-ERR-004).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator

import pytest
from conftest import _run
from pydantic import BaseModel
from refhelpers import Running, open_ws, pack, recv

from reference import App, realtime

REQUEST_N: contextvars.ContextVar[int] = contextvars.ContextVar("request_n")


class Step(BaseModel):
    n: int
    sleep_ms: int = 0
    fail: bool = False


class Out(BaseModel):
    n: int
    in_task: bool


class InlineApp(App):
    """Unary handlers exercising the inline first step."""

    @realtime("/steps")
    async def steps(self, inp: Step) -> Out:
        # asyncio.timeout needs a current task: the inline step must run as the worker task.
        # A contextvar set before the first await must survive it (same context throughout).
        REQUEST_N.set(inp.n)
        async with asyncio.timeout(5):
            if inp.sleep_ms:
                await asyncio.sleep(inp.sleep_ms / 1000)
        if inp.fail:
            raise RuntimeError("boom")
        return Out(n=REQUEST_N.get(), in_task=asyncio.current_task() is not None)


@pytest.fixture(scope="module")
def inline_server() -> Iterator[Running]:
    yield from _run(InlineApp(), None)


def test_pipelined_fast_and_suspending_inputs_keep_order(inline_server: Running) -> None:
    plan = [0, 30, 0, 0, 5, 0, 20, 0, 0, 0]
    with open_ws(inline_server.url + "/steps") as ws:
        for n, sleep_ms in enumerate(plan):
            ws.send(pack({"n": n, "sleep_ms": sleep_ms}))
        got = [recv(ws) for _ in plan]
    assert got == [{"n": n, "in_task": True} for n in range(len(plan))]


def test_failure_in_the_inline_step_is_internal_error_and_session_goes_on(
    inline_server: Running,
) -> None:
    with open_ws(inline_server.url + "/steps") as ws:
        ws.send(pack({"n": 0, "fail": True}))
        ws.send(pack({"n": 1}))
        ws.send(pack({"n": 2, "sleep_ms": 5, "fail": True}))
        ws.send(pack({"n": 3}))
        first, second, third, fourth = (recv(ws) for _ in range(4))
    assert first["error"] == "INTERNAL_ERROR"  # RT-CTRL-015/016
    assert second == {"n": 1, "in_task": True}
    assert third["error"] == "INTERNAL_ERROR"
    assert fourth == {"n": 3, "in_task": True}


def test_client_leaving_mid_handler_is_silent_and_server_keeps_serving(
    inline_server: Running,
) -> None:
    with open_ws(inline_server.url + "/steps") as ws:
        ws.send(pack({"n": 0, "sleep_ms": 200}))  # suspended, handed to the worker
    with open_ws(inline_server.url + "/steps") as again:
        again.send(pack({"n": 1}))
        assert recv(again) == {"n": 1, "in_task": True}
