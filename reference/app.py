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

`@realtime` takes every argument of fal 1.83.0's `@fal.realtime`: `input_modal` replaces the
validation model taken from the annotation (None: the handler gets the decoded map as is),
`output_modal` and `content_type` are descriptive only (fal uses them for its OpenAPI
document, never on the wire), and `encode_message`/`decode_message` replace the msgpack codec
of that one endpoint (`message_codec()` hands the server the pair to use).
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pydantic

from reference.core.codec import MAX_OBJECTS, Encoder, decode_input
from reference.core.session import InvalidInput, Mode, SessionConfig

F = TypeVar("F", bound=Callable[..., Any])

_ASYNC_ITERS = {
    collections.abc.AsyncIterator,
    collections.abc.AsyncIterable,
    collections.abc.AsyncGenerator,
}
_SYNC_ITERS = {collections.abc.Iterator, collections.abc.Iterable, collections.abc.Generator}


#: fal's `_SENTINEL`: take the input/output model from the handler's annotations.
FROM_ANNOTATIONS: Any = object()


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """What a decorator records on a method; the server binds it to an app instance.

    `input_model`/`output_model` are `FROM_ANNOTATIONS` unless `@realtime` was given
    `input_modal`/`output_modal`; `encode_message`/`decode_message` are None for the
    spec's msgpack profile.
    """

    kind: str  # "http" | "realtime" | "raw"
    path: str
    config: SessionConfig | None = None
    input_model: Any = FROM_ANNOTATIONS
    output_model: Any = FROM_ANNOTATIONS
    content_type: str | None = None
    encode_message: Callable[[Any], bytes] | None = None
    decode_message: Callable[[bytes], Any] | None = None


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
    session_timeout: float | None = None,
    input_modal: Any = FROM_ANNOTATIONS,
    output_modal: Any = FROM_ANNOTATIONS,
    max_batch_size: int = 1,
    content_type: str = "application/msgpack",
    encode_message: Callable[[Any], bytes] | None = None,
    decode_message: Callable[[bytes], Any] | None = None,
) -> Callable[[F], F]:
    """Declare a realtime (msgpack over WebSocket) endpoint with fal's arguments.

    Args:
        path: the endpoint's path.
        buffering: None (unbounded FIFO) or N: keep the N latest waiting inputs.
        session_timeout: seconds without an input before the session ends (None: never).
        input_modal: the pydantic model inputs are validated with, instead of the
            annotation's; None passes the decoded input to the handler unvalidated.
        output_modal: the output model, recorded for documentation only (as in fal).
        max_batch_size: up to this many waiting inputs form one handler call.
        content_type: recorded for documentation only; it does not change the codec (fal).
        encode_message: output map -> bytes, instead of msgpack. The output still leaves as
            one binary message; the bytes are the app's business (RT-MSG-020 then holds only
            for codecs that produce msgpack maps, so this is an opt-in outside the profile).
        decode_message: bytes of one binary message -> the input, instead of the msgpack
            profile check (RT-CONV); an exception it raises rejects that input with
            INVALID_INPUT and the session goes on.
    """
    if buffering is not None and buffering < 1:
        raise ValueError("buffering must be None (unbounded FIFO) or at least 1")
    if max_batch_size < 1:
        raise ValueError("max_batch_size must be at least 1")
    _check_model("input_modal", input_modal)
    for name, hook in (("encode_message", encode_message), ("decode_message", decode_message)):
        if hook is not None and not callable(hook):
            raise TypeError(f"{name} must be a callable (or None for msgpack), got {hook!r}")

    def mark(func: F) -> F:
        config = SessionConfig(_mode_of(func), buffering, max_batch_size, session_timeout)
        spec = RouteSpec(
            "realtime",
            path,
            config,
            input_modal,
            output_modal,
            content_type,
            encode_message,
            decode_message,
        )
        func._reference_route = spec  # type: ignore[attr-defined]
        return func

    return mark


def _check_model(name: str, model: Any) -> None:
    if model is FROM_ANNOTATIONS or model is None:
        return
    if not (isinstance(model, type) and issubclass(model, pydantic.BaseModel)):
        raise TypeError(
            f"{name} must be a pydantic model class or None (no validation), got {model!r}; "
            "the reference validates inputs with pydantic, as fal's own examples do"
        )


# -- codecs --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MessageCodec:
    """The pair a realtime session decodes inputs and encodes outputs with."""

    decode: Callable[[bytes], Any]
    encode: Callable[[Any], bytes]


def message_codec(handler: Any, max_objects: int = MAX_OBJECTS) -> MessageCodec:
    """The codec of the endpoint `handler` (a method, bound or not) serves.

    The default is the spec's msgpack profile (`decode_input`, a fresh `Encoder` per
    session); `@realtime(encode_message=..., decode_message=...)` replaces either half.
    """
    spec = getattr(getattr(handler, "__func__", handler), "_reference_route", None)
    decode = getattr(spec, "decode_message", None)
    encode = getattr(spec, "encode_message", None)
    return MessageCodec(
        functools.partial(decode_input, max_objects=max_objects)  # RT-SEC-012
        if decode is None
        else _app_decoder(decode),
        Encoder().encode if encode is None else _app_encoder(encode),
    )


def _app_decoder(decode: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def checked(data: bytes) -> Any:
        try:
            return decode(data)
        except Exception as exc:  # the app's codec refused these bytes: one bad input
            raise InvalidInput(
                f"the endpoint's decode_message could not decode the input ({type(exc).__name__})"
            ) from None

    return checked


def _app_encoder(encode: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    def checked(value: Any) -> bytes:
        data = encode(value)
        if isinstance(data, bytes | bytearray | memoryview):
            return bytes(data)
        raise TypeError(
            f"encode_message returned {type(data).__name__}; it must return bytes, "
            "which the server sends as one binary message (RT-MSG-020)"
        )

    return checked


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
    """The pydantic model of a handler's input: `input_modal` if given, else the annotation's
    (unwrapping AsyncIterator[T]), if any."""
    spec = getattr(func, "_reference_route", None)
    if spec is not None and spec.input_model is not FROM_ANNOTATIONS:
        model: type[pydantic.BaseModel] | None = spec.input_model
        return model
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
