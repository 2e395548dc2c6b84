"""Read the msgpack a client sent, byte by byte, to judge its encoding (spec chapter 01).

The scanner is the suite's one msgpack scanner (`conformance.msgpack_scan`); client checks
import it under these names.
"""

from __future__ import annotations

from conformance.msgpack_scan import NotMsgpack, Token, profile_problems, scan

__all__ = ["NotMsgpack", "Token", "profile_problems", "scan"]
