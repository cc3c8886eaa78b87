"""Entry point for gunicorn (``gunicorn wsgi:app``) and the flask command
(``flask --app wsgi …``). The configuration comes from TRAINING_TRACKER_ENV and the
environment; see config.py."""

from training_tracker import create_app

app = create_app()
