"""Who is acting, for whom, and with what rights.

Every repository call receives a `Context`. Identity and permissions are filled in by the
accounts app; until a caller is authenticated the context says so (`user_id=None`).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Context:
    user_id: int | None = None
    patient_id: str | None = None  # set for a patient user or a patient-scoped token
    scopes: frozenset[str] = field(default_factory=frozenset)
    remote_addr: str | None = None
    purpose: str = "treatment"
    is_system: bool = False
    user_name: str | None = None  # shown in the audit log: a username, or who the system acts as
    role: str | None = None  # the role the user acts in (clinician, front-desk, biller, patient, ...)

    @classmethod
    def system(cls, purpose: str = "system") -> "Context":
        """The server itself acting: importers, jobs, the demo loader."""
        return cls(is_system=True, purpose=purpose)
