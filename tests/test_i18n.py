"""Swedish first, English second: every string of the UI and the mails is translatable, and
the English catalogue translates all of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from tests import factories

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = ROOT / "training_tracker" / "translations" / "en" / "LC_MESSAGES" / "messages.po"


def test_the_english_catalogue_translates_every_string(tmp_path):
    template = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(template),
            "--no-location",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with template.open("rb") as handle:
        wanted = {m.id for m in read_po(handle) if m.id}
    with ENGLISH.open("rb") as handle:
        english = read_po(handle)
    translated = {
        m.id
        for m in english
        if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = sorted(str(key) for key in wanted - translated)
    assert not missing, (
        "untranslated in en/messages.po (run pybabel extract/update, then translate): "
        + "; ".join(missing[:20])
    )


def test_pages_are_swedish_by_default_and_english_on_request(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="sv">' in page and "Logga in" in page
    client.post_form("/language", {"language": "en", "next": "/login"})
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Sign in" in page


def test_an_english_speaking_employee_gets_the_english_interface(client):
    person = factories.employee(language="en", first_name="Grace")
    client.sign_in(person)
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Hello Grace" in page


def test_a_language_chosen_before_signing_in_is_kept_after(client):
    person = factories.employee(language="sv", first_name="Grace")
    client.post_form("/language", {"language": "en", "next": "/login"})
    client.sign_in(person)
    assert "Hello Grace" in client.get("/").get_data(as_text=True)
    assert person.preferred_language == "en"
