"""SSQ scoring against hand-computed fixtures (Kennedy et al. 1993 weights)."""

from __future__ import annotations

import re

import pytest

from vr_exposure.core.ssq import SSQ_ITEMS, SsqError, score_ssq


def test_sixteen_named_items_in_questionnaire_order() -> None:
    assert len(SSQ_ITEMS) == 16
    assert SSQ_ITEMS[0] == "General discomfort"
    assert SSQ_ITEMS[7] == "Nausea"
    assert SSQ_ITEMS[11] == "Dizzy (eyes open)"
    assert SSQ_ITEMS[15] == "Burping"


def test_all_items_one() -> None:
    # N items 1,6,7,8,9,15,16 -> 7; O items 1,2,3,4,5,9,11 -> 7; D items 5,10,11,12,13,14 -> 6.
    s = score_ssq([1] * 16)
    assert (s.nausea_raw, s.oculomotor_raw, s.disorientation_raw) == (7, 7, 6)
    assert s.nausea == pytest.approx(66.78)  # 7 x 9.54
    assert s.oculomotor == pytest.approx(53.06)  # 7 x 7.58
    assert s.disorientation == pytest.approx(83.52)  # 6 x 13.92
    assert s.total == pytest.approx(74.8)  # (7 + 7 + 6) x 3.74


def test_all_zero_and_all_three() -> None:
    zero = score_ssq([0] * 16)
    assert (zero.nausea, zero.oculomotor, zero.disorientation, zero.total) == (0, 0, 0, 0)
    top = score_ssq([3] * 16)
    assert top.nausea == pytest.approx(21 * 9.54)  # 200.34
    assert top.oculomotor == pytest.approx(21 * 7.58)  # 159.18
    assert top.disorientation == pytest.approx(18 * 13.92)  # 250.56
    assert top.total == pytest.approx(60 * 3.74)  # 224.4


def test_mixed_answers() -> None:
    #        1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16
    items = [2, 1, 0, 3, 1, 0, 2, 1, 0, 0, 2, 1, 0, 3, 1, 0]
    # N: i1=2 i6=0 i7=2 i8=1 i9=0 i15=1 i16=0 -> 6
    # O: i1=2 i2=1 i3=0 i4=3 i5=1 i9=0 i11=2 -> 9
    # D: i5=1 i10=0 i11=2 i12=1 i13=0 i14=3 -> 7
    s = score_ssq(items)
    assert (s.nausea_raw, s.oculomotor_raw, s.disorientation_raw) == (6, 9, 7)
    assert s.nausea == pytest.approx(57.24)
    assert s.oculomotor == pytest.approx(68.22)
    assert s.disorientation == pytest.approx(97.44)
    assert s.total == pytest.approx(82.28)  # 22 x 3.74
    assert s.items == tuple(items)


def test_mapping_by_item_name_scores_the_same() -> None:
    items = [2, 1, 0, 3, 1, 0, 2, 1, 0, 0, 2, 1, 0, 3, 1, 0]
    assert score_ssq(dict(zip(SSQ_ITEMS, items, strict=True))) == score_ssq(items)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([1] * 15, "exactly 16 answers, got 15"),
        ([1] * 17, "exactly 16 answers, got 17"),
        ([1] * 6 + [4] + [1] * 9, "item 7 (Sweating): 4 is outside 0-3"),
        ([1] * 11 + [-1] + [1] * 4, "item 12 (Dizzy (eyes open)): -1 is outside 0-3"),
        ([1.5] + [1] * 15, "item 1 (General discomfort): 1.5 is not an integer"),
        ([1] * 15 + [True], "item 16 (Burping): True is not an integer"),
        ([1] * 2 + ["2"] + [1] * 13, "item 3 (Headache): '2' is not an integer"),
        ("1111111111111111", "got a string"),
    ],
)
def test_bad_answers_name_the_item(answers: object, message: str) -> None:
    with pytest.raises(SsqError, match=re.escape(message)):
        score_ssq(answers)  # type: ignore[arg-type]


def test_mapping_missing_and_unknown_names() -> None:
    answers = dict.fromkeys(SSQ_ITEMS, 0)
    del answers["Vertigo"]
    with pytest.raises(SsqError, match=r"item 14 \(Vertigo\): no answer"):
        score_ssq(answers)
    answers["Vertigo"] = 0
    answers["Vertigoo"] = 1
    with pytest.raises(SsqError, match="'Vertigoo' is not an SSQ item"):
        score_ssq(answers)


def test_total_score_bands_after_stanney_kennedy_drexler_1997() -> None:
    import pytest

    from vr_exposure.core.ssq import SSQ_BANDS_SOURCE, SsqError, ssq_band

    cases = [(0, "no symptoms"), (3.74, "negligible"), (7.48, "minimal"), (11.22, "significant")]
    cases += [(14.96, "significant"), (18.7, "symptoms are a concern"), (20.0, "bad"), (235.62, "bad")]
    for total, band in cases:
        assert ssq_band(total) == band, total
    assert "Stanney" in SSQ_BANDS_SOURCE and "1997" in SSQ_BANDS_SOURCE
    with pytest.raises(SsqError, match="not a score"):
        ssq_band(-1.0)
