"""Rate-limit counters kept in the portal's own database, so a limit holds across every
worker and app server without Redis: `ODR_RATELIMIT_STORAGE_URL=database://` (the
default). Flask-Limiter counts fixed windows through a `limits` storage; this is one, with
one row per key and window. Each count is one atomic INSERT ... ON CONFLICT DO UPDATE
(PostgreSQL and SQLite alike), committed on its own connection: a request that rolls back
still counts."""

import random
import time

import sqlalchemy as sa
from limits.storage import Storage
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from odr.extensions import db

SCHEME = "database"
# One count in this many also removes the windows that have ended.
PRUNE_ONE_IN = 50


class RateLimitCounter(db.Model):
    """Hits of one rate-limit key in its current window (which ends at `expires_at`, in
    seconds since the epoch)."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    hits: Mapped[int] = mapped_column(sa.Integer, default=0)
    expires_at: Mapped[float] = mapped_column(sa.Float, index=True)


_T = RateLimitCounter.__table__


class DatabaseStorage(Storage):
    """A `limits` storage on an SQLAlchemy database (fixed windows)."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.url = options.get("url")
        if not self.url:
            raise ValueError("database:// rate-limit storage needs the database URL")
        self._engine = None

    @property
    def base_exceptions(self):
        return sa.exc.SQLAlchemyError

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            # A connection per count, closed at once: counts are rare (sign-ins, sign-ups)
            # and no connection outlives the app that made the storage.
            kwargs: dict = {"poolclass": sa.pool.NullPool}
            if self.url.startswith("sqlite"):
                kwargs["connect_args"] = {"timeout": 5}
            self._engine = sa.create_engine(self.url, **kwargs)
        return self._engine

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        fresh = dialect.insert(_T).values(key=key, hits=amount, expires_at=now + expiry)
        ended = _T.c.expires_at <= now
        statement = fresh.on_conflict_do_update(
            index_elements=[_T.c.key],
            set_={
                "hits": sa.case((ended, amount), else_=_T.c.hits + amount),
                "expires_at": sa.case((ended, now + expiry), else_=_T.c.expires_at),
            },
        ).returning(_T.c.hits)
        with self.engine.begin() as conn:
            hits = conn.execute(statement).scalar_one()
            if random.randrange(PRUNE_ONE_IN) == 0:
                conn.execute(sa.delete(_T).where(_T.c.expires_at <= now))
        return hits

    def get(self, key: str) -> int:
        with self.engine.connect() as conn:
            hits = conn.execute(
                sa.select(_T.c.hits).where(_T.c.key == key, _T.c.expires_at > time.time())
            ).scalar()
        return hits or 0

    def get_expiry(self, key: str) -> float:
        with self.engine.connect() as conn:
            expires = conn.execute(sa.select(_T.c.expires_at).where(_T.c.key == key)).scalar()
        return expires if expires is not None else time.time()

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.select(1))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.engine.begin() as conn:
            return conn.execute(sa.delete(_T)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(_T).where(_T.c.key == key))


def storage_options(config) -> dict:
    """Flask-Limiter's storage options for the configured storage: the database's URL for
    database://."""
    if str(config.get("RATELIMIT_STORAGE_URI", "")).startswith(f"{SCHEME}:"):
        return {"url": config["SQLALCHEMY_DATABASE_URI"]}
    return {}
