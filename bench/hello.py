"""The baseline: a hello-world Flask app, served by the same gunicorn settings as ours."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"


@app.get("/healthz")
def healthz():
    return "ok"
