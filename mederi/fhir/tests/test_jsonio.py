"""FHIR JSON keeps decimals exactly as written, whichever path writes them."""

from decimal import Decimal

import simplejson
from hypothesis import given
from hypothesis import strategies as st

from mederi.fhir import jsonio

money = st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**9, max_value=10**9)
any_decimal = st.decimals(allow_nan=False, allow_infinity=False)


@given(st.lists(st.one_of(money, any_decimal), min_size=1, max_size=5))
def test_decimals_are_written_with_their_own_digits_and_read_back_the_same(values):
    document = {"resourceType": "Basic", "amount": {"value": values[0]}, "values": values, "note": "1.50"}
    text = jsonio.dumps(document)
    assert text == simplejson.dumps(document, use_decimal=True, separators=(",", ":"), ensure_ascii=False)
    read = jsonio.loads(text)
    assert [Decimal(str(v)) for v in read["values"]] == values


def test_money_keeps_its_trailing_zeros():
    assert jsonio.dumps({"value": Decimal("120.00"), "text": "é"}) == '{"value":120.00,"text":"é"}'
