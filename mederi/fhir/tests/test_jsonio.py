"""FHIR JSON keeps decimals exactly as written, whichever path writes them."""

from decimal import Decimal

import simplejson
from hypothesis import example, given
from hypothesis import strategies as st

from mederi.fhir import jsonio

money = st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**9, max_value=10**9)
any_decimal = st.decimals(allow_nan=False, allow_infinity=False)


@given(st.lists(st.one_of(money, any_decimal), min_size=1, max_size=5))
@example([Decimal("0.01"), Decimal("-9223372036854775809")])  # a float-exact decimal beside a 65-bit integer
def test_decimals_are_written_with_their_own_digits_and_read_back_the_same(values):
    document = {"resourceType": "Basic", "amount": {"value": values[0]}, "values": values, "note": "1.50"}
    text = jsonio.dumps(document)
    assert text == simplejson.dumps(document, use_decimal=True, separators=(",", ":"), ensure_ascii=False)
    read = jsonio.loads(text)
    assert [Decimal(str(v)) for v in read["values"]] == values


def test_money_keeps_its_trailing_zeros():
    assert jsonio.dumps({"value": Decimal("120.00"), "text": "é"}) == '{"value":120.00,"text":"é"}'


def _reference_reading(text: str):
    """What a reader must give: floats when each decimal survives a float, else Decimals throughout."""
    written = []
    simplejson.loads(text, parse_float=written.append)
    exact = all(repr(float(number)) == number for number in written)
    return simplejson.loads(text) if exact else simplejson.loads(text, use_decimal=True)


json_values = st.recursive(
    st.one_of(st.integers(-10**12, 10**12), money, any_decimal.filter(lambda d: abs(d) < Decimal("1e300")),
              st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5), st.booleans(), st.none()),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12)


@given(json_values)
def test_a_document_is_read_with_floats_only_when_every_decimal_survives_one(value):
    text = simplejson.dumps({"v": value}, use_decimal=True)
    read = jsonio.loads(text)
    expected = _reference_reading(text)
    assert read == expected
    assert simplejson.dumps(read, use_decimal=True) == simplejson.dumps(expected, use_decimal=True)


def test_one_inexact_decimal_makes_every_decimal_exact():
    read = jsonio.loads('{"temperature": 98.6, "charge": 150.00, "units": 2}')
    assert read == {"temperature": Decimal("98.6"), "charge": Decimal("150.00"), "units": 2}
    assert str(read["charge"]) == "150.00" and type(read["units"]) is int
    assert jsonio.loads('{"temperature": 98.6, "units": 2}') == {"temperature": 98.6, "units": 2}
    assert type(jsonio.loads('{"temperature": 98.6}')["temperature"]) is float


def test_malformed_json_is_refused_with_a_position():
    for text, words in [('{"a": 1,}', "line 1 column"), ('{"a": 1.50', "line 1"), ("", "Input is a zero-length"),
                        ('{"a": 1e400}', "infinity")]:
        try:
            jsonio.loads(text)
        except ValueError as error:
            assert words in str(error), (text, str(error))
        else:
            raise AssertionError(f"{text!r} was read")
