"""The sans-I/O core shared by the reference server and client: no sockets, no clocks.

`codec` (msgpack profile), `frames` (control frames), `wsframes` and `websocket` (RFC 6455
bytes), `inputs` (the pending-input queue), `session` (the server's session, spec 6.1) and
`client` (the client's session rules). Import the submodules.
"""
