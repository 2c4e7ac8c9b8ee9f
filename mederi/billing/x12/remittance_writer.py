"""Writing an 835 from `Remittance` records: what a payer would send, for tests, benchmarks and the demo payer.

The writer emits every element `parse_835` reads, so `parse_835(build_835(r))` gives `r` back.
"""

import datetime as dt
from decimal import Decimal

from .envelope import Segment, Writer
from .remittance import Adjustment, ClaimPayment, Remittance, ServiceLine
from .values import write_decimal, x12_date

IMPLEMENTATION = "005010X221A1"


def _money(value: Decimal | None) -> str:
    return "" if value is None else write_decimal(value, "an amount")


def _adjustment_segments(adjustments: list[Adjustment]) -> list[Segment]:
    """CAS segments in the order given: a run of one group shares a segment, up to six reasons each."""
    segments: list[Segment] = []
    for adjustment in adjustments:
        if not segments or segments[-1][1] != adjustment.group or len(segments[-1]) >= 20:
            segments.append(["CAS", adjustment.group])
        segments[-1] += [adjustment.reason, _money(adjustment.amount), _money(adjustment.quantity)]
    return segments


def _line_segments(line: ServiceLine) -> list[Segment]:
    procedure = ":".join([line.qualifier, line.procedure, *line.modifiers])
    submitted = f"{line.qualifier}:{line.submitted_procedure}" if line.submitted_procedure else ""
    segments = [["SVC", procedure, _money(line.charge), _money(line.paid), line.revenue_code, _money(line.units),
                 submitted]]
    if line.service_start is not None and line.service_start == line.service_end:
        segments.append(["DTM", "472", x12_date(line.service_start)])
    else:
        if line.service_start is not None:
            segments.append(["DTM", "150", x12_date(line.service_start)])
        if line.service_end is not None:
            segments.append(["DTM", "151", x12_date(line.service_end)])
    segments += _adjustment_segments(line.adjustments)
    if line.control_number:
        segments.append(["REF", "6R", line.control_number])
    if line.allowed is not None:
        segments.append(["AMT", "B6", _money(line.allowed)])
    segments += [["LQ", "HE", remark] for remark in line.remarks]
    return segments


def _claim_segments(claim: ClaimPayment) -> list[Segment]:
    segments = [["CLP", claim.claim_number, claim.status, _money(claim.charge), _money(claim.paid),
                 _money(claim.patient_responsibility), claim.filing_indicator, claim.payer_claim_number,
                 claim.facility_code, claim.frequency]]
    segments += _adjustment_segments(claim.adjustments)
    if claim.patient_last or claim.patient_member_id:
        segments.append(["NM1", "QC", "1", claim.patient_last, claim.patient_first, "", "", "",
                         "MI" if claim.patient_member_id else "", claim.patient_member_id])
    for start in range(0, len(claim.remarks), 5):
        segments.append(["MOA", "", "", *claim.remarks[start : start + 5]])
    if claim.service_start is not None:
        segments.append(["DTM", "232", x12_date(claim.service_start)])
    if claim.service_end is not None:
        segments.append(["DTM", "233", x12_date(claim.service_end)])
    for line in claim.lines:
        segments += _line_segments(line)
    return segments


def remittance_body(remittance: Remittance) -> list[Segment]:
    """The segments between ST and SE."""
    credit = "D" if remittance.total < 0 else "C"
    segments = [
        ["BPR", remittance.handling, _money(abs(remittance.total)), credit, remittance.method, "", "", "", "", "", "",
         "", "", "", "", "", x12_date(remittance.paid_on) if remittance.paid_on else ""],
        ["TRN", "1", remittance.trace_number, remittance.payer_trace_id],
    ]
    if remittance.produced_on is not None:
        segments.append(["DTM", "405", x12_date(remittance.produced_on)])
    segments.append(["N1", "PR", remittance.payer_name])
    if remittance.payer_id and remittance.payer_id != remittance.payer_trace_id:
        segments.append(["REF", "2U", remittance.payer_id])
    segments.append(["N1", "PE", remittance.payee_name, remittance.payee_id_qualifier, remittance.payee_id])
    if remittance.claims:
        segments.append(["LX", "1"])
    for claim in remittance.claims:
        segments += _claim_segments(claim)
    adjustments = remittance.provider_adjustments
    for start in range(0, len(adjustments), 6):
        group = adjustments[start : start + 6]
        first = group[0]
        segment = ["PLB", first.provider_id, x12_date(first.fiscal_date) if first.fiscal_date else ""]
        for item in group:
            segment += [f"{item.reason}:{item.reference}" if item.reference else item.reason, _money(item.amount)]
        segments.append(segment)
    return segments


def build_835(remittances: list[Remittance] | Remittance, *, sender_id: str = "PAYER", receiver_id: str = "PRACTICE",
              control_number: int = 1, when: dt.datetime | None = None, line_breaks: bool = False) -> str:
    """A complete interchange holding one 835 per remittance."""
    if isinstance(remittances, Remittance):
        remittances = [remittances]
    writer = Writer(sender_id=sender_id, receiver_id=receiver_id, control_number=control_number,
                    when=when or dt.datetime(2026, 1, 1, 12, 0))
    for remittance in remittances:
        writer.add("835", remittance_body(remittance), implementation=IMPLEMENTATION)
    return writer.text(line_breaks=line_breaks)
