"""Rotating QR codes for check-in: a code that changes every window (30 s) and belongs to one session.

The code of session S in window W (W = unix seconds // window length) is eight digits taken from
HMAC-SHA256(secret, "<S>:<W>"). It is short enough to type on a phone when the camera fails, and it
says nothing about anyone: no trainee id, no name. A check-in is accepted with the code of the current
window or of the one before (a code read at the last second of its window still works for the next
30 s); the same session's code of an earlier window is *expired*; a code this session never had is
*foreign* (another classroom's screen, or a photo sent from one); anything but eight digits is
*malformed*. Each refusal names its rule, so the trainee's phone can say why.

Telling "expired" from "foreign" means looking further back than the two accepted windows: the rule
recomputes this session's codes over ``lookback_windows`` (a few hours' worth, a few thousand HMACs,
well under a millisecond each). A foreign code that happens to equal one of those is reported as
expired: a refusal either way, with odds of about one in 10^8 / lookback.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass

from shared.rules import RuleFailure

DIGITS = 8
CODE = re.compile(rf"^\d{{{DIGITS}}}$")

EXPIRED = "check-in.code-expired"
FOREIGN = "check-in.code-foreign-session"
MALFORMED = "check-in.code-malformed"
REQUIRED = "check-in.code-required"

WINDOW_S = 30  # a code changes this often
LOOKBACK_WINDOWS = 720  # six hours of 30-second windows


@dataclass(frozen=True)
class QrPolicy:
    secret: bytes
    window_s: int = WINDOW_S
    lookback_windows: int = LOOKBACK_WINDOWS

    def window(self, unix_s: float) -> int:
        return int(unix_s // self.window_s)


@dataclass(frozen=True)
class IssuedCode:
    code: str
    window: int
    refresh_at: int  # unix seconds: the next code is shown from then
    valid_until: int  # unix seconds: this code is refused from then (one window of grace)


def code_for(policy: QrPolicy, session_id: uuid.UUID, window: int) -> str:
    mac = hmac.new(policy.secret, f"{session_id}:{window}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(mac[:8], 'big') % 10**DIGITS:0{DIGITS}d}"


def issue(policy: QrPolicy, session_id: uuid.UUID, unix_s: float) -> IssuedCode:
    w = policy.window(unix_s)
    return IssuedCode(
        code=code_for(policy, session_id, w),
        window=w,
        refresh_at=(w + 1) * policy.window_s,
        valid_until=(w + 2) * policy.window_s,
    )


def check(policy: QrPolicy, session_id: uuid.UUID, code: str | None, unix_s: float) -> RuleFailure | None:
    """None when ``code`` is this session's code of the current or the previous window, else the rule refused."""
    if code is None or not code.strip():
        return RuleFailure(REQUIRED, "a trainee checks in with the code shown on the classroom's screen", "code")
    code = code.strip().replace(" ", "").replace("-", "")
    if not CODE.match(code):
        return RuleFailure(MALFORMED, f"a check-in code is {DIGITS} digits", "code")
    now = policy.window(unix_s)
    if any(hmac.compare_digest(code, code_for(policy, session_id, w)) for w in (now, now - 1)):
        return None
    for w in range(now - 2, now - 2 - policy.lookback_windows, -1):
        if hmac.compare_digest(code, code_for(policy, session_id, w)):
            age = (now - w) * policy.window_s
            return RuleFailure(
                EXPIRED,
                f"this code expired (it was shown about {age} seconds ago); scan the code on the screen now",
                "code",
            )
    return RuleFailure(FOREIGN, "this code was not shown for this session; scan the code of your own classroom", "code")
