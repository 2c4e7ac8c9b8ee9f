"""Spoken test visits: a scripted dialogue read by espeak-ng in two voices, as one 16 kHz WAV.

Used by the end-to-end tests, the browser test's fake microphone and the speed benchmark; each line
is synthesised on its own and joined with a short pause, the doctor and the patient at different
pitches so that they sound like two people.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

VOICES = {"doctor": ("en-gb", "50"), "patient": ("en-us+f2", "50")}
PAUSE_SECONDS = 0.8
RATE = 16000


def available() -> bool:
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


def _line(text: str, speaker: str, folder: Path, index: int) -> np.ndarray:
    voice, pitch = VOICES[speaker]
    raw, resampled = folder / f"{index}.wav", folder / f"{index}-16k.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-p", pitch, "-s", "150", "-w", str(raw), text], check=True)
    subprocess.run(["sox", "-G", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(resampled)], check=True)
    with wave.open(str(resampled)) as stream:
        return np.frombuffer(stream.readframes(stream.getnframes()), dtype=np.int16)


def synthesise(lines: list[tuple[str, str]], target: Path) -> float:
    """Write (speaker, text) lines as one WAV at `target`; returns its length in seconds."""
    pause = np.zeros(int(PAUSE_SECONDS * RATE), dtype=np.int16)
    with tempfile.TemporaryDirectory() as folder:
        pieces = []
        for index, (speaker, text) in enumerate(lines):
            pieces += [_line(text, speaker, Path(folder), index), pause]
    samples = np.concatenate([pause, *pieces])
    with wave.open(str(target), "wb") as stream:
        stream.setnchannels(1)
        stream.setsampwidth(2)
        stream.setframerate(RATE)
        stream.writeframes(samples.tobytes())
    return samples.size / RATE


SHORT_VISIT = [
    ("doctor", "Good morning. What brings you in today?"),
    ("patient", "I have had a cough for two weeks."),
    ("doctor", "Do you have any chest pain?"),
    ("patient", "No chest pain. I am allergic to penicillin."),
    ("doctor", "Do you have any other problems?"),
    ("patient", "I have diabetes."),
    ("doctor", "Your blood pressure today is one hundred forty over ninety."),
    ("doctor", "I think this is pneumonia."),
    ("patient", "Thank you, doctor."),
]
