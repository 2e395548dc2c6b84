"""Broken client: uses any app id as the URL path, even one with no `/` that is not legacy.

It rewrites the legacy `<digits>-<alias>` form but connects with `myapp` or `12a-myapp` as they
are, instead of refusing them before connecting (RT-TRANS-015, step 1 of 2.2).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient


class AcceptsAnyAppId(MinimalClient):
    def app_path(self) -> str:
        owner, _, alias = self.app_id.partition("-")
        if "/" not in self.app_id and owner.isdigit() and alias:
            return f"{owner}/{alias}"
        return self.app_id


if __name__ == "__main__":
    sys.exit(AcceptsAnyAppId().main())
