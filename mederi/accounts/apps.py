from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_default_roles(sender, **kwargs):
    from mederi.accounts.services import ensure_default_roles

    ensure_default_roles()


class AccountsConfig(AppConfig):
    name = "mederi.accounts"
    label = "accounts"

    def ready(self):
        # The shipped roles follow the code: every migrate brings them in step.
        post_migrate.connect(_sync_default_roles, sender=self)
        # Sign-ins, sign-outs, failures and lockouts go to the audit log.
        from mederi.accounts import signals

        signals.connect()
