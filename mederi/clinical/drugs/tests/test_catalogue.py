"""The drug catalogue: the shipped starter list, search as you type, and the RxNorm importer."""

import csv
from pathlib import Path

import pytest

from mederi.clinical.drugs import rxnorm_import
from mederi.clinical.drugs.catalogue import KNOWLEDGE, load_starter_catalogue, starter_concepts
from mederi.clinical.drugs.models import DrugConcept
from mederi.clinical.drugs.selectors import search_drugs

pytestmark = pytest.mark.django_db


def names(found):
    return [d.name for d in found]


def test_the_starter_list_is_there_after_migrate():
    assert DrugConcept.objects.filter(source=DrugConcept.STARTER).count() == len(starter_concepts())
    warfarin = DrugConcept.objects.get(rxcui="11289")
    assert (warfarin.name, warfarin.term_type, warfarin.ingredient_rxcuis) == ("warfarin", "IN", ["11289"])
    tablet = DrugConcept.objects.get(rxcui="855332")
    assert (tablet.term_type, tablet.ingredient_rxcuis, tablet.dose_form, tablet.strength) == (
        "SCD", ["11289"], "Oral Tablet", "5 MG")


def test_every_clinical_drug_names_ingredients_of_the_list():
    ingredients = {c.rxcui for c in starter_concepts() if c.term_type == "IN"}
    with open(KNOWLEDGE / "clinical_drugs.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            assert set(row["ingredients"].split()) <= ingredients, row


def test_search_is_by_beginning_of_name_and_ignores_case():
    assert names(search_drugs("WARF")) == ["warfarin sodium 5 MG Oral Tablet", "warfarin"]
    assert names(search_drugs("simvastatin 2")) == ["simvastatin 20 MG Oral Tablet"]
    assert search_drugs("farin") == []  # the middle of a name is not a beginning
    assert search_drugs("   ") == []


def test_search_puts_clinical_drugs_and_ingredients_first_and_stops_at_the_limit():
    found = search_drugs("a", limit=5)
    assert len(found) == 5
    assert all(d.search_name.startswith("a") for d in found)


def test_starter_list_reload_adds_what_is_missing_and_keeps_a_full_release():
    DrugConcept.objects.filter(rxcui="11289").delete()
    DrugConcept.objects.filter(rxcui="29046").update(name="lisinopril (from RxNorm)", source=DrugConcept.RXNORM)
    assert load_starter_catalogue() == 1
    assert DrugConcept.objects.get(rxcui="11289").name == "warfarin"
    assert DrugConcept.objects.get(rxcui="29046").name == "lisinopril (from RxNorm)"
    assert load_starter_catalogue() == 0


# -- the RxNorm importer ----------------------------------------------------------------------------

def conso(rxcui, tty, name, sab="RXNORM", suppress="N"):
    return f"{rxcui}|ENG||||||A{rxcui}||||{sab}|{tty}|{rxcui}|{name}||{suppress}|4096|"


def rel(first, rela, second):
    return f"{first}|||RO|{second}|||{rela}|R{first}{second}||RXNORM||||N||"


def write_release(folder: Path, conso_lines, rel_lines):
    folder.mkdir(exist_ok=True)
    (folder / "RXNCONSO.RRF").write_text("\n".join(conso_lines) + "\n", encoding="utf-8")
    (folder / "RXNREL.RRF").write_text("\n".join(rel_lines) + "\n", encoding="utf-8")
    return folder


SMALL_RELEASE = (
    [conso("6809", "IN", "metformin"), conso("861004", "SCDC", "metformin hydrochloride 500 MG"),
     conso("861007", "SCD", "metformin hydrochloride 500 MG Oral Tablet"), conso("317541", "DF", "Oral Tablet"),
     conso("151827", "BN", "Glucophage"),
     conso("861010", "SBD", "metformin hydrochloride 500 MG Oral Tablet [Glucophage]"),
     conso("6809", "SY", "metformin synonym"),  # not a term type the catalogue keeps
     conso("999", "IN", "a name from another source", sab="MTHSPL"),
     conso("998", "IN", "a retired ingredient", suppress="O")],
    # Each relationship in both directions, as RxNorm ships them.
    [rel("861004", "ingredient_of", "6809"), rel("6809", "has_ingredient", "861004"),
     rel("861007", "constitutes", "861004"), rel("861004", "consists_of", "861007"),
     rel("317541", "has_dose_form", "861007"), rel("861007", "dose_form_of", "317541"),
     rel("861007", "has_tradename", "861010"), rel("861010", "tradename_of", "861007"),
     rel("151827", "has_ingredient", "861010"), rel("6809", "has_tradename", "151827"),
     rel("317541", "has_dose_form", "861010")],
)


def test_import_reads_names_ingredients_forms_and_strengths(tmp_path):
    folder = write_release(tmp_path / "rrf", *SMALL_RELEASE)
    assert rxnorm_import.import_release(folder) == 4
    stored = {d.rxcui: d for d in DrugConcept.objects.all()}
    assert set(stored) == {"6809", "861007", "151827", "861010"}  # the starter list is replaced
    scd, sbd = stored["861007"], stored["861010"]
    assert (scd.term_type, scd.ingredient_rxcuis, scd.dose_form, scd.strength) == (
        "SCD", ["6809"], "Oral Tablet", "500 MG")
    assert (sbd.term_type, sbd.ingredient_rxcuis, sbd.strength) == ("SBD", ["6809"], "500 MG")
    assert stored["151827"].ingredient_rxcuis == ["6809"]
    assert all(d.source == DrugConcept.RXNORM for d in stored.values())
    assert names(search_drugs("glucoph")) == ["Glucophage"]


@pytest.mark.parametrize("bad_line, reason", [
    ("6809|ENG|P|L1|PF|S1|Y|A1|||||RXNORM|IN|6809|metformin|", "line 2: expected 18 fields each ended by '|', found 16"),
    (conso("12x", "IN", "broken"), "line 2: RXCUI '12x' is not an RxCUI (digits only)"),
    (conso("12", "IN", ""), "line 2: the name (STR, field 15) is empty"),
])
def test_a_malformed_line_is_named_and_nothing_changes(tmp_path, bad_line, reason):
    before = DrugConcept.objects.count()
    folder = write_release(tmp_path / "rrf", [conso("6809", "IN", "metformin"), bad_line], [])
    with pytest.raises(rxnorm_import.RxNormFileError) as caught:
        rxnorm_import.import_release(folder)
    assert str(caught.value) == f"RXNCONSO.RRF {reason}"
    assert DrugConcept.objects.count() == before


def test_a_missing_file_is_named(tmp_path):
    (tmp_path / "rrf").mkdir()
    with pytest.raises(rxnorm_import.RxNormFileError, match="RXNCONSO.RRF: not found"):
        rxnorm_import.import_release(tmp_path / "rrf")


def test_the_command_reports_and_leaves_the_catalogue_on_error(tmp_path, capsys):
    from mederi import cli

    folder = write_release(tmp_path / "rrf", *SMALL_RELEASE)
    assert cli.cmd_rxnorm_import(cli.build_parser().parse_args(["rxnorm-import", str(folder), "-q"])) == 0
    assert "4 RxNorm concepts loaded" in capsys.readouterr().out
    (folder / "RXNREL.RRF").write_text("1|x|\n")
    assert cli.cmd_rxnorm_import(cli.build_parser().parse_args(["rxnorm-import", str(folder), "-q"])) == 1
    error = capsys.readouterr().err
    assert "RXNREL.RRF line 1: expected 16 fields each ended by '|', found 2; the drug catalogue is unchanged" in error
    assert DrugConcept.objects.count() == 4
