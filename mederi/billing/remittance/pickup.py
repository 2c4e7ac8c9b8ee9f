"""Picking up what clearinghouses send back (835s, TA1s, 999s and 277CAs) and processing each file once.

Two steps, each safe to die in:

1. **Fetch and record.** Files come from the drop folder (`MEDERI_CLEARINGHOUSE_INBOX`, by default
   var/clearinghouse/inbox: a clearinghouse or a person puts files there) and from the outbound
   folder of every active SFTP payer connection. Each file is stored as an `InboundFile` (its bytes
   and checksum, committed at once) before anything else happens; a file whose checksum is already
   recorded is not stored again. A dropped file is then moved into the folder's done/ subfolder.
2. **Process.** Every recorded file still `received` whose kind has a handler is handled — an 835 is
   posted, a TA1, 999 or 277CA moves the claims it answers (`acknowledgements.py`) — and marked processed
   in the same database transaction as that work. If the job dies in between, the file is still
   `received` and the next run handles it; handling is idempotent anyway.
   A file that cannot be read is marked failed with the reason, and stays for a person to see.

`register_handler(kind, handle)` adds a kind: files of a kind with no handler wait, recorded, until
one is registered.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from mederi.billing.clearinghouse import ClearinghouseError
from mederi.billing.models import PayerConnection
from mederi.billing.x12.envelope import X12Error, parse_all
from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import MederiError

from .models import InboundFile

log = logging.getLogger(__name__)
Handler = Callable[[Context, InboundFile], str]  # returns what came of it, in words
HANDLERS: dict[str, Handler] = {}
UNFINISHED_SUFFIXES = (".part", ".tmp", ".filepart")
MAX_ATTEMPTS = 5


def register_handler(kind: str, handler: Handler) -> None:
    """Handle recorded files of this X12 kind (ST01: "835", "999", "277") from now on."""
    HANDLERS[kind] = handler


def _post_835(context: Context, inbound: InboundFile) -> str:
    from .posting import post_remittance

    return post_remittance(context, bytes(inbound.content), name=inbound.name, source=inbound.origin).summary()


def _acknowledge_999(context: Context, inbound: InboundFile) -> str:
    from .acknowledgements import apply_999

    return apply_999(context, bytes(inbound.content), name=inbound.name, inbound=inbound)


def _acknowledge_ta1(context: Context, inbound: InboundFile) -> str:
    from .acknowledgements import apply_ta1

    return apply_ta1(context, bytes(inbound.content), name=inbound.name, inbound=inbound)


def _acknowledge_277(context: Context, inbound: InboundFile) -> str:
    from .acknowledgements import apply_277ca

    return apply_277ca(context, bytes(inbound.content), name=inbound.name, inbound=inbound)


register_handler("835", _post_835)
register_handler("999", _acknowledge_999)
register_handler("277", _acknowledge_277)
register_handler("TA1", _acknowledge_ta1)


def inbox() -> Path:
    configured = os.environ.get("MEDERI_CLEARINGHOUSE_INBOX") or getattr(settings, "MEDERI_CLEARINGHOUSE_INBOX", None)
    return Path(configured) if configured else Path(settings.VAR_DIR) / "clearinghouse" / "inbox"


@dataclass
class PickupReport:
    recorded: list[str] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # sources that could not be reached

    def __str__(self) -> str:
        return (f"{len(self.recorded)} file(s) recorded, {len(self.processed)} processed, {len(self.failed)} failed"
                + (f"; {'; '.join(self.problems)}" if self.problems else ""))


def _kind_of(data: bytes, name: str) -> str:
    try:
        interchanges = parse_all(data, strict=False)
    except X12Error:
        interchanges = []
    kinds = [tx.id for interchange in interchanges for tx in interchange.transactions]
    if any(interchange.interchange_acks for interchange in interchanges) and not kinds:
        return "TA1"  # only interchange acknowledgements: the envelope of a file sent was refused (or taken)
    if kinds:
        return kinds[0][:4]
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    return suffix[:4] if suffix.isdigit() else ""


def record(origin: str, name: str, data: bytes) -> InboundFile | None:
    """Store a fetched file unless its bytes were recorded before; returns the new row or None."""
    checksum = hashlib.sha256(data).hexdigest()
    if InboundFile.objects.filter(checksum=checksum).exists():
        return None
    with transaction.atomic():
        row, created = InboundFile.objects.get_or_create(
            checksum=checksum, defaults={"name": name[:200], "origin": origin[:120], "kind": _kind_of(data, name),
                                         "content": data})
    return row if created else None


def _fetch_drop_folder(report: PickupReport) -> None:
    folder = inbox()
    if not folder.is_dir():
        return
    done = folder / "done"
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith(".") or path.name.endswith(UNFINISHED_SUFFIXES):
            continue
        row = record(f"drop:{folder}", path.name, path.read_bytes())
        if row is not None:
            report.recorded.append(path.name)
        done.mkdir(exist_ok=True)
        path.replace(done / path.name)  # recorded (now or before): out of the way of the next run


def _fetch_connections(report: PickupReport) -> None:
    from mederi.billing.connectors import connector_for

    for connection in PayerConnection.objects.filter(active=True, transport=PayerConnection.SFTP):
        origin = f"sftp:{connection.organization_id}"
        seen = set(InboundFile.objects.filter(origin=origin).values_list("name", flat=True))
        try:
            fetched = connector_for(connection).fetch_responses(seen)
        except ClearinghouseError as error:
            report.problems.append(f"{connection.organization_id}: {error.message}")
            continue
        for name, data in fetched:
            if record(origin, name, data) is not None:
                report.recorded.append(name)


def _claim(inbound: InboundFile) -> bool:
    """Take a received file for this run; False when another worker took it first."""
    return InboundFile.objects.filter(pk=inbound.pk, state=InboundFile.RECEIVED,
                                      attempts=inbound.attempts).update(attempts=inbound.attempts + 1) == 1


def process_received(report: PickupReport, context: Context) -> None:
    waiting = InboundFile.objects.filter(state=InboundFile.RECEIVED, kind__in=list(HANDLERS)).order_by("pk")
    for inbound in waiting:
        if not _claim(inbound):
            continue
        handler = HANDLERS[inbound.kind]
        try:
            with transaction.atomic():
                message = handler(context, inbound)
                InboundFile.objects.filter(pk=inbound.pk).update(state=InboundFile.PROCESSED, message=message[:2000],
                                                                 processed_at=clock.now())
            report.processed.append(inbound.name)
        except MederiError as error:  # the file itself is wrong: a person must look at it
            text = "; ".join(issue.diagnostics for issue in error.issues) or str(error)
            InboundFile.objects.filter(pk=inbound.pk).update(state=InboundFile.FAILED, message=text[:2000],
                                                             processed_at=clock.now())
            report.failed.append(inbound.name)
        except Exception as error:  # noqa: BLE001 - anything else may pass: try again next run, a few times
            log.exception("processing %s failed", inbound.name)
            if inbound.attempts + 1 >= MAX_ATTEMPTS:
                InboundFile.objects.filter(pk=inbound.pk).update(
                    state=InboundFile.FAILED, message=f"gave up after {MAX_ATTEMPTS} attempts: {error}"[:2000])
                report.failed.append(inbound.name)


def pick_up(context: Context | None = None) -> PickupReport:
    """Fetch, record and process; see the module docstring."""
    context = context or Context.system("clearinghouse pickup")
    report = PickupReport()
    _fetch_drop_folder(report)
    _fetch_connections(report)
    process_received(report, context)
    return report
