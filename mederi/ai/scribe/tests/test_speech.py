"""Speech to text end to end (espeak-ng → WAV → transcript → turns → draft) and the recordings it refuses."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mederi.ai.scribe import diarise, drafting, speech
from mederi.ai.scribe.speech import Utterance
from mederi.ai.scribe.tests.conftest import needs_model, needs_speech


def _listen(path):
    audio = speech.decode(path)
    heard = speech.transcribe(audio)
    return diarise.turns(audio, heard.utterances)


@needs_speech
@needs_model
def test_a_spoken_visit_becomes_speaker_turns_and_a_draft_with_what_was_said(sounds):
    turns = _listen(sounds["visit"])

    said = " ".join(t.text for t in turns).lower()
    assert "chest pain" in said and "penicillin" in said and "140 over 90" in said and "pneumonia" in said
    assert turns[0].speaker == "doctor" and "what brings you" in turns[0].text.lower()
    allergy_turn = next(t for t in turns if "penicillin" in t.text.lower())
    assert allergy_turn.speaker == "patient"
    assert all(a.speaker != b.speaker for a, b in zip(turns, turns[1:]))  # consecutive turns are joined

    draft = drafting.draft_note([(t.speaker, t.text) for t in turns])
    found = {(f.kind, f.code): f for f in draft.findings}
    assert ("allergy", "70618") in found  # penicillins
    chest_pain = [f for f in draft.findings if f.code == "R07.9"]
    assert chest_pain and all(f.negated for f in chest_pain)  # "no chest pain" is not a problem
    assert ("problem", "J18.9") in found and not found[("problem", "J18.9")].negated
    assert any(f.kind == "vital" and f.value.startswith("140/90") for f in draft.findings)
    assert "chest pain" in draft.sections["review_of_systems"].lower()
    assert "pneumonia" in draft.sections["assessment_and_plan"].lower()


@needs_model
@pytest.mark.parametrize("name, message", [
    ("silent", "silent"), ("empty", "no sound"), ("text", "could not be read as audio"),
    ("corrupt", "could not be read as audio")])
def test_recordings_without_speech_or_not_audio_are_refused_with_a_reason(sounds, name, message):
    with pytest.raises(speech.SpeechRefused, match=message):
        speech.transcribe(speech.decode(sounds[name]))


@needs_speech
@needs_model
def test_speech_in_another_language_is_refused_rather_than_transcribed_into_invented_english(sounds):
    with pytest.raises(speech.SpeechRefused, match="could not be understood as English"):
        speech.transcribe(speech.decode(sounds["spanish"]))


def test_a_transcript_of_no_words_is_refused():
    with pytest.raises(speech.SpeechRefused, match="empty transcript"):
        speech._check_understood([Utterance(0.0, 2.0, "...", -0.3, 0.1)])


def _tone(hz: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * speech.SAMPLE_RATE)) / speech.SAMPLE_RATE
    # a voiced sound: a fundamental with two harmonics
    return (0.3 * np.sin(2 * np.pi * hz * t) + 0.1 * np.sin(4 * np.pi * hz * t) + 0.05 * np.sin(6 * np.pi * hz * t))


def test_two_voices_of_different_pitch_are_two_speakers_and_the_questioner_is_the_doctor():
    gap = np.zeros(int(0.3 * speech.SAMPLE_RATE))
    audio = np.concatenate([_tone(220, 1), gap, _tone(110, 1), gap, _tone(110, 1), gap, _tone(220, 1)])
    step = 1.3
    utterances = [Utterance(i * step, i * step + 1, text, -0.3, 0.1)
                  for i, text in enumerate(["I feel dizzy.", "Since when?", "Any fever?", "No."])]

    turns = diarise.turns(audio.astype(np.float32), utterances)

    assert [(t.speaker, t.text) for t in turns] == [
        ("patient", "I feel dizzy."), ("doctor", "Since when? Any fever?"), ("patient", "No.")]


def test_voices_that_sound_alike_take_turns_at_long_pauses():
    audio = np.concatenate([_tone(150, 6)]).astype(np.float32)
    utterances = [Utterance(0.0, 1.0, "How are you?", -0.3, 0.1), Utterance(1.2, 2.0, "Any pain?", -0.3, 0.1),
                  Utterance(3.5, 4.5, "Fine, thanks.", -0.3, 0.1)]

    turns = diarise.turns(audio, utterances)

    assert [(t.speaker, t.text) for t in turns] == [("doctor", "How are you? Any pain?"), ("patient", "Fine, thanks.")]


@given(st.lists(st.tuples(st.floats(0.05, 5), st.floats(0.1, 12)), min_size=1, max_size=60))
def test_windows_hold_every_stretch_of_speech_and_words_go_back_to_the_stretch_they_were_said_in(gaps_and_lengths):
    spans, moment = [], 0.0
    for gap, length in gaps_and_lengths:
        spans.append((moment + gap, moment + gap + length))
        moment += gap + length
    windows = speech.chunks_of(spans)
    assert all(end - start <= 28 or any(s == (start, end) for s in spans) for start, end in windows)
    assert all(any(ws <= start and end <= we for ws, we in windows) for start, end in spans)
    starts = [start for start, _ in spans]
    for index, (start, end) in enumerate(spans):
        assert speech._span_of((start + end) / 2, spans, starts) == index
