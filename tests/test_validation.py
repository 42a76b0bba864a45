"""What artisans type: phone numbers, CNIE numbers and names."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from handlers.validation import clean_cnie, clean_name, parse_phone


@pytest.mark.parametrize(
    "typed",
    ["0612345678", "06 12 34 56 78", "+212612345678", "00212612345678", "212612345678",
     "+212 6-12-34-56-78", "٠٦١٢٣٤٥٦٧٨", "\u200f0612345678"],
)
def test_moroccan_mobile_forms_become_e164(typed: str) -> None:
    assert parse_phone(typed) == "+212612345678"


@pytest.mark.parametrize("typed", ["12", "0612", "hello", "", "+2126123456789999", "0012"])
def test_bad_phone_numbers_are_refused(typed: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_phone(typed)
    assert err.value.key == "reg.phone_invalid"


@pytest.mark.parametrize(("typed", "clean"), [("bk123456", "BK123456"), (" A 12345 ", "A12345"),
                                              ("AB-1", "AB1")])
def test_cnie_forms(typed: str, clean: str) -> None:
    assert clean_cnie(typed) == clean


@pytest.mark.parametrize("typed", ["123456", "ABC123", "A1234567", "", "؟؟"])
def test_bad_cnie(typed: str) -> None:
    with pytest.raises(InvalidInput):
        clean_cnie(typed)


@pytest.mark.parametrize("typed", ["Amina Benali", "أمينة بنعلي", "ⴰⵎⵉⵏⴰ", "O'Neil-Ben Ali",
                                   "Aït-Ben Haddou", "Mʼbarek", "عَبْدُ الله"])
def test_names_in_any_script(typed: str) -> None:
    assert clean_name(typed) == typed


@pytest.mark.parametrize("typed", ["", "   ", "1234", "😀😀", "A", "x" * 81, "Ali 2", "=HYPERLINK(\"x\")",
                                   "@Ali", "+Ali", "-Ali", "Ali|calc", "<b>Ali</b>", "Ali\x00"])
def test_bad_names(typed: str) -> None:
    with pytest.raises(InvalidInput):
        clean_name(typed)
