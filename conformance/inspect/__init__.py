"""A live wire inspector: ``python -m conformance.inspect`` (spec chapters 02, 04-06, 13).

A loopback relay a user puts between any client and any server. It forwards every byte
unchanged and prints, as it happens, the handshake (credentials masked), every frame both ways
with timestamps, decoded msgpack and JSON, control frames, close codes, and a flag naming the
requirement each frame breaks. The frame parser and the validators are the suite's own
(:mod:`conformance.frames`, :mod:`conformance.schemas`, :mod:`conformance.validation`).

Modules: ``handshake`` (HTTP heads, masking, the upstream request), ``stream`` (bytes -> frames
-> messages, permessage-deflate), ``judge`` (the rules per frame and message), ``render`` (the
printed lines), ``relay`` (the asyncio relay), ``__main__`` (the command line).
"""
