"""Errors that carry what a caller needs to act on them.

A `MederiError` holds one or more issues (severity, code, diagnostics, element path) and the
HTTP status the API answers with. The FHIR API renders it as an OperationOutcome; the CLI and
the UI print its diagnostics.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Issue:
    diagnostics: str
    code: str = "invalid"  # FHIR IssueType code
    severity: str = "error"
    expression: str | None = None  # FHIRPath-like element path, e.g. Patient.name[0].given

    def as_fhir(self) -> dict:
        issue = {"severity": self.severity, "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = [self.expression]
        return issue


@dataclass
class MederiError(Exception):
    issues: list[Issue] = field(default_factory=list)
    status: int = 400

    def __str__(self) -> str:
        return "; ".join(
            f"{i.expression}: {i.diagnostics}" if i.expression else i.diagnostics for i in self.issues
        )

    @classmethod
    def single(cls, diagnostics: str, code: str = "invalid", expression: str | None = None, **kw):
        return cls(issues=[Issue(diagnostics, code=code, expression=expression)], **kw)


def operation_outcome(issues: list[Issue]) -> dict:
    return {"resourceType": "OperationOutcome", "issue": [i.as_fhir() for i in issues]}


class InvalidResource(MederiError):
    """The resource breaks a rule of FHIR R4; nothing was written."""


class InvalidRequest(MederiError):
    """The request itself (parameters, headers, body) cannot be understood."""


class NotFound(MederiError):
    def __init__(self, diagnostics: str):
        super().__init__([Issue(diagnostics, code="not-found")], 404)


class Gone(MederiError):
    def __init__(self, diagnostics: str):
        super().__init__([Issue(diagnostics, code="deleted")], 410)


class Conflict(MederiError):
    def __init__(self, diagnostics: str, code: str = "conflict"):
        super().__init__([Issue(diagnostics, code=code)], 409)


class PreconditionFailed(MederiError):
    def __init__(self, diagnostics: str):
        super().__init__([Issue(diagnostics, code="conflict")], 412)


class Forbidden(MederiError):
    def __init__(self, diagnostics: str):
        super().__init__([Issue(diagnostics, code="forbidden")], 403)


class Unauthenticated(MederiError):
    def __init__(self, diagnostics: str = "sign in first: send an OAuth bearer token "
                 "(see .well-known/smart-configuration)"):
        super().__init__([Issue(diagnostics, code="login")], 401)
