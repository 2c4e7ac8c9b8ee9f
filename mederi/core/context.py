"""Who is acting, for whom, and with what rights.

Every repository call receives a `Context`. The accounts app builds it from the session or the
OAuth token of a request; the record (`fhir.access`) decides from it what the caller may reach.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Context:
    user_id: int | None = None
    patient_id: str | None = None  # set for a patient user or a patient-scoped token: their compartment only
    # SMART scopes of the token the request came with; None when no token limits the caller
    # (a signed-in person in the web pages, the server itself).
    scopes: frozenset[str] | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)  # codes of accounts.permissions
    emergency_patients: frozenset[str] = field(default_factory=frozenset)  # break-the-glass grants in force
    remote_addr: str | None = None
    purpose: str = "treatment"
    is_system: bool = False
    user_name: str | None = None  # shown in the audit log: a username, or who the system acts as
    role: str | None = None  # the role the user acts in (clinician, front-desk, biller, patient, ...)
    client_id: str | None = None  # the OAuth client acting for the user, if any
    location_id: str | None = None  # the Location the user works at now: roles given for it apply

    @classmethod
    def system(cls, purpose: str = "system") -> "Context":
        """The server itself acting: importers, jobs, the demo loader."""
        return cls(is_system=True, purpose=purpose)

    def require(self, permission: str, refusal: str) -> None:
        """Refuse (Forbidden, saying `refusal`) unless the server itself acts or a role grants `permission`."""
        if not self.is_system and permission not in self.permissions:
            from mederi.core.errors import Forbidden

            raise Forbidden(refusal)

    @property
    def authenticated(self) -> bool:
        return self.is_system or self.user_id is not None or self.client_id is not None
