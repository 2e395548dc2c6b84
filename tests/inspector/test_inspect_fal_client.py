"""The real fal_client 1.0.3 through the inspector to the reference server (issue 11 s. 4).

`interop/fal_client_driver.py` runs in the fal venv (`make peers`) and points the unmodified
client at the inspector; the client must behave exactly as it does with no relay in between,
and the inspector must show its handshake (the JWT masked) and every frame, flagging nothing:
fal_client and the reference both keep the rules the inspector checks.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from inspect_support import REPO, flags, inspector

SCENARIOS = ("realtime", "invalid_input", "realtime_async", "ws_connect")


def test_fal_client_through_the_inspector(
    tmp_path: Path, reference_url: str, fal_venv_python: Path
) -> None:
    """Every scenario passes through the relay, and the relay shows what fal_client sent."""
    with inspector(tmp_path, reference_url) as (url, log):
        cmd = [str(fal_venv_python), str(REPO / "interop" / "fal_client_driver.py"), url]
        for name in SCENARIOS:
            cmd += ["--scenario", name]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        result = json.loads(proc.stdout)
        text = log.wait_for(f"connection #{len(SCENARIOS)} closed")
    failed = {k: v for k, v in result["scenarios"].items() if not v["ok"]}
    assert failed == {}
    assert result["scenarios"]["invalid_input"]["error"]["error"] == "INVALID_INPUT"
    assert "GET /local/conformance-app/realtime?fal_jwt_token=<masked, 15 chars> HTTP/1.1" in text
    assert "local-jwt-token" not in text
    assert "Sec-WebSocket-Extensions: permessage-deflate" in text
    assert "C->S BINARY" in text
    assert "masked fin {'prompt':" in text
    assert "S->C TEXT" in text
    assert "'error': 'INVALID_INPUT'" in text
    assert flags(text) == [], text
