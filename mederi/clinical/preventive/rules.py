"""The preventive-care rules, one declarative entry each: who is eligible (ages, sex, risk), what
satisfies it within which interval, what rules it out, what to do, and the source.

Interval rules (`options`) are judged by `engine.evaluate`; the immunization series and the
statin rule name a `schedule` that engine.py implements, because their logic is a sequence of
doses or a medication rather than one dated test. The codes of every set are in codes.csv.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    """One way to meet a rule: an entry of `code_set` within `years` (and `months`) of today."""

    code_set: str
    label: str
    years: int = 0
    months: int = 0
    min_age: int = 0  # this option counts only from this age (hrHPV testing from 30)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    min_age: int
    max_age: int | None
    advice: str
    citation: str
    sex: str | None = None  # 'female' / 'male' / None for everyone
    options: tuple[Option, ...] = ()
    risks: tuple[str, ...] = ()  # eligible only with one of these risk factors (engine.risk_factors)
    not_if: tuple[str, ...] = ()  # code sets (conditions, procedures) or risk factors that rule it out
    schedule: str = ""  # a series implemented in engine.py: influenza, tetanus, zoster, pneumococcal, statin


USPSTF = "USPSTF"
CDC = "CDC adult immunization schedule"

RULES: tuple[Rule, ...] = (
    Rule("colorectal-screening", "Colorectal cancer screening", 45, 75,
         "Offer a stool test (FIT yearly or stool DNA every 3 years) or refer for colonoscopy.",
         f"{USPSTF} 2021: grade A for ages 50–75, grade B for 45–49",
         options=(Option("colonoscopy", "colonoscopy", years=10), Option("fit", "FIT", years=1),
                  Option("stool-dna", "stool DNA test", years=3),
                  Option("ct-colonography", "CT colonography", years=5),
                  Option("sigmoidoscopy", "flexible sigmoidoscopy", years=5)),
         not_if=("colorectal-excluded",)),
    Rule("breast-screening", "Breast cancer screening", 40, 74,
         "Order a screening mammogram.", f"{USPSTF} 2024: grade B, biennial mammography for women 40–74",
         sex="female", options=(Option("mammography", "mammogram", years=2),), not_if=("breast-excluded",)),
    Rule("cervical-screening", "Cervical cancer screening", 21, 65,
         "Do cervical cytology (Pap); from age 30 a high-risk HPV test every 5 years is an alternative.",
         f"{USPSTF} 2018: grade A for women 21–65", sex="female",
         options=(Option("cervical-cytology", "cervical cytology", years=3),
                  Option("hpv-test", "high-risk HPV test", years=5, min_age=30)),
         not_if=("cervix-excluded",)),
    Rule("hypertension-screening", "Blood pressure screening", 18, None,
         "Measure the blood pressure at this visit.", f"{USPSTF} 2021: grade A for adults 18 and older",
         options=(Option("blood-pressure", "blood pressure reading", years=1),), not_if=("hypertension",)),
    Rule("diabetes-screening", "Prediabetes and type 2 diabetes screening", 35, 70,
         "Order an HbA1c (or a fasting glucose).",
         f"{USPSTF} 2021: grade B for adults 35–70 with overweight or obesity",
         options=(Option("glycemia", "HbA1c or fasting glucose", years=3),), risks=("overweight",),
         not_if=("diabetes",)),
    Rule("depression-screening", "Depression screening", 18, None,
         "Screen with the PHQ-2, and the PHQ-9 when it is positive.", f"{USPSTF} 2023: grade B for adults",
         options=(Option("depression-screen", "PHQ-2 or PHQ-9", years=1),)),
    Rule("statin-primary-prevention", "Statin for primary prevention", 40, 75,
         "Consider a statin: estimate the 10-year cardiovascular risk and discuss starting one.",
         f"{USPSTF} 2022: grade B for adults 40–75 with a risk factor and a 10-year risk of 10% or more",
         risks=("diabetes", "hypertension", "dyslipidemia", "smoker"), not_if=("cardiovascular-disease",),
         schedule="statin"),
    Rule("influenza-vaccine", "Influenza vaccine", 19, None,
         "Give this season's influenza vaccine.", f"{CDC}: every adult, every season (by the end of October)",
         schedule="influenza"),
    Rule("tetanus-vaccine", "Tdap / Td vaccine", 19, None,
         "Give Tdap once as an adult, then Td or Tdap every 10 years.", f"{CDC}: Tdap once, then Td or Tdap every 10 years",
         schedule="tetanus"),
    Rule("zoster-vaccine", "Zoster vaccine (recombinant)", 50, None,
         "Give the recombinant zoster vaccine: 2 doses, 2 to 6 months apart.", f"{CDC}: RZV 2 doses from age 50",
         schedule="zoster"),
    Rule("pneumococcal-vaccine", "Pneumococcal vaccine", 19, None,
         "Give PCV20 or PCV21 once (or PCV15 followed by PPSV23 a year later).",
         f"{CDC}: 65 and older, or 19–64 with a risk condition", schedule="pneumococcal"),
)
BY_ID = {rule.id: rule for rule in RULES}
