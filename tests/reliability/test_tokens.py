"""Unit tests of reference.tokens: minting and verifying tokens (RT-SEC-007, 031-033)."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.tokens import (
    DEFAULT_LIFETIME,
    MAX_LIFETIME,
    TokenCheck,
    TokenSigner,
    clamp_lifetime,
    key_matches,
)

NOW = 1_800_000_000.0


def test_token_opens_its_app_until_it_expires() -> None:
    signer = TokenSigner()
    token = signer.mint(["my-app"], 5, NOW)
    assert signer.verify(token, "my-app", NOW) is TokenCheck.VALID
    assert signer.verify(token, "my-app", NOW + 4.9) is TokenCheck.VALID
    assert signer.verify(token, "my-app", NOW + 5) is TokenCheck.EXPIRED


def test_token_is_scoped_to_allowed_apps() -> None:
    signer = TokenSigner()
    token = signer.mint(["app-a", "owner/app-b"], 60, NOW)
    assert signer.verify(token, "app-a", NOW) is TokenCheck.VALID
    assert signer.verify(token, "app-b", NOW) is TokenCheck.VALID
    assert signer.verify(token, "app-c", NOW) is TokenCheck.WRONG_APP
    assert signer.verify(signer.mint([], 60, NOW), "app-a", NOW) is TokenCheck.WRONG_APP


def test_unscoped_token_opens_any_app() -> None:
    signer = TokenSigner()
    assert signer.verify(signer.mint(None, 60, NOW), "anything", NOW) is TokenCheck.VALID


def test_each_signer_has_its_own_random_secret() -> None:
    """RT-SEC-033: two servers (same API key or not) do not accept each other's tokens."""
    first, second = TokenSigner(), TokenSigner()
    token = first.mint(["a"], 60, NOW)
    assert second.verify(token, "a", NOW) is TokenCheck.BAD_SIGNATURE


def test_a_shared_secret_is_accepted_on_purpose() -> None:
    secret = b"s" * 32
    token = TokenSigner(secret).mint(["a"], 60, NOW)
    assert TokenSigner(secret).verify(token, "a", NOW) is TokenCheck.VALID
    with pytest.raises(ValueError, match="128 bits"):
        TokenSigner(b"short")


def test_token_is_not_the_old_key_derived_mac() -> None:
    """The token no longer checks against HMAC(SHA256("reference-token:"+key), payload)."""
    token = TokenSigner().mint(["a"], 60, NOW)
    payload, _, mac = token.partition(".")
    for key in ("SECRET", "sekrit", ""):
        old = hashlib.sha256(f"reference-token:{key}".encode()).digest()
        guess = hmac.new(old, payload.encode(), hashlib.sha256).hexdigest()
        assert guess != mac


def test_tampered_payload_is_refused() -> None:
    signer = TokenSigner()
    token = signer.mint(["a"], 60, NOW)
    payload, _, mac = token.partition(".")
    other = signer.mint(["a"], MAX_LIFETIME, NOW).partition(".")[0]
    assert signer.verify(f"{other}.{mac}", "a", NOW) is TokenCheck.BAD_SIGNATURE
    assert signer.verify(f"{payload}.{mac[:-2]}", "a", NOW) is TokenCheck.BAD_SIGNATURE


@pytest.mark.parametrize(
    "bad", ["", ".", "abc", "abc.", ".abc", "é.é", "\udce9", "\ud800.x", b"\xff.\xfe", "a" * 5000]
)
def test_malformed_tokens_are_refused_without_raising(bad: str | bytes) -> None:
    got = TokenSigner().verify(bad, "a", NOW)
    assert got in (TokenCheck.MALFORMED, TokenCheck.BAD_SIGNATURE)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.one_of(st.text(), st.binary()))
def test_any_bytes_are_refused_never_raise(token: str | bytes) -> None:
    assert TokenSigner().verify(token, "a", NOW) is not TokenCheck.VALID


@pytest.mark.parametrize(
    ("asked", "lives"),
    [(5, 5), (0, 1), (-3, 1), (10**9, MAX_LIFETIME), (2.7, 2), (None, DEFAULT_LIFETIME),
     ("60", DEFAULT_LIFETIME), (True, DEFAULT_LIFETIME), (float("nan"), DEFAULT_LIFETIME)],
)  # fmt: skip
def test_lifetime_is_clamped(asked: object, lives: int) -> None:
    assert clamp_lifetime(asked) == lives


def test_mint_refuses_non_string_apps() -> None:
    with pytest.raises(TypeError):
        TokenSigner().mint("app", 60, NOW)
    with pytest.raises(TypeError):
        TokenSigner().mint([1], 60, NOW)  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("given", "ok"),
    [("SECRET", True), ("SECRET ", False), ("secret", False), ("é", False), ("\udce9", False),
     (b"SECRET", True), (b"\xff", False), ("", False)],
)  # fmt: skip
def test_key_matches_any_bytes(given: str | bytes, ok: bool) -> None:
    assert key_matches(given, "SECRET") is ok
