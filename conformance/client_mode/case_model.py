"""What one scripted case is: the adapter's inputs and credentials, the server's script (ch. 13).

`conformance.client_mode.cases` holds the table of cases; this module is the record they are
written in, with the credentials the cases hand out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.client_mode.server import Script

DEFAULT_APP_ID = "local/conformance-app"
TOKEN = "rt-conformance-jwt-7f3a"
KEY = "rt-key-id:rt-key-secret"
SPECIAL_TOKEN = "rt+jwt/7f3a=&x y%"  # every character here needs percent-encoding


@dataclass(frozen=True)
class Case:
    """One scripted server behaviour and what the adapter is told to do against it."""

    name: str
    summary: str
    inputs: list[dict[str, Any]]
    script: Script
    path: str = "/realtime"
    app_id: str = DEFAULT_APP_ID
    token: str | None = None
    key: str | None = None
    token_shape: str | None = None  # "string" | "object" | "fail": run the token endpoint
    accept_deflate: bool = False
    refuse_status: int | None = None
    recv_timeout: float = 5.0
    input_wait: float = 5.0
    expected_outputs: list[Any] = field(default_factory=list)
    extensions: tuple[str, ...] | None = None  # RT_EXTENSIONS: the tokens to ask for (spec 15)


def prompts(*words: str) -> list[dict[str, Any]]:
    """One input `{"prompt": w}` for each word."""
    return [{"prompt": w} for w in words]


def outputs(*words: str) -> list[Any]:
    """The echo output `{"output": w}` of each word."""
    return [{"output": w} for w in words]
