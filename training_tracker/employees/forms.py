"""Forms of the employees pages, and the list's query string read into an EmployeeQuery."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from training_tracker.fields import PlausibleDate, SwedishDateField
from training_tracker.models import Sector
from training_tracker.services.people.employee_list import (
    AccountState,
    EmployeeQuery,
    EmployeeSort,
)
from training_tracker.services.people.employment import EmploymentStatus
from training_tracker.services.people.municipalities import REMINDER_LIMITS, reminder_value_problem

# The largest id or page number a query string may carry (a 32-bit integer column).
_MAX_INT = 2**31 - 1
# The key a form carries so that sending it twice records once.
SUBMISSION_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _off(**extra: str) -> dict[str, str]:
    return {"autocomplete": "off", **extra}


class EmployeeForm(FlaskForm):
    """A person's details, for editing; :class:`NewEmployeeForm` adds the invitation. The
    views fill in the municipality and unit choices (the user's own) and drop the
    municipality field when the user manages only one."""

    first_name = StringField(
        _l("Förnamn"),
        validators=[DataRequired(_l("Fyll i förnamnet.")), Length(max=100)],
        render_kw={"autocomplete": "off"},
    )
    last_name = StringField(
        _l("Efternamn"),
        validators=[DataRequired(_l("Fyll i efternamnet.")), Length(max=100)],
        render_kw={"autocomplete": "off"},
    )
    email = EmailField(
        _l("E-post"),
        description=_l("Arbetsadressen. Personen loggar in med den och får sina påminnelser dit."),
        validators=[
            DataRequired(_l("Fyll i e-postadressen.")),
            Email(_l("Skriv en e-postadress som namn@kommun.se.")),
            Length(max=254),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    municipality = SelectField(_l("Kommun"), validators=[DataRequired(_l("Välj en kommun."))])
    unit = SelectField(
        _l("Enhet"),
        description=_l("Enhetens sektor avgör vilka kurser personen ska gå."),
        validators=[DataRequired(_l("Välj en enhet."))],
        render_kw={"autocomplete": "off"},
    )
    hire_date = SwedishDateField(
        _l("Anställningsdatum"),
        description=_l("Sista dag för kurserna räknas från den här dagen."),
        validators=[InputRequired(_l("Fyll i anställningsdatum.")), PlausibleDate()],
        render_kw=_off(),
    )
    employee_number = StringField(
        _l("Anställningsnummer"),
        description=_l(
            "Valfritt. Numret i HR-systemet; används för att känna igen personen vid import."
        ),
        validators=[Optional(), Length(max=50)],
        render_kw=_off(spellcheck="false"),
    )
    manager_email = EmailField(
        _l("Chefens e-post"),
        description=_l("Valfritt. Chefen måste finnas i samma kommun."),
        validators=[
            Optional(),
            Email(_l("Skriv en e-postadress som namn@kommun.se.")),
            Length(max=254),
        ],
        render_kw=_off(spellcheck="false"),
    )
    end_date = SwedishDateField(
        _l("Slutdatum"),
        description=_l(
            "Valfritt. Från och med slutdatumet är kontot avstängt, alla inloggningar avslutas "
            "och personen får inga fler påminnelser. Historiken sparas. Ta bort datumet för att "
            "återanställa personen."
        ),
        validators=[Optional(), PlausibleDate()],
        render_kw=_off(),
    )
    language = SelectField(
        _l("Språk"),
        description=_l("Språket i e-post och på sidorna för personen."),
        default="sv",
        render_kw=_off(),
    )
    submit = SubmitField(_l("Spara"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Each language named in itself, so a reader of either finds theirs.
        self.language.choices = [
            SelectChoice("sv", "Svenska", render_kw={"lang": "sv"}),
            SelectChoice("en", "English", render_kw={"lang": "en"}),
        ]


class NewEmployeeForm(EmployeeForm):
    send_invitation = BooleanField(
        _l("Skicka välkomstmejl nu"),
        description=_l(
            "Mejlet listar kurserna med sista dag och har en länk för att välja lösenord."
        ),
        default=True,
    )
    submit = SubmitField(_l("Lägg till"))

    def __init__(self, *args: Any, today: date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if today is not None and not self.is_submitted() and self.hire_date.data is None:
            self.hire_date.data = today


class InviteForm(FlaskForm):
    submit = SubmitField(_l("Skicka inbjudan igen"))


class BulkInvitationForm(FlaskForm):
    """The confirmation of "send the held invitations": the list's filters travel as hidden
    fields beside it, and ``expected`` is the count the user was shown."""

    expected = HiddenField(validators=[InputRequired(), Regexp(r"^[0-9]{1,7}$")])


class AssignCourseForm(FlaskForm):
    course = SelectField(_l("Kurs"), validators=[DataRequired(_l("Välj en kurs."))])
    due_date = SwedishDateField(
        _l("Sista dag"),
        validators=[InputRequired(_l("Fyll i sista dag.")), PlausibleDate()],
        render_kw=_off(),
    )
    submit = SubmitField(_l("Tilldela kursen"))


class ExemptionForm(FlaskForm):
    """Exempt from one assignment (``exempt`` = 1, a reason required) or lift it (0)."""

    exempt = HiddenField(default="1")
    reason = TextAreaField(
        _l("Skäl till undantaget"),
        description=_l("Till exempel: har gått motsvarande utbildning hos tidigare arbetsgivare."),
        validators=[Length(max=500)],
        render_kw={"rows": 2, "autocomplete": "off"},
    )


class UnitForm(FlaskForm):
    municipality = SelectField(_l("Kommun"), validators=[DataRequired(_l("Välj en kommun."))])
    name = StringField(
        _l("Namn"),
        validators=[DataRequired(_l("Fyll i enhetens namn.")), Length(max=200)],
        render_kw=_off(),
    )
    sector = SelectField(
        _l("Sektor"),
        description=_l("Sektorn avgör vilka kurser enhetens personal ska gå."),
        validators=[DataRequired(_l("Välj en sektor."))],
        render_kw=_off(),
    )
    submit = SubmitField(_l("Lägg till enheten"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sector.choices = [SelectChoice("", str(_l("Välj sektor")))] + [
            SelectChoice(sector.value, sector.label) for sector in Sector
        ]


class EditUnitForm(UnitForm):
    sector = SelectField(
        _l("Sektor"),
        description=_l(
            "Byter du sektor räknas kurskraven om direkt för all personal på enheten: kurser "
            "som den nya sektorn kräver tilldelas, och kurser som inte längre krävs tas bort. "
            "Genomförda kurser finns kvar."
        ),
        validators=[DataRequired(_l("Välj en sektor."))],
        render_kw=_off(),
    )
    active = BooleanField(
        _l("Enheten är aktiv"),
        description=_l(
            "Ta bort bocken för att avveckla enheten. Det går först när ingen arbetar där."
        ),
    )
    submit = SubmitField(_l("Spara"))


class EmployeeIdsField(SelectMultipleField):
    """The ids of the people ticked in a list the template draws itself. Which ids may be
    used is the service's to decide (it checks the scope), so any positive number passes."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        ids = [_positive_int(str(value)) for value in valuelist]
        self.data = [i for i in ids if i is not None]
        if None in ids:
            raise ValueError(
                str(_l("Listan över deltagare gick inte att läsa. Ladda om sidan och välj igen."))
            )


class GroupCompletionForm(FlaskForm):
    """A course completed by a group (a session run by the coordinator), recorded by HR for
    everyone ticked or named in a pasted attendance list."""

    course = SelectField(
        _l("Kurs"),
        validators=[DataRequired(_l("Välj en kurs."))],
        validate_choice=False,  # the service decides whether the course can be recorded
        render_kw=_off(),
    )
    completed_on = SwedishDateField(
        _l("Datum då kursen genomfördes"),
        description=_l("Dagen för utbildningstillfället. Det kan inte vara senare än i dag."),
        validators=[InputRequired(_l("Fyll i datumet då kursen genomfördes.")), PlausibleDate()],
        render_kw=_off(),
    )
    note = TextAreaField(
        _l("Kommentar (frivillig)"),
        description=_l("Till exempel: utbildningsdag med samordnaren i kommunhuset."),
        validators=[Optional(), Length(max=2000, message=_l("Högst 2000 tecken."))],
        render_kw={"rows": 2, "autocomplete": "off"},
    )
    employees = EmployeeIdsField(_l("Deltagare"), validate_choice=False)
    identifiers = TextAreaField(
        _l("Klistra in en deltagarlista"),
        description=_l(
            "Valfritt. En e-postadress eller ett anställningsnummer per rad, till exempel "
            "från en närvarolista. Personerna registreras tillsammans med dem du har bockat i."
        ),
        validators=[Optional(), Length(max=100_000, message=_l("Listan är för lång."))],
        render_kw={"rows": 6, "autocomplete": "off", "spellcheck": "false"},
    )
    submission_key = HiddenField()
    submit = SubmitField(_l("Registrera genomförd kurs"))

    def validate_course(self, field: SelectField) -> None:
        if _positive_int(str(field.data or "")) is None:
            raise ValidationError(_l("Välj en kurs."))


class MunicipalitySettingsForm(FlaskForm):
    count_reported = RadioField(
        _l("Räkna rapporterade men inte godkända kurser i täckningen"),
        description=_l(
            "När en anställd rapporterar en genomförd kurs väntar rapporten på att chefen eller "
            "HR godkänner den. Välj om kursen ska räknas som genomförd i kommunens täckning "
            "redan under tiden. Rapporterade kurser visas alltid separat i rapporterna, så att "
            "det syns hur många som väntar på att godkännas."
        ),
        validators=[InputRequired(_l("Välj ja eller nej."))],
        validate_choice=False,  # checked below, with a message of ours
    )
    submit = SubmitField(_l("Spara inställningarna"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.count_reported.choices = [
            SelectChoice("1", str(_l("Ja, räkna rapporterade kurser i täckningen (standard)"))),
            SelectChoice("0", str(_l("Nej, räkna bara godkända kurser"))),
        ]

    def validate_count_reported(self, field: RadioField) -> None:
        if field.data not in ("1", "0"):
            raise ValidationError(_l("Välj ja eller nej."))


class ReminderDaysField(IntegerField):
    """A whole number for the reminder schedule. What is not one (empty, "abc", "1,5") is
    kept as None, and the form's check says, naming the setting, what to write instead."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = str(valuelist[0]).strip() if valuelist else ""
        try:
            self.data = int(raw)
        except ValueError:
            self.data = None


def _days(name: str, **extra: Any) -> dict[str, Any]:
    low, high = REMINDER_LIMITS[name]
    if name == "overdue_every_days":
        low = 0  # allowed when no reminders go out after the due date; checked below
    return _off(min=str(low), max=str(high), inputmode="numeric", **extra)


class ReminderPolicyForm(FlaskForm):
    """The municipality's reminder schedule. ``section`` tells this form's POST from the
    coverage setting's on the same page."""

    section = HiddenField(default="reminders")
    first_after_days = ReminderDaysField(
        _l("Första påminnelsen, dagar efter anställningen (0 = ingen)"),
        description=_l(
            "Går till den anställda om någon kurs ännu inte är gjord. Räknas från "
            "anställningsdagen, eller från dagen kursen tilldelades om den är senare. "
            "Standard: 14."
        ),
        render_kw=_days("first_after_days"),
    )
    before_due_days = ReminderDaysField(
        _l("Påminnelse, dagar före sista dag (0 = ingen)"),
        description=_l("Standard: 7."),
        render_kw=_days("before_due_days"),
    )
    on_due_date = BooleanField(
        _l("Påminnelse på sista dagen"),
        description=_l("Standard: ja."),
    )
    overdue_times = ReminderDaysField(
        _l("Påminnelser efter sista dag, högst antal gånger (0 = inga)"),
        description=_l("Standard: 3."),
        render_kw=_days("overdue_times"),
    )
    overdue_every_days = ReminderDaysField(
        _l("Dagar mellan påminnelserna efter sista dag"),
        description=_l(
            "Den första går ut så många dagar efter sista dag, nästa lika många dagar senare. "
            "1–90 dagar. Standard: 14."
        ),
        render_kw=_days("overdue_every_days"),
    )
    escalate_after_days = ReminderDaysField(
        _l("Påminnelse till chefen, dagar efter sista dag (0 = ingen)"),
        description=_l(
            "Går till den anställdas chef, eller till enhetens chefer om ingen chef är angiven. "
            "Standard: 7."
        ),
        render_kw=_days("escalate_after_days"),
    )
    expiry_before_days = ReminderDaysField(
        _l("Påminnelse innan en genomförd kurs slutar gälla, dagar före (0 = ingen)"),
        description=_l("Gäller kurser som måste göras om efter en tid. Standard: 30."),
        render_kw=_days("expiry_before_days"),
    )
    weekly_digest = BooleanField(
        _l("Veckosammanställning till cheferna"),
        description=_l(
            "Varje måndag morgon (eller veckans första arbetsdag) får cheferna en lista över "
            "sina anställdas kurser som är försenade eller snart ska vara gjorda. Standard: ja."
        ),
    )
    save_reminders = SubmitField(_l("Spara påminnelserna"))

    # The service checks all of this again; here the person sees every problem at once.
    def _check(self, field: ReminderDaysField) -> None:
        problem = reminder_value_problem(
            field.name, field.data, overdue_times=self.overdue_times.data, named=False
        )
        if problem is not None:
            raise ValidationError(problem)

    validate_first_after_days = _check
    validate_before_due_days = _check
    validate_overdue_times = _check
    validate_overdue_every_days = _check
    validate_escalate_after_days = _check
    validate_expiry_before_days = _check


# --- the list's query string ----------------------------------------------------------------


def _positive_int(value: str | None) -> int | None:
    value = (value or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    number = int(value)
    return number if 0 < number <= _MAX_INT else None


def _enum(enum_cls: Any, value: str | None) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        return None


PAGE_SIZES = (25, 50, 100)
_TRUE = ("1", "on", "true")


def employee_query(args: Mapping[str, str]) -> EmployeeQuery:
    """The list's search, filters, order and page from the URL; what does not parse is
    ignored, so an edited or stale link still shows a list (:func:`query_problems` says
    what was ignored)."""
    per_page = _positive_int(args.get("per_page"))
    return EmployeeQuery(
        # NUL is dropped: nobody types it, and PostgreSQL cannot compare text that holds it.
        text=(args.get("q") or "").replace("\x00", "").strip()[:200],
        municipality_id=_positive_int(args.get("municipality")),
        unit_id=_positive_int(args.get("unit")),
        without_unit=args.get("unit") == "none",
        sector=_enum(Sector, args.get("sector")),
        status=_enum(EmploymentStatus, args.get("status")),
        has_overdue=args.get("overdue") in _TRUE,
        account=_enum(AccountState, args.get("account")),
        leaving_soon=args.get("leaving") in _TRUE,
        sort=_enum(EmployeeSort, args.get("sort")) or EmployeeSort.NAME,
        descending=args.get("dir") == "desc",
        page=_positive_int(args.get("page")) or 1,
        per_page=per_page if per_page in PAGE_SIZES else None,
    )


# What each parameter is called on the page, for the message about a value that was ignored.
_PARAMETER_NAMES = {
    "municipality": _l("Kommun"),
    "unit": _l("Enhet"),
    "sector": _l("Sektor"),
    "status": _l("Status"),
    "account": _l("Konto"),
    "overdue": _l("Har försenade kurser"),
    "leaving": _l("Slutar snart"),
    "sort": _l("Sortera efter"),
    "dir": _l("Ordning"),
    "page": _l("Sida"),
    "per_page": _l("Antal per sida"),
}


def query_problems(
    args: Mapping[str, str], query: EmployeeQuery, *, dropped: Iterable[str] = ()
) -> list[str]:
    """What the page says of each parameter of ``args`` that :func:`employee_query` could not
    use, named as the form labels it; ``dropped`` names those that parsed but lie outside the
    user's scope."""
    unused = {
        "municipality": query.municipality_id is None,
        "unit": query.unit_id is None,
        "sector": query.sector is None,
        "status": query.status is None,
        "account": query.account is None,
        "overdue": args.get("overdue") not in (*_TRUE, "0", "false"),
        "leaving": args.get("leaving") not in (*_TRUE, "0", "false"),
        "sort": _enum(EmployeeSort, args.get("sort")) is None,
        "dir": args.get("dir") not in ("asc", "desc"),
        "page": _positive_int(args.get("page")) is None,
        "per_page": query.per_page is None,
    }
    problems = []
    for key, name in _PARAMETER_NAMES.items():
        if not (args.get(key) or "").strip():
            continue
        if key in dropped:  # the same words whether it exists elsewhere or not at all
            problems.append(
                _("%(filter)s: finns inte bland det du har tillgång till.", filter=name)
            )
        elif unused[key]:
            problems.append(_("%(filter)s: värdet går inte att läsa.", filter=name))
    return problems


def query_args(query: EmployeeQuery, **changes: Any) -> dict[str, Any]:
    """The query string for ``query`` with ``changes`` applied, without defaults, so links
    stay short."""
    values: dict[str, Any] = {
        "q": query.text or None,
        "municipality": query.municipality_id,
        "unit": "none" if query.without_unit else query.unit_id,
        "sector": query.sector.value if query.sector else None,
        "status": query.status.value if query.status else None,
        "overdue": 1 if query.has_overdue else None,
        "account": query.account.value if query.account else None,
        "leaving": 1 if query.leaving_soon else None,
        "sort": query.sort.value if query.sort != EmployeeSort.NAME else None,
        "dir": "desc" if query.descending else None,
        "page": query.page if query.page > 1 else None,
        "per_page": query.per_page,
    }
    values.update(changes)
    if values.get("page") == 1:
        values["page"] = None
    return {key: value for key, value in values.items() if value not in (None, "")}


def filter_args(query: EmployeeQuery) -> dict[str, Any]:
    """Only the search and filters of ``query``: what a download or the bulk invitation
    acts on (all pages, whatever the order)."""
    return query_args(query, sort=None, dir=None, page=None, per_page=None)
