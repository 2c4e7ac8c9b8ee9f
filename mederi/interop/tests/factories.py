"""Patients, orders and lab messages for the interface tests."""

from __future__ import annotations

from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository


def register_patient(mrn: str, family: str = "Duck", given: str = "Donald") -> str:
    patient = {"resourceType": "Patient", "name": [{"family": family, "given": [given]}], "gender": "male",
               "birthDate": "1924-10-10", "identifier": [{"system": systems.mrn_system(), "value": mrn}]}
    return Repository(Context.system("test")).create(patient).stored.logical_id


def oru(*results: str, mrn: str = "MRN1001", placer: str = "", filler: str = "LAB-9001", control_id: str = "RES1",
        status: str = "F", code: str = "24331-1^Lipid panel^LN") -> bytes:
    """An ORU^R01 from ACME LAB with one order group and the given OBX lines."""
    lines = [
        f"MSH|^~\\&|LABSYS|ACME LAB|MEDERI|RIVERSIDE|20260105143000-0600||ORU^R01^ORU_R01|{control_id}|P|2.5.1",
        f"PID|1||{mrn}^^^RIVERSIDE^MR||Duck^Donald||19241010|M",
        f"ORC|RE|{placer}|{filler}",
        f"OBR|1|{placer}|{filler}|{code}|||20260105080000-0600|||||||||||||||20260105140000-0600|||{status}",
        *results,
        "SPM|1|^SP-1||SER^Serum^HL70487|||||||||||||20260105080000-0600|20260105090000-0600",
    ]
    return ("\r".join(lines) + "\r").encode()


CHOLESTEROL = "OBX|1|NM|2093-3^Cholesterol [Mass/volume] in Serum or Plasma^LN||245|mg/dL^^UCUM|<200|H|||F"
HDL = "OBX|2|NM|2085-9^HDL Cholesterol^LN||52|mg/dL^^UCUM|>40|N|||F"
COMMENT = "OBX|3|TX|8251-1^Service comment^LN||Fasting \\T\\ rested\\.br\\second line||||||F"
