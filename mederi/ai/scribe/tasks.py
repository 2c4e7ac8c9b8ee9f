"""The scribe's background job: a recording transcribed and drafted while the page shows progress."""

from __future__ import annotations

from huey.contrib.djhuey import db_task


@db_task()
def transcribe_recording(recording_id: int) -> str:
    from mederi.ai.scribe import services

    recording = services.process(recording_id)
    return f"recording {recording_id}: {recording.status}"
