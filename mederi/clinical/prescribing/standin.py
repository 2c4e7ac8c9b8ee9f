"""A stand-in pharmacy network on this machine: an HTTP server that takes SCRIPT NewRx and
CancelRx messages (POST, application/xml), checks them the way a network would before routing
them to a pharmacy, and answers with a Status (accepted) or an Error naming every problem.

It is not the real network (that needs certification and cannot be reached from here). Without
MEDERI_ERX_URL the application starts one inside its own process (`local_url()`); run one by
hand with `python -m mederi.clinical.prescribing.standin --port 8790` and point MEDERI_ERX_URL at
http://127.0.0.1:8790/script to see messages arrive from several processes. Needs nothing of Django.
"""

from __future__ import annotations

import argparse
import re
import threading
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mederi.clinical.prescribing import script
from mederi.core import clock

PATH = "/script"
MAX_BYTES = 1_000_000
REQUIRED = {  # element path in the NewRx/CancelRx -> what a person reads when it is missing
    "Patient/HumanPatient/Name/LastName": "the patient's last name",
    "Patient/HumanPatient/DateOfBirth/Date": "the patient's date of birth",
    "Pharmacy/Identification/NCPDPID": "the pharmacy's NCPDP id",
    "Prescriber/NonVeterinarian/Identification/NPI": "the prescriber's NPI",
    "Prescriber/NonVeterinarian/Name/LastName": "the prescriber's last name",
    "MedicationPrescribed/DrugDescription": "the drug",
    "MedicationPrescribed/Quantity/Value": "the quantity",
    "MedicationPrescribed/Quantity/QuantityUnitOfMeasure/Code": "the quantity's unit",
    "MedicationPrescribed/WrittenDate/Date": "the date written",
    "MedicationPrescribed/Sig/SigText": "the directions (sig)",
}


def npi_check_digit_ok(npi: str) -> bool:
    """Luhn over '80840' + the first nine digits (the NPI's own check-digit rule)."""
    if not re.fullmatch(r"[0-9]{10}", npi):
        return False
    total = 24  # the constant the 80840 prefix contributes
    for index, digit in enumerate(reversed(npi[:9])):
        value = int(digit) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10 == int(npi[9])


def problems_of(root: ET.Element, known_pharmacies: set[str] | None, seen_orders: set[str]) -> tuple[str, list[str]]:
    """(kind, problems) of a message, as the network checks it before routing."""
    problems = []
    header = root.find("Header")
    body = root.find("Body")
    if root.tag != "Message" or header is None or body is None or len(body) != 1:
        return "", ["the message must be <Message> with a Header and a Body holding one transaction"]
    transaction = body[0]
    kind = transaction.tag
    if kind not in ("NewRx", "CancelRx"):
        return kind, [f"this network takes NewRx and CancelRx, not {kind}"]
    for tag in ("To", "From", "MessageID", "SentTime", "PrescriberOrderNumber"):
        if not (header.findtext(tag) or "").strip():
            problems.append(f"Header/{tag} is missing")
    for path, what in REQUIRED.items():
        if not (transaction.findtext(path) or "").strip():
            problems.append(f"{what} is missing ({kind}/{path})")
    ncpdp = transaction.findtext("Pharmacy/Identification/NCPDPID") or ""
    if ncpdp and not re.fullmatch(r"[0-9]{7}", ncpdp):
        problems.append(f"NCPDPID {ncpdp} is not 7 digits")
    elif ncpdp and known_pharmacies is not None and ncpdp not in known_pharmacies:
        problems.append(f"no pharmacy with NCPDPID {ncpdp} takes electronic prescriptions on this network")
    if ncpdp and header.findtext("To") != ncpdp:
        problems.append("Header/To must be the pharmacy's NCPDPID")
    npi = transaction.findtext("Prescriber/NonVeterinarian/Identification/NPI") or ""
    if npi and not npi_check_digit_ok(npi):
        problems.append(f"the prescriber's NPI {npi} fails its check digit")
    med = transaction.find("MedicationPrescribed")
    if med is not None:
        quantity = med.findtext("Quantity/Value") or ""
        if quantity and not re.fullmatch(r"[0-9]+(\.[0-9]+)?", quantity) or quantity in ("0", "0.0"):
            problems.append(f"the quantity {quantity!r} must be a number above zero")
        refills = med.findtext("Refills/Value") or "0"
        scheduled = med.find("DrugCoded/DEASchedule/Code") is not None
        if not refills.isdigit() or int(refills) > 11:
            problems.append(f"refills {refills!r} must be 0 to 11")
        if scheduled and not transaction.findtext("Prescriber/NonVeterinarian/Identification/DEANumber"):
            problems.append("a controlled substance needs the prescriber's DEA number")
        if scheduled and med.findtext("DrugCoded/DEASchedule/Code") == "C48675" and refills not in ("0", ""):
            problems.append("a Schedule II drug cannot be refilled")
    order = header.findtext("PrescriberOrderNumber") or ""
    if kind == "CancelRx" and order not in seen_orders:
        problems.append(f"there is no prescription {order} on this network to cancel")
    return kind, problems


