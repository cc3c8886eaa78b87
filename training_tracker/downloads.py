"""The one way a view answers with a file to download (CSV or XLSX), so every download carries
the same headers: one ``charset`` on CSV, an attachment name, and no caching of personal data."""

from __future__ import annotations

from flask import Response

# Werkzeug appends "; charset=utf-8" to a text/* mimetype by itself; a mimetype that already
# names its charset would get a second one. So CSV is given bare and the charset comes once.
MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def file_download(body: bytes, filename: str, file_format: str) -> Response:
    """``body`` as an attachment named ``filename``; ``file_format`` is "csv" or "xlsx"."""
    response = Response(body, mimetype=MIMETYPES[file_format])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
