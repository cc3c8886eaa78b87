"""Sample certificate files for tests, made here byte by byte so that no fixture binary has to
be checked in and every test can say exactly what its file contains.

The PDF writer is deliberately tiny: one Helvetica font (one of the 14 standard fonts, so no
font file is embedded) in WinAnsiEncoding, which covers å ä ö é and the other characters of
Swedish names; one text line per line given. pypdf extracts such text back exactly, which
``tests/test_certificates.py`` checks, so tests that build on it rest on known ground.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

# Characters that WinAnsiEncoding lacks but PDFs produced by word processors contain; they
# are written through a /Differences entry of the font encoding, under these codes, so a test
# can produce the ligatures text extraction really meets.
_EXTRA_GLYPHS = {"ﬁ": (0x1E, "fi"), "ﬂ": (0x1F, "fl")}


def _pdf_string(text: str) -> bytes:
    """A PDF literal string in WinAnsiEncoding; refuses characters the encoding lacks, so a
    test never silently checks text the PDF does not contain."""
    out = bytearray(b"(")
    for char in text:
        if char in _EXTRA_GLYPHS:
            out += b"\\%03o" % _EXTRA_GLYPHS[char][0]
            continue
        byte = char.encode("cp1252")  # raises UnicodeEncodeError outside WinAnsiEncoding
        if byte in (b"(", b")", b"\\"):
            out += b"\\" + byte
        elif byte[0] < 0x20 or byte[0] > 0x7E:
            out += b"\\%03o" % byte[0]
        else:
            out += byte
    return bytes(out + b")")


def _text_stream(lines: Sequence[str]) -> bytes:
    ops = [b"BT", b"/F1 12 Tf", b"16 TL", b"56 780 Td"]
    for line in lines:
        ops.append(_pdf_string(line) + b" Tj T*")
    ops.append(b"ET")
    return b"\n".join(ops)


def _build_pdf(objects: list[bytes]) -> bytes:
    """Serialise numbered objects (object n is ``objects[n - 1]``; object 1 the catalog)
    with a correct cross-reference table, as a strict reader expects."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def certificate_pdf(lines: Sequence[str], *, more_pages: Sequence[Sequence[str]] = ()) -> bytes:
    """A valid A4 PDF whose first page shows ``lines`` top to bottom, one per line, and whose
    further pages (if any) show the lines of ``more_pages``. Only WinAnsiEncoding characters
    (plus the ligatures ﬁ and ﬂ) are allowed."""
    pages = [lines, *more_pages]
    differences = b" ".join(
        b"%d /%s" % (code, name.encode()) for code, name in _EXTRA_GLYPHS.values()
    )
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled in once the page numbers are known
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding "
        b"<< /Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences ["
        + differences
        + b"] >> >>",
    ]
    kids = []
    for page_lines in pages:
        content_number = len(objects) + 1
        objects.append(_stream(_text_stream(page_lines)))
        kids.append(len(objects) + 1)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content_number
        )
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % kid for kid in kids),
        len(kids),
    )
    return _build_pdf(objects)


def scanned_pdf() -> bytes:
    """A PDF as a scanner makes it: the page is one image and there is no text at all."""
    pixels = bytes(range(0, 256, 16)) * 16  # a 16 × 16 grey gradient
    image = _stream(
        zlib.compress(pixels),
        b" /Type /XObject /Subtype /Image /Width 16 /Height 16 /ColorSpace /DeviceGray"
        b" /BitsPerComponent 8 /Filter /FlateDecode",
    )
    content = _stream(b"q 480 0 0 680 56 80 cm /Im1 Do Q")
    return _build_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R >>",
            image,
            content,
        ]
    )


def encrypted_pdf(lines: Sequence[str], *, user_password: str, owner_password: str) -> bytes:
    """``certificate_pdf(lines)`` encrypted (RC4, which pypdf decrypts without optional
    packages). With an empty user password it opens without a prompt, as certificates that
    merely forbid editing do; with a user password it cannot be read without it."""
    from io import BytesIO

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(BytesIO(certificate_pdf(lines))))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="RC4-128")
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def damaged_pdf() -> bytes:
    """Starts like a PDF (so an upload accepts it) and is nothing after that."""
    return b"%PDF-1.7\n" + bytes((i * 73 + 41) % 256 for i in range(2000))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes() -> bytes:
    """A valid 1 × 1 white PNG."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00\xff"))  # filter byte 0, one white pixel
        + _png_chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    """A valid 1 × 1 grey baseline JPEG: one quantisation table, one DC and one AC Huffman
    table with a single one-bit code each, and one block whose DC difference and AC content
    are both zero."""

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload

    one_code = bytes([1] + [0] * 15)  # one code of length 1 ...
    return (
        b"\xff\xd8"  # SOI
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xDB, b"\x00" + bytes([1] * 64))  # DQT 0, all ones
        + segment(0xC0, b"\x08\x00\x01\x00\x01\x01\x01\x11\x00")  # SOF0 1×1, 1 component
        + segment(0xC4, b"\x00" + one_code + b"\x00")  # DHT DC 0: ... for category 0
        + segment(0xC4, b"\x10" + one_code + b"\x00")  # DHT AC 0: ... for end of block
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")  # SOS
        + b"\x3f"  # DC "0", EOB "0", padded with ones
        + b"\xff\xd9"  # EOI
    )


def content_bomb_pdf(operators: int = 400_000, invocations: int = 200) -> bytes:
    """A small PDF that keeps a text extractor busy for minutes: its page draws a form
    (FlateDecode) ``invocations`` times, and the form shows text ``operators`` times. Each
    part stays under pypdf's own limits (operators per stream, form invocations, inflated
    bytes), so only a limit on the whole reading stops it. About 10 kB."""
    form = zlib.compress(b"BT /F1 12 Tf 56 780 Td\n" + b"(x) Tj\n" * operators + b"ET", 9)
    page = zlib.compress(b"/Fm1 Do\n" * invocations, 9)
    font = b"<< /Font << /F1 6 0 R >> >>"
    return _build_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources "
            b"<< /XObject << /Fm1 5 0 R >> /Font << /F1 6 0 R >> >> /Contents 4 0 R >>",
            _stream(page, b" /Filter /FlateDecode"),
            _stream(
                form,
                b" /Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources "
                + font
                + b" /Filter /FlateDecode",
            ),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )
