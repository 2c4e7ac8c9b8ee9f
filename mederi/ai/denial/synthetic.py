"""A synthetic remittance history: made-up claims of a family practice and what made-up payers did with them.

It is synthetic, not any practice's data. It stands in for a real history in the evaluation
(benchmarks/eval_denial.py), the tests and the demo. The claims look like a family practice's (office visits,
venipuncture, A1c, ECG, joint and drug injections, vaccines, strep tests; modifiers 25, RT/LT; places of
service 11, 02, 10, 22), and the payers deny lines in these planted patterns:

- Acme (commercial): 99213-99215 with modifier 25 beside a minor procedure, 40% (CARC 97, bundled);
- Acme: 93000 (ECG) for hypertension alone (I10), 45% (CARC 50, not medically necessary);
- Medicare: 83036 (A1c) for a screening diagnosis (Z13.*), 55% (CARC 50, not medically necessary);
- Medicare: 99214/99215 by telehealth (place 02 or 10), 30% (CARC 5), halved from `policy_change` on,
  so a model trained on the earlier period meets a payer that changed its mind;
- Medicaid: 20610 (joint injection), 28% (CARC 197, prior authorization);
- BlueStar (commercial): 99204/99205 (new patient, higher levels), 25% (CARC 16, information missing);
- a line breaking one of the scrubber's rules (sent anyway), 75% (CARC 97 or 11);

plus noise: each payer's own small rate of denials for any line (2-4%, reasons drawn from 16, 18, 22, 96, 204)
and 2% of claims denied whole (coverage ended, CARC 27; or member not found, CARC 31).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from mederi.billing.claims import rules

from .features import flags, table_findings
from .model import LineFacts, Outcome

PAYERS = {  # id: (name, share of claims, own denial rate of any line)
    "payer-medicare": ("Medicare Part B", 0.30, 0.03),
    "payer-acme": ("Acme Health Plan", 0.35, 0.03),
    "payer-bluestar": ("BlueStar Insurance", 0.20, 0.02),
    "payer-medicaid": ("State Medicaid", 0.15, 0.04),
}
PRICES = {"99212": "75", "99213": "120", "99214": "170", "99215": "230", "99203": "140", "99204": "210",
          "99205": "270", "99395": "180", "99396": "190", "36415": "12", "83036": "38", "80053": "45",
          "85025": "28", "93000": "55", "20610": "210", "96372": "40", "J1030": "18", "90471": "28", "90686": "32",
          "87880": "30", "81002": "15"}
CHRONIC = ["E11.9", "I10", "E78.5", "M17.11", "K21.9", "F41.1"]
ACUTE = ["J06.9", "J02.9", "R05.9", "M54.50", "N39.0"]
NOISE_CARCS = ["16", "18", "22", "96", "204"]


@dataclass
class SyntheticLine:
    code: str
    modifiers: tuple[str, ...] = ()
    diagnoses: list[str] = field(default_factory=list)
    place: str = "11"
    denied: bool = False
    carc: str = ""

    @property
    def charge(self) -> Decimal:
        return Decimal(PRICES[self.code])


@dataclass
class SyntheticClaim:
    number: str
    day: dt.date
    payer: str
    lines: list[SyntheticLine]

    def facts(self) -> list[LineFacts]:
        rule_view = [rules.Line(n, line.code, list(line.modifiers), 1, line.diagnoses)
                     for n, line in enumerate(self.lines, start=1)]
        flagged = flags(table_findings(rule_view), list(range(1, len(self.lines) + 1)))
        return [LineFacts(self.payer, line.code, tuple(sorted(line.modifiers)), line.diagnoses[0], line.place,
                          *flagged[n]) for n, line in enumerate(self.lines, start=1)]

    def outcomes(self) -> list[Outcome]:
        return [Outcome(facts, self.day, self.number, line.denied, line.carc)
                for facts, line in zip(self.facts(), self.lines, strict=True)]


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _visit(rng: random.Random, day: dt.date) -> tuple[list[SyntheticLine], bool]:
    """The lines of one visit (not yet adjudicated), and whether it was by telehealth."""
    kind = _pick(rng, {"established": 0.7, "new": 0.15, "preventive": 0.15})
    problem = rng.choice(CHRONIC if rng.random() < 0.6 else ACUTE)
    if kind == "preventive":
        visit = SyntheticLine(rng.choice(["99395", "99396"]), diagnoses=["Z00.00"])
    else:
        codes = {"99212": 15, "99213": 45, "99214": 30, "99215": 10} if kind == "established" else {
            "99203": 50, "99204": 40, "99205": 10}
        visit = SyntheticLine(_pick(rng, codes), diagnoses=[problem])
    if kind == "established" and rng.random() < 0.14:
        visit.place = rng.choice(["02", "02", "10"])
        return [visit], True
    if rng.random() < 0.02:
        visit.place = "22"
    lines = [visit]
    procedure = None
    if problem == "M17.11" and rng.random() < 0.4:
        procedure = SyntheticLine("20610", ("RT",), ["M17.11"])
    elif rng.random() < 0.08:
        procedure = SyntheticLine("96372", (), [problem])
        lines.append(SyntheticLine("J1030", (), [problem]))
    if procedure:
        lines.insert(1, procedure)
        if visit.code.startswith("992") and rng.random() < 0.85:
            visit.modifiers = ("25",)
    if problem == "E11.9" or rng.random() < 0.25:
        lines.append(SyntheticLine("36415", (), [problem]))
        roll = rng.random()
        a1c_for = "E11.9" if problem == "E11.9" else ("Z13.1" if roll < 0.6 else "I10")
        if problem == "E11.9" or roll < 0.5:
            lines.append(SyntheticLine("83036", (), [a1c_for]))
        if rng.random() < 0.4:
            lines.append(SyntheticLine(rng.choice(["80053", "85025"]), (), [problem]))
    if rng.random() < 0.10:
        lines.append(SyntheticLine("93000", (), [problem if problem != "E11.9" else "I10"]))
    if day.month in (10, 11, 12, 1, 2, 3) and rng.random() < 0.15:
        lines += [SyntheticLine("90471", (), ["Z23" if rng.random() < 0.95 else problem]),
                  SyntheticLine("90686", (), ["Z23"])]
    if problem == "J02.9" and rng.random() < 0.6:
        lines.append(SyntheticLine("87880", (), ["J02.9"]))
    if problem == "N39.0":
        lines.append(SyntheticLine("81002", (), ["N39.0"]))
    return lines, False


def _pattern(payer: str, line: SyntheticLine, claim: list[SyntheticLine], day: dt.date,
             policy_change: dt.date) -> tuple[float, str]:
    """The planted chance that this payer denies this line, and the reason it gives."""
    with_procedure = any(other.code in ("20610", "96372") for other in claim)
    if payer == "payer-acme" and line.code in ("99213", "99214", "99215") and "25" in line.modifiers and with_procedure:
        return 0.40, "97"
    if payer == "payer-acme" and line.code == "93000" and line.diagnoses[0] == "I10":
        return 0.45, "50"
    if payer == "payer-medicare" and line.code == "83036" and line.diagnoses[0].startswith("Z13"):
        return 0.55, "50"
    if payer == "payer-medicare" and line.code in ("99214", "99215") and line.place in ("02", "10"):
        return (0.30 if day < policy_change else 0.15), "5"
    if payer == "payer-medicaid" and line.code == "20610":
        return 0.28, "197"
    if payer == "payer-bluestar" and line.code in ("99204", "99205"):
        return 0.25, "16"
    return 0.0, ""


def generate(start: dt.date, end: dt.date, *, claims_per_day: int = 30, seed: int = 1,
             policy_change: dt.date | None = None, payers: dict | None = None) -> list[SyntheticClaim]:
    """Claims with dates of service on the working days in [start, end), adjudicated by the planted patterns."""
    rng = random.Random(seed)
    payers = payers or PAYERS
    policy_change = policy_change or end
    ids = list(payers)
    shares = [payers[p][1] for p in ids]
    claims, day, number = [], start, 0
    while day < end:
        if day.weekday() < 5:
            for _ in range(max(0, round(rng.gauss(claims_per_day, claims_per_day ** 0.5)))):
                number += 1
                payer = rng.choices(ids, shares)[0]
                lines, _ = _visit(rng, day)
                claim = SyntheticClaim(f"S{number:09d}", day, payer, lines)
                _adjudicate(rng, claim, payers[payer][2], policy_change)
                claims.append(claim)
        day += dt.timedelta(days=1)
    return claims


def _adjudicate(rng: random.Random, claim: SyntheticClaim, own_rate: float, policy_change: dt.date) -> None:
    if rng.random() < 0.02:
        carc = rng.choice(["27", "27", "31"])
        for line in claim.lines:
            line.denied, line.carc = True, carc
        return
    for line, facts in zip(claim.lines, claim.facts(), strict=True):
        chance, carc = _pattern(claim.payer, line, claim.lines, claim.day, policy_change)
        if facts.rule_error and chance < 0.75:
            chance, carc = 0.75, ("11" if line.code in ("83036", "90471") else "97")
        if rng.random() < chance:
            line.denied, line.carc = True, carc
        elif rng.random() < own_rate:
            line.denied, line.carc = True, rng.choice(NOISE_CARCS)


def outcomes(claims: list[SyntheticClaim]) -> list[Outcome]:
    return [outcome for claim in claims for outcome in claim.outcomes()]


def payer_names(payers: dict | None = None) -> dict[str, str]:
    return {payer: values[0] for payer, values in (payers or PAYERS).items()}
