"""The one phone-number normaliser."""

import pytest

from core import phones


class TestParse:
    @pytest.mark.parametrize("typed", ["+18455550123", "(845) 555-0123", "845.555.0123", "1 845 555 0123"])
    def test_it_reads_any_spelling_of_a_number_in_the_default_region(self, typed):
        assert phones.parse(typed).as_e164 == "+18455550123"

    @pytest.mark.parametrize("typed", [None, "", "abc", "+1", "☃", "555", "+15555550101"])
    def test_it_gives_none_for_what_is_no_valid_number(self, typed):
        assert phones.parse(typed) is None


class TestLookupKey:
    def test_it_gives_e164_for_a_valid_number(self):
        assert phones.lookup_key("(845) 555-0123") == "+18455550123"

    def test_it_keeps_e164_text_of_a_range_the_numbering_plan_does_not_know(self):
        assert phones.lookup_key(" +15555550101 ") == "+15555550101"

    @pytest.mark.parametrize("typed", ["", "abc", "+", "+1 555 abc", "5555550101x"])
    def test_it_gives_none_for_text_that_is_no_number(self, typed):
        assert phones.lookup_key(typed) is None
