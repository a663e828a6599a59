"""The 公募 rules' own checks: filing numbers and qualification certificate numbers."""
import pytest

from core.errors import UserError
from needs.fundraising import clean_certificate, clean_filing, is_qualified
from needs.models import Organisation


@pytest.mark.parametrize(("typed", "kept"), [
    (" 53371600mjd1234567-2026-001 ", "53371600MJD1234567-2026-001"),
    ("5337160012", "5337160012"),
])
def test_a_filing_number_is_kept_upper_case_and_trimmed(typed, kept):
    assert clean_filing(typed) == kept


@pytest.mark.parametrize(("typed", "message"), [
    ("", "必须填写募捐方案备案编号"), (None, "必须填写募捐方案备案编号"),
    ("533716", "10 至 40 位"), ("备案号5337160012", "10 至 40 位"),
    ("-5337160012", "10 至 40 位"), ("5" * 41, "10 至 40 位"),
])
def test_a_bad_filing_number_is_refused(typed, message):
    with pytest.raises(UserError) as refused:
        clean_filing(typed)
    assert message in refused.value.msgid


def test_a_certificate_number_is_needed_only_when_qualified():
    assert clean_certificate(False, "whatever") == ""
    assert clean_certificate(True, " 鲁民慈公募证字第9号 ") == "鲁民慈公募证字第9号"
    for bad in ("", "  ", "x" * 61, "第9号\x00"):
        with pytest.raises(UserError):
            clean_certificate(True, bad)


def test_only_an_approved_qualified_organisation_may_hold_an_appeal():
    assert is_qualified(Organisation(name="a", region="r", status="approved",
                                     public_fundraising=True))
    assert not is_qualified(Organisation(name="a", region="r", status="pending",
                                         public_fundraising=True))
    assert not is_qualified(Organisation(name="a", region="r", status="approved"))
