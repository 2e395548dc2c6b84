"""Which server the suite talks to and what it declares (spec chapter 13-conformance).

Standard library only: the plugin imports this while pytest starts. A target is a base URL
(`ws://HOST:PORT`, optionally with a path prefix), the optional features of the conformance
app it hosts, its gateway owner/app names and, for the `auth` feature, the key it accepts.
With no target the suite starts the reference server as a subprocess (never importing it).
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.parse
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

# The optional behaviours of the conformance app (CONTRACTS.md, spec chapter 13).
FEATURES = (
    "delay",
    "handler-error",
    "server-streaming",
    "bidi",
    "client-streaming",
    "session-timeout",
    "buffering",
    "batching",
    "batching-timeout",
    "bidi-fanout",
    "gateway-paths",
    "auth",
    "raw-handler-error",
    "stream-handler-error",
    "webrtc-signaling",
    "webrtc-media",
    "extensions",
)
# What the embedded reference hosts: every feature of chapter 13's table, the 1.1 extension
# channel (spec chapter 15) included; `webrtc-media` only when aiortc (the `[webrtc]` extra) is
# installed, as the reference then runs a media peer.
_MEDIA = all(importlib.util.find_spec(name) is not None for name in ("aiortc", "av"))
EMBEDDED_FEATURES = frozenset(f for f in FEATURES if f != "webrtc-media" or _MEDIA)
DEFAULT_MAX_MESSAGE = 16 * 1024 * 1024


class TargetError(Exception):
    """The target cannot be reached or started (a harness problem, not a verdict)."""


@dataclass(frozen=True)
class TargetConfig:
    """Everything the checks need to know about the server under test."""

    url: str
    features: frozenset[str] = frozenset()
    owner: str = "local"
    app: str = "conformance-app"
    key: str | None = None
    max_message_size: int = DEFAULT_MAX_MESSAGE
    embedded: bool = False
    timeout_multiplier: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def host_port(self) -> tuple[str, int]:
        """The TCP endpoint of the target."""
        parts = urllib.parse.urlsplit(self.url)
        default = 443 if parts.scheme == "wss" else 80
        return parts.hostname or "127.0.0.1", parts.port or default

    @property
    def prefix(self) -> str:
        """The path prefix every conformance-app path goes under ("" for a bare server)."""
        return urllib.parse.urlsplit(self.url).path.rstrip("/")


def parse_features(text: str | None) -> frozenset[str]:
    """`a,b,c` -> the declared features; unknown names are a usage error."""
    if not text:
        return frozenset()
    names = frozenset(part.strip() for part in text.split(",") if part.strip())
    if "all" in names:
        return frozenset(FEATURES)
    unknown = sorted(names - set(FEATURES))
    if unknown:
        raise ValueError(f"unknown feature(s) {', '.join(unknown)}; known: {', '.join(FEATURES)}")
    return names


def load_config_file(path: str) -> dict[str, Any]:
    """Read a target declaration (JSON or TOML) such as::

    {"url": "ws://127.0.0.1:8765", "features": ["delay", "bidi"],
     "owner": "me", "app": "my-app", "key": "secret", "max_message_size": 16777216}
    """
    raw = Path(path).read_bytes()
    data: Any = tomllib.loads(raw.decode()) if path.endswith(".toml") else json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a target declaration is a JSON object / TOML table")
    allowed = {"url", "features", "owner", "app", "key", "max_message_size", "name", "notes"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(unknown)}; allowed: {sorted(allowed)}")
    features = data.get("features", [])
    if isinstance(features, str):
        data["features"] = parse_features(features)
    else:
        data["features"] = parse_features(",".join(str(f) for f in features))
    return data


def build_config(
    url: str | None,
    features: str | None,
    config_file: str | None,
    multiplier: float,
    *,
    key: str | None = None,
) -> TargetConfig:
    """Combine --target, --features, --key and --target-config (flags win over the file).

    Raises:
        ValueError: a usage error: a URL that is not ws(s)://, a `--target` ending in
            `/realtime` (it is a base URL), or the `auth` feature declared without a key.
    """
    data: dict[str, Any] = load_config_file(config_file) if config_file else {}
    chosen_url = url or data.get("url")
    declared = frozenset(data.get("features", frozenset())) | parse_features(features)
    cfg = TargetConfig(
        url=str(chosen_url or ""),
        features=declared,
        owner=str(data.get("owner", "local")),
        app=str(data.get("app", "conformance-app")),
        key=key or data.get("key"),
        max_message_size=int(data.get("max_message_size", DEFAULT_MAX_MESSAGE)),
        embedded=not chosen_url,
        timeout_multiplier=multiplier,
        extra={k: data[k] for k in ("name", "notes") if k in data},
    )
    if cfg.embedded:
        # The reference hosts every feature; --features / a config file may narrow the claim.
        claimed = declared if (features or config_file) else EMBEDDED_FEATURES
        check_media_peer(claimed)
        return replace(cfg, features=claimed, key=key or f"conformance-{secrets.token_hex(8)}")
    check_declaration(cfg)
    return cfg


def check_media_peer(features: frozenset[str]) -> None:
    """`webrtc-media` is checked with the suite's own aiortc peer: without it, say so once."""
    if "webrtc-media" in features and not _MEDIA:
        raise ValueError(
            "the `webrtc-media` feature (declared, or in --features all) is checked with the "
            "suite's own media peer, which needs aiortc: "
            "pip install 'realtime-endpoint-protocol[webrtc]', or leave the feature out"
        )


