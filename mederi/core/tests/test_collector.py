"""The cycle collector is paused only while a batch runs, and always comes back."""

import gc

import pytest

from mederi.core import collector


def test_collection_resumes_after_the_last_of_overlapping_batches_even_when_one_fails():
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
        with pytest.raises(ValueError), collector.paused():
            raise ValueError("a bad file")
        assert not gc.isenabled()  # the outer batch is still running
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off():
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
