"""Fill a database with N realistic cases in every state, fast, by bulk inserts.

    python -m bench.generate --url postgresql+psycopg://postgres@127.0.0.1:5432/odr_bench \
        --cases 1000000 --due 10000 --fresh

Every case is a real case: its timeline (hash-chained exactly like
odr/disputes/events.py, so `verify_chain` passes), its messages, offers, agreements with
signatures, notifications and record rows (no PDF files, no evidence files, no outbox
mail: those are not read by the pages). Reference data follow odr/seed.py: the Henan regions
and mediation bodies; plus E enterprises (one "big" national enterprise holds 5 % of all
cases), 3 mediators per body, one admin and N/4 consumers.

Clocks are consistent with the working-day calendar at the moment `as_of` (default: now):
open cases have running clocks that end after `as_of`, except exactly K negotiating cases
whose 10-working-day clock ended before it (what the sweep must escalate). Reminders that
would already have gone out are cleared, overdue acceptances are already flagged, so with
K = 0 the sweep finds nothing to do at `as_of`.

Schema: `--schema create_all` (default; db.create_all from the models, which is what the
tests use) or `--schema migrate` (flask_migrate.upgrade, the production path).

Bulk paths: PostgreSQL uses COPY through psycopg's cursor.copy (foreign-key triggers off
for the load with session_replication_role=replica when allowed); SQLite uses executemany
in transactions of one chunk, with synchronous=OFF and a big page cache during the load.
"""

from __future__ import annotations

import argparse
import bisect
import functools
import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa

from odr.disputes.credit_code import check_character
from odr.disputes.events import event_hash

BENCH_PASSWORD = "Bench-2026!"
BENCH_EMAILS = {
    "consumer": "bench.consumer@odr.bench",
    "owner": "bench.owner@odr.bench",
    "agent": "bench.agent@odr.bench",
    "mediator": "bench.mediator@odr.bench",
    "admin": "bench.admin@odr.bench",
}
BIG_ENTERPRISE = "全国在线零售集团有限公司"
# The audit key the bench seals under and its portal runs with (not a secret: bench data).
BENCH_AUDIT_KEY = "bench-audit-key-" + "0" * 48

# A plausible mix for a platform that has run for two years: most cases are closed. A few
# are members' claims in joint complaints still gathering members (plan_joints groups them,
# JOINT_MIN to JOINT_MAX to a group).
MIX = {
    "negotiating": 0.10,
    "pending_acceptance": 0.03,
    "mediating": 0.04,
    "suspended": 0.01,
    "settled": 0.42,
    "mediated": 0.10,
    "refused": 0.06,
    "terminated": 0.08,
    "withdrawn": 0.155,
    # Last, so that the other states' shares of the random draw (plan_states) stay where
    # they were before joint complaints: only some withdrawn cases became gathering ones.
    "gathering": 0.005,
}
# Only open cases: the sweep's worst case ("K due among N open").
OPEN_MIX = {
    "negotiating": 0.55,
    "pending_acceptance": 0.15,
    "mediating": 0.25,
    "suspended": 0.05,
}
MIXES = {"default": MIX, "open": OPEN_MIX}

# Channels (cumulative shares): online 85 %, phone 10 %, walk-in 4 %, letter 1 %.
CHANNELS = ("online", "phone", "walk_in", "letter")
CHANNEL_WEIGHTS = (0.85, 0.95, 0.99)

CHUNK = 10_000
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # as odr.disputes.records
EIGHT = timedelta(hours=8)  # Asia/Shanghai has no daylight saving: local = UTC + 8 h

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
)
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰"]
GIVEN += ["娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "文", "华", "红"]
PRODUCTS = [
    ("goods", "羽绒服", "quality"),
    ("goods", "电饭煲", "after_sales"),
    ("goods", "智能手机", "quality"),
    ("goods", "空调", "after_sales"),
    ("goods", "婴儿奶粉", "food_safety"),
    ("goods", "运动鞋", "counterfeit"),
    ("goods", "笔记本电脑", "quality"),
    ("goods", "洗衣机", "after_sales"),
    ("goods", "保健品", "false_advertising"),
    ("goods", "家具沙发", "contract"),
    ("service", "健身房会员卡", "prepaid_card"),
    ("service", "美容美发预付卡", "prepaid_card"),
    ("service", "家装工程", "contract"),
    ("service", "在线教育课程", "contract"),
    ("service", "快递服务", "other"),
    ("service", "旅游团费", "price"),
    ("service", "手机应用会员", "personal_data"),
]
FACTS = [
    "收到商品三天后出现质量问题，联系客服多次未果，要求退货退款。",
    "商家承诺七天无理由退货，但以拆封为由拒绝退货。",
    "宣传页面写明的功能与实物不符，存在虚假宣传。",
    "门店突然关闭，预付卡余额无法使用，商家失联。",
    "维修后同一故障再次出现，要求更换新品并赔偿损失。",
    "实际收费高于明码标价，要求退还差价。",
]
MESSAGES = [
    "您好，请提供购买凭证和商品照片。",
    "已上传发票和照片，请尽快处理。",
    "我们已联系仓库核实，请耐心等待。",
    "希望能尽快退款，谢谢。",
    "商家同意上门检测，时间另行约定。",
    "请双方于本周内提交补充材料。",
]
COUNTIES = ["410102", "410103", "410105", "410302", "410311", "330106"]


OPEN = {"gathering", "negotiating", "pending_acceptance", "mediating", "suspended"}
# Members of a gathering joint complaint (odr.disputes.models.joint.MIN_MEMBERS is 2).
JOINT_MIN, JOINT_MAX = 2, 5


@functools.cache
def _calendar_version() -> str:
    """The version of the calendar the generator's deadlines follow (asked once, in the
    app context)."""
    from odr.disputes.deadlines import current

    return current().version


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


# -- the working-day calendar, precomputed ---------------------------------------------------


class WorkCalendar:
    """The portal's calendar (odr.disputes.deadlines.is_workday), as a sorted list of days,
    so that "the N-th working day after D" is one bisect."""

    def __init__(self, start: date, end: date):
        from odr.disputes.deadlines import is_workday

        days, day = [], start
        while day <= end:
            if is_workday(day):
                days.append(day)
            day += timedelta(days=1)
        self.days = days

    def after(self, day: date, n: int) -> date:
        return self.days[bisect.bisect_right(self.days, day) + n - 1]

    def before(self, day: date, n: int) -> date:
        return self.days[bisect.bisect_left(self.days, day) - n]

    @staticmethod
    def local_day(moment: datetime) -> date:
        return (moment + EIGHT).date()

    def deadline(self, start: datetime, n: int) -> datetime:
        """Naive UTC end (23:59:59 Shanghai) of the N-th working day after `start`'s day."""
        day = self.after(self.local_day(start), n)
        return datetime(day.year, day.month, day.day, 15, 59, 59)

    def reminder(self, deadline_at: datetime) -> datetime:
        day = self.before(self.local_day(deadline_at), 2)
        return datetime(day.year, day.month, day.day) - EIGHT


# -- bulk sinks ------------------------------------------------------------------------------


def _sqlite_dt(value):
    return value.isoformat(" ", "microseconds")


def _json(value):
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _converters(table: sa.Table, dialect: str) -> list[tuple[int, object]]:
    """(column index, function) for the values the driver cannot take as they are."""
    from odr.types import UTCDateTime

    out = []
    for index, column in enumerate(table.columns):
        kind = column.type
        if isinstance(kind, sa.JSON):
            out.append((index, _json))
        elif dialect != "sqlite":
            continue
        elif isinstance(kind, UTCDateTime | sa.DateTime):
            out.append((index, _sqlite_dt))
        elif isinstance(kind, sa.Date):
            out.append((index, date.isoformat))
        elif isinstance(kind, sa.Numeric):
            out.append((index, float))
    return out


class Sink:
    """Writes lists of row dicts to tables on one raw DBAPI connection."""

    def __init__(self, engine: sa.Engine, *, tune: bool):
        self.engine = engine
        self.dialect = engine.dialect.name
        self.raw = engine.raw_connection()
        self.conn = self.raw.driver_connection
        self.tables: dict[str, tuple[list[str], list]] = {}
        self.rows_written: dict[str, int] = {}
        cur = self.conn.cursor()
        if self.dialect == "sqlite":
            self.conn.commit()
            cur.execute("PRAGMA foreign_keys=OFF" if tune else "PRAGMA foreign_keys=ON")
            if tune:
                cur.execute("PRAGMA synchronous=OFF")
                cur.execute("PRAGMA cache_size=-262144")
                cur.execute("PRAGMA temp_store=MEMORY")
        else:
            cur.execute("SET synchronous_commit = off")
            try:
                cur.execute("SET session_replication_role = replica")
            except Exception:  # not a superuser: keep the foreign-key checks
                self.conn.rollback()
        cur.close()

    def _table(self, name: str):
        if name not in self.tables:
            from odr.extensions import db

            table = db.metadata.tables[name]
            # A column the generator does not name takes its model's plain default (a
            # column added since, e.g. a flag that defaults to true), else NULL.
            defaults = {
                c.name: c.default.arg
                for c in table.columns
                if c.default is not None and not c.default.is_callable and c.default.is_scalar
            }
            self.tables[name] = (
                [c.name for c in table.columns],
                _converters(table, self.dialect),
                defaults,
            )
        return self.tables[name]

    def write(self, name: str, rows: list[dict]) -> None:
        if not rows:
            return
        columns, converters, defaults = self._table(name)
        try:
            tuples = list(map(itemgetter(*columns), rows))
        except KeyError:
            tuples = [tuple(row.get(c, defaults.get(c)) for c in columns) for row in rows]
        if converters:
            converted = []
            for item in tuples:
                item = list(item)
                for index, fn in converters:
                    if item[index] is not None:
                        item[index] = fn(item[index])
                converted.append(item)
            tuples = converted
        quoted = ", ".join(f'"{c}"' for c in columns)
        cur = self.conn.cursor()
        if self.dialect == "postgresql":
            with cur.copy(f'COPY "{name}" ({quoted}) FROM STDIN') as copy:
                for item in tuples:
                    copy.write_row(item)
        else:
            marks = ", ".join("?" for _ in columns)
            cur.executemany(f'INSERT INTO "{name}" ({quoted}) VALUES ({marks})', tuples)
        cur.close()
        self.rows_written[name] = self.rows_written.get(name, 0) + len(rows)

    def commit(self) -> None:
        self.conn.commit()

    def drop_indexes(self) -> list[sa.Index]:
        """Drop the secondary (non-unique) indexes of the tables the bulk load fills: one
        CREATE INDEX at the end is much cheaper than maintaining them row by row."""
        from odr.extensions import db

        dropped = []
        cur = self.conn.cursor()
        for name in ("complaint", *Ids.TABLES):
            for index in sorted(db.metadata.tables[name].indexes, key=lambda i: i.name):
                if not index.unique:
                    cur.execute(f'DROP INDEX IF EXISTS "{index.name}"')
                    dropped.append(index)
        self.conn.commit()
        cur.close()
        return dropped

    def create_indexes(self, indexes: list[sa.Index]) -> None:
        from sqlalchemy.schema import CreateIndex

        cur = self.conn.cursor()
        if self.dialect == "postgresql":
            cur.execute("SET maintenance_work_mem = '512MB'")
        for index in indexes:
            cur.execute(str(CreateIndex(index).compile(dialect=self.engine.dialect)))
            self.conn.commit()
        cur.close()

    def finish(self) -> None:
        from odr.extensions import db

        cur = self.conn.cursor()
        if self.dialect == "postgresql":
            cur.execute("SET session_replication_role = DEFAULT")
            for table in db.metadata.sorted_tables:
                pk = list(table.primary_key.columns)
                if len(pk) == 1 and isinstance(pk[0].type, sa.Integer):
                    cur.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', "
                        f"'{pk[0].name}'), COALESCE((SELECT max(\"{pk[0].name}\") "
                        f'FROM "{table.name}"), 0) + 1, false)'
                    )
            self.conn.commit()
            # VACUUM as well: after a bulk load nothing is marked all-visible yet, so every
            # index-only scan (the inbox, the queue) visits the table until autovacuum
            # comes by (inbox 91 -> 205 req/s at 1M). VACUUM runs outside a transaction.
            self.conn.autocommit = True
            cur.execute("VACUUM (ANALYZE)")
            self.conn.autocommit = False
        else:
            self.conn.commit()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("ANALYZE")
        self.conn.commit()
        cur.close()
        self.raw.close()