def check_declaration(cfg: TargetConfig) -> None:
    """Usage errors in what the user declared about an external target (one line each)."""
    parts = urllib.parse.urlsplit(cfg.url)
    if cfg.url and parts.scheme not in ("ws", "wss"):
        raise ValueError(f"--target must be a ws:// or wss:// URL, not {cfg.url!r}")
    if parts.path.rstrip("/").endswith("/realtime"):
        base = urllib.parse.urlunsplit(
            (parts.scheme, parts.netloc, parts.path.rstrip("/")[: -len("/realtime")], "", "")
        )
        raise ValueError(
            f"--target is the server's base URL (the suite adds /realtime, /echo, ... itself): "
            f"did you mean --target {base}?"
        )
    check_media_peer(cfg.features)
    if "auth" in cfg.features and not cfg.key:
        raise ValueError(
            "the `auth` feature (declared, or in --features all) needs the key the target "
            "accepts: add --key SECRET or `key` to --target-config"
        )


def probe(cfg: TargetConfig, wait_seconds: float) -> None:
    """Wait until the target accepts TCP connections and answers HTTP; raise TargetError."""
    host, port = cfg.host_port
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    last = "no attempt"
    while True:
        try:
            with socket.create_connection(
                (host, port), timeout=2.0 * cfg.timeout_multiplier
            ) as sock:
                sock.sendall(
                    f"GET {cfg.prefix}/health HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    "Connection: close\r\n\r\n".encode()
                )
                sock.settimeout(5.0 * cfg.timeout_multiplier)
                head = sock.recv(64)
            if head.startswith(b"HTTP/"):
                return
            last = f"no HTTP answer to GET {cfg.prefix}/health (got {head[:20]!r})"
        except OSError as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            raise TargetError(f"target {cfg.url} is unreachable: {last}")
        # Readiness polling, bounded by --wait-for-target; not a test synchronisation.
        time.sleep(0.1)


class EmbeddedServer:
    """`python -m reference serve --host 127.0.0.1 --port 0` as a subprocess."""

    def __init__(self, cwd: Path, key: str | None, multiplier: float) -> None:
        self._cwd = cwd
        self._key = key
        self._multiplier = multiplier
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the server)

    @property
    def command(self) -> list[str]:
        """The command line that starts the reference server."""
        cmd = [sys.executable, "-m", "reference", "serve", "--host", "127.0.0.1", "--port", "0"]
        cmd += ["--heartbeat-interval", "1"]  # the heartbeat checks wait about one interval
        if self._key:
            cmd += ["--key", self._key]
        return cmd

    def start(self) -> str:
        """Start the server and return the URL it prints when ready."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._proc = subprocess.Popen(
            self.command,
            cwd=self._cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        assert self._proc.stdout is not None
        deadline = time.monotonic() + 30.0 * self._multiplier
        buf = b""
        with selectors.DefaultSelector() as sel:
            sel.register(self._proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if not sel.select(timeout=deadline - time.monotonic()):
                    break
                chunk = os.read(self._proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                for line in buf.decode(errors="replace").splitlines():
                    if line.strip().startswith(("ws://", "wss://")) and buf.endswith(b"\n"):
                        return line.strip()
        self.stop()
        raise TargetError(
            "the embedded reference server did not start "
            f"({' '.join(self.command[1:])}):\n{self.stderr_tail()}"
        )

    def stderr_tail(self, limit: int = 2000) -> str:
        """The last lines the server wrote to stderr."""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-limit:]

    def stop(self) -> None:
        """Stop the server (SIGINT, then SIGKILL if it does not exit)."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        finally:
            if proc.stdout:
                proc.stdout.close()
