"""The AI scribe's speed on a 10-minute visit (aims: transcription at least 5x faster than real time;
the draft ready within a minute of the end of the visit).

The visit is synthesised with espeak-ng: the doctor and patient turns of ACI-Bench *training*
dialogues, read in two voices, until the recording is 10 minutes long. The script then times, in
one process with the model already loaded (as in the worker): decoding the WAV, cutting it into
utterances and transcribing them (faster-whisper, tiny.en, CPU int8, 2 threads), telling the
speakers apart, and drafting the note.

    .venv/bin/python benchmarks/bench_scribe.py [--minutes 10]

Results: var/bench/scribe.json and a line on stdout.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, ROOT, machine  # noqa: E402

sys.path.insert(0, str(ROOT))
TRAIN = ROOT.parent / "shared" / "data" / "scribe" / "aci-bench-train.csv"


def visit_lines(seconds: float) -> list[tuple[str, str]]:
    """Doctor and patient turns of the training dialogues, about `seconds` long when read at 150 words/min."""
    lines, words = [], 0.0
    with TRAIN.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for speaker, text in re.findall(r"\[(doctor|patient)\]\s*(.+)", row["dialogue"]):
                text = re.sub(r"\s+([,.?!])", r"\1", text).strip()
                if not text:
                    continue
                lines.append((speaker, text[:400]))
                words += len(text[:400].split())
                if words / 150 * 60 + 0.8 * len(lines) >= seconds:
                    return lines
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mederi.settings")
    import django

    django.setup()
    from mederi.ai.scribe import diarise, drafting, speech, synthesis

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    wav = BENCH_DIR / "scribe-visit.wav"
    began = time.perf_counter()
    length = synthesis.synthesise(visit_lines(args.minutes * 60), wav)
    synthesised = time.perf_counter() - began

    speech._model()  # loaded once per worker process; timed apart
    timings = {}
    began = time.perf_counter()
    audio = speech.decode(wav)
    timings["decode_s"] = time.perf_counter() - began
    began, cpu = time.perf_counter(), time.process_time()
    heard = speech.transcribe(audio)
    timings["transcribe_s"] = time.perf_counter() - began
    transcribe_cpu = time.process_time() - cpu
    began = time.perf_counter()
    turns = diarise.turns(audio, heard.utterances)
    timings["speakers_s"] = time.perf_counter() - began
    began = time.perf_counter()
    draft = drafting.draft_note([(t.speaker, t.text) for t in turns])
    timings["draft_s"] = time.perf_counter() - began
    total = sum(timings.values())
    result = {
        "audio_s": round(length, 1), "synthesis_s": round(synthesised, 1), "utterances": len(heard.utterances),
        "turns": len(turns), "findings": len(draft.findings),
        **{k: round(v, 2) for k, v in timings.items()}, "total_s": round(total, 2),
        "realtime_factor_transcription": round(length / (timings["decode_s"] + timings["transcribe_s"]), 1),
        "realtime_factor_all": round(length / total, 1),
        # CPU seconds of both threads: on a shared machine the wall time mostly measures the other work
        "transcribe_cpu_s": round(transcribe_cpu, 1),
        "realtime_factor_cpu_two_cores": round(length / (transcribe_cpu / 2), 1), "machine": machine(),
    }
    (BENCH_DIR / "scribe.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(f"{length / 60:.1f} min of audio: transcribed in {timings['decode_s'] + timings['transcribe_s']:.1f} s "
          f"({result['realtime_factor_transcription']}x real time), draft ready {total:.1f} s after the end "
          f"({len(heard.utterances)} utterances, {len(turns)} turns, {len(draft.findings)} findings); "
          f"transcription used {transcribe_cpu:.0f} CPU seconds")


if __name__ == "__main__":
    main()
