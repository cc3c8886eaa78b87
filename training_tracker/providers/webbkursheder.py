"""webbkursheder.se: Länsstyrelsen Stockholm with Origo, Länsstyrelsen Östergötland and
Södertälje kommun."""

from training_tracker.providers.toolkit import CourseProvider, CourseSpec, Sector, register


@register
class WebbkursHederProvider(CourseProvider):
    key = "webbkursheder"
    name = (
        "Länsstyrelsen Stockholm med Origo, Länsstyrelsen Östergötland och "
        "Södertälje kommun (webbkursheder.se)"
    )
    website = "https://webbkursheder.se/"

    def courses(self) -> list[CourseSpec]:
        return [
            CourseSpec(
                key="webbkursheder-hrv",
                title="Webbkurs om hedersrelaterat våld och förtryck",
                title_en="Web course on honour-related violence and oppression",
                url="https://webbkursheder.se/",
                description=(
                    "Kostnadsfri webbkurs som ger kommuner, stadsdelar och verksamheter en "
                    "grundkompetens om hedersrelaterat våld och förtryck; byggd för "
                    "kollegialt lärande med en diskussionsguide."
                ),
                audience=(
                    Sector.SOCIAL_SERVICES,
                    Sector.SCHOOL,
                    Sector.HEALTH_AND_CARE,
                ),
                issues_certificate=True,
            )
        ]
