"""The app freezes its start-up objects out of full collections, and hands them back at the end."""

from __future__ import annotations

import gc
from typing import Any

from tests.ui.conftest import wait_until


async def test_startup_objects_are_frozen_while_the_app_runs_and_thawed_after(
    make_app: Any,
) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: gc.get_freeze_count() > 0)
    assert gc.get_freeze_count() == 0  # a test run of many apps keeps no app's garbage
