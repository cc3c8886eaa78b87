"""Skolverket: how a school organises its work against honour-related violence."""

from training_tracker.providers.toolkit import CourseProvider, CourseSpec, Sector, register


@register
class SkolverketProvider(CourseProvider):
    key = "skolverket"
    name = "Skolverket"
    website = "https://www.skolverket.se/"

    def courses(self) -> list[CourseSpec]:
        return [
            CourseSpec(
                key="skolverket-arbeta-mot-hrv",
                title="Arbeta mot hedersrelaterat våld och förtryck",
                title_en="Working against honour-related violence and oppression",
                url="https://www.skolverket.se/skolutveckling/kurser-och-utbildningar",
                description=(
                    "Webbutbildning om hur skolan kan organisera arbetet mot "
                    "hedersrelaterat våld och förtryck som en del av det systematiska "
                    "kvalitetsarbetet. I första hand för skolledare och elevhälsan, "
                    "öppen för all skolpersonal."
                ),
                audience=(Sector.SCHOOL,),
                issues_certificate=True,
            )
        ]
