"""Process-wide settings for ``weipay serve``."""

from __future__ import annotations

import gc

from weipay.service.api import freeze_startup_heap


def test_freeze_startup_heap_exempts_live_objects_from_later_collections() -> None:
    gc.unfreeze()
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > 1000  # the interpreter's and the test session's objects
        assert gc.collect() < 1000  # what is left to walk is only what was allocated since
    finally:
        gc.unfreeze()
