"""HL7 listener throughput: ORU^R01 messages per second, parsed only, and received over MLLP and stored.

    .venv/bin/python benchmarks/bench_mllp.py                      # SQLite: var/bench/mllp/
    .venv/bin/python benchmarks/bench_mllp.py --postgres postgres://postgres@127.0.0.1:5432/mllp_bench
    .venv/bin/python benchmarks/bench_mllp.py --messages 1000

Each message is a lipid panel (PID, ORC, OBR, 4 OBX with units, ranges and flags, SPM) for one of
50 registered patients, with its own filler number, so each stores 6 new resources. "parse" times
reading the text and mapping it to FHIR resources (no database); "over MLLP" is one client sending
every message on one connection to `mederi mllp-listen`'s server and waiting for each ACK, so it
includes the transaction that stores the results. Results go to var/bench/mllp-<engine>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, fresh_database, machine  # noqa: E402

RESULTS = ["OBX|1|NM|2093-3^Cholesterol^LN||245|mg/dL^^UCUM|<200|H|||F",
           "OBX|2|NM|2085-9^HDL cholesterol^LN||52|mg/dL^^UCUM|>40|N|||F",
           "OBX|3|NM|13457-7^LDL cholesterol^LN||163|mg/dL^^UCUM|<100|H|||F",
           "OBX|4|NM|2571-8^Triglyceride^LN||148|mg/dL^^UCUM|<150|N|||F"]


def message(number: int) -> bytes:
    lines = [f"MSH|^~\\&|LABSYS|ACME LAB|MEDERI|RIVERSIDE|20260105143000-0600||ORU^R01^ORU_R01|B{number}|P|2.5.1",
             f"PID|1||BENCH{number % 50}^^^RIVERSIDE^MR||Bench^Patient",
             f"ORC|RE||F{number}", f"OBR|1||F{number}|24331-1^Lipid panel^LN|||20260105080000-0600||||||||||||||"
             "|20260105140000-0600|||F", *RESULTS,
             "SPM|1|^SP||SER^Serum^HL70487|||||||||||||20260105080000-0600|20260105090000-0600"]
    return ("\r".join(lines) + "\r").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="PostgreSQL URL (recreated); SQLite under var/bench/mllp/ otherwise")
    parser.add_argument("--messages", type=int, default=500)
    args = parser.parse_args()
    engine = fresh_database("mllp", args.postgres)

    from mederi.core import systems
    from mederi.core.context import Context
    from mederi.fhir.repository import Repository
    from mederi.interop import listener, results
    from mederi.interop.hl7 import parse
    from mederi.interop.mllp import MllpClient, ServerThread
    from mederi.scheduling import practice_time

    repo = Repository(Context.system("benchmark"))
    for n in range(50):
        repo.update("Patient", f"bench-{n}", {"resourceType": "Patient", "id": f"bench-{n}",
                                              "identifier": [{"system": systems.mrn_system(), "value": f"BENCH{n}"}]})
    payloads = [message(n) for n in range(args.messages)]

    started = time.perf_counter()
    for payload in payloads:
        results.result_set(parse(payload), {"reference": "Patient/bench-0"}, practice_time.zone(), "LABSYS^ACME LAB")
    parse_rate = args.messages / (time.perf_counter() - started)

    with ServerThread(listener.build_server("127.0.0.1", 0)) as server, \
            MllpClient("127.0.0.1", server.port, timeout=60) as client:
        started = time.perf_counter()
        for payload in payloads:
            answer = client.send(payload)
            assert b"MSA|AA|" in answer, answer
        stored_rate = args.messages / (time.perf_counter() - started)

    found = {"machine": machine(), "engine": engine, "messages": args.messages,
             "parse_and_map_per_second": round(parse_rate), "received_and_stored_per_second": round(stored_rate, 1)}
    print(f"{engine}: parse and map {found['parse_and_map_per_second']} messages/s; "
          f"received over MLLP and stored {found['received_and_stored_per_second']} messages/s "
          f"({args.messages} lipid panels, 6 resources each)")
    out = BENCH_DIR / f"mllp-{engine}.json"
    out.write_text(json.dumps(found, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
