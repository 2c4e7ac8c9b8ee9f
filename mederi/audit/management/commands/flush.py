"""Django's `flush`, able to empty the append-only audit log along with every other table.

Flushing wipes the entire database; the audit triggers are lifted for that and put back.
"""

from django.core.management.commands import flush
from django.db import connections

from mederi.audit import triggers


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        with triggers.lifted(connection):
            return super().handle(**options)
