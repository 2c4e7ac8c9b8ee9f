"""Who said what: utterances grouped into two speakers, then named doctor and patient.

What it does, simply: each utterance gets two voice measures, its median pitch (from the
autocorrelation of voiced 40 ms frames) and the centre of its spectrum; the utterances are split into
two groups by 2-means on those measures. When the two groups do not sound different enough (pitches
within 12 % of each other), the recording is taken as turn-taking instead: the speaker changes at
every pause longer than a second. The speaker who asks more questions is named the doctor; on a tie,
the one who spoke first.

Limits, plainly: it knows two speakers only (a third person, a parent or an interpreter, is put with
whichever of the two sounds closer); two voices of similar pitch fall back to the pause rule, which
is wrong whenever one person pauses and goes on; and the doctor-by-questions rule can swap the two,
which is why the transcript page lets the clinician swap the speakers with one click.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mederi.ai.scribe.speech import SAMPLE_RATE, Utterance

FRAME = int(0.04 * SAMPLE_RATE)
HOP = int(0.01 * SAMPLE_RATE)
PITCH_RANGE = (70.0, 400.0)  # Hz: adult and child speaking voices
SAME_VOICE = 0.12  # relative pitch difference under which two groups are taken as one kind of voice
TURN_PAUSE = 1.0  # seconds: the pause rule's change of speaker


@dataclass(frozen=True)
class Turn:
    speaker: str  # "doctor" or "patient"
    text: str
    start: float
    end: float


def voice_of(samples: np.ndarray) -> tuple[float, float]:
    """(median pitch in Hz, spectral centroid in Hz) of one utterance; pitch 0 when nothing is voiced."""
    if samples.size < FRAME:
        return 0.0, 0.0
    frames = np.lib.stride_tricks.sliding_window_view(samples, FRAME)[::HOP] * np.hanning(FRAME)
    energy = np.sqrt(np.mean(frames ** 2, axis=1))
    loud = frames[energy > max(energy.max() * 0.1, 1e-4)]
    if loud.shape[0] == 0:
        return 0.0, 0.0
    spectrum = np.abs(np.fft.rfft(loud, n=2 * FRAME, axis=1))
    freqs = np.fft.rfftfreq(2 * FRAME, 1 / SAMPLE_RATE)
    centroid = float(np.mean((spectrum * freqs).sum(axis=1) / np.maximum(spectrum.sum(axis=1), 1e-9)))
    correlation = np.fft.irfft(spectrum ** 2, axis=1)[:, :FRAME]
    low, high = int(SAMPLE_RATE / PITCH_RANGE[1]), int(SAMPLE_RATE / PITCH_RANGE[0])
    lags = np.argmax(correlation[:, low:high], axis=1) + low
    strength = correlation[np.arange(len(lags)), lags] / np.maximum(correlation[:, 0], 1e-9)
    voiced = lags[strength > 0.4]
    pitch = float(np.median(SAMPLE_RATE / voiced)) if voiced.size else 0.0
    return pitch, centroid


def _two_means(points: np.ndarray) -> np.ndarray:
    """Labels 0/1 of 2-means on standardised points, started from the lowest and highest pitch."""
    scaled = (points - points.mean(axis=0)) / np.maximum(points.std(axis=0), 1e-9)
    centres = scaled[[int(np.argmin(points[:, 0])), int(np.argmax(points[:, 0]))]]
    labels = np.zeros(len(points), dtype=int)
    for _ in range(20):
        distances = ((scaled[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels = np.argmin(distances, axis=1)
        if labels.min() == labels.max():
            break
        centres = np.array([scaled[labels == k].mean(axis=0) for k in (0, 1)])
    return labels


def _by_pauses(utterances: list[Utterance]) -> list[int]:
    labels, current = [], 0
    for index, utterance in enumerate(utterances):
        if index and utterance.start - utterances[index - 1].end > TURN_PAUSE:
            current = 1 - current
        labels.append(current)
    return labels


def speakers(audio: np.ndarray, utterances: list[Utterance]) -> list[int]:
    """A speaker number (0 or 1) for each utterance."""
    voices = [voice_of(audio[int(u.start * SAMPLE_RATE):int(u.end * SAMPLE_RATE)]) for u in utterances]
    pitched = [v for v in voices if v[0] > 0]
    if len(utterances) < 2 or len(pitched) < 2:
        return _by_pauses(utterances)
    points = np.array([v if v[0] > 0 else (np.median([p[0] for p in pitched]), v[1]) for v in voices])
    labels = _two_means(points)
    if labels.min() == labels.max():
        return _by_pauses(utterances)
    low, high = sorted(float(np.median(points[labels == k, 0])) for k in (0, 1))
    if (high - low) / high < SAME_VOICE:
        return _by_pauses(utterances)
    return [int(label) for label in labels]


def turns(audio: np.ndarray, utterances: list[Utterance]) -> list[Turn]:
    """The utterances as turns: consecutive utterances of one speaker joined, speakers named."""
    if not utterances:
        return []
    labels = speakers(audio, utterances)
    questions = [0, 0]
    for label, utterance in zip(labels, utterances):
        questions[label] += utterance.text.count("?")
    doctor = labels[0] if questions[0] == questions[1] else int(questions[1] > questions[0])
    joined: list[Turn] = []
    for label, utterance in zip(labels, utterances):
        name = "doctor" if label == doctor else "patient"
        if joined and joined[-1].speaker == name:
            last = joined[-1]
            joined[-1] = Turn(name, f"{last.text} {utterance.text}", last.start, utterance.end)
        else:
            joined.append(Turn(name, utterance.text, utterance.start, utterance.end))
    return joined
