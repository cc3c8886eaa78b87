"""SCIM filters (RFC 7644 §3.4.2.2) as SQL: the filter is parsed and checked by scim2-models,
and its tree is turned into a WHERE clause on the attributes the tracker keeps, so that the
"does this user exist" filter a directory sends before each create is one indexed lookup."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path.expressions import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import Employee, ScimLink, Unit
from training_tracker.services.people.scim.attributes import ENTERPRISE_URN
from training_tracker.services.people.scim.resources import User

Clause = ColumnElement[bool]
MunicipalityId = int | ColumnElement[int]  # a bound parameter in a statement built once
# The filter a directory sends before each create (a value without characters JSON escapes)
# is answered by a statement built once rather than parsed and translated each time.
_USER_NAME_EQUALS = re.compile(r'\s*userName\s+eq\s+"([^"\\\x00-\x1f]*)"\s*', re.IGNORECASE)


def _linked(municipality_id: MunicipalityId, condition: Clause) -> Clause:
    """Employees whose live link to this directory matches ``condition``."""
    return Employee.id.in_(
        sa.select(ScimLink.employee_id).where(
            ScimLink.municipality_id == municipality_id,
            ScimLink.released_at.is_(None),
            condition,
        )
    )


def _unlinked(municipality_id: MunicipalityId) -> Clause:
    # NOT EXISTS, not NOT IN: PostgreSQL would list every link of the municipality first.
    return ~sa.exists().where(
        ScimLink.employee_id == Employee.id, ScimLink.municipality_id == municipality_id
    )


def _like(value: str, op: CompareOperator) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if op == CompareOperator.co:
        return f"%{escaped}%"
    if op == CompareOperator.sw:
        return f"{escaped}%"
    return f"%{escaped}"


def _compare(
    column: sa.SQLColumnExpression[Any], op: CompareOperator, value: Any, *, fold: bool = True
) -> Clause:
    """``column op value``; strings compared case-insensitively unless ``fold`` is False."""
    if isinstance(value, str) and fold:
        column, value = sa.func.lower(column), value.lower()
    if op == CompareOperator.eq:
        return column == value if value is not None else column.is_(None)
    if op == CompareOperator.ne:
        return sa.or_(column != value, column.is_(None))
    if op in (CompareOperator.co, CompareOperator.sw, CompareOperator.ew):
        if not isinstance(value, str):
            raise InvalidFilterException(detail=f"'{op.value}' compares text only.")
        return column.like(_like(value, op), escape="\\")
    if op == CompareOperator.gt:
        return column > value
    if op == CompareOperator.ge:
        return column >= value
    if op == CompareOperator.lt:
        return column < value
    return column <= value


class _Translator:
    def __init__(self, municipality_id: int) -> None:
        self.municipality_id = municipality_id

    def clause(self, node: FilterNode) -> Clause:
        if isinstance(node, LogicalExpr):
            terms = [self.clause(term) for term in node.terms]
            return sa.and_(*terms) if node.op == LogicalOperator.and_ else sa.or_(*terms)
        if isinstance(node, Not):
            return sa.not_(self.clause(node.expr))
        if isinstance(node, Present):
            return self._attribute(node.attr_path, None, None)
        if isinstance(node, Comparison):
            return self._attribute(node.attr_path, node.op, node.value)
        if isinstance(node, ValuePath):
            return self._emails(node)
        raise InvalidFilterException(detail="This filter is not supported.")

    def _emails(self, node: ValuePath) -> Clause:
        """``emails[type eq "work" and value eq "…"]``: the tracker keeps one address, the
        work address, which is also the primary one."""
        if node.attr_path.attr.lower() != "emails":
            raise InvalidFilterException(detail=f"Cannot filter on {node.attr_path}.")
        return self._email_entry(node.val_filter)

    def _email_entry(self, node: FilterNode) -> Clause:
        if isinstance(node, LogicalExpr):
            terms = [self._email_entry(term) for term in node.terms]
            return sa.and_(*terms) if node.op == LogicalOperator.and_ else sa.or_(*terms)
        if isinstance(node, Not):
            return sa.not_(self._email_entry(node.expr))
        if isinstance(node, Comparison | Present):
            sub = node.attr_path.attr.lower()
            op = node.op if isinstance(node, Comparison) else None
            value = node.value if isinstance(node, Comparison) else None
            if sub == "value":
                return self._text(Employee.email, op, value)
            if sub == "type":
                return self._constant("work", op, value)
            if sub == "primary":
                return self._constant(True, op, value)
        raise InvalidFilterException(detail="Cannot filter e-mail addresses so.")

    def _constant(self, held: Any, op: CompareOperator | None, value: Any) -> Clause:
        if op is None:
            return sa.true()
        if op == CompareOperator.eq:
            same = str(held).lower() == str(value).lower()
            return sa.true() if same else sa.false()
        if op == CompareOperator.ne:
            same = str(held).lower() == str(value).lower()
            return sa.false() if same else sa.true()
        raise InvalidFilterException(detail=f"Cannot compare that with '{op.value}'.")

    def _text(
        self, column: sa.SQLColumnExpression[Any], op: CompareOperator | None, value: Any, **kw: Any
    ) -> Clause:
        if op is None:
            return column.is_not(None)
        return _compare(column, op, value, **kw)

    def _attribute(self, path: AttrPath, op: CompareOperator | None, value: Any) -> Clause:
        name = path.attr.lower() + (f".{path.sub_attr.lower()}" if path.sub_attr else "")
        if path.uri is not None and path.uri.lower() == ENTERPRISE_URN.lower():
            name = f"enterprise:{name}"
        handler = self._handlers().get(name)
        if handler is None:
            raise InvalidFilterException(detail=f"Filtering on {path} is not supported.")
        return handler(op, value)

    def _handlers(self) -> dict[str, Callable[[CompareOperator | None, Any], Clause]]:
        m = self.municipality_id
        return {
            "id": self._id,
            "username": self._user_name,
            "externalid": lambda op, value: _linked(
                m, self._text(ScimLink.external_id, op, value, fold=False)
            ),
            "emails": lambda op, value: self._text(Employee.email, op, value),
            "emails.value": lambda op, value: self._text(Employee.email, op, value),
            "name.givenname": lambda op, value: self._text(Employee.first_name, op, value),
            "name.familyname": lambda op, value: self._text(Employee.last_name, op, value),
            "active": self._active,
            "employeenumber": self._employee_number,
            "enterprise:employeenumber": self._employee_number,
            "department": self._department,
            "enterprise:department": self._department,
        }

    def _id(self, op: CompareOperator | None, value: Any) -> Clause:
        if op is None:
            return sa.true()
        if op not in (CompareOperator.eq, CompareOperator.ne):
            raise InvalidFilterException(detail="id is compared with eq or ne only.")
        matches = Employee.id == int(value) if str(value).isdigit() else sa.false()
        return matches if op == CompareOperator.eq else sa.not_(matches)

    def _user_name(self, op: CompareOperator | None, value: Any) -> Clause:
        if op is None:
            return sa.true()
        if op == CompareOperator.eq and isinstance(value, str):
            return user_name_is(self.municipality_id, value.strip().lower())
        return sa.or_(
            _linked(self.municipality_id, _compare(ScimLink.user_name_key, op, value)),
            sa.and_(_compare(Employee.email, op, value), _unlinked(self.municipality_id)),
        )

    def _active(self, op: CompareOperator | None, value: Any) -> Clause:
        employed = sa.and_(
            Employee.active,
            sa.or_(Employee.end_date.is_(None), Employee.end_date > clock.today()),
        )
        if op is None:
            return sa.true()
        wanted = str(value).lower() == "true"
        if op == CompareOperator.eq:
            return employed if wanted else sa.not_(employed)
        if op == CompareOperator.ne:
            return sa.not_(employed) if wanted else employed
        raise InvalidFilterException(detail="active is compared with eq or ne only.")

    def _employee_number(self, op: CompareOperator | None, value: Any) -> Clause:
        return self._text(Employee.employee_number, op, value, fold=False)

    def _department(self, op: CompareOperator | None, value: Any) -> Clause:
        if op is None:
            return Employee.unit_id.is_not(None)
        return Employee.unit_id.in_(sa.select(Unit.id).where(_compare(Unit.name, op, value)))


def user_name_is(municipality_id: MunicipalityId, key: str | ColumnElement[str]) -> Clause:
    """``userName eq key`` (``key`` lower-cased) in two indexed lookups: the directory's
    userName, or (someone HR enrolled, not yet claimed by the directory) the e-mail address."""
    return sa.or_(
        _linked(municipality_id, ScimLink.user_name_key == key),
        sa.and_(Employee.email == key, _unlinked(municipality_id)),
    )


def user_name_equals(expression: str) -> str | None:
    """The userName of the filter ``userName eq "…"`` (lower-cased, as compared), if
    ``expression`` is that filter with a value without escapes; else None."""
    match = _USER_NAME_EQUALS.fullmatch(expression)
    return match.group(1).strip().lower() if match else None


def filter_clause(municipality_id: int, expression: str) -> Clause:
    """The WHERE clause of a SCIM filter; an unparsable or unsupported filter is refused with
    ``invalidFilter``."""
    try:
        parsed = ScimFilter[User](expression)
    except InvalidFilterException:
        raise
    except ValueError as error:  # the library's syntax errors
        raise InvalidFilterException(detail=str(error)) from error
    return _Translator(municipality_id).clause(parsed.ast)
