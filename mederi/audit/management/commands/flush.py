"""Django's `flush`, able to empty the append-only audit log along with every other table.

Flushing wipes the entire database; the audit triggers (and those other apps registered with
`triggers.also_lift_on_wipe`) are lifted for that and put back.
"""

from contextlib import ExitStack

from django.core.management.commands import flush
from django.db import connections

from mederi.audit import triggers


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        with triggers.lifted(connection), ExitStack() as guards:
            for guard in triggers.OTHER_GUARDS:
                guards.enter_context(guard(connection))
            return super().handle(**options)
