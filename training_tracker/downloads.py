"""The one way a view answers with a file to download (CSV, XLSX, a calendar invitation or a
PDF), so every download carries
the same headers: one ``charset`` on CSV, an attachment name, and no caching of personal data."""

from __future__ import annotations

from flask import Response

# Werkzeug appends "; charset=utf-8" to a text/* mimetype by itself; a mimetype that already
# names its charset would get a second one. So CSV is given bare and the charset comes once.
MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ics": "text/calendar",
    "pdf": "application/pdf",
}


def file_download(body: bytes, filename: str, file_format: str) -> Response:
    """``body`` as an attachment named ``filename``; ``file_format`` is a key of
    :data:`MIMETYPES`."""
    response = Response(body, mimetype=MIMETYPES[file_format])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
