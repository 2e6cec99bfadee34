"""Submission validation (pure): text clean-up, phone normalization, defaults for blank form values; form keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.intake.form_keys import derived_access_key, is_issued, issue_submission_key
from services.intake.schemas import SubmissionIn, normalize_phone

mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
separators = st.sampled_from(["", " ", "-"])


@given(mobiles, separators, st.sampled_from(["", "+86", "+86 ", "0086", "0086-"]))
def test_any_mobile_written_any_common_way_normalizes_to_its_digits(mobile, sep, prefix):
    written = prefix + sep.join([mobile[:3], mobile[3:7], mobile[7:]])
    assert normalize_phone(written) == mobile


@pytest.mark.parametrize(
    "bad",
    ["12", "1381234567", "138123456789", "23812345678", "0512", "+1 415 555 0100", "１３８１２３４５６７８"],
)
def test_implausible_phones_are_refused(bad):
    with pytest.raises(ValueError, match="联系电话格式有误"):
        normalize_phone(bad)


def test_landlines_and_local_numbers_are_accepted():
    assert normalize_phone("0512-65231234") == "051265231234"
    assert normalize_phone("010 12345678") == "01012345678"
    assert normalize_phone("65231234") == "65231234"


def test_blank_form_values_mean_the_defaults():
    data = SubmissionIn.model_validate(
        {
            "description": "\n  井盖松动，车辆经过哐哐响  \n",
            "request_type": "",
            "urgency": "",
            "confidential": "",
            "title": "   ",
            "lat": "",
            "submitter_phone": "",
            "category_code": "",
        }
    )
    assert data.description == "井盖松动，车辆经过哐哐响"
    assert (data.request_type, data.urgency, data.confidential) == ("suggestion", "normal", False)
    assert (
        data.title is None
        and data.lat is None
        and data.submitter_phone is None
        and data.category_code is None
    )


@given(st.text(max_size=30))
def test_description_is_either_clean_text_or_a_chinese_error(text):
    try:
        data = SubmissionIn.model_validate({"description": text})
    except ValidationError as exc:
        (error,) = exc.errors()
        assert error["loc"] == ("description",)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(error["ctx"]["error"]))
    else:
        assert data.description == data.description.strip() and len(data.description) >= 5
        assert "\x00" not in data.description


def test_form_keys_are_signed_and_derive_stable_access_keys():
    key = issue_submission_key()
    assert is_issued(key) and len(key) <= 64
    assert not is_issued(key[:-1] + ("0" if key[-1] != "0" else "1"))
    assert not is_issued("chosen-by-someone") and not is_issued(None) and not is_issued("a.b.c")
    assert derived_access_key(1, key) == derived_access_key(1, key)
    assert derived_access_key(1, key) != derived_access_key(2, key)
    assert derived_access_key(1, key) != derived_access_key(1, issue_submission_key())
