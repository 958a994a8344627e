"""The score a synced lead gets from its vendor signals: one documented, deterministic function.

A score a person set by hand is never replaced (``Lead.score_is_manual``); otherwise every
import recomputes it from what the vendors say, so ``min_score`` filters mean something.

    email quality   up to 40: confidence or probability (0-100) x 0.4
    verification    valid +20, verified +20, accept_all +5, webmail +5, unknown/pending 0,
                    invalid -30, disposable -30
    engagement      opened +5, clicked +10, replied +20
    interest        interested +20, meeting booked +25, meeting completed +30, closed won +40,
                    out of office 0, not interested / wrong person / lost -20

The sum is clamped to 0-100. A record with no signals at all scores 0.
"""

from __future__ import annotations

from typing import Any

_VERIFICATION = {
    "valid": 20,
    "accept_all": 5,
    "webmail": 5,
    "unknown": 0,
    "pending": 0,
    "invalid": -30,
    "disposable": -30,
}
_INTEREST = {1: 20, 2: 25, 3: 30, 4: 40, 0: 0, -1: -20, -2: -20, -3: -20}


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def score_from_signals(signals: dict[str, Any]) -> int:
    quality = max(_number(signals.get("confidence")), _number(signals.get("probability")))
    total = min(max(quality, 0.0), 100.0) * 0.4
    total += _VERIFICATION.get(str(signals.get("verification") or "").lower(), 0)
    if signals.get("verified") is True:
        total += 20
    if _number(signals.get("opens")) > 0:
        total += 5
    if _number(signals.get("clicks")) > 0:
        total += 10
    if _number(signals.get("replies")) > 0:
        total += 20
    interest = signals.get("interest")
    if isinstance(interest, int) and not isinstance(interest, bool):
        total += _INTEREST.get(interest, 0)
    return int(min(max(round(total), 0), 100))
