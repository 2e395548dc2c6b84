"""Broken client: offers a WebSocket subprotocol (`Sec-WebSocket-Protocol: fal-realtime`).

Its own WebSocket code tolerates a server that selects none, but browsers and Node `ws` fail
such a handshake, and fal's runner never selects one (RT-TRANS-006, a SHOULD NOT).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient


class OffersSubprotocol(MinimalClient):
    def headers(self) -> dict[str, str]:
        return {**super().headers(), "Sec-WebSocket-Protocol": "fal-realtime"}


if __name__ == "__main__":
    sys.exit(OffersSubprotocol().main())
