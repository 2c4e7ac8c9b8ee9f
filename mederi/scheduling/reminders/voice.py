"""Reminder calls, spoken by the practice and answered by the patient's voice.

The reminder is read aloud by espeak-ng on this machine, not by the provider's voice: the call's
TwiML tells the provider to <Play> that audio from Mederi, then to <Record> what the patient says.
The provider POSTs the recording's address to the answer webhook (signed like every callback);
Mederi fetches the recording, transcribes it offline (faster-whisper with Whisper tiny.en, the
scribe's engine: no audio leaves the machine for a speech service) and acts on the words as on a
text reply: "yes" confirms, "cancel" cancels, anything else goes to the front-desk agent when one
listens. The answer is spoken back the same way. While the answer asks the patient something (slots
offered, "cancel it?") the call records again, up to MAX_TURNS answers; an answer that cannot be
heard is asked for once more, then staff call back (the reply log says so).

Audio addresses carry a signed, short-lived token naming what to say (a reminder or a reply), so
neither the text nor the patient is in the address and no one else can make Mederi speak.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from xml.sax.saxutils import escape, quoteattr

import requests
from django.core import signing
from django.urls import reverse

from mederi.core import clock
from mederi.scheduling.reminders.channels import setting
from mederi.scheduling.reminders.incoming import receive_spoken_reply
from mederi.scheduling.reminders.models import VOICE, ReminderMessage, ReminderReply

log = logging.getLogger(__name__)
SALT = "mederi.reminders.voice-audio"
AUDIO_MAX_AGE = 2 * 3600  # the provider fetches the audio during the call; a queued call may wait a while
RECORD_SECONDS = 15
MAX_RECORDING_BYTES = 4_000_000  # 15 s of 16-bit audio at 44.1 kHz is 1.3 MB
MAX_TURNS = 4
UNHEARD_TRIES = 2
PROMPT = "After the tone, say yes to confirm, or cancel to cancel. You can also ask for another time."
NOT_HEARD = "Sorry, I did not catch that. "
CALL_BACK = ("We could not understand your answer. A member of our staff will call you back. Goodbye.")


class VoiceUnavailable(Exception):
    """The call cannot be spoken or heard here; the message says what to set up."""


def available() -> bool:
    return shutil.which("espeak-ng") is not None


def speak(text: str) -> bytes:
    """`text` read aloud by espeak-ng, as a WAV file (mono, 16-bit)."""
    if not available():
        raise VoiceUnavailable("espeak-ng is not installed: install the Debian package espeak-ng to make calls")
    done = subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "--stdout", text], capture_output=True,
                          timeout=30, check=False)
    if done.returncode != 0 or not done.stdout.startswith(b"RIFF"):
        raise VoiceUnavailable(f"espeak-ng could not read the text aloud: {done.stderr.decode(errors='replace')[:200]}")
    return done.stdout


def spoken(text: str) -> str:
    """A written answer in words for the ear: what a text asks to "reply", a call asks to "say"."""
    text = re.sub(r"\b[Rr]eply C to confirm,? or X to cancel", "Say yes to confirm, or cancel to cancel", text)
    text = re.sub(r"\b([Rr])eply (with )?(?=the number|YES\b|NO\b|NONE\b)",
                  lambda m: ("S" if m.group(1) == "R" else "s") + "ay ", text)
    return re.sub(r"\b(YES|NO|NONE)\b", lambda m: m.group(1).lower(), text)


def _absolute(path: str) -> str:
    base = setting("MEDERI_REMINDER_WEBHOOK_BASE", "")
    if not base:
        raise VoiceUnavailable("calls need MEDERI_REMINDER_WEBHOOK_BASE: the provider fetches the spoken reminder "
                               "from Mederi and sends the patient's answer back to it")
    return base.rstrip("/") + path


def audio_url(kind: str, pk: int, final: bool = False) -> str:
    token = signing.dumps([kind, pk, final], salt=SALT)
    return _absolute(reverse("reminders:voice-audio", args=[token]))


def _answer_url(message_id: int, turn: int) -> str:
    return _absolute(reverse("reminders:voice-answer", args=[message_id]) + f"?turn={turn}")


def _listen(message_id: int, turn: int) -> str:
    # After the recording the provider asks the action URL what next; with nothing recorded it goes on
    # to the next verb, so an unanswered call ends politely.
    return (f"<Record action={quoteattr(_answer_url(message_id, turn))} method=\"POST\" "
            f"maxLength=\"{RECORD_SECONDS}\" timeout=\"3\" playBeep=\"true\" trim=\"trim-silence\"/>")


def call_twiml(message: ReminderMessage) -> str:
    """What the provider does when the patient picks up: play the reminder, record the answer.
    VoiceUnavailable says what to set up when calls cannot be made from here."""
    if not available():
        raise VoiceUnavailable("espeak-ng is not installed: install the Debian package espeak-ng to make reminder "
                               "calls")
    return (f"<Response><Play>{escape(audio_url('call', message.pk))}</Play>{_listen(message.pk, 1)}"
            "<Hangup/></Response>")


def text_of(token: str) -> str | None:
    """The words an audio token stands for, or None when it is forged, expired or names nothing."""
    try:
        kind, pk, final = signing.loads(token, salt=SALT, max_age=AUDIO_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if kind == "call":
        message = ReminderMessage.objects.filter(pk=pk, channel=VOICE).first()
        return f"{message.body} {PROMPT}" if message and message.body else None
    if kind == "reply":
        reply = ReminderReply.objects.filter(pk=pk).first()
        if reply is None or not reply.detail:
            return None
        return spoken(reply.detail) + (" Goodbye." if final and not reply.detail.endswith("Goodbye.") else "")
    return None


def _fetch_recording(url: str) -> bytes:
    """The recording the provider made, as WAV (its recordings are private: fetched with the account's key)."""
    if not re.match(r"^https?://", url or ""):
        raise VoiceUnavailable("the provider sent no recording address")
    auth = (setting("MEDERI_SMS_ACCOUNT_SID", ""), setting("MEDERI_SMS_AUTH_TOKEN", ""))
    try:
        with requests.get(url if url.endswith(".wav") else url + ".wav", auth=auth, stream=True, timeout=10,
                          verify=setting("MEDERI_SMS_CA_FILE", None) or True) as response:
            if response.status_code != 200:
                raise VoiceUnavailable(f"the provider answered HTTP {response.status_code} for the recording")
            data = bytearray()
            for piece in response.iter_content(65536):
                data += piece
                if len(data) > MAX_RECORDING_BYTES:
                    raise VoiceUnavailable("the recording is longer than an answer can be")
            return bytes(data)
    except requests.RequestException as error:
        raise VoiceUnavailable(f"the recording could not be fetched: {error}") from error


def _transcribe(audio: bytes) -> str:
    # The scribe's offline engine; imported here so that the reminders load without the speech models.
    from mederi.ai.scribe import speech

    with tempfile.NamedTemporaryFile(suffix=".wav") as file:
        file.write(audio)
        file.flush()
        try:
            transcript = speech.transcribe(speech.decode(file.name))
        except speech.SpeechRefused as refused:
            raise VoiceUnavailable(str(refused)) from refused
    return " ".join(u.text for u in transcript.utterances).strip()


def answer_in_words(message: ReminderMessage, words: str):
    """The local stand-in's call: `words` spoken by espeak-ng, heard by the transcriber and acted on as a
    call's recorded answer. Returns (what was heard, the ReplyOutcome); VoiceUnavailable when not heard."""
    heard = _transcribe(speak(words))
    return heard, receive_spoken_reply(message, heard, "local-call")


def answer_call(message_id: int, recording_url: str, call_sid: str, turn: int) -> str:
    """The TwiML that goes on after the patient's answer number `turn`."""
    message = ReminderMessage.objects.filter(pk=message_id, channel=VOICE).first()
    if message is None:
        return "<Response><Hangup/></Response>"
    try:
        heard = _transcribe(_fetch_recording(recording_url))
    except VoiceUnavailable as problem:
        unheard = ReminderReply.objects.filter(message=message, outcome=ReminderReply.UNCLEAR, body="").count() + 1
        again = unheard < UNHEARD_TRIES and turn < MAX_TURNS
        answer = NOT_HEARD + PROMPT if again else CALL_BACK
        reply = ReminderReply.objects.create(
            message=message, from_number=message.recipient, body="", outcome=ReminderReply.UNCLEAR,
            detail=answer, provider_message_id=call_sid[:255], received_at=clock.now())
        log.info("reminders: the answer to call %s was not understood: %s", message.pk, problem)
        return _say_then(reply.pk, message.pk, turn, listen=again)
    outcome = receive_spoken_reply(message, heard, call_sid[:255])
    if not outcome.answer:
        return "<Response><Hangup/></Response>"
    return _say_then(outcome.reply_id, message.pk, turn, listen=outcome.awaiting and turn < MAX_TURNS)


def _say_then(reply_id: int, message_id: int, turn: int, *, listen: bool) -> str:
    play = f"<Play>{escape(audio_url('reply', reply_id, final=not listen))}</Play>"
    return f"<Response>{play}{_listen(message_id, turn + 1) if listen else ''}<Hangup/></Response>"
