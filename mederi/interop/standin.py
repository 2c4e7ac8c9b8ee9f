"""A stand-in lab, for the demo and the tests: not a real laboratory, and no results are real.

It acknowledges well-formed ORM^O01 orders (AR or AE, with the reason, otherwise) and can answer
an order with an ORU^R01 of made-up values, a few of them out of range. A lab connection whose
transport is "standin" reaches it inside the process, with no network, and its results come
back at once through the same path as a real lab's (`inbound.receive`); the tests also run it as
a real MLLP server (`ServerThread(MllpServer(LAB.handle, LAB.refuse))`).
"""

from __future__ import annotations

import itertools
import threading

from django.conf import settings

from mederi.core import clock
from mederi.interop.hl7 import HL7Error, Message, build, parse, segment, write
from mederi.interop.hl7.ack import ACCEPT, ERROR, REJECT, acknowledgement
from mederi.interop.hl7.values import hl7_datetime

# What the stand-in reports for each test it knows: LOINC, name, value, unit, range, flag.
CANNED_RESULTS = {
    "24331-1": [("2093-3", "Cholesterol", "245", "mg/dL", "<200", "H"), ("2085-9", "HDL cholesterol", "52", "mg/dL", ">40", "N"),
                ("13457-7", "LDL cholesterol (calculated)", "163", "mg/dL", "<100", "H"),
                ("2571-8", "Triglyceride", "148", "mg/dL", "<150", "N")],
    "4548-4": [("4548-4", "Hemoglobin A1c", "7.2", "%", "4.0-5.6", "H")],
    "3016-3": [("3016-3", "TSH", "2.1", "m[IU]/L", "0.4-4.0", "N")],
    "58410-2": [("6690-2", "Leukocytes", "6.1", "10*3/uL", "4.0-11.0", "N"), ("718-7", "Hemoglobin", "13.9", "g/dL",
                "13.0-17.0", "N"), ("777-3", "Platelets", "250", "10*3/uL", "150-400", "N")],
    "24323-8": [("2345-7", "Glucose", "105", "mg/dL", "70-99", "H"), ("2951-2", "Sodium", "139", "mmol/L", "135-145", "N"),
                ("2823-3", "Potassium", "4.2", "mmol/L", "3.5-5.1", "N"), ("2160-0", "Creatinine", "0.9", "mg/dL",
                "0.7-1.3", "N")],
    "24321-2": [("2345-7", "Glucose", "92", "mg/dL", "70-99", "N"), ("2951-2", "Sodium", "131", "mmol/L", "135-145", "L")],
    "34714-6": [("5902-2", "Prothrombin time (PT)", "31.5", "s", "9.4-12.5", "H"),
                ("6301-6", "INR", "3.8", "{INR}", "0.8-1.2", "H")],
    "24356-8": [("5792-7", "Glucose [Mass/volume] in Urine by Test strip", "Negative", "", "Negative", "N")],
}


class StandinLab:
    def __init__(self):
        self.received: list[Message] = []
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def _check(self, message: Message) -> None:
        if message.message_type != ("ORM", "O01"):
            raise HL7Error(f"the stand-in lab takes orders (ORM^O01), not {'^'.join(message.message_type)}",
                           segment="MSH", field=9, code="200")
        if message.first("PID") is None or not message.first("PID").value(3):
            raise HL7Error("the order names no patient (PID-3)", segment="PID", field=3, code="101")
        if not message.all("OBR"):
            raise HL7Error("the order has no OBR: which test?", segment="OBR", code="100")
        for obr in message.all("OBR"):
            if not obr.value(4):
                raise obr.error(4, "the test ordered (universal service identifier) is missing", code="101")

    def handle(self, raw: bytes) -> bytes:
        """The lab's answer to an order: AA, or AR/AE with the reason."""
        message = None
        try:
            message = parse(raw)
            self._check(message)
        except HL7Error as error:
            code = REJECT if message is None or error.code in ("100", "200") else ERROR
            return acknowledgement(message, code, clock.now(), text=error.reason, error=error).encode()
        with self._lock:
            self.received.append(message)
        return acknowledgement(message, ACCEPT, clock.now()).encode()

    def refuse(self, reason: str, raw: bytes) -> bytes:
        error = HL7Error(f"not a proper MLLP frame: {reason}", code="100")
        return acknowledgement(None, REJECT, clock.now(), text=error.reason, error=error).encode()

    def result_for(self, orm: str | bytes) -> bytes:
        """An ORU^R01 answering every test of an order, with the order's placer numbers."""
        order = parse(orm)
        msh, now = order.header, hl7_datetime(clock.now())
        with self._lock:
            number = next(self._numbers)
        segments = [
            segment("MSH", msh.value(5) or "STANDIN", msh.value(6) or "STAND-IN LAB", msh.value(3), msh.value(4), now, "",
                    ("ORU", "R01", "ORU_R01"), f"SR{clock.now():%Y%m%d%H%M%S}{number}", "T", "2.5.1"),
            order.first("PID"),
        ]
        for position, (orc, obr) in enumerate(zip(order.all("ORC"), order.all("OBR")), start=1):
            placer = orc.value(2) or obr.value(2)
            filler = f"SL-{placer}"
            segments += [segment("ORC", "RE", placer, filler),
                         segment("OBR", str(position), placer, filler, (obr.value(4, 1), obr.value(4, 2), "LN"),
                                 "", "", now, "", "", "", "", "", "", "", "", obr.fields[15] and obr.value(16), "", "",
                                 "", "", "", now, "", "LAB", "F")]
            for place, (code, name, value, unit, span, flag) in enumerate(CANNED_RESULTS.get(obr.value(4), []), 1):
                kind = "NM" if value.replace(".", "", 1).isdigit() else "ST"
                segments.append(segment("OBX", str(place), kind, (code, name, "LN"), "", value, (unit, "", "UCUM")
                                        if unit else "", span, flag, "", "", "F", "", "", now))
        return write(build(segments, order.encoding)).encode()

    def result_later(self, orm: str) -> None:
        """Results of an accepted order, delivered to the practice at once (demo setting, on by default)."""
        if not getattr(settings, "MEDERI_STANDIN_LAB_RESULTS", True):
            return
        from mederi.interop import inbound

        inbound.receive(self.result_for(orm))


LAB = StandinLab()
