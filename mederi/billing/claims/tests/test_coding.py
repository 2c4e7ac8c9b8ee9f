"""Fee schedules, procedure codes, ICD-10-CM checks and the CPT importer, as a biller meets them."""

import datetime as dt
from decimal import Decimal

import pytest

from mederi.billing.claims import fees, icd10
from mederi.billing.claims.tables import FeeScheduleEntry, ProcedureDescription
from mederi.cli import main
from mederi.core.context import Context
from mederi.core.errors import Forbidden, InvalidRequest

pytestmark = pytest.mark.django_db
SYSTEM = Context.system("test")


def test_the_payer_price_wins_over_the_default_and_modifiers_pick_their_own_price():
    default = fees.default_schedule()
    fees.set_price(SYSTEM, default, "99213", "", "120.00")
    fees.set_price(SYSTEM, default, "20610", "RT", "210.50")
    acme = fees.schedule_for_payer(SYSTEM, "acme", "Acme PPO")
    fees.set_price(SYSTEM, acme, "99213", [], "$98.40")
    assert fees.price_for("acme", "99213", []) == Decimal("98.40")
    assert fees.price_for("acme", "99213", ["25"]) == Decimal("98.40")  # the bare code's price
    assert fees.price_for("other", "99213", []) == Decimal("120.00")
    assert fees.price_for("acme", "20610", ["RT"]) == Decimal("210.50")
    assert fees.price_for("acme", "93000", []) is None


@pytest.mark.parametrize("code, modifiers, price, field, words", [
    ("9921", "", "10", "code", "not a procedure code"),
    ("99213", "25 59 76 91 LT", "10", "modifiers", "at most 4 modifiers"),
    ("99213", "ZZ", "10", "modifiers", "Unknown modifier ZZ"),
    ("99213", "", "ten", "price", "not an amount"),
    ("99213", "", "10.005", "price", "at most two decimals"),
    ("99213", "", "-5", "price", "positive"),
])
def test_a_bad_price_line_is_refused_at_its_field_and_nothing_is_stored(code, modifiers, price, field, words):
    with pytest.raises(InvalidRequest) as caught:
        fees.set_price(SYSTEM, fees.default_schedule(), code, modifiers, price)
    assert any(issue.expression == field and words in issue.diagnostics for issue in caught.value.issues)
    assert not FeeScheduleEntry.objects.exists()


def test_only_a_biller_may_change_prices():
    clerk = Context(user_id=5, permissions=frozenset({"financial.read"}))
    with pytest.raises(Forbidden):
        fees.set_price(clerk, fees.default_schedule(), "99213", "", "1.00")


def test_shipped_codes_carry_our_own_wording_until_a_licensed_file_is_imported(tmp_path, capsys):
    assert fees.describe("99213") == "Office visit, established patient, low complexity"
    assert fees.describe("J1030") == "Injection, methylprednisolone acetate, 40 mg"
    licensed = tmp_path / "cpt.csv"
    licensed.write_text("code,description\n99213,LICENSED WORDING 99213\n0001U,LICENSED LAB\n")
    with pytest.raises(SystemExit) as done:
        main(["cpt-import", str(licensed), "--quiet"])
    assert done.value.code == 0
    assert "2 codes loaded" in capsys.readouterr().out
    assert fees.describe("99213") == "LICENSED WORDING 99213"


def test_a_bad_cpt_file_names_each_bad_line_and_imports_nothing(tmp_path, capsys):
    bad = tmp_path / "cpt.csv"
    bad.write_text("99213,Fine\nJ1030,Not CPT\n99214\n99215,\n99213,Again\n")
    with pytest.raises(SystemExit) as done:
        main(["cpt-import", str(bad), "--quiet"])
    errors = capsys.readouterr().err
    assert done.value.code == 1
    assert "line 2: “J1030” is not a CPT code" in errors
    assert "line 3: expected 2 columns" in errors
    assert "line 4: the description of 99215 is empty" in errors
    assert "line 5: 99213 appears a second time" in errors
    assert "nothing was imported" in errors
    assert not ProcedureDescription.objects.exists()


def test_a_billable_diagnosis_is_accepted_with_its_dot():
    assert icd10.billable("e119") == "E11.9"
    assert icd10.billable("S52.501A") == "S52.501A"


def test_a_header_code_is_refused_with_its_billable_children():
    with pytest.raises(icd10.DiagnosisError) as caught:
        icd10.billable("J45.9")
    assert "header" in caught.value.message
    assert "J45.909" in caught.value.choices


def test_an_unknown_code_is_refused_with_codes_close_to_it():
    with pytest.raises(icd10.DiagnosisError) as caught:
        icd10.billable("E11.99")
    assert caught.value.choices == ["E11.9"]
    with pytest.raises(icd10.DiagnosisError, match="not an ICD-10-CM code"):
        icd10.billable("QQQ")


def test_sex_and_age_conflicts_are_flagged():
    day = dt.date(2026, 5, 1)
    man = {"gender": "male", "birth_date": dt.date(1980, 1, 1), "service_date": day}
    assert "for female patients; this patient is male" in icd10.conflicts("O09.511", **man)[0]
    assert "under 1 year; this patient is 46" in icd10.conflicts("P07.30", **man)[0]
    assert icd10.conflicts("I10", **man) == []
    baby = {"gender": "female", "birth_date": dt.date(2026, 4, 1), "service_date": day}
    assert icd10.conflicts("P07.30", **baby) == []
