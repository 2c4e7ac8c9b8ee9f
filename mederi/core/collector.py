"""Pausing Python's cycle collector for one large batch (posting an 835 of thousands of claims).

Such a batch builds hundreds of thousands of long-lived objects (parsed segments, claims, FHIR
resources, ledger drafts) in a few seconds; the collector, triggered by that allocation, walks all
of them again and again although reference counting frees nearly everything the batch discards.
Measured on a 10,000-claim remittance it was a quarter of the CPU time. The pause is counted, so
overlapping batches on other threads resume collection only when the last one ends.
"""

from __future__ import annotations

import contextlib
import gc
import threading

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextlib.contextmanager
def paused():
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
