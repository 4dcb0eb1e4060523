"""Entry point for `flask run` and the `flask` CLI."""

from fundraiser import create_app

app = create_app()
