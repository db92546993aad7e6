"""The ASGI application for uvicorn (`app.asgi:app`)."""

from app.logging import configure_logging
from app.settings import get_settings
from app.web import create_app

configure_logging(get_settings().log_level)
app = create_app()