class StandIn:
    """The stand-in network: `StandIn(port=0)` listens on 127.0.0.1 at once; `.url` is where to POST."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, known_pharmacies: set[str] | None = None):
        self.known_pharmacies = known_pharmacies  # None: every well-formed NCPDP id is a pharmacy
        self.received: list[bytes] = []  # every message as it arrived, for a test or a demo to show
        self.orders: set[str] = set()  # PrescriberOrderNumbers of the NewRx accepted
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.standin = self
        self.url = f"http://{host}:{self._server.server_address[1]}{PATH}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="erx-standin",
                         daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "StandIn":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def handle(self, content: bytes) -> bytes:
        with self._lock:
            self.received.append(content)
        now = clock.now()
        try:
            root = script.parse(content)
        except ET.ParseError as error:
            return script.answer("", now, code="900", description=f"the message is not XML: {error}", error=True)
        message_id = root.findtext("Header/MessageID") or ""
        sender, receiver = root.findtext("Header/To") or "", root.findtext("Header/From") or ""
        with self._lock:
            kind, problems = problems_of(root, self.known_pharmacies, self.orders)
            order = root.findtext("Header/PrescriberOrderNumber") or ""
            if not problems and kind == "NewRx":
                self.orders.add(order)
            elif not problems:
                self.orders.discard(order)
        if problems:
            return script.answer(message_id, now, code="900", description="; ".join(problems), error=True,
                                 sender=sender, receiver=receiver)
        done = "accepted by the pharmacy" if kind == "NewRx" else "cancelled at the pharmacy"
        return script.answer(message_id, now, code="010", description=f"{kind} {done}", error=False,
                             sender=sender, receiver=receiver)


class _Handler(BaseHTTPRequestHandler):
    server_version = "ErxStandIn/1.0"

    def log_message(self, format, *args) -> None:  # keep test and server output quiet
        pass

    def do_POST(self) -> None:
        if self.path != PATH:
            return self._reply(404, b"not found: POST SCRIPT messages to " + PATH.encode(), "text/plain")
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() not in ("application/xml", "text/xml"):
            return self._reply(415, b"send the SCRIPT message as application/xml", "text/plain")
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BYTES:
            return self._reply(413 if length else 400, b"the message is empty or too large", "text/plain")
        self._reply(200, self.server.standin.handle(self.rfile.read(length)), "application/xml")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


_local: StandIn | None = None
_local_lock = threading.Lock()


def local_url() -> str:
    """The URL of this process's own stand-in network, started on first use."""
    global _local
    with _local_lock:
        if _local is None:
            _local = StandIn()
        return _local.url


def main() -> None:
    parser = argparse.ArgumentParser(description="A stand-in pharmacy network for Mederi's e-prescribing.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    args = parser.parse_args()
    standin = StandIn(args.host, args.port)
    print(f"stand-in pharmacy network at {standin.url} (Ctrl-C to stop)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        standin.stop()


if __name__ == "__main__":
    main()
