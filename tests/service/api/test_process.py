"""Process-wide settings for ``weipay serve``."""

from __future__ import annotations

import gc

from weipay.service.api import freeze_startup_heap


def test_freeze_startup_heap_exempts_live_objects_from_later_collections() -> None:
    gc.unfreeze()
    tracked = len(gc.get_objects())  # what a full collection walks now
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > tracked // 2
        assert len(gc.get_objects()) < tracked // 100  # what is left to walk: only what comes later
    finally:
        gc.unfreeze()
