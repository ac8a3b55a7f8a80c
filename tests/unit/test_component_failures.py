"""A component task that dies says so with its traceback; a cancelled or finished one says nothing."""

from __future__ import annotations

import asyncio
import logging

from tinykube.components import report_failure


def test_a_failed_component_is_logged_with_its_traceback(caplog):
    async def broken() -> None:
        raise RuntimeError("lease already exists")

    async def fine() -> None:
        return None

    async def forever() -> None:
        await asyncio.sleep(3600)

    async def main() -> None:
        tasks = [asyncio.create_task(broken(), name="node-agent"), asyncio.create_task(fine(), name="scheduler"),
                 asyncio.create_task(forever(), name="controller-manager")]
        for task in tasks:
            task.add_done_callback(report_failure)
        await asyncio.sleep(0)
        tasks[2].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    with caplog.at_level(logging.ERROR, logger="tinykube.components"):
        asyncio.run(main())
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == ["node-agent stopped by an error"]
    assert errors[0].exc_info and "lease already exists" in str(errors[0].exc_info[1])
