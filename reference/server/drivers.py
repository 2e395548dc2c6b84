"""The session driver an upgraded connection hands its bytes to (spec chapters 06, 09).

A realtime route gets a `RealtimeDriver` over the sans-I/O `Session`, with the per-session
limits of spec chapter 12 and the endpoint's codec; a raw route gets a `RawDriver`.
"""

from __future__ import annotations

from reference.app import message_codec, to_output
from reference.core.extensions import negotiate
from reference.server.channel import Channel, Driver
from reference.server.http import Request, Route, parse_max_buffering
from reference.server.limits import ServerLimits
from reference.server.raw import RawDriver
from reference.server.realtime import RealtimeDriver


def make_driver(
    channel: Channel,
    limits: ServerLimits,
    route: Route,
    request: Request,
    reply: bytes,
    heartbeat_interval: float,
) -> Driver:
    """The driver for `route`; a realtime session opens with the 101 written first."""
    if route.kind != "realtime":
        return RawDriver(channel, route.handler, route.path, request, reply, limits)
    assert route.config is not None
    query = request.query
    config = route.config.with_max_buffering(parse_max_buffering(query))
    # Spec 15.1: `rt_ext` opts in; without it the session is byte for byte 1.0's.
    config = config.with_extensions(negotiate(query, heartbeat_interval))
    # The one codec call site: fal's encode_message/decode_message, or the msgpack profile.
    codec = message_codec(route.handler, limits.max_input_objects)
    encode = codec.encode
    driver = RealtimeDriver(
        channel,
        config,
        handler=route.handler,
        is_async=route.is_async,
        validate=route.validate,
        encode_output=lambda value: encode(to_output(value)),
        decode_input=codec.decode,
        path=route.path,
        limits=limits.session(),
    )
    channel.write([reply])
    driver.start()
    return driver
