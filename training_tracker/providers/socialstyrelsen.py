"""Socialstyrelsen: two in-depth web trainings on honour-related violence and oppression."""

from training_tracker.providers.toolkit import CourseProvider, CourseSpec, Sector, register

PORTAL = "https://utbildning.socialstyrelsen.se/"


@register
class SocialstyrelsenProvider(CourseProvider):
    key = "socialstyrelsen"
    name = "Socialstyrelsen"
    website = "https://www.socialstyrelsen.se/"

    def courses(self) -> list[CourseSpec]:
        return [
            CourseSpec(
                key="socialstyrelsen-hrv-socialtjansten",
                title="Hedersrelaterat våld och förtryck – socialtjänsten",
                title_en="Honour-related violence and oppression – social services",
                url=PORTAL,
                description=(
                    "Fördjupande, kostnadsfri webbutbildning för socialtjänstens "
                    "medarbetare, chefer och samordnare, på Socialstyrelsens "
                    "utbildningsportal."
                ),
                audience=(Sector.SOCIAL_SERVICES,),
                issues_certificate=True,
            ),
            CourseSpec(
                key="socialstyrelsen-hrv-halso-och-sjukvarden",
                title="Hedersrelaterat våld och förtryck – hälso- och sjukvården",
                title_en="Honour-related violence and oppression – health care",
                url=PORTAL,
                description=(
                    "Fördjupande, kostnadsfri webbutbildning för hälso- och sjukvården, "
                    "elevhälsan och psykiatrin, på Socialstyrelsens utbildningsportal."
                ),
                audience=(Sector.HEALTH_AND_CARE,),
                issues_certificate=True,
            ),
        ]
