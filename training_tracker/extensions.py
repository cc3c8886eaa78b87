"""Flask extensions, created once without an app and initialised in ``create_app``."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session

# Stable constraint names, so Alembic migrations name (and can drop) them the same way on
# SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    if TYPE_CHECKING:
        # Every model is mapped to a Table (none to a select or a join), so ``Model.__table__``
        # is one: SQLAlchemy types it as the wider FromClause, which has no insert() or .c
        # typed per column. Narrowed here as SQLAlchemy's maintainers advise (sqlalchemy#9130).
        __table__: ClassVar[Table]


class _SQLAlchemy(SQLAlchemy):
    # Services take a plain Session; db.session is the scoped_session that hands every call to
    # the current request's (or job's) Session, so to the type checker it is what it stands for.
    session: Session  # type: ignore[assignment]  # a scoped_session proxying a Session

    def end_session(self) -> None:
        """Close the current scope's Session and forget it (a scheduler job that is done)."""
        cast("scoped_session[Session]", self.session).remove()

    def current_session(self) -> Session:
        """The current scope's Session itself (what ``db.session`` hands its calls to)."""
        return cast("scoped_session[Session]", self.session)()


db = _SQLAlchemy(model_class=Base)

# The models' base class. Flask-SQLAlchemy builds db.Model at run time, where a type checker
# cannot see it; to the type checker it is the declarative Base it is built on.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
