"""An ORU^R01 message as FHIR resources: Observations, DiagnosticReports and Specimens (no Django).

Each OBR starts an order group; the OBX, NTE and SPM segments after it belong to it (an OBX
before the first OBR joins the first group). Every resource gets a stable id derived from the lab,
its filler order number and its place in the message, so a result sent again (or corrected
later, OBX-11 `C`) updates what is stored instead of adding a copy.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import tzinfo
from decimal import Decimal, InvalidOperation

from mederi.core import systems
from mederi.interop.hl7 import HL7Error, Message, Segment
from mederi.interop.hl7.values import fhir_datetime, fhir_instant

_ID_NAMESPACE = uuid.UUID("5b0c8a43-6f0e-4df3-9a57-6b1f0b5c4a21")
CODING_SYSTEMS = {"LN": systems.LOINC, "SCT": systems.SNOMED, "SNM": systems.SNOMED, "UCUM": systems.UCUM,
                  "I10": "http://hl7.org/fhir/sid/icd-10-cm", "I10C": "http://hl7.org/fhir/sid/icd-10-cm",
                  "RXNORM": "http://www.nlm.nih.gov/research/umls/rxnorm"}
# OBX-8 (HL7 table 0078) codes are the v3 ObservationInterpretation codes with the same spelling.
INTERPRETATIONS = {
    "L": "Low", "H": "High", "LL": "Critical low", "HH": "Critical high", "LU": "Significantly low",
    "HU": "Significantly high", "<": "Off scale low", ">": "Off scale high", "N": "Normal", "A": "Abnormal",
    "AA": "Critical abnormal", "S": "Susceptible", "R": "Resistant", "I": "Intermediate", "MS": "Moderately susceptible",
    "VS": "Very susceptible", "NEG": "Negative", "POS": "Positive", "IND": "Indeterminate", "DET": "Detected",
    "ND": "Not detected", "U": "Significant change up", "D": "Significant change down", "B": "Better", "W": "Worse",
    "E": "Equivocal", "EX": "Outside threshold", "HX": "Above high threshold", "LX": "Below low threshold",
    "NR": "Non-reactive", "RR": "Reactive", "WR": "Weakly reactive", "IE": "Insufficient evidence",
    "SDD": "Susceptible-dose dependent", "SYN-R": "Synergy - resistant", "SYN-S": "Synergy - susceptible",
}
ABNORMAL_FLAGS = frozenset({"L", "H", "LL", "HH", "LU", "HU", "<", ">", "A", "AA", "R", "POS", "DET", "RR", "W", "HX",
                            "LX", "EX"})
CRITICAL_FLAGS = frozenset({"LL", "HH", "AA"})
OBSERVATION_STATUS = {  # OBX-11 (table 0085)
    "F": "final", "C": "corrected", "P": "preliminary", "R": "preliminary", "S": "preliminary", "A": "amended",
    "I": "registered", "O": "registered", "X": "cancelled", "N": "cancelled", "D": "entered-in-error",
    "W": "entered-in-error", "U": "final",
}
REPORT_STATUS = {  # OBR-25 (table 0123)
    "O": "registered", "I": "registered", "S": "registered", "A": "partial", "P": "preliminary", "R": "preliminary",
    "F": "final", "C": "corrected", "X": "cancelled", "Y": "unknown", "Z": "unknown",
}
NUMERIC_TYPES, TEXT_TYPES = {"NM"}, {"ST", "TX", "FT", "ID", "IS", "NA", "EI", "CX", "XPN", "XAD", "XTN", "XCN"}
CODED_TYPES, TIME_TYPES = {"CE", "CWE", "CNE", "CF", "CV"}, {"DT", "DTM", "TS"}
SECTIONS = {"AU", "BG", "BLB", "CH", "CP", "CT", "CTH", "CUS", "EC", "EN", "HM", "ICU", "IMM", "LAB", "MB", "MCB",
            "MYC", "NMR", "NMS", "NRS", "OSL", "OT", "OTH", "OUS", "PF", "PHR", "PHY", "PT", "RAD", "RC", "RT", "RUS",
            "RX", "SP", "SR", "TX", "VR", "VUS", "XRC"}  # OBR-24, table 0074
VALUE_TYPES = NUMERIC_TYPES | TEXT_TYPES | CODED_TYPES | TIME_TYPES | {"SN", "TM", "RP", "ED"}


@dataclass
class OrderGroup:
    obr: Segment | None = None
    orc: Segment | None = None
    obr_number: int = 0  # the group's place among the message's OBRs (1, 2, ...)
    notes: list[str] = field(default_factory=list)  # NTE after the OBR
    observations: list[tuple[Segment, int, list[str]]] = field(default_factory=list)  # OBX, its place, its NTEs
    specimens: list[Segment] = field(default_factory=list)

    @property
    def placer_number(self) -> str:
        return (self.orc.value(2) if self.orc else "") or (self.obr.value(2) if self.obr else "")

    @property
    def filler_number(self) -> str:
        return (self.obr.value(3) if self.obr else "") or (self.orc.value(3) if self.orc else "")


@dataclass
class ResultSet:
    """What one ORU^R01 becomes; `placer_numbers[i]` is the order number the i-th report answers."""

    reports: list[dict]
    observations: list[dict]
    specimens: list[dict]
    placer_numbers: list[str]

    @property
    def resources(self) -> list[dict]:
        return [*self.specimens, *self.observations, *self.reports]


def order_groups(message: Message) -> list[OrderGroup]:
    groups: list[OrderGroup] = []
    waiting_orc, early_obx = None, []
    current: OrderGroup | None = None
    obx_count = 0
    for seg in message.segments:
        if seg.name == "ORC":
            waiting_orc = seg
        elif seg.name == "OBR":
            current = OrderGroup(obr=seg, orc=waiting_orc, obr_number=len(groups) + 1)
            current.observations, early_obx, waiting_orc = early_obx, [], None
            groups.append(current)
        elif seg.name == "OBX":
            obx_count += 1
            (current.observations if current else early_obx).append((seg, obx_count, []))
        elif seg.name == "NTE":
            owner = current.observations if current and current.observations else None
            if owner:
                owner[-1][2].append(seg.value(3))
            elif current:
                current.notes.append(seg.value(3))
        elif seg.name == "SPM" and current:
            current.specimens.append(seg)
    if not groups:
        raise HL7Error("an ORU^R01 needs at least one OBR (the order the results answer)", segment="OBR", code="100")
    return groups


def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, "\x1f".join(parts)))


def codeable(rep, *, text_fallback: str = "") -> dict:
    """A CE/CWE repetition (code^text^system^alt code^alt text^alt system) as a CodeableConcept."""
    codings = []
    for offset in (0, 3):
        code, display, system = rep.get(1 + offset), rep.get(2 + offset), rep.get(3 + offset)
        if code:
            coding = {"code": code}
            if system in CODING_SYSTEMS:
                coding = {"system": CODING_SYSTEMS[system], **coding}
            if display:
                coding["display"] = display
            codings.append(coding)
    concept: dict = {"coding": codings} if codings else {}
    text = rep.get(9) or rep.get(2) or rep.get(5) or text_fallback
    if text:
        concept["text"] = text
    return concept


def _decimal(text: str, seg: Segment, number: int, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise seg.error(number, f"'{text}' is not a number ({what})") from None
    if not value.is_finite():
        raise seg.error(number, f"'{text}' is not a number ({what})")
    return value


def _quantity(value: Decimal, unit) -> dict:
    quantity: dict = {"value": value}
    if unit and (unit.get(1) or unit.get(2)):
        quantity["unit"] = unit.get(2) or unit.get(1)
        if unit.get(3) == "UCUM" and unit.get(1):
            quantity.update(system=systems.UCUM, code=unit.get(1))
    return quantity


def _structured_numeric(rep, seg: Segment, unit) -> dict:
    """SN: comparator ^ number ^ separator ^ number, as a quantity, a range or a ratio."""
    comparator, first, separator, second = rep.get(1), rep.get(2), rep.get(3), rep.get(4)
    if not first:
        raise seg.error(5, f"the structured number '{'^'.join(filter(None, (comparator, first)))}' has no value")
    low = _decimal(first, seg, 5, "structured numeric")
    if not separator:
        quantity = _quantity(low, unit)
        if comparator in ("<", "<=", ">=", ">"):
            quantity["comparator"] = comparator
        elif comparator not in ("", "="):
            raise seg.error(5, f"'{comparator}' is not a comparator (<, <=, =, >=, >)")
        return {"valueQuantity": quantity}
    high = _decimal(second, seg, 5, "structured numeric")
    if separator in ("-",):
        return {"valueRange": {"low": _quantity(low, unit), "high": _quantity(high, unit)}}
    if separator in (":", "/"):
        return {"valueRatio": {"numerator": {"value": low}, "denominator": {"value": high}}}
    raise seg.error(5, f"'{separator}' is not a structured numeric separator (-, :, /)")


def observation_value(obx: Segment, zone: tzinfo) -> dict:
    """The value elements of an Observation from OBX-2 and OBX-5 (empty when no value was sent)."""
    kind = obx.value(2).upper()
    values = obx.repetitions(5)
    if not values:
        return {}
    kind = kind or "ST"
    if kind not in VALUE_TYPES:
        raise obx.error(2, f"value type '{kind}' is not one we read ({', '.join(sorted(VALUE_TYPES))})", code="103")
    unit = (obx.repetitions(6) or [None])[0]
    if kind in NUMERIC_TYPES:
        numbers = [_quantity(_decimal(rep.get(1), obx, 5, "OBX-2 says NM"), unit) for rep in values]
        if len(numbers) == 1:
            return {"valueQuantity": numbers[0]}
        return {"component": [{"code": {"text": f"value {n}"}, "valueQuantity": q} for n, q in enumerate(numbers, 1)]}
    if kind == "SN":
        return _structured_numeric(values[0], obx, unit)
    if kind in CODED_TYPES:
        return {"valueCodeableConcept": codeable(values[0])}
    if kind in TIME_TYPES:
        return {"valueDateTime": fhir_datetime(values[0].get(1), zone, ("OBX", 5))}
    if kind == "TM":
        digits = values[0].get(1).split("+")[0].split("-")[0].ljust(6, "0")[:6]
        if not digits.isdigit() or int(digits[:2]) > 23 or int(digits[2:4]) > 59 or int(digits[4:]) > 59:
            raise obx.error(5, f"'{values[0].get(1)}' is not a time (HHMMSS)")
        return {"valueTime": f"{digits[:2]}:{digits[2:4]}:{digits[4:]}"}
    if kind == "RP":
        return {"valueString": values[0].get(1)}  # a pointer to content kept elsewhere (an image, a document)
    if kind == "ED":
        return {}  # encapsulated data goes to the report's presentedForm
    return {"valueString": "\n".join("^".join(c[0] if c else "" for c in rep) if len(rep) > 1 else rep.get(1)
                                     for rep in values)}


def reference_range(obx: Segment, unit) -> list[dict]:
    text = obx.value(7).strip()
    if not text:
        return []
    span: dict = {"text": text}
    bounds = text.replace(" ", "")
    try:
        if bounds.startswith(("<", ">")):
            number = Decimal(bounds.lstrip("<>="))
            span["high" if bounds[0] == "<" else "low"] = _quantity(number, unit)
        elif "-" in bounds[1:]:
            cut = bounds.index("-", 1)
            span["low"], span["high"] = _quantity(Decimal(bounds[:cut]), unit), _quantity(Decimal(bounds[cut + 1:]), unit)
    except InvalidOperation:
        pass  # a range in words ("negative"): kept as text
    return [span]


def interpretation(obx: Segment) -> list[dict]:
    concepts = []
    for rep in obx.repetitions(8):
        code = rep.get(1).upper()
        if code in INTERPRETATIONS:
            concepts.append({"coding": [{"system": systems.OBSERVATION_INTERPRETATION, "code": code,
                                         "display": INTERPRETATIONS[code]}]})
        elif code:
            concepts.append({"text": rep.get(2) or rep.get(1)})
    return concepts


def _observation(obx: Segment, place: int, notes: list[str], key: str, patient: dict, zone: tzinfo,
                 effective: str | None, specimens: list[dict]) -> dict:
    code = (obx.repetitions(3) or [None])[0]
    status_code = obx.value(11).upper()
    if status_code and status_code not in OBSERVATION_STATUS:
        raise obx.error(11, f"'{status_code}' is not a result status (table 0085: F, C, P, R, S, A, I, O, X, D, W)",
                        code="103", sequence=place)
    value = observation_value(obx, zone)
    status = OBSERVATION_STATUS.get(status_code) or ("final" if value else "registered")
    unit = (obx.repetitions(6) or [None])[0]
    resource = {
        "resourceType": "Observation", "id": stable_id(key, "obx", str(place)),
        "identifier": [{"system": systems.FILLER_ORDER, "value": f"{key}/{place}"}],
        "status": status,
        "category": [{"coding": [{"system": systems.OBSERVATION_CATEGORY, "code": "laboratory",
                                  "display": "Laboratory"}]}],
        "code": codeable(code, text_fallback=f"Result {place}") if code else {"text": f"Result {place} (no code sent)"},
        "subject": patient,
        **value,
    }
    when = fhir_datetime(obx.value(14), zone, ("OBX", 14)) or effective
    if when:
        resource["effectiveDateTime"] = when
    if analysed := fhir_instant(obx.value(19), zone, ("OBX", 19)):
        resource["issued"] = analysed
    if flags := interpretation(obx):
        resource["interpretation"] = flags
    if ranges := reference_range(obx, unit):
        resource["referenceRange"] = ranges
    if notes := [n for n in notes if n.strip()]:
        resource["note"] = [{"text": n} for n in notes]
    if specimens:
        resource["specimen"] = {"reference": f"Specimen/{specimens[0]['id']}"}
    return resource


def _specimen(spm: Segment, number: int, key: str, patient: dict, zone: tzinfo) -> dict:
    resource = {"resourceType": "Specimen", "id": stable_id(key, "spm", str(number)), "subject": patient}
    identifiers = [v for v in (spm.value(2, 1), spm.value(2, 2)) if v]
    if identifiers:
        resource["accessionIdentifier"] = {"system": systems.FILLER_ORDER, "value": identifiers[-1]}
    if spm.repetitions(4):
        resource["type"] = codeable(spm.repetitions(4)[0])
    collected_start = fhir_datetime(spm.value(17, 1), zone, ("SPM", 17))
    collected_end = fhir_datetime(spm.value(17, 2), zone, ("SPM", 17))
    if collected_start and collected_end:
        resource["collection"] = {"collectedPeriod": {"start": collected_start, "end": collected_end}}
    elif collected_start:
        resource["collection"] = {"collectedDateTime": collected_start}
    if received := fhir_instant(spm.value(18), zone, ("SPM", 18)):
        resource["receivedTime"] = received
    return resource


def _presented_forms(group: OrderGroup) -> list[dict]:
    forms = []
    for obx, _, _ in group.observations:
        if obx.value(2).upper() == "ED" and obx.repetitions(5):
            data = obx.repetitions(5)[0]
            form = {"contentType": f"{(data.get(2) or 'application').lower()}/{(data.get(3) or 'octet-stream').lower()}"}
            if data.get(4).upper() == "BASE64" and data.get(5):
                form["data"] = data.get(5)
            forms.append(form)
    return forms


def result_set(message: Message, patient: dict, zone: tzinfo, lab: str) -> ResultSet:
    """The resources of an ORU^R01 for `patient` (a Reference); `lab` names the sender (MSH-3^MSH-4)."""
    msh = message.header
    sent = fhir_instant(msh.value(7), zone, ("MSH", 7))
    reports, observations, specimens, placers = [], [], [], []
    for group in order_groups(message):
        obr = group.obr
        key = f"{lab}|{group.filler_number or message.control_id + '/' + str(group.obr_number)}"
        if not obr.repetitions(4):
            raise obr.error(4, "the universal service identifier (what was tested) is missing", code="101",
                            sequence=group.obr_number)
        effective = fhir_datetime(obr.value(7), zone, ("OBR", 7))
        section = obr.value(24).upper() if obr.value(24).upper() in SECTIONS else "LAB"
        group_specimens = [_specimen(spm, n, key, patient, zone) for n, spm in enumerate(group.specimens, 1)]
        group_observations = [
            _observation(obx, place, notes, key, patient, zone, effective, group_specimens)
            for obx, place, notes in group.observations if obx.value(2).upper() != "ED"]
        status_code = obr.value(25).upper()
        if status_code and status_code not in REPORT_STATUS:
            raise obr.error(25, f"'{status_code}' is not a result status (table 0123: O, I, S, A, P, R, F, C, X)",
                            code="103", sequence=group.obr_number)
        report = {
            "resourceType": "DiagnosticReport", "id": stable_id(key, "obr"),
            "identifier": [{"system": systems.FILLER_ORDER, "value": key,
                            "type": {"coding": [{"system": systems.IDENTIFIER_TYPE, "code": "FILL"}]}}],
            "status": REPORT_STATUS.get(status_code, "unknown"),
            "category": [{"coding": [{"system": systems.DIAGNOSTIC_SECTION, "code": section}]}],
            "code": codeable(obr.repetitions(4)[0]),
            "subject": patient,
            "issued": fhir_instant(obr.value(22), zone, ("OBR", 22)) or sent,
            "performer": [{"display": msh.value(4) or msh.value(3) or lab}],
        }
        if effective:
            report["effectiveDateTime"] = effective
        if group_observations:
            report["result"] = [{"reference": f"Observation/{o['id']}"} for o in group_observations]
        if group_specimens:
            report["specimen"] = [{"reference": f"Specimen/{s['id']}"} for s in group_specimens]
        if notes := [n for n in group.notes if n.strip()]:
            report["conclusion"] = "\n".join(notes)
        if forms := _presented_forms(group):
            report["presentedForm"] = forms
        reports.append({k: v for k, v in report.items() if v is not None})
        observations += group_observations
        specimens += group_specimens
        placers.append(group.placer_number)
    return ResultSet(reports, observations, specimens, placers)
