"""Nationellt centrum för kvinnofrid (NCK), Uppsala universitet."""

from training_tracker.models.enums import Sector
from training_tracker.providers import CourseProvider, CourseSpec, register


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
