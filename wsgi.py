"""Entry point for `gunicorn wsgi:app`."""

from fundraiser import create_app

app = create_app()
