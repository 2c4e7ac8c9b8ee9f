"""What can go wrong on the patient's questionnaire page, in words a patient can act on."""

from __future__ import annotations

from mederi.core.errors import Issue, MederiError

ASK_FRONT_DESK = "Ask the front desk for a new link."


class QuestionnaireLinkError(MederiError):
    """The link cannot be used (unknown, expired, already answered, visit cancelled).

    `title` and `advice` are shown to whoever holds the link, so they say nothing about the patient.
    """

    def __init__(self, title: str, advice: str, status: int, code: str):
        super().__init__([Issue(f"{title} {advice}", code=code)], status)
        self.title = title
        self.advice = advice

    @classmethod
    def unknown(cls) -> "QuestionnaireLinkError":
        return cls("This questionnaire link does not work.",
                   f"Check that the whole link was copied, or {ASK_FRONT_DESK[0].lower()}{ASK_FRONT_DESK[1:]}",
                   404, "not-found")

    @classmethod
    def expired(cls) -> "QuestionnaireLinkError":
        return cls("This questionnaire link has expired.", ASK_FRONT_DESK, 410, "expired")

    @classmethod
    def used(cls) -> "QuestionnaireLinkError":
        return cls("This questionnaire has already been answered. Thank you.",
                   "If you need to change an answer, tell the front desk or your care team at your visit.",
                   410, "duplicate")

    @classmethod
    def withdrawn(cls) -> "QuestionnaireLinkError":
        return cls("This questionnaire link no longer works: the visit it was for has changed.",
                   ASK_FRONT_DESK, 410, "deleted")


class InvalidAnswers(MederiError):
    """Some answers need the patient's attention; nothing was stored.

    `filled` holds the form as submitted (to show again with a message at each question) and
    `opened` the questionnaire page it was sent from.
    """

    def __init__(self, filled, opened=None):
        issues = [Issue(message, code="invalid", expression=link_id) for link_id, message in filled.errors.items()]
        super().__init__(issues, 400)
        self.filled = filled
        self.opened = opened
