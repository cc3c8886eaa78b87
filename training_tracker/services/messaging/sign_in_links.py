"""Links that let their holder choose someone's password (invitation and reset links) are
credentials: they go to their owner by mail and are shown to nobody else. Whatever shows a
mail's text to someone other than its recipient (the admin's outbox, a personal-data export)
passes it through :func:`redact` first.

The links are found by the app's own URL map: every route taking a ``<token>`` is one, so a
new route of that kind is covered without anyone remembering to add it here.
"""

from __future__ import annotations

import re

from flask import current_app

REMOVED = "[borttagen-länk]"
_CACHE_KEY = "training_tracker.sign_in_links"
# Where a token in running text ends: white space, or what closes a link in text or HTML.
_TOKEN_CHARS = r"[^\s<>\"')\]]+"


def token_route_prefixes() -> list[str]:
    """The fixed start of every route whose URL carries a token, e.g. ``/invitation/``."""
    prefixes = {
        rule.rule.split("<", 1)[0]
        for rule in current_app.url_map.iter_rules()
        if "token" in rule.arguments
    }
    return sorted(prefixes, key=len, reverse=True)


def _pattern() -> re.Pattern[str]:
    cached = current_app.extensions.get(_CACHE_KEY)
    if cached is None:
        alternatives = "|".join(re.escape(prefix) for prefix in token_route_prefixes())
        cached = re.compile(f"({alternatives}){_TOKEN_CHARS}" if alternatives else r"(?!)")
        current_app.extensions[_CACHE_KEY] = cached
    return cached


def redact(text: str) -> str:
    """``text`` with the token of every sign-in link replaced by :data:`REMOVED` (the rest of
    the link stays, so the reader sees that there was one and of which kind)."""
    return _pattern().sub(lambda match: match.group(1) + REMOVED, text)
