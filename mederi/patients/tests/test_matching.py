"""Reading names, phones and dates as a front desk types them, and scoring possible duplicates."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from mederi.patients import duplicates, matching
from mederi.patients.tests.conftest import registration

names = st.text(alphabet=st.characters(categories=("L", "Zs", "Pd"), exclude_characters="\x00"), max_size=30)


@given(names)
def test_normalising_a_name_twice_changes_nothing(name):
    once = matching.normalize_name(name)
    assert matching.normalize_name(once) == once


@given(names)
def test_case_and_spacing_do_not_matter(name):
    assert matching.normalize_name(name.upper()) == matching.normalize_name(f"  {name.lower()}  ") or \
        name.upper().lower() != name.lower()  # a few letters change under case mapping (e.g. ß -> SS)


def test_accents_hyphens_and_apostrophes():
    assert matching.normalize_name("  Núñez-O'Brien ") == "nunez obrien"
    assert matching.normalize_name("MÜLLER") == matching.normalize_name("Muller")


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12),
       st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12))
def test_similarity_is_symmetric_bounded_and_one_only_for_equal(a, b):
    value = matching.jaro_winkler(a, b)
    assert 0.0 <= value <= 1.0
    assert abs(value - matching.jaro_winkler(b, a)) < 1e-9
    assert (value == 1.0) == (a == b) or value > 0.99


def test_a_typo_is_closer_than_another_name():
    assert matching.name_similarity("Chalmers", "Chalmres") > 0.9
    assert matching.name_similarity("Chalmers", "Okafor") < 0.6


def test_nicknames_are_the_same_given_name():
    assert matching.given_similarity("Bob", "Robert") == 1.0
    assert matching.given_similarity("Peggy", "margaret") == 1.0
    assert matching.given_similarity("Peter", "Paul") < 0.9


digits10 = st.text(alphabet="0123456789", min_size=10, max_size=10).filter(lambda d: d[0] != "1")


@given(digits10, st.sampled_from(["{a}-{b}-{c}", "({a}) {b}-{c}", "{a}.{b}.{c}", "+1 {a} {b} {c}", "1-{a}-{b}-{c}",
                                  "{a}{b}{c}"]))
def test_every_way_of_writing_a_number_has_the_same_digits(digits, pattern):
    written = pattern.format(a=digits[:3], b=digits[3:6], c=digits[6:])
    assert matching.phone_digits(written) == digits
    assert matching.is_valid_phone(written)
    assert matching.format_phone(written) == f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    assert matching.format_phone(written) in matching.phone_variants(digits)


def test_phones_that_are_not_numbers():
    for text in ("555-12", "call me", "555-123-45678", "22345678901"):
        assert not matching.is_valid_phone(text), text
    assert matching.is_valid_phone("+44 20 7946 0958")


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 1, 1)))
def test_dates_read_the_same_in_every_format(day):
    for written in (day.isoformat(), day.strftime("%m/%d/%Y"), f"{day.month}/{day.day}/{day.year}",
                    day.strftime("%m-%d-%Y")):
        assert matching.parse_date(written, date(2026, 6, 1)) == day, written


def test_two_digit_years_are_birth_years():
    assert matching.parse_date("12/25/74", date(2026, 1, 1)) == date(1974, 12, 25)
    assert matching.parse_date("01/02/20", date(2026, 1, 1)) == date(2020, 1, 2)
    assert matching.parse_date("02/30/1990") is None
    assert matching.parse_date("peter") is None


def stored(**fields) -> dict:
    base = {"resourceType": "Patient", "id": "p1", "name": [{"use": "official", "family": "Chalmers",
                                                              "given": ["Peter"]}],
            "birthDate": "1974-12-25", "telecom": [{"system": "phone", "value": "555-201-7788"}],
            "address": [{"line": ["534 Erewhon Street"], "postalCode": "62704"}]}
    base.update(fields)
    return base


def score(patient: dict, **changes) -> tuple[float, list[str]]:
    probe = duplicates.Probe.from_registration(registration(**changes), date(2026, 6, 1))
    return duplicates.score(probe, patient)


def test_the_same_person_typed_again_scores_high_with_reasons():
    value, reasons = score(stored())
    assert value > 0.95
    assert {"same family name", "same date of birth", "same phone"} <= set(reasons)


def test_typos_nicknames_and_swapped_dates_still_match():
    assert score(stored(), family="Chalmres", given="Pete")[0] >= duplicates.THRESHOLD
    assert score(stored(birthDate="1974-12-05"), birth_date="1974-05-12")[0] >= duplicates.THRESHOLD  # day, month
    assert score(stored(birthDate="1974-12-15"))[0] >= duplicates.THRESHOLD  # one digit off


def test_different_people_do_not_match():
    assert score(stored(), family="Okafor", given="Ada", birth_date="1990-01-02", phone="555-999-0000",
                 address_line="1 Other Rd")[0] < duplicates.THRESHOLD
    # same name, different birth date, nothing else shared: a namesake
    other = stored(telecom=[], address=[])
    assert score(other, birth_date="1990-06-01", phone="", address_line="")[0] < duplicates.THRESHOLD
