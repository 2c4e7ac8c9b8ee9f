"""Writes of the interfaces' own settings: lab connections (audited). Orders: `orders`; results: `inbound`."""

from __future__ import annotations

from django.db import transaction

from mederi.audit import services as audit
from mederi.core.context import Context
from mederi.core.errors import Forbidden, InvalidRequest, Issue
from mederi.interop.inbound import PERMISSION
from mederi.interop.models import LabConnection

FIELDS = ("name", "transport", "host", "port", "sending_application", "sending_facility", "receiving_application",
          "receiving_facility", "timeout_seconds", "active")
HL7_DELIMITERS = set("|^~\\&")


def connection_problems(values: dict, connection_id: int | None = None) -> dict[str, str]:
    """What is wrong with a lab connection, by field: the form shows these beside the fields."""
    problems = {}
    if not (values.get("name") or "").strip():
        problems["name"] = "Give the lab a name."
    elif LabConnection.objects.filter(name=values["name"].strip()).exclude(pk=connection_id).exists():
        problems["name"] = "Another lab connection has this name."
    if values.get("transport") not in dict(LabConnection.TRANSPORTS):
        problems["transport"] = "Choose how the lab is reached."
    if values.get("transport") == LabConnection.MLLP:
        if not (values.get("host") or "").strip():
            problems["host"] = "MLLP needs the lab's host name or address."
        port = values.get("port")
        if not isinstance(port, int) or not 1 <= port <= 65535:
            problems["port"] = "MLLP needs a port from 1 to 65535 (the lab's listener, often 2575)."
    for name in ("sending_application", "sending_facility", "receiving_application", "receiving_facility"):
        value = values.get(name) or ""
        if HL7_DELIMITERS & set(value):
            problems[name] = "HL7 ids may not contain | ^ ~ \\ or &."
        elif not value.strip() and name in ("sending_facility", "receiving_facility"):
            problems[name] = "The lab needs this id to route the messages (ask the lab for it)."
    timeout = values.get("timeout_seconds")
    if not isinstance(timeout, int) or not 1 <= timeout <= 300:
        problems["timeout_seconds"] = "Wait between 1 and 300 seconds for the lab's answer."
    return problems


def save_lab_connection(context: Context, values: dict, connection_id: int | None = None) -> LabConnection:
    if PERMISSION not in context.permissions:
        raise Forbidden(f"setting up lab connections needs the permission {PERMISSION}")
    problems = connection_problems(values, connection_id)
    if problems:
        raise InvalidRequest([Issue(message, expression=name) for name, message in problems.items()])
    with transaction.atomic():
        connection = LabConnection.objects.get(pk=connection_id) if connection_id else LabConnection()
        for name in FIELDS:
            value = values.get(name)
            setattr(connection, name, value.strip() if isinstance(value, str) else value)
        if connection.transport == LabConnection.STANDIN:
            connection.host, connection.port = "", None
        connection.save()
        audit.record(context, "interface-change", resource_type="LabConnection", resource_ids=[str(connection.pk)],
                     detail={"name": connection.name, "address": connection.address, "active": connection.active})
    return connection
