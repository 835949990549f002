import pytest
from django.core.exceptions import ValidationError

from assessments.validators import validate_nip

VALID = "198502142010011001"  # born 14 Feb 1985, appointed Jan 2010, male, serial 001


def codes(value):
    with pytest.raises(ValidationError) as caught:
        validate_nip(value)
    return caught.value.code


def test_it_accepts_a_valid_nip():
    validate_nip(VALID)
    validate_nip("199912312024122999")  # female, appointed December 2024


@pytest.mark.parametrize("value", ["19850214201001100", "1985021420100110011", "", "19850214201001100A", "1985-02142010011001"])
def test_it_refuses_a_wrong_length_or_non_digits(value):
    assert codes(value) == "nip_length"


# Digits that str.isdigit() accepts but int() refuses, or that are not the ASCII digits of a
# NIP: a ValidationError, never a ValueError (tests/test_fuzz.py found "19850101²²²²011001").
@pytest.mark.parametrize("value", ["19850101²²²²011001", "19850101٢٠١٠011001", "１９８５0214201001100", "²" * 18])
def test_it_refuses_digits_that_are_not_ascii(value):
    assert codes(value) == "nip_length"


@pytest.mark.parametrize("value", ["198502302010011001", "198513142010011001", "198500142010011001", "190002292010011001"])
def test_it_refuses_an_impossible_birth_date(value):
    # 30 Feb, month 13, month 0, 29 Feb 1900 (not a leap year)
    assert codes(value) == "nip_birth"


@pytest.mark.parametrize("value", ["198502142010131001", "198502142010001001"])
def test_it_refuses_an_impossible_appointment_month(value):
    assert codes(value) == "nip_appointment"


def test_it_refuses_an_appointment_before_birth():
    assert codes("198502141984011001") == "nip_appointment"


@pytest.mark.parametrize("digit", "03456789")
def test_it_refuses_a_bad_gender_digit(digit):
    assert codes(VALID[:14] + digit + VALID[15:]) == "nip_gender"


def test_it_refuses_a_birth_date_in_the_future():
    assert codes("209901012120011001") == "nip_birth"
