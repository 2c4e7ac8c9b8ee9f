"""NCPDP SCRIPT-shaped messages: NewRx and CancelRx out, Status or Error back.

The element names and layout follow SCRIPT 2017071 (Header with To/From/MessageID, Body with
NewRx: Patient, Pharmacy, Prescriber, MedicationPrescribed), enough for a pharmacy network to
route and fill the prescription. It is built from the stored FHIR resources and needs no
database. The network here is a stand-in (`standin.py`): the real one needs certification and
a contract, and cannot be reached from this machine.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime

from mederi.core import clock, systems

NAMESPACE = "http://www.ncpdp.org/schema/SCRIPT"
VERSION = "2017071"
ACCEPTED_CODES = {"000", "010"}  # transaction successful; accepted by the ultimate receiver


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = str(text)
    return element


def _identifier(resource: dict, system: str) -> str:
    return next((i.get("value", "") for i in resource.get("identifier") or [] if i.get("system") == system), "")


def _name(parent: ET.Element, resource: dict) -> None:
    name = (resource.get("name") or [{}])[0]
    element = _add(parent, "Name")
    _add(element, "LastName", name.get("family", ""))
    _add(element, "FirstName", " ".join(name.get("given") or []))


def _address(parent: ET.Element, resource: dict) -> None:
    address = (resource.get("address") or [None])[0]
    if not address:
        return
    element = _add(parent, "Address")
    _add(element, "AddressLine1", " ".join(address.get("line") or []))
    _add(element, "City", address.get("city", ""))
    _add(element, "StateProvince", address.get("state", ""))
    _add(element, "PostalCode", address.get("postalCode", ""))


def _phone(parent: ET.Element, resource: dict) -> None:
    phone = next((t.get("value") for t in resource.get("telecom") or [] if t.get("system") == "phone"), None)
    if phone:
        numbers = _add(parent, "CommunicationNumbers")
        _add(_add(numbers, "PrimaryTelephone"), "Number", "".join(c for c in phone if c.isdigit()))


def _header(root: ET.Element, message_id: str, pharmacy_ncpdp: str, practice_id: str, order_number: str,
            moment: datetime) -> None:
    header = _add(root, "Header")
    _add(header, "To", pharmacy_ncpdp, Qualifier="P")
    _add(header, "From", practice_id, Qualifier="C")
    _add(header, "MessageID", message_id)
    _add(header, "SentTime", clock.fhir_instant(moment))
    _add(header, "PrescriberOrderNumber", order_number)


def _patient(parent: ET.Element, patient: dict) -> None:
    human = _add(_add(parent, "Patient"), "HumanPatient")
    _name(human, patient)
    _add(human, "Gender", {"male": "M", "female": "F"}.get(patient.get("gender"), "U"))
    _add(_add(human, "DateOfBirth"), "Date", patient.get("birthDate", ""))
    _address(human, patient)


def _prescriber(parent: ET.Element, practitioner: dict, practice: dict) -> None:
    person = _add(_add(parent, "Prescriber"), "NonVeterinarian")
    ids = _add(person, "Identification")
    _add(ids, "NPI", _identifier(practitioner, systems.NPI))
    dea = _identifier(practitioner, systems.DEA)
    if dea:
        _add(ids, "DEANumber", dea)
    _name(person, practitioner)
    _add(person, "PracticeLocation").append(_text_element("BusinessName", practice.get("name", "")))
    _address(person, practice)
    _phone(person, practice)


def _text_element(tag: str, text: str) -> ET.Element:
    element = ET.Element(tag)
    element.text = text
    return element


def _medication(parent: ET.Element, request: dict, schedule: str, schedule_code: str) -> None:
    med = _add(parent, "MedicationPrescribed")
    concept = request["medicationCodeableConcept"]
    coding = next((c for c in concept.get("coding") or [] if c.get("system") == systems.RXNORM), {})
    _add(med, "DrugDescription", concept.get("text") or coding.get("display", ""))
    if coding.get("code"):
        drug_coded = _add(med, "DrugCoded")
        db_code = _add(drug_coded, "DrugDBCode")
        _add(db_code, "Code", coding["code"])
        _add(db_code, "Qualifier", "SCD")  # RxNorm, as the clinical drug (or ingredient) chosen
        if schedule:
            _add(_add(drug_coded, "DEASchedule"), "Code", schedule_code)
    dispense = request["dispenseRequest"]
    quantity = _add(med, "Quantity")
    _add(quantity, "Value", dispense["quantity"]["value"])
    _add(quantity, "CodeListQualifier", "38")  # original quantity
    _add(_add(quantity, "QuantityUnitOfMeasure"), "Code", dispense["quantity"]["code"])
    if dispense.get("expectedSupplyDuration"):
        _add(med, "DaysSupply", dispense["expectedSupplyDuration"]["value"])
    _add(_add(med, "WrittenDate"), "Date", request["authoredOn"][:10])
    allowed = (request.get("substitution") or {}).get("allowedBoolean", True)
    _add(med, "Substitutions", "0" if allowed else "1")  # 1: dispense as written
    _add(_add(med, "Refills"), "Value", dispense.get("numberOfRepeatsAllowed", 0))
    note = next((n.get("text") for n in request.get("note") or []), None)
    if note:
        _add(med, "Note", note)
    _add(_add(med, "Sig"), "SigText", request["dosageInstruction"][0]["text"])


def _message(kind: str, message_id: str, moment: datetime, *, patient: dict, practitioner: dict, practice: dict,
             pharmacy_ncpdp: str, pharmacy_name: str, request: dict, schedule: str, schedule_code: str) -> bytes:
    root = ET.Element("Message", {"xmlns": NAMESPACE, "version": VERSION})
    _header(root, message_id, pharmacy_ncpdp, practice.get("id", ""), request["id"], moment)
    body = _add(_add(root, "Body"), kind)
    _patient(body, patient)
    pharmacy = _add(body, "Pharmacy")
    _add(_add(pharmacy, "Identification"), "NCPDPID", pharmacy_ncpdp)
    _add(pharmacy, "BusinessName", pharmacy_name)
    _prescriber(body, practitioner, practice)
    _medication(body, request, schedule, schedule_code)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def new_rx(message_id: str, moment: datetime, **parts) -> bytes:
    """A NewRx for `request` (a MedicationRequest) to `pharmacy_ncpdp`; see `_message` for the parts."""
    return _message("NewRx", message_id, moment, **parts)


def cancel_rx(message_id: str, moment: datetime, **parts) -> bytes:
    """A CancelRx: the same prescription, named by its PrescriberOrderNumber, to be cancelled."""
    return _message("CancelRx", message_id, moment, **parts)


# -- reading ---------------------------------------------------------------------------------------

def strip_namespaces(root: ET.Element) -> ET.Element:
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    return root


def parse(content: bytes) -> ET.Element:
    """The message's root element with namespaces removed; ET.ParseError when it is not XML."""
    return strip_namespaces(ET.fromstring(content))


