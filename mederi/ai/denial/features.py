"""A claim's lines as the denial model sees them: payer, code, modifiers, first diagnosis, place of service, and
whether a scrubber rule names the line. The same code reads a FHIR Claim (to score it, and to learn from the
claims the payers answered) and the synthetic claims of the evaluation."""

from __future__ import annotations

import re

from mederi.billing.claims import rules
from mederi.billing.claims.scrubber import _lines as rule_lines  # the scrubber's own reading of a Claim's lines
from mederi.core.errors import Issue

from .model import LineFacts

ITEM = re.compile(r"^item\[(\d+)\]")


def table_findings(lines: list[rules.Line]) -> list[Issue]:
    """The scrubber's payer-rule tables (procedure pairs, bilateral sides, diagnosis support) on these lines.

    These are the rules that depend only on the claim itself, so they mean the same on a claim sent a year ago
    as on today's; the rest of the scrubber (NPIs, eligibility, timely filing) is read from today's record."""
    return rules.procedure_pairs(lines) + rules.bilateral_sides(lines) + rules.diagnosis_support(lines)


def flags(findings: list[Issue], sequences: list[int]) -> dict[int, tuple[bool, bool]]:
    """(error, warning) per line sequence: a finding naming item[n] flags line n; any other flags every line."""
    found = {sequence: [False, False] for sequence in sequences}
    for issue in findings:
        slot = 0 if issue.severity == "error" else 1
        match = ITEM.match(issue.expression or "")
        targets = [int(match.group(1))] if match and int(match.group(1)) in found else sequences
        for sequence in targets:
            found[sequence][slot] = True
    return {sequence: (error, warning) for sequence, (error, warning) in found.items()}


def claim_facts(claim: dict, payer_id: str, findings: list[Issue] | None = None) -> list[LineFacts]:
    """One LineFacts per line of a FHIR Claim; `findings` default to the rule tables' on the claim itself."""
    lines = rule_lines(claim)
    findings = table_findings(lines) if findings is None else findings
    flagged = flags(findings, [line.sequence for line in lines])
    places = {item["sequence"]: ((item.get("locationCodeableConcept") or {}).get("coding") or [{}])[0].get("code", "11")
              for item in claim.get("item") or ()}
    return [LineFacts(payer_id, line.code, tuple(sorted(line.modifiers)), (line.diagnoses or [""])[0],
                      places.get(line.sequence) or "11", *flagged[line.sequence]) for line in lines]
