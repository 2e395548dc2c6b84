"""Broken client: its adapter prints debug text on stdout, waits for outputs forever (no
receive timeout) and exits 3 after the session.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient


class SloppyAdapter(MinimalClient):
    def __init__(self) -> None:
        super().__init__()
        self.recv_timeout = 3600.0

    def main(self) -> int:
        print(f"connecting to {self.base} ...", flush=True)
        super().main()
        return 3


if __name__ == "__main__":
    sys.exit(SloppyAdapter().main())
