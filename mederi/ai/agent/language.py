"""Is a message in English? A small offline check, enough to hand other languages to a person.

Scripts other than Latin say it at once; for Latin-script text the function words of the languages a
US practice hears most are counted against English ones. Short texts ("ok", "2", "Tue 9am") stay
English: only a clear majority of foreign words, or at least two of them, names another language.
"""

from __future__ import annotations

import re
import unicodedata

# Common, short function words of each language that are not also English words.
FUNCTION_WORDS = {
    "Spanish": {"hola", "quiero", "cita", "mañana", "manana", "gracias", "por", "favor", "necesito", "puedo",
                "usted", "estoy", "llegar", "tarde", "el", "los", "las", "una", "para", "con", "mi", "su", "que",
                "es", "del", "cancelar", "está", "esta", "buenos", "días", "dias", "medicina", "receta", "hablar",
                "cuando", "dónde", "donde", "horario", "pero", "muy", "soy", "tengo", "pagar", "cuenta"},
    "French": {"bonjour", "je", "rendez-vous", "rendez", "vous", "merci", "est", "les", "une", "pour", "avec",
               "mon", "suis", "retard", "annuler", "demain", "besoin", "ordonnance", "ou", "sont", "heures",
               "votre", "nous", "pas", "oui", "facture", "parler", "quelqu'un"},
    "Portuguese": {"olá", "ola", "obrigado", "obrigada", "consulta", "amanhã", "amanha", "preciso", "não", "nao",
                   "você", "voce", "estou", "atrasado", "atrasada", "minha", "meu", "para", "uma", "com",
                   "remarcar", "horário", "receita", "conta"},
    "German": {"hallo", "ich", "termin", "morgen", "danke", "bitte", "nicht", "und", "ist", "mein", "meine",
               "absagen", "verspätung", "spät", "rezept", "rechnung", "sprechen", "wann", "geöffnet", "habe"},
    "Italian": {"ciao", "buongiorno", "appuntamento", "grazie", "domani", "sono", "ritardo", "annullare", "ho",
                "bisogno", "della", "il", "per", "ricetta", "parlare", "quando", "aperto"},
    "Vietnamese": {"tôi", "toi", "muốn", "muon", "hẹn", "lịch", "cảm", "ơn", "không", "khong", "được", "bác", "sĩ"},
    "Tagalog": {"po", "ako", "ang", "ng", "salamat", "gusto", "kong", "bukas", "hindi", "naman", "sa", "mga"},
}
ENGLISH = {"i", "the", "a", "an", "to", "my", "is", "are", "you", "your", "me", "can", "will", "be", "for", "of",
           "in", "on", "at", "and", "it", "this", "that", "we", "do", "what", "when", "need", "have", "please",
           "appointment", "tomorrow", "thanks", "thank", "yes", "no", "not", "with", "late", "cancel", "time",
           "refill", "bill", "open", "hours", "where", "how", "help", "want", "am", "there", "see", "dr"}
# Words that are both English and a listed language's function word: no evidence either way.
_SHARED = {"es", "est", "para", "con", "su", "ho", "il", "po", "sa", "ng", "mi"}
SCRIPTS = (("CJK", "Chinese or Japanese"), ("HANGUL", "Korean"), ("ARABIC", "Arabic"), ("CYRILLIC", "Russian"),
           ("HEBREW", "Hebrew"), ("DEVANAGARI", "Hindi"), ("THAI", "Thai"), ("GREEK", "Greek"),
           ("HIRAGANA", "Japanese"), ("KATAKANA", "Japanese"), ("BENGALI", "Bengali"), ("GURMUKHI", "Punjabi"))
# A short line in the patient's language, added to the English answer when we know one.
HANDOVER_LINES = {
    "Spanish": "Una persona de nuestro equipo le responderá pronto.",
    "French": "Une personne de notre équipe vous répondra bientôt.",
    "Portuguese": "Uma pessoa da nossa equipe responderá em breve.",
    "German": "Eine Person aus unserem Team antwortet Ihnen bald.",
    "Italian": "Una persona del nostro team le risponderà presto.",
}


def _script_language(text: str) -> str | None:
    counts: dict[str, int] = {}
    letters = 0
    for char in text:
        if not char.isalpha():
            continue
        letters += 1
        name = unicodedata.name(char, "")
        for marker, language in SCRIPTS:
            if marker in name:
                counts[language] = counts.get(language, 0) + 1
                break
    if not letters or not counts:
        return None
    language, count = max(counts.items(), key=lambda item: item[1])
    return language if count * 3 >= letters else None


def detect_language(text: str) -> str:
    """'English', or the name of the language the text seems to be in."""
    by_script = _script_language(text)
    if by_script:
        return by_script
    words = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", text.lower())
    english = sum(1 for w in words if w in ENGLISH)
    best, best_count = "English", 0
    for language, vocabulary in FUNCTION_WORDS.items():
        count = sum(1 for w in words if w in vocabulary and w not in _SHARED)
        if count > best_count:
            best, best_count = language, count
    if best_count >= 2 and best_count > english:
        return best
    if best_count == 1 and english == 0 and len(words) <= 2 and any(w in FUNCTION_WORDS[best] for w in words
                                                                     if len(w) > 3):
        return best
    return "English"
