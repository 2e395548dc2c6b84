"""The application model: fal-style `App` classes with `@endpoint` and `@realtime` routes.

A fal app moves over with its imports changed::

    from reference import App, WebSocket, endpoint, realtime

    class MyApp(App):
        @endpoint("/")
        def generate(self, inp: Input) -> Output: ...

        @realtime("/realtime", buffering=2)
        async def live(self, inp: Input) -> Output: ...

        @endpoint("/echo", is_websocket=True)
        async def echo(self, ws: WebSocket) -> None: ...

The realtime mode is chosen from the annotations as fal does (spec chapter 08-streaming):
an async-iterator input means client-streaming (bidi if the output is one too); an
(async) iterator output means server-streaming; anything else is unary.
"""

from __future__ import annotations

import collections.abc
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pydantic

from reference.core.session import InvalidInput, Mode, SessionConfig

F = TypeVar("F", bound=Callable[..., Any])

_ASYNC_ITERS = {
    collections.abc.AsyncIterator,
    collections.abc.AsyncIterable,
    collections.abc.AsyncGenerator,
}
_SYNC_ITERS = {collections.abc.Iterator, collections.abc.Iterable, collections.abc.Generator}


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """What a decorator records on a method; the server binds it to an app instance."""

    kind: str  # "http" | "realtime" | "raw"
    path: str
    config: SessionConfig | None = None


def endpoint(path: str, *, is_websocket: bool = False) -> Callable[[F], F]:
    """Declare an HTTP JSON endpoint (POST), or a raw WebSocket endpoint."""

    def mark(func: F) -> F:
        func._reference_route = RouteSpec("raw" if is_websocket else "http", path)  # type: ignore[attr-defined]
        return func

    return mark


def realtime(
    path: str,
    *,
    buffering: int | None = None,
    max_batch_size: int = 1,
    session_timeout: float | None = None,
) -> Callable[[F], F]:
    """Declare a realtime (msgpack over WebSocket) endpoint with fal's arguments."""
    if buffering is not None and buffering < 1:
        raise ValueError("buffering must be None (unbounded FIFO) or at least 1")
    if max_batch_size < 1:
        raise ValueError("max_batch_size must be at least 1")

    def mark(func: F) -> F:
        config = SessionConfig(_mode_of(func), buffering, max_batch_size, session_timeout)
        func._reference_route = RouteSpec("realtime", path, config)  # type: ignore[attr-defined]
        return func

    return mark


class App:
    """Base class of hosted applications; `setup()` runs once before serving."""

    def setup(self) -> None:
        """Load models and the like; override as in fal."""

    @classmethod
    def route_specs(cls) -> list[tuple[str, RouteSpec]]:
        """(method name, spec) of every decorated method, in definition order."""
        found: list[tuple[str, RouteSpec]] = []
        for klass in reversed(cls.__mro__):
            for name, member in vars(klass).items():
                spec = getattr(member, "_reference_route", None)
                if isinstance(spec, RouteSpec):
                    found = [item for item in found if item[0] != name]
                    found.append((name, spec))
        return found


# -- annotations -----------------------------------------------------------------------
def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(func)
    except Exception:  # unresolvable forward references: treat as unannotated
        return {}


def _input_param(func: Callable[..., Any]) -> inspect.Parameter | None:
    params = list(inspect.signature(func).parameters.values())[1:]  # skip self
    return params[0] if params else None


def _mode_of(func: Callable[..., Any]) -> Mode:
    hints = _hints(func)
    param = _input_param(func)
    in_stream = param is not None and typing.get_origin(hints.get(param.name)) in _ASYNC_ITERS
    out_origin = typing.get_origin(hints.get("return"))
    out_stream = out_origin in _ASYNC_ITERS or out_origin in _SYNC_ITERS
    if in_stream:
        return Mode.BIDI if out_stream else Mode.CLIENT_STREAMING
    return Mode.SERVER_STREAMING if out_stream else Mode.UNARY


def input_model(func: Callable[..., Any]) -> type[pydantic.BaseModel] | None:
    """The pydantic model of a handler's input (unwrapping AsyncIterator[T]), if any."""
    param = _input_param(func)
    if param is None:
        return None
    hint = _hints(func).get(param.name)
    if typing.get_origin(hint) in _ASYNC_ITERS:
        args = typing.get_args(hint)
        hint = args[0] if args else None
    if isinstance(hint, type) and issubclass(hint, pydantic.BaseModel):
        return hint
    return None


def validation_reason(exc: pydantic.ValidationError) -> str:
    """A short reason naming each problem, without input values or links."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or "input"
        parts.append(f"{loc}: {err['msg']}")
    return "invalid input: " + "; ".join(parts)


def make_validator(model: type[pydantic.BaseModel] | None) -> Callable[[Any], Any] | None:
    """A validation hook for the core: the model's instance, or InvalidInput."""
    if model is None:
        return None
    validate = model.model_validate

    def check(value: Any) -> Any:
        try:
            return validate(value)
        except pydantic.ValidationError as exc:
            raise InvalidInput(validation_reason(exc)) from None

    return check


def to_output(value: Any) -> Any:
    """Normalise a handler's return value to a msgpack-ready map (as fal's `.dict()`)."""
    if type(value) is dict:
        return value
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump()
    if isinstance(value, dict):
        return dict(value)
    raise TypeError(f"expected a dict or pydantic model as output, got {type(value).__name__}")
