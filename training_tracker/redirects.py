"""Where a redirect taken from the request may go: a path on this site, nothing else.

Every ``next`` (sign-in, language switch, the sign-in page a lapsed session is sent to, the
outbox's way back, the Referer an error page links back to) goes through ``local_path`` or
``safe_next``. The check is made on the string as the browser will read it, not as it looks:
browsers drop tab, CR and LF anywhere in a URL and leading control characters and spaces,
read ``\\`` as ``/``, and Werkzeug's ``iri_to_uri`` drops the same characters on the way out,
so ``/\\t/evil.example`` would leave as ``//evil.example``, another site. Rather than repeat
that normalisation (and every browser's quirks), a target holding any character it would
act on is refused outright; what remains is checked again after percent-decoding, for a
proxy or a second hop that decodes before it redirects.
"""

from __future__ import annotations

from urllib.parse import unquote

# Longer than any address of ours with its filters; a longer "next" is not one of ours.
MAX_LENGTH = 2048
# Decode at most this many layers of percent-encoding; a target still changing after that
# is refused (nobody encodes one of our paths four times over).
_DECODE_ROUNDS = 4


def _is_control(character: str) -> bool:
    code = ord(character)
    # C0 (tab, CR, LF among them), DEL and C1: nothing a path of ours holds.
    return code < 0x20 or 0x7F <= code <= 0x9F


def _plain_local_path(target: str) -> bool:
    """A path beginning with one "/", with nothing a browser would rewrite into a host."""
    return (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(_is_control(character) for character in target)
    )


def local_path(target: object) -> str | None:
    """``target`` unchanged if it is a path (with query string) on this site, else None."""
    if not isinstance(target, str) or not target or len(target) > MAX_LENGTH:
        return None
    candidate = target
    for _round in range(_DECODE_ROUNDS):
        if not _plain_local_path(candidate):
            return None
        decoded = unquote(candidate)
        if decoded == candidate:
            return target
        candidate = decoded
    return None


def safe_next(target: object, fallback: str) -> str:
    """Where to send the person: ``target`` if it is a path on this site, else ``fallback``."""
    return local_path(target) or fallback
