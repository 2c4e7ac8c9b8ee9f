"""The stand-in clearinghouse's answer to a claim file: a 999 for the file and a 277CA for its claims,
or only a TA1 refusing the file when its envelope (ISA/IEA, GS/GE) cannot be read.

`ClaimAcknowledger` is a responder for `StandIn` (or the in-process connector): given an 837P it
returns {"999": ..., "277": ...}, real X12 files written by `x12.acknowledgement_writer`. What it
refuses is set when it is made, so a test or the demo can play a clearinghouse that rejects a
transaction set (`syntax_errors`: claim numbers whose transaction set fails the 999, with an IK3
at the claim's CLM segment) or a payer that rejects claims (`unknown_members`: the subscriber's
member id is not on file, A3:33; `unregistered_npis`: the billing NPI is not enrolled, A7:562:85;
`reject`: a status for given claim numbers).
Answers to anything other than a claim are left to `other`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable, Iterable

from mederi.billing.x12.acknowledgement import ElementError, SegmentError, Status
from mederi.billing.x12.acknowledgement_writer import (
    SubmittedClaim,
    build_277ca,
    build_999,
    build_ta1,
    submitted_claims,
)
from mederi.billing.x12.envelope import X12Error, parse_all

UNKNOWN_MEMBER = Status("A3", "33", "IL")
UNREGISTERED_NPI = Status("A7", "562", "85")


class ClaimAcknowledger:
    def __init__(self, *, payer_name: str = "STAND-IN PAYER", payer_id: str = "STANDIN01",
                 sender_id: str = "STANDIN", syntax_errors: Iterable[str] = (),
                 unknown_members: Iterable[str] = (), unregistered_npis: Iterable[str] = (),
                 reject: dict[str, Status] | None = None,
                 other: Callable[[bytes, str], bytes | None] | None = None, first_control_number: int = 1):
        self.payer_name, self.payer_id, self.sender_id = payer_name, payer_id, sender_id
        self.syntax_errors = set(syntax_errors)
        self.unknown_members = set(unknown_members)
        self.unregistered_npis = set(unregistered_npis)
        self.reject = dict(reject or {})
        self.other = other
        self._numbers = itertools.count(first_control_number)
        self._lock = threading.Lock()

    def _next(self) -> int:
        with self._lock:
            return next(self._numbers)

    def decide(self, claim: SubmittedClaim) -> Status | None:
        if claim.claim_number in self.reject:
            return self.reject[claim.claim_number]
        if claim.member_id in self.unknown_members:
            return UNKNOWN_MEMBER
        if claim.billing_npi in self.unregistered_npis:
            return UNREGISTERED_NPI
        return None

    def __call__(self, payload: bytes, kind: str) -> bytes | dict[str, bytes] | None:
        if not kind.startswith("837"):
            return self.other(payload, kind) if self.other else None
        now = dt.datetime.now().replace(second=0, microsecond=0)
        note = envelope_problem(payload)
        if note:
            sender = payload[35:50].decode("ascii", "replace").strip() or "PRACTICE"
            return {"TA1": build_ta1(payload, control_number=self._next(), sender_id=self.sender_id,
                                     receiver_id=sender, when=now, code="R", note=note).encode("ascii")}
        groups = submitted_claims(payload)
        receiver = groups[0].sender_id if groups else "PRACTICE"
        errors: dict[str, list[SegmentError]] = {}
        for group in groups:
            for claim in group.claims:
                if claim.claim_number in self.syntax_errors:
                    errors.setdefault(claim.set_control_number, []).append(SegmentError(
                        "CLM", str(claim.position), "2300", "8", claim.claim_number,
                        [ElementError("1", "1028", "7", claim.claim_number)]))
        answers = {"999": build_999(payload, control_number=self._next(), sender_id=self.sender_id,
                                    receiver_id=receiver, when=now, errors=errors).encode("ascii")}
        passed = {claim.set_control_number for group in groups for claim in group.claims} - set(errors)
        if passed:  # the payer sees only what the clearinghouse let through
            answers["277"] = build_277ca(payload, control_number=self._next(), sender_id=self.sender_id,
                                         receiver_id=receiver, when=now, payer_name=self.payer_name,
                                         payer_id=self.payer_id, decide=self.decide,
                                         only_sets=passed).encode("ascii")
        return answers


def envelope_problem(payload: bytes) -> str:
    """The TA105 note code for what is wrong with the file's envelope, or "" when it reads."""
    try:
        parse_all(payload)
    except X12Error as error:
        text = str(error)
        if "IEA02" in text:
            return "001"  # header and trailer control numbers differ
        if "IEA01" in text:
            return "021"  # wrong count of groups
        if "truncated" in text or "cut short" in text:
            return "023"
        if error.segment_id in ("ISA", "IEA", None):
            return "022"
        return "024"
    return ""