# -- reference data --------------------------------------------------------------------------


@dataclass
class World:
    """The ids and facts the case builder needs (built once, or re-read for a reset)."""

    as_of: datetime
    seed: int
    cal: WorkCalendar
    enterprises: list = field(default_factory=list)  # SimpleNamespace(id, odr, region, ...)
    approved: list = field(default_factory=list)
    cum_weights: list = field(default_factory=list)
    cum_approved: list = field(default_factory=list)
    body_for_region: dict = field(default_factory=dict)
    body_parent: dict = field(default_factory=dict)
    mediators: dict = field(default_factory=dict)  # body id -> [head id, other ids...]
    consumer_first: int = 0
    consumer_count: int = 0
    bench: dict = field(default_factory=dict)  # role -> user id
    big_enterprise_id: int = 0


def consumer_particulars(user_id: int) -> tuple[str, str, str, str, str]:
    """Name, phone, region, address and locale of a generated consumer (derived from the id,
    so a reset can rebuild a case without reading the user back)."""
    name = SURNAMES[user_id % len(SURNAMES)] + GIVEN[(user_id // len(SURNAMES)) % len(GIVEN)]
    phone = f"13{user_id % 1_000_000_000:09d}"
    region = COUNTIES[user_id % 5]  # Henan counties
    address = f"河南省测试路{user_id % 997 + 1}号{user_id % 31 + 1}室"
    locale = "en" if user_id % 20 == 0 else "zh_CN"
    return name, phone, region, address, locale


def credit_code(n: int) -> str:
    base = f"91410{n:012d}"
    return base + check_character(base)


def build_reference(n_cases: int, as_of: datetime, seed: int, sink: Sink, progress) -> World:
    from werkzeug.security import generate_password_hash

    from odr.auth.models import User
    from odr.disputes.models import (
        BodyMembership,
        Enterprise,
        EnterpriseStatus,
        MediationBody,
        Region,
    )
    from odr.extensions import db
    from odr.seed import BODIES, REGIONS

    rng = random.Random(seed)
    cal = _calendar(as_of)
    world = World(as_of=_naive(as_of), seed=seed, cal=cal)
    bench_hash = generate_password_hash(BENCH_PASSWORD, method="scrypt")
    other_hash = generate_password_hash(f"unknown-{seed}-{rng.random()}", method="scrypt")
    created = world.as_of - timedelta(days=800)

    for code, name, name_en, level, parent in REGIONS:
        if db.session.get(Region, code) is not None:
            continue
        db.session.add(
            Region(code=code, name=name, name_en=name_en, level=level, parent_code=parent)
        )
    db.session.flush()
    bodies = {}
    for key, name, name_en, kind, region, level, parent in BODIES:
        body = MediationBody(
            name=name,
            name_en=name_en,
            kind=kind,
            region_code=region,
            level=level,
            parent_id=bodies[parent].id if parent else None,
        )
        db.session.add(body)
        db.session.flush()
        bodies[key] = body

    def add_user(**values) -> int:
        user = User(created_at=created.replace(tzinfo=UTC), **values)
        db.session.add(user)
        db.session.flush()
        return user.id

    world.bench["admin"] = add_user(
        email=BENCH_EMAILS["admin"],
        password_hash=bench_hash,
        name="省局管理员",
        role="admin",
    )
    for key, body in bodies.items():
        ids = []
        for i in range(3):
            is_bench = key == "jinshui" and i == 0
            email = BENCH_EMAILS["mediator"] if is_bench else f"mediator{i}.{key}@odr.bench"
            ids.append(
                add_user(
                    email=email,
                    password_hash=bench_hash if is_bench else other_hash,
                    name=f"{body.name[:6]}调解员{i + 1}",
                    role="mediator",
                )
            )
            db.session.add(BodyMembership(user_id=ids[-1], body_id=body.id, is_head=i == 0))
        world.mediators[body.id] = ids
        world.body_parent[body.id] = body.parent_id
    world.bench["mediator"] = world.mediators[bodies["jinshui"].id][0]
    _route(world, {b.id: b.region_code for b in bodies.values()})

    n_enterprises = max(20, min(2000, n_cases // 500))
    statuses = [EnterpriseStatus.APPROVED] * 90 + [EnterpriseStatus.PENDING] * 5
    statuses += [EnterpriseStatus.SUSPENDED] * 3 + [EnterpriseStatus.EXITED] * 2
    weights = []
    for i in range(n_enterprises):
        big = i == 0
        status = EnterpriseStatus.APPROVED if big else rng.choice(statuses)
        region = "410105" if big else rng.choice(COUNTIES)
        enterprise = Enterprise(
            name=BIG_ENTERPRISE if big else f"{region[:4]}测试商贸{i:05d}号有限公司",
            credit_code=credit_code(i + 1),
            region_code=region,
            address=f"测试大道{i + 1}号",
            contact_phone=f"0371-{60000000 + i}",
            status=status,
            commitment=status == EnterpriseStatus.APPROVED,
            created_at=created.replace(tzinfo=UTC),
            approved_at=created.replace(tzinfo=UTC) if status != EnterpriseStatus.PENDING else None,
        )
        db.session.add(enterprise)
        db.session.flush()
        owner = add_user(
            email=BENCH_EMAILS["owner"] if big else f"owner{i}@enterprise.bench",
            password_hash=bench_hash if big else other_hash,
            name=f"企业负责人{i}",
            role="enterprise",
            enterprise_id=enterprise.id,
            staff_role="owner",
        )
        agent = add_user(
            email=BENCH_EMAILS["agent"] if big else f"agent{i}@enterprise.bench",
            password_hash=bench_hash if big else other_hash,
            name=f"客服专员{i}",
            role="enterprise",
            enterprise_id=enterprise.id,
            staff_role="agent",
        )
        item = SimpleNamespace(
            id=enterprise.id,
            odr=status == EnterpriseStatus.APPROVED,
            region=region,
            owner=owner,
            agent=agent,
        )
        world.enterprises.append(item)
        weights.append(1.0 / (i + 1) ** 0.8)  # a long tail of small shops
    # The big one answers 5 % of all cases.
    rest = sum(weights[1:])
    weights[0] = rest * 0.05 / 0.95
    world.big_enterprise_id = world.enterprises[0].id
    world.bench["owner"] = world.enterprises[0].owner
    world.bench["agent"] = world.enterprises[0].agent
    world.cum_weights = _cumulative(weights)
    world.approved = [e for e in world.enterprises if e.odr]
    world.cum_approved = _cumulative(
        [w for w, e in zip(weights, world.enterprises, strict=True) if e.odr]
    )
    db.session.commit()

    # Consumers: one bulk insert, ids in one block right after the last user.
    first = db.session.scalar(sa.select(sa.func.max(User.id))) + 1
    count = max(50, n_cases // 4)
    world.consumer_first, world.consumer_count = first, count
    world.bench["consumer"] = first
    rows = []
    for uid in range(first, first + count):
        name, phone, region, address, locale = consumer_particulars(uid)
        bench = uid == first
        rows.append(
            {
                "id": uid,
                "email": BENCH_EMAILS["consumer"] if bench else f"c{uid}@consumer.bench",
                "password_hash": bench_hash if bench else other_hash,
                "name": name,
                "phone": phone,
                "address": address,
                "role": "consumer",
                "locale": "zh_CN" if bench else locale,
                "region_code": region,
                "enterprise_id": None,
                "staff_role": None,
                "active": True,
                "created_at": created,
                "sms_notices": False,
                "claim_pending": False,
            }
        )
        if len(rows) >= 50_000:
            sink.write("user", rows)
            rows = []
    sink.write("user", rows)
    sink.commit()
    progress(f"reference data: {n_enterprises} enterprises, {count} consumers")
    return world


def _route(world: World, own_bodies: dict[int, str]) -> None:
    """The competent body of each region (odr.disputes.routing), among the bodies this
    generator made (a test database may hold others for the same regions)."""
    from odr.disputes.routing import competent_body_for_region

    by_region: dict[str, int] = {}
    for body_id, region in sorted(own_bodies.items()):
        by_region.setdefault(region, body_id)
    for code in COUNTIES:
        found = competent_body_for_region(code)
        if found is None:
            world.body_for_region[code] = None
        elif found.id in own_bodies:
            world.body_for_region[code] = found.id
        else:
            world.body_for_region[code] = by_region.get(found.region_code)


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _calendar(as_of: datetime) -> WorkCalendar:
    day = (_naive(as_of) + EIGHT).date()
    return WorkCalendar(day - timedelta(days=900), day + timedelta(days=100))


# -- one case --------------------------------------------------------------------------------


class Ids:
    """Next free id of every table the builder writes."""

    TABLES = (
        "case_event",
        "message",
        "offer",
        "agreement",
        "signature",
        "notification",
        "record",
        "joint_complaint",
        "joint_member",
    )

    def __init__(self, start: dict[str, int]):
        self.next = dict(start)

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


@dataclass
class Rows:
    complaint: list = field(default_factory=list)
    case_event: list = field(default_factory=list)
    message: list = field(default_factory=list)
    offer: list = field(default_factory=list)
    agreement: list = field(default_factory=list)
    signature: list = field(default_factory=list)
    notification: list = field(default_factory=list)
    record: list = field(default_factory=list)
    joint_complaint: list = field(default_factory=list)
    joint_member: list = field(default_factory=list)

    ORDER = (
        "complaint",
        "joint_complaint",
        "joint_member",
        "offer",
        "agreement",
        "signature",
        "case_event",
        "message",
        "notification",
        "record",
    )

    def flush(self, sink: Sink) -> None:
        for name in self.ORDER:
            sink.write(name, getattr(self, name))
            getattr(self, name).clear()


class CaseBuilder:
    """Builds one case's rows, walking the same path through the state machine that the
    operations would, with one hash-chained event per move."""

    def __init__(self, world: World, ids: Ids, rows: Rows):
        self.w, self.ids, self.rows = world, ids, rows
        # case id -> (its group, its membership) for members' claims in gathering groups
        self.joints: dict[int, tuple[dict, dict]] = {}

    def plan_joints(self, groups: list[list[int]]) -> None:
        """The joint complaints still gathering members, one per list of member case ids
        (ascending: members join in the order their cases are filed). As
        odr.disputes.joint makes them: against an approved enterprise, with the group's
        issue and story; the creator first (their claim given at the start, so their case
        is filed as the group is made), the others joining since, each with a case of their
        own; in some groups the members have already elected one or two representatives
        (joint.elect writes no event)."""
        w, cal = self.w, self.w.cal
        rng = random.Random(w.seed * 1_000_003 - 1)
        today = cal.local_day(w.as_of)
        latest = w.as_of - timedelta(minutes=1)
        for cases in groups:
            joint_id = self.ids.take("joint_complaint")
            enterprise = self._pick_enterprise(rng, approved_only=True)
            kind, subject, issue = PRODUCTS[rng.randrange(len(PRODUCTS))]
            created = min(self._day_time(rng, today - timedelta(days=rng.randint(0, 20))), latest)
            consumers: list[int] = []
            for cid in cases:  # distinct consumers: one membership each
                consumer_id = self._consumer(cid, rng)
                while consumer_id in consumers:
                    consumer_id = w.consumer_first + 1 + rng.randrange(w.consumer_count - 1)
                consumers.append(consumer_id)
            span = int((latest - created).total_seconds())
            joined = [created] + sorted(
                created + timedelta(seconds=rng.randint(0, span)) for _ in cases[1:]
            )
            draw = rng.random()
            elected = 0 if draw < 0.4 else 1 if draw < 0.8 else 2
            group = {
                "id": joint_id,
                "reference": f"JC-{cal.local_day(created).year}-{joint_id:07d}",
                "enterprise_id": enterprise.id,
                "issue": issue,
                "subject_kind": kind,
                "subject": subject,
                "facts": rng.choice(FACTS),
                "green_channel": rng.random() < 0.9,
                "state": "gathering",
                "created_by_id": consumers[0],
                "created_at": created,
                "submitted_at": None,
                "submitted_by_id": None,
                "mediator_id": None,
            }
            for i, cid in enumerate(cases):
                member = {
                    "consumer_id": consumers[i],
                    "joined_at": joined[i],
                    "representative": i < elected,
                    "first": i == 0,
                    "enterprise": enterprise,
                }
                self.joints[cid] = (group, member)

    # helpers
    def _event(self, c, at, actor_id, role, action, from_state, to_state, details):
        event = SimpleNamespace(
            complaint_id=c["id"],
            at=at.replace(tzinfo=UTC),
            actor_id=actor_id,
            actor_role=role,
            action=action,
            from_state=from_state,
            to_state=to_state,
            details=details,
            prev_hash=c["chain_head"],
        )
        event.hash = event_hash(event)
        c["chain_head"] = event.hash
        c["version"] += 1
        c["state"] = to_state
        self.rows.case_event.append(
            {
                "id": self.ids.take("case_event"),
                "complaint_id": c["id"],
                "at": at,
                "actor_id": actor_id,
                "actor_role": role,
                "action": action,
                "from_state": from_state,
                "to_state": to_state,
                "details": json.dumps(details, ensure_ascii=False),
                "prev_hash": event.prev_hash,
                "hash": event.hash,
            }
        )
        return event

    def _message(self, c, rng, at, author_id, role, internal=False):
        self.rows.message.append(
            {
                "id": self.ids.take("message"),
                "complaint_id": c["id"],
                "author_id": author_id,
                "author_role": role,
                "body": rng.choice(MESSAGES),
                "internal": internal,
                "created_at": at,
            }
        )

    def _offer(self, c, rng, at, made_by, status, answered=None, counter=None):
        amount = Decimal(rng.randint(0, int(c["claimed_amount"]) or 1)).quantize(Decimal("0.01"))
        offer = {
            "id": self.ids.take("offer"),
            "complaint_id": c["id"],
            "made_by_id": made_by,
            "remedy": rng.choice(["refund", "replace", "repair", "compensate"]),
            "amount": amount,
            "terms": "七日内办理退款，并承担往返运费。",
            "performance_due": (at + timedelta(days=10)).date(),
            "status": status,
            "counter_proposal": counter,
            "created_at": at,
            "answered_at": answered,
        }
        self.rows.offer.append(offer)
        return offer

    def _notify(self, c, user_id, kind, at, read: bool):
        self.rows.notification.append(
            {
                "id": self.ids.take("notification"),
                "user_id": user_id,
                "complaint_id": c["id"],
                "kind": kind,
                "params": {"reference": c["reference"]},
                "created_at": at,
                "read_at": at + timedelta(hours=3) if read else None,
            }
        )

    def _record(self, c, rng, kind, at):
        bits = rng.getrandbits(80)
        code = "".join(CODE_ALPHABET[(bits >> (5 * i)) & 31] for i in range(16))
        self.rows.record.append(
            {
                "id": self.ids.take("record"),
                "complaint_id": c["id"],
                "kind": kind,
                "code": code,
                "issued_at": at,
                "sha256": f"{rng.getrandbits(256):064x}",
                "path": f"{code}.pdf",
                "size": 30_000 + rng.randint(0, 20_000),
                "language": c["language"],
            }
        )

    @staticmethod
    def _later(rng, at, lo_hours, hi_hours):
        return at + timedelta(seconds=rng.randint(int(lo_hours * 3600), int(hi_hours * 3600)))

    def _pick_enterprise(self, rng, approved_only: bool):
        w = self.w
        if approved_only:
            i = bisect.bisect_left(w.cum_approved, rng.random() * w.cum_approved[-1])
            return w.approved[min(i, len(w.approved) - 1)]
        i = bisect.bisect_left(w.cum_weights, rng.random() * w.cum_weights[-1])
        return w.enterprises[min(i, len(w.enterprises) - 1)]

    def _day_time(self, rng, day: date) -> datetime:
        """A moment between 08:00 and 21:00 Shanghai on `day`, naive UTC."""
        return (
            datetime(day.year, day.month, day.day)
            - EIGHT
            + timedelta(seconds=rng.randint(8 * 3600, 21 * 3600))
        )

    def _consumer(self, cid: int, rng) -> int:
        w = self.w
        # The bench consumer files one case in every N/60 (about 60 cases).
        if cid % max(1, self.every) == 0:
            return w.bench["consumer"]
        return w.consumer_first + 1 + rng.randrange(max(1, w.consumer_count - 1))

    every = 1

    # the case
    def build(self, cid: int, state: str, due: bool) -> dict:
        w, cal = self.w, self.w.cal
        rng = random.Random(w.seed * 1_000_003 + cid)
        as_of = w.as_of
        today = cal.local_day(as_of)
        joint = self.joints.get(cid) if state == "gathering" else None
        consumer_id = joint[1]["consumer_id"] if joint else self._consumer(cid, rng)
        name, phone, region, address, locale = consumer_particulars(consumer_id)
        if consumer_id == w.bench["consumer"]:
            locale = "zh_CN"

        open_states = {"negotiating", "pending_acceptance", "mediating", "suspended"}
        via_enterprise = state in {"negotiating", "settled"} or (
            state in {"withdrawn"} and rng.random() < 0.6
        )
        # The respondent: an approved enterprise for direct settlement, otherwise anyone
        # (an unlisted business for about 8 % of cases).
        enterprise = None
        if via_enterprise or rng.random() >= 0.08:
            enterprise = self._pick_enterprise(rng, approved_only=via_enterprise)
        if not via_enterprise and enterprise is not None and enterprise.odr:
            # Escalated from direct settlement most of the time, else filed without the
            # green channel.
            via_enterprise = state != "withdrawn" and rng.random() < 0.75
        # Filed past an approved enterprise only without the green channel.
        green = via_enterprise or (
            enterprise is not None and not enterprise.odr and rng.random() < 0.5
        )
        if joint:  # the group's respondent and channel (joint._case_fields)
            enterprise, green = joint[1]["enterprise"], joint[0]["green_channel"]
        resp_region = enterprise.region if enterprise else COUNTIES[cid % len(COUNTIES)]
        body_id = w.body_for_region.get(resp_region)

        kind, subject, issue = PRODUCTS[rng.randrange(len(PRODUCTS))]
        if joint:
            kind, subject, issue = (joint[0][k] for k in ("subject_kind", "subject", "issue"))
        amount = Decimal(rng.choice([59, 128, 299, 459, 899, 1299, 2599, 3999, 6800, 12000]))
        claimed = amount * rng.choice([1, 1, 1, 2, 3]) if issue == "counterfeit" else amount

        # When it was filed: open cases recently, closed ones over the last two years.
        if joint:  # when the member joined (the creator: when the group was made)
            filed = joint[1]["joined_at"]
        elif state == "negotiating":
            filed = self._negotiating_filed(rng, today, due)
        elif state in open_states:
            filed = None  # decided below, backwards from arrival
        else:
            # Long enough ago for the whole path (mediation takes up to 45 working days).
            recent = 120 if state in {"mediated", "terminated", "refused"} else 30
            filed = as_of - timedelta(days=rng.uniform(recent, 730))

        c = {
            "id": cid,
            "reference": None,
            "consumer_id": consumer_id,
            "complainant_name": name,
            "complainant_phone": phone,
            "complainant_address": address,
            "language": locale,
            "enterprise_id": enterprise.id if enterprise else None,
            "respondent_name": None if enterprise else f"{resp_region}无名小店{cid % 9973}",
            "respondent_credit_code": None,
            "respondent_region_code": None if enterprise else resp_region,
            "green_channel": green,
            "subject_kind": kind,
            "subject": subject,
            "purchase_date": None,
            "purchase_place": "线上店铺" if rng.random() < 0.6 else "实体门店",
            "purchase_url": None,
            "amount": amount,
            "issue": issue,
            "requests": sorted(rng.sample(["refund", "return", "replace", "repair"], 2)),
            "claimed_amount": claimed,
            "facts": rng.choice(FACTS),
            "state": None,
            "body_id": None,
            "mediator_id": None,
            "assignee_id": None,
            "deadline_at": None,
            "reminder_at": None,
            "clock_days_left": None,
            "calendar_version": None,
            "overdue_flagged": False,
            "raised_to_body_id": None,
            "rule_version": "2026.1",
            "filed_at": filed,
            "escalated_at": None,
            "arrived_at": None,
            "accepted_at": None,
            "closed_at": None,
            "first_answer_at": None,
            "answer_due_at": None,
            "refusal_reason": None,
            "termination_reason": None,
            "outcome_note": None,
            "settled_amount": None,
            "performance_due": None,
            "performance_status": None,
            "rating": None,
            "rating_comment": None,
            "chain_head": None,
            "version": 0,
            # How it came in: mostly online, the rest taken by hotline seats and stations
            # (their seats and stations are not generated: only the channel is counted).
            "channel": CHANNELS[bisect.bisect(CHANNEL_WEIGHTS, rng.random())],
            "platform_id": None,
            "platform_name": None,
            "platform_region_code": None,
            "seller_address_usable": True,
            "taken_by_id": None,
            "intake_body_id": None,
            "intake_station_id": None,
            "intake_note": None,
        }
        owner = enterprise.owner if enterprise else None
        agent = enterprise.agent if enterprise else None
        mediators = w.mediators.get(body_id) or [None]
        head = mediators[0]

        # Open cases past negotiation are dated backwards from where they stand now.
        if state in {"pending_acceptance", "mediating", "suspended"}:
            arrived, accepted = self._open_mediation_dates(rng, today, state)
            span = timedelta(hours=rng.randint(24, 24 * 9)) if via_enterprise else timedelta(0)
            filed = arrived - span
            c["filed_at"] = filed
        else:
            arrived = accepted = None

        c["reference"] = f"ODR-{cal.local_day(c['filed_at']).year}-{cid:07d}"
        c["purchase_date"] = cal.local_day(c["filed_at"]) - timedelta(days=rng.randint(3, 60))
        t = c["filed_at"]
        if joint:
            return self._gathering(c, *joint)

        # -- filing
        if via_enterprise:
            self._event(
                c,
                t,
                consumer_id,
                "consumer",
                "file",
                None,
                "negotiating",
                {"routed_to": "enterprise", "body_id": None},
            )
            neg_deadline = cal.deadline(t, 10)
            c["answer_due_at"] = neg_deadline
        else:
            c["body_id"], c["arrived_at"] = body_id, t
            self._event(
                c,
                t,
                consumer_id,
                "consumer",
                "file",
                None,
                "pending_acceptance",
                {"routed_to": "body", "body_id": body_id},
            )
            neg_deadline = None
        if owner:
            self._notify(c, owner, "filed", t, read=t < as_of - timedelta(days=7))

        # -- direct settlement
        if via_enterprise:
            limit = arrived or (as_of if state == "negotiating" else t + timedelta(days=12))
            if rng.random() < 0.5:
                m = self._later(rng, t, 1, 30)
                if m < limit:
                    self._message(c, rng, m, agent, "enterprise")
                    c["first_answer_at"] = c["first_answer_at"] or m
                    t = m
            offer = None
            if state == "settled" or rng.random() < 0.45:
                at = self._later(rng, t, 1, 48)
                if state == "settled" or at < limit:
                    offer = self._offer(c, rng, at, agent, "open")
                    c["first_answer_at"] = c["first_answer_at"] or at
                    self._event(
                        c,
                        at,
                        agent,
                        "enterprise",
                        "make_offer",
                        "negotiating",
                        "negotiating",
                        {
                            "offer_id": offer["id"],
                            "remedy": offer["remedy"],
                            "amount": f"{offer['amount']:.2f}",
                        },
                    )
                    t = at
            if offer and state != "settled" and rng.random() < 0.4:
                at = self._later(rng, t, 1, 24)
                if at < limit:
                    offer["status"], offer["answered_at"] = "rejected", at
                    offer["counter_proposal"] = "希望全额退款。"
                    self._event(
                        c,
                        at,
                        consumer_id,
                        "consumer",
                        "reject_offer",
                        "negotiating",
                        "negotiating",
                        {"offer_id": offer["id"], "counter_proposal": "希望全额退款。"},
                    )
                    t = at
            if state == "negotiating":
                c["deadline_at"] = neg_deadline
                reminder = cal.reminder(neg_deadline)
                c["reminder_at"] = reminder if reminder > as_of and not due else None
                return self._finish(c)
            if state == "settled":
                at = self._later(rng, t, 2, 72)
                offer["status"], offer["answered_at"] = "accepted", at
                c["settled_amount"] = offer["amount"]
                c["performance_due"] = offer["performance_due"]
                c["performance_status"] = rng.choice(["pending", "confirmed", "confirmed"])
                c["closed_at"] = at
                self._event(
                    c,
                    at,
                    consumer_id,
                    "consumer",
                    "accept_offer",
                    "negotiating",
                    "settled",
                    {"offer_id": offer["id"]},
                )
                self._record(c, rng, "settlement", at)
                self._notify(c, consumer_id, "settled", at, read=True)
                return self._after_close(c, rng, at, consumer_id)
            if state == "withdrawn":
                at = self._later(rng, t, 2, 96)
                return self._withdraw(c, rng, at, consumer_id, "negotiating")
            # Off to the competent body: the enterprise declines, the consumer asks, or
            # the clock ran out.
            at = arrived or self._later(rng, t, 24, 24 * 9)
            if offer and offer["status"] == "open":
                offer["status"] = "lapsed"
            c["body_id"], c["escalated_at"], c["arrived_at"] = body_id, at, at
            if at > neg_deadline:
                move, actor, role = "escalate_overdue", None, "system"
                details = {"deadline_at": str(neg_deadline.replace(tzinfo=UTC)), "body_id": body_id}
            elif rng.random() < 0.5:
                move, actor, role = "decline", owner, "enterprise"
                details = {"reason": None, "body_id": body_id}
                c["first_answer_at"] = c["first_answer_at"] or at
            else:
                move, actor, role = "escalate", consumer_id, "consumer"
                details = {"reason": None, "body_id": body_id}
            self._event(c, at, actor, role, move, "negotiating", "pending_acceptance", details)
            t = at
        else:
            if state == "withdrawn":
                at = self._later(rng, t, 2, 96)
                return self._withdraw(c, rng, at, consumer_id, "pending_acceptance")

        # -- acceptance
        acc_deadline = cal.deadline(c["arrived_at"], 7)
        if state == "pending_acceptance":
            c["deadline_at"] = acc_deadline
            if acc_deadline < as_of:
                # Already flagged by an earlier sweep and raised to the parent body.
                at = acc_deadline + timedelta(minutes=5)
                c["overdue_flagged"] = True
                c["raised_to_body_id"] = w.body_parent.get(body_id)
                self._event(
                    c,
                    at,
                    None,
                    "system",
                    "flag_overdue",
                    "pending_acceptance",
                    "pending_acceptance",
                    {"raised_to_body_id": c["raised_to_body_id"]},
                )
            else:
                reminder = cal.reminder(acc_deadline)
                c["reminder_at"] = reminder if reminder > as_of else None
            return self._finish(c)
        at = accepted or self._later(rng, t, 4, 24 * 6)
        if state == "refused":
            reason = rng.choice(["R1", "R2", "R3", "R4", "R5", "R6"])
            c["refusal_reason"], c["outcome_note"] = reason, "经审查，不符合受理条件。"
            c["closed_at"], c["mediator_id"] = at, head
            self._event(
                c,
                at,
                head,
                "mediator",
                "refuse",
                "pending_acceptance",
                "refused",
                {"reason": reason, "explanation": "经审查，不符合受理条件。"},
            )
            self._record(c, rng, "refusal", at)
            self._notify(c, consumer_id, "refused", at, read=True)
            return self._finish(c)
        c["accepted_at"], c["mediator_id"] = at, head
        med_deadline = cal.deadline(at, 45)
        self._event(
            c,
            at,
            head,
            "mediator",
            "accept",
            "pending_acceptance",
            "mediating",
            {"body_id": body_id},
        )
        t = at
        if len(mediators) > 1 and rng.random() < 0.5:
            at = self._later(rng, t, 1, 30)
            c["mediator_id"] = mediators[1 + rng.randrange(len(mediators) - 1)]
            self._event(
                c,
                at,
                head,
                "mediator",
                "assign",
                "mediating",
                "mediating",
                {"mediator_id": c["mediator_id"], "previous_mediator_id": head},
            )
            t = at
        # -- mediation
        for _ in range(rng.randint(1, 4)):
            m = self._later(rng, t, 2, 72)
            if m >= as_of:
                break
            who = rng.random()
            if who < 0.35:
                self._message(c, rng, m, consumer_id, "consumer")
            elif who < 0.7 and agent:
                self._message(c, rng, m, agent, "enterprise")
            else:
                self._message(c, rng, m, c["mediator_id"], "mediator", internal=who > 0.9)
            t = m
        mediator = c["mediator_id"]
        if state == "mediating":
            c["deadline_at"] = med_deadline
            reminder = cal.reminder(med_deadline)
            c["reminder_at"] = reminder if reminder > as_of else None
            return self._finish(c)
        if state == "suspended":
            at = min(self._later(rng, t, 2, 48), as_of - timedelta(minutes=1))
            left = rng.randint(5, 40)
            c["clock_days_left"] = left
            self._event(
                c,
                at,
                mediator,
                "mediator",
                "suspend",
                "mediating",
                "suspended",
                {"reason": "送检中", "working_days_left": left},
            )
            return self._finish(c)
        if state == "withdrawn":
            return self._withdraw(c, rng, self._later(rng, t, 2, 96), consumer_id, "mediating")
        if state == "terminated":
            if rng.random() < 0.3:
                at = med_deadline + timedelta(minutes=7)
                reason, actor, role, move = "T5", None, "system", "expire"
                note = None
            else:
                at = self._later(rng, t, 24, 24 * 20)
                reason = rng.choice(["T2", "T3", "T4", "T6", "T7"])
                actor, role, move, note = mediator, "mediator", "terminate", "双方无法达成一致。"
            c["termination_reason"], c["outcome_note"], c["closed_at"] = reason, note, at
            self._event(
                c,
                at,
                actor,
                role,
                move,
                "mediating",
                "terminated",
                {"reason": reason, "explanation": note},
            )
            self._record(c, rng, "termination", at)
            self._notify(c, consumer_id, "terminated", at, read=True)
            return self._finish(c)
        # mediated: proposal, then both signatures
        at = self._later(rng, t, 24, 24 * 15)
        agreement_id = self.ids.take("agreement")
        agreed = Decimal(rng.randint(50, int(claimed) + 50)).quantize(Decimal("0.01"))
        due_day = cal.local_day(at) + timedelta(days=15)
        self.rows.agreement.append(
            {
                "id": agreement_id,
                "complaint_id": cid,
                "proposed_by_id": mediator,
                "terms": "被申请人于十五日内向申请人支付补偿款。",
                "amount": agreed,
                "performance_due": due_day,
                "status": "signed",
                "created_at": at,
            }
        )
        self._event(
            c,
            at,
            mediator,
            "mediator",
            "propose_agreement",
            "mediating",
            "mediating",
            {"agreement_id": agreement_id, "amount": f"{agreed:.2f}"},
        )
        signers = [("consumer", consumer_id)]
        if owner:
            signers.append(("enterprise", owner))
        for i, (party, user_id) in enumerate(signers):
            at = self._later(rng, at, 1, 48)
            last = i == len(signers) - 1
            self.rows.signature.append(
                {
                    "id": self.ids.take("signature"),
                    "agreement_id": agreement_id,
                    "user_id": user_id,
                    "party": party,
                    "signed_at": at,
                    "ip_address": "127.0.0.1",
                }
            )
            self._event(
                c,
                at,
                user_id,
                party,
                "sign_agreement",
                "mediating",
                "mediated" if last else "mediating",
                {"agreement_id": agreement_id, "party": party, "ip_address": "127.0.0.1"},
            )
        c["settled_amount"], c["performance_due"] = agreed, due_day
        c["performance_status"], c["closed_at"] = "pending", at
        self._record(c, rng, "mediation_agreement", at)
        self._notify(c, consumer_id, "mediated", at, read=True)
        return self._after_close(c, rng, at, consumer_id)

    def _gathering(self, c, group, member):
        """A member's claim in a gathering group, as operations.filing(joint_id=...) files
        it: not routed (no body, no clock, no arrival), nobody told, one `file` event to
        `gathering` naming the group. The group's row goes in with its first member's
        case, each membership with its member's."""
        from odr.disputes.rules import rule_set_for

        t = c["filed_at"]
        self._event(
            c,
            t,
            c["consumer_id"],
            "consumer",
            "file",
            None,
            "gathering",
            {
                "joint_complaint_id": group["id"],
                "rule_set": rule_set_for(self.w.cal.local_day(t)).code,
                "identity_declared": True,
            },
        )
        if member["first"]:
            self.rows.joint_complaint.append(group)
        self.rows.joint_member.append(
            {
                "id": self.ids.take("joint_member"),
                "joint_id": group["id"],
                "consumer_id": c["consumer_id"],
                "complaint_id": c["id"],
                "representative": member["representative"],
                "joined_at": member["joined_at"],
                "left_at": None,
            }
        )
        return self._finish(c)

    def _negotiating_filed(self, rng, today: date, due: bool) -> datetime:
        cal = self.w.cal
        for _ in range(50):
            if due:  # the clock ended before as_of
                day = today - timedelta(days=rng.randint(15, 30))
                filed = self._day_time(rng, day)
                if cal.deadline(filed, 10) < self.w.as_of:
                    return filed
            else:
                day = today - timedelta(days=rng.randint(0, 14))
                filed = self._day_time(rng, day)
                if filed < self.w.as_of and cal.deadline(filed, 10) > self.w.as_of:
                    return filed
        raise RuntimeError("could not place a negotiating case around as_of")

    def _open_mediation_dates(self, rng, today: date, state: str):
        cal, as_of = self.w.cal, self.w.as_of
        for _ in range(50):
            if state == "pending_acceptance":
                arrived = self._day_time(rng, today - timedelta(days=rng.randint(0, 14)))
                if arrived < as_of:
                    return arrived, None
            else:
                accepted = self._day_time(rng, today - timedelta(days=rng.randint(1, 60)))
                arrived = accepted - timedelta(hours=rng.randint(4, 24 * 6))
                if accepted < as_of and cal.deadline(accepted, 45) > as_of:
                    return arrived, accepted
        raise RuntimeError("could not place an open case around as_of")

    def _withdraw(self, c, rng, at, consumer_id, from_state):
        c["closed_at"], c["termination_reason"] = at, "T1"
        if c["body_id"] is None and from_state != "negotiating":
            c["body_id"] = None
        self._event(
            c,
            at,
            consumer_id,
            "consumer",
            "withdraw",
            from_state,
            "withdrawn",
            {"reason": "已自行解决", "termination_reason": "T1"},
        )
        if from_state == "mediating":
            self._record(c, rng, "termination", at)
        return self._finish(c)

    def _after_close(self, c, rng, at, consumer_id):
        if c["performance_status"] == "confirmed":
            at = self._later(rng, at, 24, 24 * 10)
            c["performance_status"] = "confirmed"
            self._event(
                c,
                at,
                consumer_id,
                "consumer",
                "report_performance",
                c["state"],
                c["state"],
                {"status": "confirmed", "note": None},
            )
        if rng.random() < 0.4:
            at = self._later(rng, at, 1, 24 * 5)
            c["rating"] = rng.randint(1, 5)
            self._event(
                c,
                at,
                consumer_id,
                "consumer",
                "rate",
                c["state"],
                c["state"],
                {"rating": c["rating"]},
            )
        return self._finish(c)

    def _finish(self, c):
        if c["state"] in OPEN:
            # Computed on the portal's calendar (WorkCalendar): stamped as the operations
            # stamp, so that the first sweep does not derive every open clock again.
            c["calendar_version"] = _calendar_version()
        self.rows.complaint.append(c)
        return c


# -- the run ---------------------------------------------------------------------------------


def plan_states(n: int, mix: dict[str, float], seed: int) -> list[str]:
    rng = random.Random(seed)
    names, weights = list(mix), list(mix.values())
    return rng.choices(names, weights=weights, k=n)


def plan_joints(states: list[str], seed: int, mix: dict[str, float]) -> list[list[int]]:
    """Group the `gathering` slots of a plan into joint complaints of JOINT_MIN to JOINT_MAX
    members each (slot offsets, ascending within a group). When the mix has gathering
    cases, the plan gets at least JOINT_MIN of them (other slots, never negotiating ones,
    become gathering), so that a small run still holds a whole group."""
    rng = random.Random(seed + 2)
    slots = [i for i, s in enumerate(states) if s == "gathering"]
    if mix.get("gathering") and len(slots) < JOINT_MIN:
        spare = [i for i, s in enumerate(states) if s not in {"gathering", "negotiating"}]
        for i in rng.sample(spare, min(len(spare), JOINT_MIN - len(slots))):
            states[i] = "gathering"
            slots.append(i)
    slots.sort()
    rng.shuffle(slots)
    groups, left = [], len(slots)
    while left >= JOINT_MIN:
        size = min(rng.randint(JOINT_MIN, JOINT_MAX), left)
        if left - size == 1:  # never leave a group of one behind
            size = size + 1 if size < JOINT_MAX else size - 1
        groups.append(sorted(slots[left - size : left]))
        left -= size
    for i in slots[:left]:  # only when no slot could be spared: no group of one
        states[i] = "withdrawn"
    return groups


def _start_ids(engine: sa.Engine) -> dict[str, int]:
    out = {}
    with engine.connect() as conn:
        for table in ("complaint",) + Ids.TABLES:
            top = conn.exec_driver_sql(f'SELECT max(id) FROM "{table}"').scalar()
            out[table] = (top or 0) + 1
    return out


def generate(
    *,
    n: int,
    k_due: int,
    as_of: datetime | None = None,
    seed: int = 2026,
    mix: str = "default",
    tune: bool = False,
    progress=print,
) -> dict:
    """Fill the current app's database (tables must exist and hold no cases). Answers the
    facts a benchmark needs: the bench users, the due cases, samples of case ids."""
    from odr.extensions import db

    started = time.perf_counter()
    as_of = (as_of or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    engine = db.engine
    sink = Sink(engine, tune=tune)
    world = build_reference(n, as_of, seed, sink, progress)
    states = plan_states(n, MIXES[mix], seed)
    groups = plan_joints(states, seed, MIXES[mix])
    start = _start_ids(engine)
    first_case = start["complaint"]
    negotiating = [first_case + i for i, s in enumerate(states) if s == "negotiating"]
    if k_due > len(negotiating):
        raise ValueError(f"only {len(negotiating)} negotiating cases for {k_due} due ones")
    due = set(random.Random(seed + 1).sample(negotiating, k_due))
    dropped = sink.drop_indexes() if tune else []
    ids, rows = Ids(start), Rows()
    builder = CaseBuilder(world, ids, rows)
    builder.every = max(1, n // 60)
    builder.plan_joints([[first_case + i for i in group] for group in groups])
    counts: dict[str, int] = {}
    samples: dict[str, list[int]] = {"consumer": [], "big_negotiating": []}
    for offset, state in enumerate(states):
        cid = first_case + offset
        c = builder.build(cid, state, cid in due)
        counts[c["state"]] = counts.get(c["state"], 0) + 1
        if c["consumer_id"] == world.bench["consumer"]:
            samples["consumer"].append(cid)
        if (
            c["state"] == "negotiating"
            and c["enterprise_id"] == world.big_enterprise_id
            and cid not in due
            and len(samples["big_negotiating"]) < 2000
        ):
            samples["big_negotiating"].append(cid)
        if len(rows.complaint) >= CHUNK:
            rows.flush(sink)
            sink.commit()
            if (offset + 1) % (CHUNK * 10) == 0:
                rate = (offset + 1) / (time.perf_counter() - started)
                progress(f"  {offset + 1:>9,} cases ({rate:,.0f}/s)")
    rows.flush(sink)
    sink.commit()
    loaded = time.perf_counter() - started
    if dropped:
        progress(f"loaded in {loaded:.1f} s; building {len(dropped)} indexes ...")
        sink.create_indexes(dropped)
    sink.finish()
    elapsed = time.perf_counter() - started
    progress(f"generated {n:,} cases in {elapsed:.1f} s (load {loaded:.1f} s, analyze etc.)")
    return {
        "n": n,
        "k_due": k_due,
        "as_of": as_of.isoformat(),
        "seed": seed,
        "mix": mix,
        "counts": counts,
        "rows": dict(sink.rows_written),
        "bench_users": {
            role: {"id": uid, "email": BENCH_EMAILS[role]} for role, uid in world.bench.items()
        },
        "password": BENCH_PASSWORD,
        "big_enterprise_id": world.big_enterprise_id,
        "due_ids": sorted(due),
        "samples": samples,
        "first_case_id": first_case,
        "seconds": round(elapsed, 1),
    }


def reset_due(meta: dict, progress=print) -> None:
    """Put the K due cases back as they were generated (after a sweep moved them): delete
    their rows and build them again.

    Foreign-key enforcement is off for the delete: the children are deleted first, and with
    it on, every deleted case made the database look for children in tables without an
    index on complaint_id (notification), a full scan per case."""
    from odr.extensions import db

    as_of = datetime.fromisoformat(meta["as_of"])
    engine = db.engine
    world = _load_world(meta, as_of)
    due = meta["due_ids"]
    marks = ", ".join(str(int(x)) for x in due)
    children = ("notification", "message", "case_event", "offer", "record", "evidence")
    raw = engine.raw_connection()
    try:
        cur = raw.driver_connection.cursor()
        if engine.dialect.name == "sqlite":
            raw.driver_connection.commit()
            cur.execute("PRAGMA foreign_keys=OFF")
        else:
            cur.execute("SET session_replication_role = replica")
        for table in children:
            cur.execute(f'DELETE FROM "{table}" WHERE complaint_id IN ({marks})')
        cur.execute(f"DELETE FROM complaint WHERE id IN ({marks})")
        # Built again below, they are sealed again (at the end of the chain of cases).
        cur.execute(f"DELETE FROM audit_seal WHERE complaint_id IN ({marks})")
        # The generator queues no mail: what the outbox holds came from earlier sweeps (and
        # filings) of the bench. A re-escalated case writes the same event again, so its
        # e-mails would have the same idempotency keys.
        cur.execute("DELETE FROM delivery_attempt")
        cur.execute("DELETE FROM outbox")
        raw.driver_connection.commit()
        if engine.dialect.name == "sqlite":
            cur.execute("PRAGMA foreign_keys=ON")
        else:
            cur.execute("SET session_replication_role = DEFAULT")
        cur.close()
    finally:
        raw.close()
    sink = Sink(engine, tune=False)
    ids, rows = Ids(_start_ids(engine)), Rows()
    builder = CaseBuilder(world, ids, rows)
    builder.every = max(1, meta["n"] // 60)
    for cid in due:
        builder.build(cid, "negotiating", True)
        if len(rows.complaint) >= CHUNK:
            rows.flush(sink)
    rows.flush(sink)
    sink.commit()
    sink.finish()
    if meta.get("sealed"):
        seal_cases(sorted(due), progress=progress)
    progress(f"reset {len(due)} due cases")


def seal_cases(case_ids=None, progress=print) -> int:
    """Give cases without a seal the seal filing gives them (odr/disputes/seals.py): the
    keyed seals of every fact as the database holds it, each case registered in the chain of
    cases in id order. `case_ids` None: every case without one. A deployment's cases all
    have seals, and a move re-seals what it changes: without them the sweep's figure would
    leave out reading and writing the seals."""
    from odr.disputes import seals
    from odr.disputes.models import AuditSeal, Complaint
    from odr.extensions import db

    table, cases = AuditSeal.__table__, Complaint.__table__
    connection = db.session.connection()
    if case_ids is None:
        unsealed = (
            sa.select(cases.c.id)
            .outerjoin(table, table.c.complaint_id == cases.c.id)
            .where(table.c.complaint_id.is_(None))
        )
        case_ids = sorted(connection.scalars(unsealed))
    last = connection.execute(
        sa.select(table.c.serial, table.c.link).order_by(table.c.serial.desc()).limit(1)
    ).first()
    serial, link = (last.serial, last.link) if last else (0, None)
    started = time.perf_counter()
    for start in range(0, len(case_ids), 5_000):
        chunk = case_ids[start : start + 5_000]
        facts = seals.current_facts(connection, chunk)
        references = dict(
            connection.execute(
                sa.select(cases.c.id, cases.c.reference).where(cases.c.id.in_(chunk))
            ).all()
        )
        values = []
        for case_id in chunk:
            serial, prev_link = serial + 1, link
            link = seals.link_mac(serial, case_id, references[case_id], prev_link)
            text = seals.facts_text(facts.get(case_id, {}))
            values.append(
                {
                    "complaint_id": case_id,
                    "reference": references[case_id],
                    "serial": serial,
                    "prev_link": prev_link,
                    "link": link,
                    "version": 1,
                    "facts": text,
                    "mac": seals.seal_mac(case_id, 1, link, text),
                }
            )
        connection.execute(sa.insert(table), values)
        db.session.commit()
        connection = db.session.connection()
        if (start // 5_000) % 20 == 19:
            progress(f"  sealed {start + len(chunk):>9,} cases")
    progress(f"sealed {len(case_ids):,} cases in {time.perf_counter() - started:.1f} s")
    return len(case_ids)


def _load_world(meta: dict, as_of: datetime) -> World:
    """The World of an existing bench database, read back (for reset_due)."""
    from odr.auth.models import User
    from odr.disputes.models import BodyMembership, Enterprise, EnterpriseStatus, MediationBody
    from odr.extensions import db

    world = World(as_of=_naive(as_of), seed=meta["seed"], cal=_calendar(as_of))
    world.bench = {role: info["id"] for role, info in meta["bench_users"].items()}
    world.big_enterprise_id = meta["big_enterprise_id"]
    staff: dict[int, dict[str, int]] = {}
    for user_id, enterprise_id, role in db.session.execute(
        sa.select(User.id, User.enterprise_id, User.staff_role).where(
            User.enterprise_id.is_not(None)
        )
    ):
        staff.setdefault(enterprise_id, {})[str(role)] = user_id
    # Weights as generated: rebuilt in id order.
    weights = []
    for i, (eid, status, region) in enumerate(
        db.session.execute(
            sa.select(Enterprise.id, Enterprise.status, Enterprise.region_code).order_by(
                Enterprise.id
            )
        )
    ):
        world.enterprises.append(
            SimpleNamespace(
                id=eid,
                odr=status == EnterpriseStatus.APPROVED,
                region=region,
                owner=staff[eid]["owner"],
                agent=staff[eid]["agent"],
            )
        )
        weights.append(1.0 / (i + 1) ** 0.8)
    weights[0] = sum(weights[1:]) * 0.05 / 0.95
    world.cum_weights = _cumulative(weights)
    world.approved = [e for e in world.enterprises if e.odr]
    world.cum_approved = _cumulative(
        [w for w, e in zip(weights, world.enterprises, strict=True) if e.odr]
    )
    for body_id, parent_id in db.session.execute(
        sa.select(MediationBody.id, MediationBody.parent_id)
    ):
        world.body_parent[body_id] = parent_id
    for body_id, user_id, _head in db.session.execute(
        sa.select(BodyMembership.body_id, BodyMembership.user_id, BodyMembership.is_head).order_by(
            BodyMembership.id
        )
    ):
        world.mediators.setdefault(body_id, []).append(user_id)
    _route(
        world,
        dict(
            db.session.execute(
                sa.select(MediationBody.id, MediationBody.region_code).where(
                    MediationBody.id.in_(list(world.mediators))
                )
            ).all()
        ),
    )
    first = world.bench["consumer"]
    world.consumer_first = first
    world.consumer_count = db.session.scalar(
        sa.select(sa.func.count(User.id)).where(User.role == "consumer", User.id >= first)
    )
    return world


# -- command line ----------------------------------------------------------------------------


def make_app(url: str):
    from odr import create_app

    bench_dir = Path(__file__).resolve().parent.parent / "instance" / "bench"
    return create_app(
        "development",
        SQLALCHEMY_DATABASE_URI=url,
        INSTANCE_DIR=str(bench_dir),
        UPLOAD_DIR=str(bench_dir / "uploads"),
        RECORD_DIR=str(bench_dir / "records"),
        MAIL_DIR=str(bench_dir / "mail"),
        AUDIT_KEY=BENCH_AUDIT_KEY,
    )


def recreate_database(url: str) -> None:
    """Drop and create the bench database itself (PostgreSQL) or delete the file (SQLite)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    name = parsed.database
    if name in {"test", "postgres", "root"}:
        raise SystemExit(f"refusing to drop the shared database {name!r}: use e.g. odr_bench")
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()


def create_schema(app, how: str) -> None:
    from odr.extensions import db

    with app.app_context():
        if how == "migrate":
            from flask_migrate import upgrade

            upgrade()
        else:
            db.create_all()


def sync_schema(app, progress=print) -> None:
    """Bring a reused bench database up to the models: new tables, new nullable columns and
    new indexes are added (a new required column needs a regeneration)."""
    from odr.extensions import db

    with app.app_context():
        engine = db.engine
        db.create_all()
        inspector = sa.inspect(engine)
        with engine.begin() as conn:
            for table in db.metadata.sorted_tables:
                have = {c["name"] for c in inspector.get_columns(table.name)}
                for column in table.columns:
                    if column.name in have:
                        continue
                    if not column.nullable:
                        raise SystemExit(
                            f"{table.name}.{column.name} is new and required: regenerate "
                            "the bench data (--regenerate)"
                        )
                    kind = column.type.compile(dialect=engine.dialect)
                    conn.exec_driver_sql(
                        f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'
                    )
                    progress(f"added column {table.name}.{column.name}")
                indexes = {i["name"]: i for i in inspector.get_indexes(table.name)}
                for index in table.indexes:
                    if index.name in indexes and _same_index(conn, index, indexes[index.name]):
                        continue
                    if index.name in indexes:
                        progress(f"rebuilding changed index {index.name} ...")
                        index.drop(conn)
                    else:
                        progress(f"building index {index.name} ...")
                    index.create(conn)
        engine.dispose()


def _same_index(conn, index: sa.Index, reflected: dict) -> bool:
    """Whether the database's index of that name has the model's columns and the same
    partial-index predicate (or none)."""
    if reflected["column_names"] != [c.name for c in index.columns]:
        return False
    dialect = conn.dialect.name
    if dialect == "sqlite":
        sql = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (index.name,)
        ).scalar()
    else:
        sql = conn.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE indexname = %s", (index.name,)
        ).scalar()
    have = sql.split(" WHERE ", 1)[1] if sql and " WHERE " in sql else ""
    where = index.dialect_options[dialect].get("where")
    want = str(where) if where is not None else ""

    def bare(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch not in '() \n"')

    return bare(have) == bare(want)


def meta_path(url: str) -> Path:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return Path(str(parsed.database) + ".bench.json")
    root = Path(__file__).resolve().parent.parent / "instance" / "bench"
    root.mkdir(parents=True, exist_ok=True)
    return root / f"{parsed.database}.bench.json"


def build(
    url: str,
    n: int,
    k_due: int,
    *,
    as_of=None,
    seed=2026,
    mix="default",
    schema="create_all",
    progress=print,
) -> dict:
    recreate_database(url)
    app = make_app(url)
    create_schema(app, schema)
    with app.app_context():
        meta = generate(
            n=n, k_due=k_due, as_of=as_of, seed=seed, mix=mix, tune=True, progress=progress
        )
        seal_cases(progress=progress)
        meta["sealed"] = True
        from odr.extensions import db

        db.engine.dispose()
    meta["url"] = sa.engine.make_url(url).render_as_string(hide_password=True)
    meta["schema"] = schema
    meta_path(url).write_text(json.dumps(meta, indent=1))
    return meta


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of the bench database")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000, help="negotiating cases due at as_of")
    parser.add_argument("--as-of", default=None, help="ISO timestamp (default: now)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--mix", choices=sorted(MIXES), default="default")
    parser.add_argument("--schema", choices=["create_all", "migrate"], default="create_all")
    parser.add_argument("--reset-due", action="store_true", help="only rebuild the due cases")
    args = parser.parse_args(argv)
    if args.reset_due:
        meta = json.loads(meta_path(args.url).read_text())
        app = make_app(args.url)
        with app.app_context():
            reset_due(meta)
        return
    as_of = datetime.fromisoformat(args.as_of) if args.as_of else None
    meta = build(
        args.url,
        args.cases,
        args.due,
        as_of=as_of,
        seed=args.seed,
        mix=args.mix,
        schema=args.schema,
    )
    print(json.dumps({k: v for k, v in meta.items() if k not in {"due_ids", "samples"}}, indent=1))


if __name__ == "__main__":
    main()
