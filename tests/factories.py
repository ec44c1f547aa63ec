"""Factories for every model the tests need. Each builds through the same operations the
portal uses, so a factory-made case is a real case with its events."""

import contextlib
import functools
import itertools
from datetime import date, datetime
from types import SimpleNamespace

from odr.auth import operations as auth_ops
from odr.auth.models import StaffRole, UserRole
from odr.disputes import operations as ops
from odr.disputes.credit_code import check_character
from odr.disputes.models import (
    BodyKind,
    BodyMembership,
    Enterprise,
    EnterpriseStatus,
    MediationBody,
    Region,
    RegionLevel,
)
from odr.extensions import db

PASSWORD = "Test-pass-2026"
_seq = itertools.count(1)


@functools.cache
def _scrypt(password: str) -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password, method="scrypt")


@contextlib.contextmanager
def _hash_once():
    """Factory users get a real scrypt hash, computed once per password and process (about
    75 ms each otherwise: a world of 13 users cost a second a test)."""
    import odr.auth.models as models

    real = models.generate_password_hash
    models.generate_password_hash = lambda password, method="scrypt", **kw: _scrypt(password)
    try:
        yield
    finally:
        models.generate_password_hash = real


def credit_code(seed: int | None = None) -> str:
    n = seed if seed is not None else next(_seq)
    base = f"914101{n:011d}"
    return base + check_character(base)


def region(code, name, level, parent=None, name_en=None) -> Region:
    r = Region(code=code, name=name, name_en=name_en or name, level=level, parent_code=parent)
    db.session.add(r)
    db.session.flush()
    return r


def body(name, region_code, level, parent=None, kind=BodyKind.OFFICE) -> MediationBody:
    b = MediationBody(
        name=name,
        name_en=name,
        kind=kind,
        region_code=region_code,
        level=level,
        parent_id=parent.id if parent else None,
    )
    db.session.add(b)
    db.session.flush()
    return b


def enterprise(name, region_code, status=EnterpriseStatus.APPROVED, code=None) -> Enterprise:
    e = Enterprise(
        name=name,
        credit_code=code or credit_code(),
        region_code=region_code,
        address="测试地址 1号",
        contact_phone="0371-12345678",
        status=status,
        commitment=True,
    )
    db.session.add(e)
    db.session.flush()
    return e


def user(
    role: UserRole,
    email=None,
    name=None,
    *,
    enterprise=None,
    staff_role=None,
    locale="zh_CN",
    body_=None,
    head=False,
):
    email = email or f"{role}{next(_seq)}@test.example"
    with _hash_once():
        u = _create_user(role, email, name, enterprise, staff_role, locale)
    if body_ is not None:
        db.session.add(BodyMembership(user_id=u.id, body_id=body_.id, is_head=head))
        db.session.flush()
    return u


def _create_user(role, email, name, enterprise, staff_role, locale):
    if role == UserRole.CONSUMER:
        u = auth_ops.register_consumer(
            email=email,
            password=PASSWORD,
            name=name or "测试消费者",
            phone="13800000000",
            region_code="410105",
            address="郑州市金水区测试路1号",
            locale=locale,
        )
    else:
        u = auth_ops.create_user(
            role=role,
            email=email,
            password=PASSWORD,
            name=name or f"{role} user",
            enterprise=enterprise,
            staff_role=staff_role,
            locale=locale,
        )
    return u


