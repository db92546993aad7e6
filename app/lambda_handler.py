"""AWS Lambda entry points.

`handler` serves Discord's interactions through Mangum over the same Starlette app the container runs.
The app, its engine and clients are created at module level (lazily where they cost anything) and reused
across warm invocations. `scheduled` does one pass of the periodic work.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mangum import Mangum

from app.bootstrap import scheduled_pass
from app.logging import configure_logging
from app.settings import get_settings
from app.web import create_app

_settings = get_settings()
configure_logging(_settings.log_level)
app = create_app(_settings)
handler = Mangum(app, lifespan="off")


def scheduled(event: dict[str, Any], context: Any) -> dict[str, Any]:
    hunch = app.state.endpoint.backend
    loop = asyncio.get_event_loop()
    result: dict[str, Any] = loop.run_until_complete(scheduled_pass(hunch))
    return result
