"""Synthetic, repeatable demo data (``flask demo seed``) for the CLI, the tests and the
benchmarks.

``seed`` is the entry point and runs the others: ``municipalities`` (which ones, by size),
``plan`` (their units and headcounts), ``rules`` (the courses and requirement rules), ``people``
(staff and the demo accounts), ``records`` (assignments and completions), ``bulk`` (how rows
reach the database), ``draws`` (cheap random draws and date arithmetic); ``names_people`` and
``names_units`` are the name material.
"""

DEMO_DOMAIN = "demo.example"  # every demo address and link is under it


class DemoError(ValueError):
    """Demo data cannot be created; the message is for the operator."""
