"""Visit notes keep no tables of their own: encounters, templates (Questionnaires), answers
(QuestionnaireResponses) and notes (Compositions) are all in the record. This module exists so
Django sends this app the post-migrate signal that loads the shipped templates."""
