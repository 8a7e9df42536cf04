"""Simulator Sickness Questionnaire scoring (Kennedy, Lane, Berbaum & Lilienthal, 1993).

Sixteen symptoms, each rated 0 (none), 1 (slight), 2 (moderate) or 3 (severe). Three overlapping
subscales sum their items' ratings and are weighted: Nausea (items 1, 6, 7, 8, 9, 15, 16) x 9.54,
Oculomotor (1, 2, 3, 4, 5, 9, 11) x 7.58, Disorientation (5, 10, 11, 12, 13, 14) x 13.92; the Total
is the sum of the three raw subscale sums x 3.74. Items are numbered from 1 as in the paper.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import msgspec

from vr_exposure.errors import VrExposureError

SSQ_ITEMS: tuple[str, ...] = (
    "General discomfort",
    "Fatigue",
    "Headache",
    "Eye strain",
    "Difficulty focusing",
    "Increased salivation",
    "Sweating",
    "Nausea",
    "Difficulty concentrating",
    "Fullness of head",
    "Blurred vision",
    "Dizzy (eyes open)",
    "Dizzy (eyes closed)",
    "Vertigo",
    "Stomach awareness",
    "Burping",
)
"""The 16 symptoms in questionnaire order; item ``n`` is ``SSQ_ITEMS[n - 1]``."""

NAUSEA_ITEMS: tuple[int, ...] = (1, 6, 7, 8, 9, 15, 16)
OCULOMOTOR_ITEMS: tuple[int, ...] = (1, 2, 3, 4, 5, 9, 11)
DISORIENTATION_ITEMS: tuple[int, ...] = (5, 10, 11, 12, 13, 14)

NAUSEA_WEIGHT = 9.54
OCULOMOTOR_WEIGHT = 7.58
DISORIENTATION_WEIGHT = 13.92
TOTAL_WEIGHT = 3.74

SSQ_MAX_RATING = 3


class SsqError(VrExposureError, ValueError):
    """SSQ answers that cannot be scored; the message names the item."""


class SsqScore(msgspec.Struct, frozen=True, kw_only=True):
    """Weighted subscale and total scores, the raw subscale sums, and the 16 answers scored."""

    nausea: float
    oculomotor: float
    disorientation: float
    total: float
    nausea_raw: int
    oculomotor_raw: int
    disorientation_raw: int
    items: tuple[int, ...]


def score_ssq(answers: Sequence[int] | Mapping[str, int]) -> SsqScore:
    """Score 16 answers given in questionnaire order, or as a mapping from the names in ``SSQ_ITEMS``.

    Raises :class:`SsqError` naming the first bad item (wrong count, a missing or unknown name, a value
    that is not an integer 0-3)."""
    items = _items(answers)
    n = sum(items[i - 1] for i in NAUSEA_ITEMS)
    o = sum(items[i - 1] for i in OCULOMOTOR_ITEMS)
    d = sum(items[i - 1] for i in DISORIENTATION_ITEMS)
    return SsqScore(
        nausea=n * NAUSEA_WEIGHT,
        oculomotor=o * OCULOMOTOR_WEIGHT,
        disorientation=d * DISORIENTATION_WEIGHT,
        total=(n + o + d) * TOTAL_WEIGHT,
        nausea_raw=n,
        oculomotor_raw=o,
        disorientation_raw=d,
        items=items,
    )


def _items(answers: Sequence[int] | Mapping[str, int]) -> tuple[int, ...]:
    if isinstance(answers, Mapping):
        unknown = [k for k in answers if k not in SSQ_ITEMS]
        if unknown:
            raise SsqError(f"SSQ: {unknown[0]!r} is not an SSQ item (items: {', '.join(SSQ_ITEMS)})")
        missing = [name for name in SSQ_ITEMS if name not in answers]
        if missing:
            n = SSQ_ITEMS.index(missing[0]) + 1
            raise SsqError(f"SSQ item {n} ({missing[0]}): no answer")
        values: list[object] = [answers[name] for name in SSQ_ITEMS]
    elif isinstance(answers, str | bytes):
        raise SsqError("SSQ: expected 16 answers, got a string")
    else:
        values = list(answers)
        if len(values) != len(SSQ_ITEMS):
            raise SsqError(f"SSQ: expected exactly {len(SSQ_ITEMS)} answers, got {len(values)}")
    checked: list[int] = []
    for n, (name, value) in enumerate(zip(SSQ_ITEMS, values, strict=True), start=1):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SsqError(f"SSQ item {n} ({name}): {value!r} is not an integer 0-{SSQ_MAX_RATING}")
        if not 0 <= value <= SSQ_MAX_RATING:
            raise SsqError(f"SSQ item {n} ({name}): {value} is outside 0-{SSQ_MAX_RATING}")
        checked.append(value)
    return tuple(checked)


SSQ_TOTAL_BANDS: tuple[tuple[float, str], ...] = (
    (0.0, "no symptoms"),
    (5.0, "negligible"),
    (10.0, "minimal"),
    (15.0, "significant"),
    (20.0, "symptoms are a concern"),
    (math.inf, "bad"),
)
"""Conventional reading of the SSQ Total score: each band holds the scores below its bound (the first,
exactly 0). From Stanney, Kennedy & Drexler (1997), whose categories come from military flight
simulators: VR usually scores higher, so they are a yardstick, not a diagnosis."""

SSQ_SCORING_SOURCE = (
    "Kennedy, R. S., Lane, N. E., Berbaum, K. S., & Lilienthal, M. G. (1993). Simulator Sickness "
    "Questionnaire: an enhanced method for quantifying simulator sickness. The International Journal of "
    "Aviation Psychology, 3(3), 203-220."
)
SSQ_BANDS_SOURCE = (
    "Stanney, K. M., Kennedy, R. S., & Drexler, J. M. (1997). Cybersickness is not simulator sickness. "
    "Proceedings of the Human Factors and Ergonomics Society 41st Annual Meeting, 1138-1142."
)


def ssq_band(total: float) -> str:
    """The conventional band of an SSQ Total score (:data:`SSQ_TOTAL_BANDS`): 0 "no symptoms",
    under 5 "negligible", 5-10 "minimal", 10-15 "significant", 15-20 "symptoms are a concern",
    20 and above "bad"."""
    if not math.isfinite(total) or total < 0:
        raise SsqError(f"SSQ total: {total!r} is not a score (0 or more)")
    if total == 0:
        return SSQ_TOTAL_BANDS[0][1]
    return next(label for bound, label in SSQ_TOTAL_BANDS[1:] if total < bound)