@dataclass(frozen=True)
class Answer:
    accepted: bool
    code: str
    description: str
    relates_to: str


def read_answer(content: bytes) -> Answer:
    """The network's Status or Error answer; ValueError when it is neither."""
    try:
        root = parse(content)
    except ET.ParseError as error:
        raise ValueError(f"the answer is not XML: {error}") from None
    relates_to = root.findtext("Header/RelatesToMessageID", "")
    status = root.find("Body/Status")
    if status is not None:
        code = status.findtext("Code", "")
        return Answer(code in ACCEPTED_CODES, code, status.findtext("Description", ""), relates_to)
    error = root.find("Body/Error")
    if error is not None:
        return Answer(False, error.findtext("Code", ""), error.findtext("Description", ""), relates_to)
    raise ValueError("the answer holds neither a Status nor an Error")


def answer(relates_to: str, moment: datetime, *, code: str, description: str, error: bool, sender: str = "",
           receiver: str = "") -> bytes:
    """A Status (or Error) answer to message `relates_to`: what the network side sends back."""
    root = ET.Element("Message", {"xmlns": NAMESPACE, "version": VERSION})
    header = _add(root, "Header")
    _add(header, "To", receiver, Qualifier="C")
    _add(header, "From", sender, Qualifier="P")
    _add(header, "MessageID", f"A{relates_to}"[:35])
    _add(header, "RelatesToMessageID", relates_to)
    _add(header, "SentTime", clock.fhir_instant(moment))
    kind = _add(_add(root, "Body"), "Error" if error else "Status")
    _add(kind, "Code", code)
    _add(kind, "Description", description)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
