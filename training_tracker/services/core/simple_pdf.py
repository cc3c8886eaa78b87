"""A one-page A4 PDF of text blocks, written directly with the standard Helvetica fonts, so it
needs no library and no font file. The text is a real text layer: pypdf (and so the
certificate reader) extracts it as written."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

WIDTH, HEIGHT = 595, 842  # A4 in points
MARGIN = 72

# (text, font size, bold); a block's text wraps to the page's width, its line breaks kept.
Block = tuple[str, int, bool]


def _winansi(char: str) -> bytes:
    """One character in WinAnsi (cp1252); a letter it lacks loses its accent ("ć" is "c"),
    as a name is better read without it than as "?"; anything else becomes "?"."""
    for form in (char, unicodedata.normalize("NFKD", char)[:1]):
        try:
            return form.encode("cp1252")
        except UnicodeEncodeError:
            continue
    return b"?"


def _text(value: str) -> bytes:
    """A PDF string in WinAnsi (cp1252): Swedish letters included."""
    encoded = b"".join(_winansi(char) for char in value)
    return b"(" + encoded.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _wrap(text: str, size: int) -> list[str]:
    """Lines of at most the width the page holds (Helvetica averages about half its size)."""
    limit = int((WIDTH - 2 * MARGIN) / (size * 0.5))
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            if line and len(line) + 1 + len(word) > limit:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        lines.append(line)
    return lines


def _content(blocks: Sequence[Block]) -> bytes:
    out = [b"BT"]
    y = HEIGHT - MARGIN
    for text, size, bold in blocks:
        font = b"/F2" if bold else b"/F1"
        for line in _wrap(text, size):
            y -= int(size * 1.5)
            out.append(b"%s %d Tf 1 0 0 1 %d %d Tm %s Tj" % (font, size, MARGIN, y, _text(line)))
        y -= size // 2
    out.append(b"ET")
    return b"\n".join(out)


def one_page_pdf(blocks: Sequence[Block]) -> bytes:
    """The PDF's bytes: ``blocks`` top to bottom on one page."""
    stream = _content(blocks)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 4 0 R"
        b" /F2 5 0 R >> >> /Contents 6 0 R >>" % (WIDTH, HEIGHT),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, content)
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return body
