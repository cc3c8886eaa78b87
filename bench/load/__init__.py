"""The HTTP load test: gunicorn, signed-in users browsing their pages (see bench/load/run.py)."""
