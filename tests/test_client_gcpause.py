"""The garbage collector is paused while a result is built, and always restored."""

import gc

import pytest

from workbench.client._gcpause import gc_paused


def test_gc_is_paused_inside_nested_blocks_and_restored_after_an_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with gc_paused():
            with gc_paused():
                assert not gc.isenabled()
            assert not gc.isenabled()
            raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_gc_disabled_by_the_user_stays_disabled():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
