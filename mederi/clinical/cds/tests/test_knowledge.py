"""Worked cases for the knowledge base: interactions, the ONC high-priority list, allergies with
class cross-reactivity, duplicate therapy, and no alert where none is due."""

import pytest

from mederi.clinical.cds import knowledge as kb_module
from mederi.clinical.cds.checks import Allergy, Drug, check_order
from mederi.clinical.cds.knowledge import KnowledgeError, knowledge

BY_NAME = {name: rxcui for rxcui, name in knowledge().ingredient_names.items()}


def drug(*ingredient_names: str) -> Drug:
    return Drug(" / ".join(ingredient_names), tuple(BY_NAME[n] for n in ingredient_names))


def allergy(text: str, *allergens: str) -> Allergy:
    return Allergy(text, frozenset(allergens), reference=f"AllergyIntolerance/{text.replace(' ', '-')}")


def alerts(new, current=(), allergies=()):
    return [(a.kind, a.severity) for a in check_order(new, list(current), list(allergies))]


# The ONC high-priority drug–drug interactions (Phansalkar et al., JAMIA 2012), one worked pair or
# more for each of its 15 entries, and the two other pairs the brief names.
ONC_PAIRS = [
    ("phenelzine", "amphetamine"), ("tranylcypromine", "methylphenidate"),  # amphetamines – MAOIs
    ("atazanavir", "omeprazole"), ("atazanavir", "pantoprazole"),  # atazanavir – PPIs
    ("febuxostat", "azathioprine"), ("febuxostat", "mercaptopurine"),  # febuxostat – thiopurines
    ("sertraline", "phenelzine"), ("fluoxetine", "selegiline"), ("citalopram", "linezolid"),  # SSRIs – MAOIs
    ("irinotecan", "ketoconazole"), ("irinotecan", "clarithromycin"),  # irinotecan – strong CYP3A4 inhibitors
    ("meperidine", "phenelzine"), ("tramadol", "isocarboxazid"), ("methadone", "rasagiline"),  # opioids – MAOIs
    ("amitriptyline", "tranylcypromine"), ("nortriptyline", "phenelzine"),  # TCAs – MAOIs
    ("amiodarone", "dofetilide"), ("methadone", "thioridazine"), ("sotalol", "ziprasidone"),  # QT – QT
    ("ramelteon", "fluvoxamine"),  # ramelteon – strong CYP1A2 inhibitors
    ("rifampin", "atazanavir"), ("carbamazepine", "ritonavir"), ("phenytoin", "darunavir"),  # inducers – PIs
    ("simvastatin", "clarithromycin"), ("lovastatin", "itraconazole"), ("simvastatin", "ritonavir"),
    ("lovastatin", "erythromycin"),  # simvastatin/lovastatin – CYP3A4 and protease inhibitors
    ("ergotamine", "clarithromycin"), ("dihydroergotamine", "ritonavir"),  # ergots – CYP3A4/PIs
    ("tizanidine", "ciprofloxacin"), ("tizanidine", "fluvoxamine"),  # tizanidine – CYP1A2 inhibitors
    ("tranylcypromine", "procarbazine"),
    ("sumatriptan", "phenelzine"), ("rizatriptan", "selegiline"),  # triptans – MAOIs
    ("warfarin", "ibuprofen"), ("warfarin", "naproxen"), ("methotrexate", "trimethoprim"),
]


@pytest.mark.parametrize("first, second", ONC_PAIRS)
def test_every_onc_high_priority_pair_is_found_either_way_round(first, second):
    for new, old in ((first, second), (second, first)):
        found = check_order(drug(new), [drug(old)], [])
        interactions = [a for a in found if a.kind == "interaction"]
        assert interactions, f"{new} ordered for a patient on {old}: no interaction alert"
        assert interactions[0].severity in ("contraindicated", "major")
        assert interactions[0].why and interactions[0].advice


@pytest.mark.parametrize("new, old, severity", [
    ("sildenafil", "nitroglycerin", "contraindicated"),
    ("ketoconazole", "simvastatin", "contraindicated"),
    ("warfarin", "aspirin", "major"),
    ("oxycodone", "alprazolam", "major"),
    ("spironolactone", "lisinopril", "major"),
    ("clopidogrel", "omeprazole", "moderate"),
    ("simvastatin", "amlodipine", "moderate"),
    ("lithium carbonate", "hydrochlorothiazide", "major"),
])
def test_worked_interactions_have_their_severity(new, old, severity):
    assert alerts(drug(new), [drug(old)]) == [("interaction", severity)]


def test_the_alert_says_why_and_what_to_do():
    (alert,) = check_order(drug("tizanidine"), [drug("ciprofloxacin")], [])
    assert alert.summary == "Contraindicated interaction: tizanidine with ciprofloxacin"
    assert "10-fold" in alert.why and alert.advice.startswith("Do not combine")
    assert alert.key == "interaction:2551:57258"  # the same cause, the same key, whichever is ordered first
    assert check_order(drug("ciprofloxacin"), [drug("tizanidine")], [])[0].key == alert.key


