"""The favicon: linked from every page (SVG, and a 32×32 PNG for browsers without SVG icons),
served by the app, and answered at /favicon.ico too, so that no browser's request for it 404s."""

from __future__ import annotations

import re
import struct
from pathlib import Path

from tests import factories
from tests.conftest import Client

ICON_LINK = re.compile(r'<link rel="icon" href="([^"]+)"[^>]*type="([^"]+)"')


def _icons(html: str) -> list[tuple[str, str]]:
    return ICON_LINK.findall(html)


def test_every_page_links_icons_that_are_served(client: Client) -> None:
    pages = [client.get("/login").get_data(as_text=True)]
    client.sign_in(factories.employee())
    pages.append(client.get("/").get_data(as_text=True))
    for html in pages:
        icons = _icons(html)
        assert [kind for _href, kind in icons] == ["image/svg+xml", "image/png"]
        for href, kind in icons:
            response = client.get(href)
            assert response.status_code == 200, href
            assert response.mimetype == kind
            assert response.data


def test_the_png_icon_is_32_by_32() -> None:
    icon = Path(__file__).parent.parent / "training_tracker/static/icons/favicon-32.png"
    head = icon.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (32, 32)


def test_favicon_ico_answers_without_signing_in(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an icon directory
