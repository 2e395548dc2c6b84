"""Credentials on the handshake (spec chapter 03-authentication; feature `auth`)."""

from __future__ import annotations

import pytest

from conformance.failures import requirement
from conformance.wire import Target

pytestmark = pytest.mark.feature("auth")


def _echo_with(
    target: Target, *, query: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> None:
    with target.connect(query=query, headers=headers, auth=False) as conn:
        conn.send_msgpack({"prompt": "authed"})
        assert conn.recv_output() == {"output": "authed"}


@pytest.mark.req("RT-AUTH-001", "RT-CONF-020")
def test_server_accepts_token_query_parameter(target: Target) -> None:
    """The credential in `fal_jwt_token` opens the session."""
    assert target.config.key
    _echo_with(target, query={"fal_jwt_token": target.config.key})


@pytest.mark.req("RT-AUTH-002", "RT-CONF-020")
def test_server_accepts_key_header(target: Target) -> None:
    """The credential in `Authorization: Key <k>` opens the session."""
    _echo_with(target, headers={"Authorization": f"Key {target.config.key}"})


@pytest.mark.req("RT-AUTH-003")
def test_server_accepts_bearer_header(target: Target) -> None:
    """The credential in `Authorization: Bearer <t>` opens the session."""
    _echo_with(target, headers={"Authorization": f"Bearer {target.config.key}"})


@pytest.mark.req("RT-AUTH-010", "RT-AUTH-011")
@pytest.mark.parametrize(
    ("headers", "expected"),
    [({}, 401), ({"Authorization": "Key not-the-credential"}, 403)],
    ids=["no-credential", "wrong-credential"],
)
def test_server_refuses_handshake_without_accepted_credential(
    target: Target, headers: dict[str, str], expected: int
) -> None:
    """A handshake without an accepted credential is refused before the upgrade (401 / 403)."""
    raw = target.handshake("/realtime", headers=headers, auth=False)
    raw.close()
    with requirement("RT-AUTH-010"):
        assert raw.status != 101, "the server upgraded a connection without an accepted credential"
    with requirement("RT-AUTH-011"):
        assert raw.status == expected, f"refused with {raw.status}, expected {expected}"
