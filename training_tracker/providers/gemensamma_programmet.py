"""Gemensamma programmet: the lectures and workshops the six municipalities run together (the
November campaign "En månad fri från våld"). Its events are made by the organisers in the
tracker, not declared here; an event counts as a catalogue course of another provider, or as
its own item, so the plugin declares no web course of its own."""

from training_tracker.providers.toolkit import CourseProvider, CourseSpec, register

KEY = "gemensamma-programmet"


@register
class GemensammaProgrammetProvider(CourseProvider):
    key = KEY
    name = "Gemensamma programmet"
    website = "https://www.sollentuna.se/"

    def courses(self) -> list[CourseSpec]:
        return []
