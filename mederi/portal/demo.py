"""The demo practice's pre-visit questionnaire (Questionnaire/demo-previsit, url PREVISIT_URL, active).

`load_demo(today)` writes it with a fixed id: loading it again changes nothing.
"""

from __future__ import annotations

from datetime import date

from mederi.core.context import Context
from mederi.fhir.questionnaires import MAX_VALUE, MIN_VALUE
from mederi.fhir.repository import Repository
from mederi.portal.records import PREVISIT_URL

QUESTIONNAIRE_ID = "demo-previsit"
SNOMED = "http://snomed.info/sct"

PREVISIT_QUESTIONNAIRE = {
    "resourceType": "Questionnaire",
    "id": QUESTIONNAIRE_ID,
    "url": PREVISIT_URL,
    "version": "1",
    "name": "PreVisitQuestionnaire",
    "title": "Before your visit",
    "status": "active",
    "subjectType": ["Patient"],
    "date": "2026-01-01",
    "publisher": "Riverside Family Medicine",
    "description": "Your answers help your care team prepare. Only your care team sees them.",
    "item": [
        {"linkId": "reason", "text": "What is the main reason for your visit?", "type": "text", "required": True,
         "maxLength": 2000},
        {"linkId": "symptoms-start", "text": "When did your symptoms start?", "type": "date"},
        {"linkId": "pain", "text": "How much pain are you in right now, from 0 (none) to 10 (the worst)?",
         "type": "integer",
         "extension": [{"url": MIN_VALUE, "valueInteger": 0}, {"url": MAX_VALUE, "valueInteger": 10}]},
        {"linkId": "new-medications", "text": "Have you started any new medicines since your last visit?",
         "type": "boolean"},
        {"linkId": "new-medications-which", "text": "Which new medicines, and how much do you take?",
         "type": "text", "required": True, "maxLength": 2000,
         "enableWhen": [{"question": "new-medications", "operator": "=", "answerBoolean": True}]},
        {"linkId": "allergies-changed", "text": "Have your allergies changed since your last visit?",
         "type": "boolean"},
        {"linkId": "smoking", "text": "Do you smoke tobacco?", "type": "choice", "answerOption": [
            {"valueCoding": {"system": SNOMED, "code": "266919005", "display": "Never smoked"}},
            {"valueCoding": {"system": SNOMED, "code": "8517006", "display": "Used to smoke"}},
            {"valueCoding": {"system": SNOMED, "code": "77176002", "display": "Smoke now"}},
        ]},
        {"linkId": "anything-else", "text": "Is there anything else you would like us to know?", "type": "text",
         "maxLength": 2000},
    ],
}


def load_demo(today: date) -> str:
    """Write the pre-visit questionnaire (unchanged when already there); returns its id."""
    Repository(Context.system("demo")).update("Questionnaire", QUESTIONNAIRE_ID, PREVISIT_QUESTIONNAIRE)
    return QUESTIONNAIRE_ID
