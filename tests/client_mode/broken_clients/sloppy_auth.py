"""Broken client: puts a key in the URL, sends token_expiration as a string, reads only
JSON-string token responses, and connects without a credential when the token request fails.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient


class SloppyAuth(MinimalClient):
    def headers(self) -> dict[str, str]:
        return {}

    def url(self, token: str | None) -> str:
        if token is None and self.key is not None and self.rest is None:
            return super().url(self.key)
        return super().url(token)

    def fetch_token(self) -> str:
        import urllib.request

        alias = self.app_id.split("/")[-1]
        body = json.dumps({"allowed_apps": [alias], "token_expiration": "120"}).encode()
        request = urllib.request.Request(
            f"{self.rest}/tokens/",
            data=body,
            method="POST",
            headers={"Authorization": f"Key {self.key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return str(json.loads(response.read()))
        except OSError:
            return ""  # carry on without a token


if __name__ == "__main__":
    sys.exit(SloppyAuth().main())