@pytest.mark.parametrize("new, old", [
    ("amoxicillin", "lisinopril"), ("metformin", "atorvastatin"), ("pantoprazole", "clopidogrel"),
    ("acetaminophen", "warfarin"), ("azithromycin", "simvastatin"), ("levothyroxine", "amlodipine"),
    ("pravastatin", "clarithromycin"), ("sertraline", "metformin"),
])
def test_no_alert_for_unrelated_pairs(new, old):
    assert alerts(drug(new), [drug(old)]) == []


def test_a_combination_product_is_checked_by_each_ingredient():
    assert alerts(drug("sulfamethoxazole", "trimethoprim"), [drug("methotrexate")]) == [("interaction", "major")]
    assert ("interaction", "major") in alerts(drug("sulfamethoxazole", "trimethoprim"), [drug("warfarin")])


# -- allergies -----------------------------------------------------------------------------------------

PENICILLIN = allergy("penicillin", "penicillins")


@pytest.mark.parametrize("new, expected", [
    ("amoxicillin", [("allergy", "contraindicated")]),
    ("cephalexin", [("allergy", "moderate")]),  # cross-reactivity, with advice on side chains
    ("meropenem", [("allergy", "moderate")]),
    ("azithromycin", []),
])
def test_penicillin_allergy_and_beta_lactam_cross_reactivity(new, expected):
    assert alerts(drug(new), allergies=[PENICILLIN]) == expected


def test_the_cephalosporin_advice_speaks_of_side_chains_and_anaphylaxis():
    (alert,) = check_order(drug("cefazolin"), [], [PENICILLIN])
    assert "side chain" in alert.advice and "anaphylaxis" in alert.advice


def test_an_allergy_to_one_ingredient_reaches_its_class():
    amoxicillin_allergy = allergy("amoxicillin", BY_NAME["amoxicillin"])
    assert alerts(drug("amoxicillin"), allergies=[amoxicillin_allergy]) == [("allergy", "contraindicated")]
    assert alerts(drug("penicillin V"), allergies=[amoxicillin_allergy]) == [("allergy", "contraindicated")]
    assert alerts(drug("ceftriaxone"), allergies=[amoxicillin_allergy]) == [("allergy", "moderate")]


def test_sulfa_allergy_flags_sulfonamide_antibiotics_only():
    sulfa = allergy("sulfa drugs", "sulfonamide_antibiotics")
    assert alerts(drug("sulfamethoxazole", "trimethoprim"), allergies=[sulfa]) == [("allergy", "contraindicated")]
    assert alerts(drug("furosemide"), allergies=[sulfa]) == []
    assert alerts(drug("hydrochlorothiazide"), allergies=[sulfa]) == []


def test_aspirin_and_nsaid_allergies():
    aspirin = allergy("aspirin", BY_NAME["aspirin"])
    assert alerts(drug("ibuprofen"), allergies=[aspirin]) == [("allergy", "major")]
    assert alerts(drug("celecoxib"), allergies=[aspirin]) == [("allergy", "moderate")]
    assert alerts(drug("acetaminophen"), allergies=[aspirin]) == []


def test_opioid_allergy_by_chemical_family():
    codeine = allergy("codeine", BY_NAME["codeine"])
    assert alerts(drug("morphine"), allergies=[codeine]) == [("allergy", "major")]
    assert alerts(drug("fentanyl"), allergies=[codeine]) == [("allergy", "moderate")]


# -- duplicate therapy ---------------------------------------------------------------------------------

def test_the_same_ingredient_twice_is_a_duplicate():
    found = check_order(drug("amoxicillin", "clavulanate"), [drug("amoxicillin")], [])
    assert [(a.kind, a.severity, a.key) for a in found] == [("duplicate", "major", "duplicate:ingredient:723")]


def test_two_drugs_of_one_therapeutic_class_are_a_duplicate():
    assert alerts(drug("atorvastatin"), [drug("rosuvastatin")]) == [("duplicate", "moderate")]
    assert alerts(drug("omeprazole"), [drug("pantoprazole")]) == [("duplicate", "moderate")]
    assert alerts(drug("lisinopril"), [drug("amlodipine")]) == []  # different classes work together


# -- the files themselves ----------------------------------------------------------------------------

def test_a_rule_naming_an_unknown_ingredient_is_refused(tmp_path, monkeypatch):
    for path in kb_module.FOLDER.glob("*.csv"):
        (tmp_path / path.name).write_text(path.read_text())
    with open(tmp_path / "interactions.csv", "a") as handle:
        handle.write("11289,99999999,major,Why.,Advice.,test\n")
    monkeypatch.setattr(kb_module, "FOLDER", tmp_path)
    with pytest.raises(KnowledgeError, match=r"interactions.csv line \d+: RxCUI 99999999 is not in ingredients.csv"):
        kb_module.load()
