"""Spoken test visits (espeak-ng), synthesised once per run, and the visit-note practice to draft into."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from mederi.ai.scribe import synthesis
from mederi.clinical.notes.tests.conftest import doctor, frozen, practice  # noqa: F401 (fixtures)

needs_speech = pytest.mark.skipif(not synthesis.available(), reason="espeak-ng and sox are not installed")

SPANISH = ("Buenos días doctor. Tengo tos desde hace dos semanas y soy alérgico a la penicilina. "
           "Tomo lisinopril diez miligramos al día. Me duele la cabeza por las mañanas.")


def _model_installed() -> bool:
    try:
        from mederi.ai.scribe import speech

        return (speech.model_path() / "model.bin").exists()
    except ImportError:
        return False


needs_model = pytest.mark.skipif(not _model_installed(), reason="faster-whisper or its tiny.en model is not installed")


def write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as stream:
        stream.setnchannels(1)
        stream.setsampwidth(2)
        stream.setframerate(16000)
        stream.writeframes(samples.astype(np.int16).tobytes())
    return path


@pytest.fixture(scope="session")
def sounds(tmp_path_factory) -> dict[str, Path]:
    """The short visit, the same visit in Spanish, silence, and files that are not audio."""
    folder = tmp_path_factory.mktemp("sounds")
    found = {
        "silent": write_wav(folder / "silent.wav", np.zeros(16000 * 5)),
        "empty": write_wav(folder / "empty.wav", np.zeros(0)),
        "text": folder / "notes.wav",
        "corrupt": folder / "corrupt.ogg",
    }
    found["text"].write_text("Patient has a cough. This is a note, not a recording.\n")
    found["corrupt"].write_bytes(b"OggS" + bytes(range(256)) * 40)
    if synthesis.available():
        found["visit"] = folder / "visit.wav"
        synthesis.synthesise(synthesis.SHORT_VISIT, found["visit"])
        found["spanish"] = folder / "spanish.wav"
        if shutil.which("espeak-ng"):
            synthesis.VOICES.setdefault("spanish", ("es", "50"))
            synthesis.synthesise([("spanish", SPANISH)], found["spanish"])
    return found


@pytest.fixture
def audio_dir(settings, tmp_path):
    settings.MEDERI_SCRIBE_AUDIO_DIR = tmp_path / "scribe-audio"
    return settings.MEDERI_SCRIBE_AUDIO_DIR
