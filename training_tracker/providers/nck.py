"""Nationellt centrum för kvinnofrid (NCK), Uppsala universitet."""

import re

from training_tracker.providers.toolkit import (
    CertificateFields,
    CourseProvider,
    CourseSpec,
    Sector,
    find_dates,
    register,
)

# The certificate layout below is an assumption. NCK's pages say only that "Webbkurs om våld"
# gives an intyg after the final test; none of our sources shows one. We assume the usual
# Swedish course certificate:
#
#     Intyg
#     Anna Lindqvist
#     har genomfört
#     Webbkurs om våld
#     2026-11-03                      (or "Datum: …", "den 3 november 2026", …)
#     Nationellt centrum för kvinnofrid, Uppsala universitet
#
# with the name possibly on the same line as "har genomfört" and the title after it on the
# same line. When a real certificate shows otherwise, change these patterns and the tests;
# until it matches, the generic recogniser reads the certificate, so nothing is lost.
_NCK = re.compile(r"kvinnofrid|\bNCK\b|webbkurs\s+om\s+v[åa]ld", re.IGNORECASE)
_COMPLETED = re.compile(r"\b(?:har\s+(?:genomfört|slutfört|fullföljt)|has\s+completed)\b", re.I)
_COURSE_NOUN = re.compile(r"^(?:webbkursen|kursen|utbildningen|the\s+(?:web\s+)?course)\s+", re.I)
# A heading where the name should be means the name is missing, not that it is "Intyg".
_HEADING = re.compile(
    r"^(?:intyg|kursintyg|certifikat|diplom|certificate|härmed intygas att)$", re.I
)
_STOP_TITLE = re.compile(r"kvinnofrid|\bNCK\b|uppsala\s+universitet|^\s*(?:datum|date)\b", re.I)


@register
class NckProvider(CourseProvider):
    key = "nck"
    name = "Nationellt centrum för kvinnofrid (NCK), Uppsala universitet"
    website = "https://nck.uu.se/"

    def courses(self) -> list[CourseSpec]:
        return [
            CourseSpec(
                key="nck-webbkurs-om-vald",
                title="Webbkurs om våld",
                title_en="Web course on violence",
                url=(
                    "https://nck.uu.se/kunskapsbanken/webbstod-for-kommuner/"
                    "utbildning-moter-valdsutsatta/webbkurs-om-vald/"
                ),
                description=(
                    "Introduktionskurs om mäns våld mot kvinnor och våld i nära relationer, "
                    "i fyra avsnitt kring ett fall. Intyg efter det avslutande testet. "
                    "Uppdaterad 2022."
                ),
                # Everyone who meets exposed people: social services, health care, dental
                # care, school, justice, the voluntary sector.
                audience=(
                    Sector.SOCIAL_SERVICES,
                    Sector.HEALTH_AND_CARE,
                    Sector.SCHOOL,
                    Sector.LEISURE,
                ),
                length_minutes=165,  # "about 2.5–3 hours"
                issues_certificate=True,
            )
        ]

    def recognise_certificate(self, text: str) -> CertificateFields | None:
        """Name, title and date of an NCK certificate in the (assumed) layout above; None for
        any text that does not mention NCK or its course and say "har genomfört"."""
        completed = _COMPLETED.search(text)
        if completed is None or not _NCK.search(text):
            return None
        before = [line.strip(" \t,:;") for line in text[: completed.start()].splitlines()]
        before = [line for line in before if line]
        name = before[-1] if before else None
        if name is not None and (
            len(name) > 80 or not any(c.isalpha() for c in name) or _HEADING.match(name)
        ):
            name = None
        after = text[completed.end() :]
        title = ""
        lines = 0
        for line in (line.strip() for line in after.splitlines()):
            if not line:
                continue
            if find_dates(line) or _STOP_TITLE.search(line) or lines == 2:
                break
            # A title wrapped at a hyphen ("Webb-" / "kurs om våld") is joined as written.
            title += line if not title or title.endswith("-") else " " + line
            lines += 1
        title = _COURSE_NOUN.sub("", title).strip(" .")
        dates = find_dates(after)
        return CertificateFields(
            name=name, course_title=title or None, completed_on=dates[0] if dates else None
        )
