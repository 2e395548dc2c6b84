"""Short-lived tokens, minted and verified without I/O (spec 03-authentication, 12 RT-SEC-033).

    signer = TokenSigner()                                   # a random 256-bit secret
    token = signer.mint(["my-app"], expiration=120, now=time.time())
    signer.verify(token, app="my-app", now=time.time())      # -> TokenCheck.VALID

A token is `<payload>.<mac>`, both base64url without padding. The payload is the JSON
`{"exp": <unix seconds>, "apps": [aliases] | null}`; the MAC is HMAC-SHA256 over the payload's
base64url text, keyed by a secret of the signer's own. The secret is random per signer (per
server process) unless the operator passes one (to share tokens between replicas), so a token
says nothing about the API key: guessing the key offline from a token is no easier than without
it (RT-SEC-033). Expiry and scope are inside the signed part (RT-SEC-007): a token asked for
5 s lasts 5 s, and one minted for `["app-a"]` opens no other app.

Time is passed in, as in the sans-I/O core; this module never reads a clock or a socket.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence

#: fal's clients ask for 120 s (RT-AUTH-020); a request outside these bounds is clamped.
DEFAULT_LIFETIME = 120
MIN_LIFETIME = 1
MAX_LIFETIME = 24 * 3600
#: Longest token accepted for verification: a bound on work for any bytes a client sends.
MAX_TOKEN_LENGTH = 4096
SECRET_BYTES = 32


class TokenCheck(enum.Enum):
    """The outcome of verifying a token; only VALID admits the request."""

    VALID = "valid"
    MALFORMED = "malformed"  # not two base64url parts, not our JSON, too long, not ASCII
    BAD_SIGNATURE = "bad-signature"
    EXPIRED = "expired"
    WRONG_APP = "wrong-app"  # the app is not in the token's allowed_apps


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def clamp_lifetime(requested: object) -> int:
    """Seconds a token lives for a `token_expiration` request value (any JSON value)."""
    if isinstance(requested, bool) or not isinstance(requested, int | float):
        return DEFAULT_LIFETIME
    if requested != requested:  # NaN
        return DEFAULT_LIFETIME
    return int(min(max(requested, MIN_LIFETIME), MAX_LIFETIME))


def app_matches(entry: str, app: str) -> bool:
    """Whether an `allowed_apps` entry names `app` (an alias; `owner/alias` entries too)."""
    return entry == app or entry.rsplit("/", 1)[-1] == app


class TokenSigner:
    """Mints and verifies tokens with one secret (random unless given)."""

    def __init__(self, secret: bytes | None = None) -> None:
        if secret is not None and len(secret) < 16:
            raise ValueError("a token secret needs at least 128 bits")
        self._secret = secret if secret is not None else secrets.token_bytes(SECRET_BYTES)

    def _mac(self, payload_b64: str) -> str:
        digest = hmac.new(self._secret, payload_b64.encode("ascii"), hashlib.sha256).digest()
        return _b64(digest)

    def mint(self, allowed_apps: Sequence[str] | None, expiration: object, now: float) -> str:
        """A token for `allowed_apps` (None: any app) that expires `expiration` s after `now`.

        `expiration` is the request's `token_expiration` as it came (clamped, see
        `clamp_lifetime`); `allowed_apps` entries must be strings.
        """
        if allowed_apps is not None:
            if isinstance(allowed_apps, str) or not all(isinstance(a, str) for a in allowed_apps):
                raise TypeError("allowed_apps must be a list of strings")
            apps: list[str] | None = list(allowed_apps)
        else:
            apps = None
        exp = int(now) + clamp_lifetime(expiration)
        body = json.dumps({"exp": exp, "apps": apps}, separators=(",", ":")).encode()
        payload = _b64(body)
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str | bytes, app: str | None, now: float) -> TokenCheck:
        """Check a token of any bytes for `app` (None: no scope check) at time `now`.

        Never raises: bytes that are not ASCII, not base64url or not our JSON are MALFORMED
        (RT-SEC-031). The MAC is compared in constant time before the payload is read
        (RT-SEC-032), so nothing about an unsigned payload is parsed.
        """
        raw = token.encode("utf-8", "surrogatepass") if isinstance(token, str) else token
        if len(raw) > MAX_TOKEN_LENGTH or not raw.isascii():
            return TokenCheck.MALFORMED
        payload, dot, mac = raw.decode("ascii").partition(".")
        if not dot or not payload or not mac:
            return TokenCheck.MALFORMED
        if not hmac.compare_digest(mac.encode("ascii"), self._mac(payload).encode("ascii")):
            return TokenCheck.BAD_SIGNATURE
        try:
            claims = json.loads(_unb64(payload))
        except (binascii.Error, ValueError):
            return TokenCheck.MALFORMED
        if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
            return TokenCheck.MALFORMED
        if claims["exp"] <= now:
            return TokenCheck.EXPIRED
        apps = claims.get("apps")
        if app is None or apps is None:
            return TokenCheck.VALID
        if isinstance(apps, list) and any(isinstance(a, str) and app_matches(a, app) for a in apps):
            return TokenCheck.VALID
        return TokenCheck.WRONG_APP


def key_matches(given: str | bytes, key: str) -> bool:
    """Constant-time comparison of a presented key of any bytes with the server's key.

    Both sides are compared as UTF-8 bytes, so a non-ASCII credential is simply a wrong one
    (RT-SEC-031) instead of a TypeError from `hmac.compare_digest` on `str` (RT-SEC-032).
    """
    raw = given.encode("utf-8", "surrogatepass") if isinstance(given, str) else given
    return hmac.compare_digest(raw, key.encode("utf-8"))