def build_world() -> SimpleNamespace:
    """Henan (Zhengzhou: Jinshui, Erqi), Luoyang (Laocheng) and Zhejiang (Xihu); their
    offices; two approved enterprises and a pending one; a user of every kind."""
    w = SimpleNamespace()
    region("410000", "河南省", RegionLevel.PROVINCE, name_en="Henan")
    region("410100", "郑州市", RegionLevel.CITY, "410000", name_en="Zhengzhou")
    region("410105", "金水区", RegionLevel.COUNTY, "410100", name_en="Jinshui")
    region("410103", "二七区", RegionLevel.COUNTY, "410100", name_en="Erqi")
    region("410300", "洛阳市", RegionLevel.CITY, "410000", name_en="Luoyang")
    region("410302", "老城区", RegionLevel.COUNTY, "410300", name_en="Laocheng")
    region("330000", "浙江省", RegionLevel.PROVINCE, name_en="Zhejiang")
    region("330100", "杭州市", RegionLevel.CITY, "330000", name_en="Hangzhou")
    region("330106", "西湖区", RegionLevel.COUNTY, "330100", name_en="Xihu")
    w.province_body = body("河南省市场监督管理局", "410000", RegionLevel.PROVINCE)
    w.city_body = body("郑州市市场监督管理局", "410100", RegionLevel.CITY, w.province_body)
    w.jinshui = body("金水区市场监督管理局", "410105", RegionLevel.COUNTY, w.city_body)
    w.erqi = body("二七区市场监督管理局", "410103", RegionLevel.COUNTY, w.city_body)
    w.luoyang = body("洛阳市市场监督管理局", "410300", RegionLevel.CITY, w.province_body)
    w.laocheng = body("老城区市场监督管理局", "410302", RegionLevel.COUNTY, w.luoyang)
    w.xihu = body("西湖区市场监督管理局", "330106", RegionLevel.COUNTY)
    w.association = body(
        "河南省消费者协会", "410000", RegionLevel.PROVINCE, kind=BodyKind.ASSOCIATION
    )

    w.enterprise = enterprise("郑州测试百货有限公司", "410105", code="91330100716105852F")
    w.other_enterprise = enterprise("洛阳测试电器有限公司", "410302", code="91110000802100433B")
    w.pending_enterprise = enterprise("二七待审小店", "410103", EnterpriseStatus.PENDING)

    w.consumer = user(UserRole.CONSUMER, "consumer@test.example", "张三")
    w.consumer_en = user(UserRole.CONSUMER, "consumer.en@test.example", "Jane Doe", locale="en")
    w.other_consumer = user(UserRole.CONSUMER, "other@test.example", "李四")
    w.owner = user(
        UserRole.ENTERPRISE,
        "owner@test.example",
        "王老板",
        enterprise=w.enterprise,
        staff_role=StaffRole.OWNER,
    )
    w.agent = user(
        UserRole.ENTERPRISE,
        "agent@test.example",
        "客服小刘",
        enterprise=w.enterprise,
        staff_role=StaffRole.AGENT,
    )
    w.other_agent = user(
        UserRole.ENTERPRISE,
        "agent@other.example",
        "别家客服",
        enterprise=w.other_enterprise,
        staff_role=StaffRole.AGENT,
    )
    w.head = user(UserRole.MEDIATOR, "head@test.example", "金水主任", body_=w.jinshui, head=True)
    w.mediator = user(UserRole.MEDIATOR, "mediator@test.example", "金水调解员", body_=w.jinshui)
    w.city_mediator = user(
        UserRole.MEDIATOR, "city@test.example", "市局调解员", body_=w.city_body, head=True
    )
    w.other_mediator = user(
        UserRole.MEDIATOR, "laocheng@test.example", "老城调解员", body_=w.laocheng, head=True
    )
    w.admin = user(UserRole.ADMIN, "admin@test.example", "管理员")
    db.session.commit()
    return w


def complaint_data(enterprise=None, **overrides) -> dict:
    data = {
        "enterprise_id": enterprise.id if enterprise is not None else None,
        "green_channel": True,
        "subject_kind": "goods",
        "subject": "羽绒服",
        "purchase_date": "2026-09-01",
        "purchase_place": "郑州市金水区花园路",
        "amount": "1299.00",
        "issue": "quality",
        "requests": ["refund"],
        "claimed_amount": "1299.00",
        "facts": "拉链三天就坏了，要求退款。",
        # Order 121 (from 2026-04-15): the complainant declares their identity true.
        "identity_declared": True,
    }
    data.update(overrides)
    return data


def file_case(consumer, enterprise, *, now: datetime | None = None, commit=True, **overrides):
    complaint = ops.file_complaint(consumer, complaint_data(enterprise, **overrides), now=now)
    if commit:
        db.session.commit()
    return complaint


@contextlib.contextmanager
def counted(engine=None):
    """The SQL statements sent while the block runs (to db.engine by default)."""
    from sqlalchemy import event

    engine = engine if engine is not None else db.engine
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


@contextlib.contextmanager
def stats_snapshots_on(app):
    """The statistics pages read stored snapshots (off in tests), fresh for an hour."""
    app.config.update(ODR_STATS_SNAPSHOTS=True, ODR_STATS_TTL=3600)
    try:
        yield app
    finally:
        app.config.pop("ODR_STATS_SNAPSHOTS")
        app.config.pop("ODR_STATS_TTL")


def browser_session(client, user_id: int, raw: str | None = None) -> str:
    """Make `client` a browser signed in as the user, as /auth/login leaves it: the user's id
    and a live server-side session token (a new one unless `raw`) in its session cookie."""
    if raw is None:
        from odr.auth.models import User

        raw = auth_ops.start_session(db.session.get(User, user_id))
        db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
        session[auth_ops.SESSION_KEY] = raw
    return raw


def shanghai(y, m, d, hh=10, mm=0) -> datetime:
    from odr.disputes.deadlines import SHANGHAI

    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def day(s: str) -> date:
    return date.fromisoformat(s)


class ApiClient:
    """Thin helper: api.post(user, "/complaints", json=...) with a fresh bearer token."""

    def __init__(self, client):
        self.client = client
        self._tokens: dict[int, str] = {}

    def token(self, user) -> str:
        if user.id not in self._tokens:
            raw, _ = auth_ops.issue_token(user)
            db.session.commit()
            self._tokens[user.id] = raw
        return self._tokens[user.id]

    def headers(self, user) -> dict:
        return {"Authorization": f"Bearer {self.token(user)}"} if user is not None else {}

    def get(self, user, path, **kw):
        return self.client.get("/api/v1" + path, headers=self.headers(user), **kw)

    def post(self, user, path, **kw):
        return self.client.post("/api/v1" + path, headers=self.headers(user), **kw)
