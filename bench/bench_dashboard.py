"""How fast is the regulator's dashboard with a million cases?

    python -m bench.bench_dashboard --cases 1000000            # generate, then measure
    python -m bench.bench_dashboard --skip-generate            # measure an existing database

Builds a separate PostgreSQL database (default odr_admin_bench) from the models, loads the
reference data (4 provinces x 5 cities x 6 counties with an office each, 2,000 enterprises,
1,000 consumers, one regulator) and N complaints with COPY (psycopg), plus N/20 consultations,
reports and suggestions, then VACUUM ANALYZE. The cases span two years, most of them closed,
in a plausible mix of states, with the timestamps each state implies (answers, acceptances,
closings, ratings, T5 expiries, overdue flags). No events, messages or PDFs: the dashboard
does not read them.

Then it asks the pages through Flask's test client, signed in as the regulator: first with
snapshots off (every request computes all figures from scratch: what `flask admin
refresh-stats` costs), then as served, reading the snapshot that command stores.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/odr_admin_bench"
ADMIN_EMAIL = "bench.admin@odr.bench"
PASSWORD = "Bench-2026!"

ISSUES = [
    "quality",
    "after_sales",
    "contract",
    "food_safety",
    "false_advertising",
    "price",
    "counterfeit",
    "personal_data",
    "prepaid_card",
    "other",
]
ISSUE_WEIGHTS = [30, 20, 12, 6, 8, 7, 5, 3, 5, 4]
PROVINCES = [
    ("41", "河南省", "Henan"),
    ("33", "浙江省", "Zhejiang"),
    ("44", "广东省", "Guangdong"),
    ("32", "江苏省", "Jiangsu"),
]


def ensure_database(url: str) -> None:
    """Create the bench database if it does not exist yet."""
    base, name = url.rsplit("/", 1)
    engine = sa.create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).scalar()
        if not exists:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()


def make_app(url: str, snapshots: bool = False):
    from odr import create_app
    from odr.config import TestConfig

    return create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=url,
        ODR_STATS_SNAPSHOTS=snapshots,
        ODR_STATS_TTL=3600,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
    )


# -- generation --------------------------------------------------------------------------


def _regions():
    rows = []
    for code2, name, name_en in PROVINCES:
        rows.append((f"{code2}0000", name, name_en, "province", None))
        for c in range(1, 6):
            city = f"{code2}{c:02d}00"
            rows.append(
                (city, f"{name[:-1]}第{c}市", f"{name_en} City {c}", "city", f"{code2}0000")
            )
            for k in range(1, 7):
                rows.append(
                    (
                        f"{code2}{c:02d}{k:02d}",
                        f"{name[:-1]}{c}市第{k}区",
                        f"{name_en} {c}-{k}",
                        "county",
                        city,
                    )
                )
    return rows


def generate(url: str, n_cases: int, seed: int = 2026) -> dict:
    from werkzeug.security import generate_password_hash

    from odr.disputes.credit_code import check_character
    from odr.extensions import db

    rng = random.Random(seed)
    app = make_app(url)
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.remove()
    engine = sa.create_engine(url)
    raw = engine.raw_connection()
    t0 = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    regions = _regions()
    counties = [r[0] for r in regions if r[3] == "county"]
    pwd = generate_password_hash(PASSWORD, method="scrypt")
    try:
        with raw.cursor() as cur:
            with cur.copy("COPY region (code, name, name_en, level, parent_code) FROM STDIN") as cp:
                for row in regions:
                    cp.write_row(row)
            body_ids = {}
            bodies = []
            parents = {}
            for i, (code, name, name_en, level, parent) in enumerate(regions, start=1):
                body_ids[code] = i
                parents[i] = body_ids.get(parent)
                bodies.append(
                    (
                        i,
                        f"{name}市场监督管理局",
                        f"{name_en} AMR",
                        "office",
                        code,
                        level,
                        parents[i],
                        True,
                    )
                )
            with cur.copy(
                "COPY mediation_body (id, name, name_en, kind, region_code, level, parent_id,"
                " active) FROM STDIN"
            ) as cp:
                for row in bodies:
                    cp.write_row(row)
            n_ent = 2000
            enterprises = []
            for i in range(1, n_ent + 1):
                base = f"914101{i:011d}"
                status = "approved" if i % 5 else rng.choice(["pending", "suspended", "exited"])
                enterprises.append(
                    (
                        i,
                        f"基准测试企业{i:04d}有限公司",
                        base + check_character(base),
                        rng.choice(counties),
                        "测试路1号",
                        "0371-00000000",
                        status,
                        True,
                        now - timedelta(days=800),
                        now - timedelta(days=790) if status != "pending" else None,
                    )
                )
            with cur.copy(
                "COPY enterprise (id, name, credit_code, region_code, address, contact_phone,"
                " status, commitment, created_at, approved_at) FROM STDIN"
            ) as cp:
                for row in enterprises:
                    cp.write_row(row)
            users = [(1, ADMIN_EMAIL, pwd, "基准管理员", None, "admin", "zh_CN", None, True, now)]
            n_consumers = 1000
            for i in range(2, n_consumers + 2):
                users.append(
                    (
                        i,
                        f"consumer{i}@odr.bench",
                        pwd,
                        f"消费者{i}",
                        "13800000000",
                        "consumer",
                        "zh_CN",
                        rng.choice(counties),
                        True,
                        now,
                    )
                )
            with cur.copy(
                'COPY "user" (id, email, password_hash, name, phone, role, locale, region_code,'
                " active, created_at) FROM STDIN"
            ) as cp:
                for row in users:
                    cp.write_row(row)
            for table in ("region", "mediation_body", "enterprise", "user"):
                if table != "region":
                    cur.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'),"
                        f' (SELECT max(id) FROM "{table}"))'
                    )
        raw.commit()
        approved = {e[0] for e in enterprises if e[6] == "approved"}
        big = list(range(1, 41))  # a few enterprises take many of the cases
        t_ref = time.perf_counter()
        columns = (
            "id, reference, consumer_id, complainant_name, complainant_phone, complainant_address,"
            " language, enterprise_id, respondent_name, respondent_region_code, green_channel,"
            " subject_kind, subject, purchase_date, amount, issue, requests, claimed_amount, facts,"
            " state, body_id, deadline_at, overdue_flagged, rule_version, filed_at, escalated_at,"
            " arrived_at, accepted_at, closed_at, first_answer_at, answer_due_at,"
            " termination_reason, refusal_reason, rating, version"
        )
        ent_region = {e[0]: e[3] for e in enterprises}
        span = 730 * 86400
        with raw.cursor() as cur, cur.copy(f"COPY complaint ({columns}) FROM STDIN") as cp:
            for i in range(1, n_cases + 1):
                # Filings grow over time: more recent weeks hold more cases.
                age = span * (1 - rng.random() ** 0.8)
                filed = now - timedelta(seconds=age)
                unlisted = rng.random() < 0.1
                if unlisted:
                    eid, rname, rregion = None, "未入驻商户", rng.choice(counties)
                else:
                    eid = rng.choice(big) if rng.random() < 0.3 else rng.randint(1, n_ent)
                    rname, rregion = None, None
                green = eid in approved and rng.random() < 0.9
                region = rregion or ent_region.get(eid)
                body = body_ids[region]
                recent = age < 90 * 86400
                r = rng.random()
                if recent:
                    state = (
                        "negotiating" if green and r < 0.25 else
                        "pending_acceptance" if r < 0.33 else
                        "mediating" if r < 0.45 else
                        "suspended" if r < 0.47 else
                        "settled" if r < 0.75 and green else
                        "mediated" if r < 0.82 else
                        "withdrawn" if r < 0.92 else
                        "refused"
                    )  # fmt: skip
                else:
                    state = (
                        "settled" if r < 0.45 and green else
                        "mediated" if r < 0.62 else
                        "refused" if r < 0.70 else
                        "terminated" if r < 0.82 else
                        "withdrawn"
                    )  # fmt: skip
                due = filed + timedelta(days=14) if green else None
                answered = None
                if green and rng.random() < 0.85:
                    answered = filed + timedelta(hours=rng.uniform(2, 24 * 16))
                if state == "settled" and answered is None:
                    answered = filed + timedelta(hours=rng.uniform(2, 24 * 12))
                escalated = arrived = accepted = closed = None
                if not green:
                    arrived = filed
                elif state not in ("negotiating", "settled", "withdrawn"):
                    escalated = arrived = filed + timedelta(days=14)
                if state in ("mediating", "suspended", "mediated", "terminated"):
                    accepted = (arrived or filed) + timedelta(days=rng.uniform(1, 10))
                if state in ("settled",):
                    closed = answered + timedelta(days=rng.uniform(0, 4))
                elif state in ("mediated", "terminated"):
                    closed = accepted + timedelta(days=rng.uniform(5, 60))
                elif state == "refused":
                    closed = (arrived or filed) + timedelta(days=rng.uniform(1, 9))
                elif state == "withdrawn":
                    closed = filed + timedelta(days=rng.uniform(0, 20))
                if closed is not None and closed > now:
                    closed = now
                open_ = closed is None
                deadline = now + timedelta(days=rng.uniform(1, 30)) if open_ else None
                cp.write_row(
                    (
                        i,
                        f"ODR-{filed.year}-{i:07d}",
                        rng.randint(2, n_consumers + 1),
                        "张三",
                        "13800000000",
                        "测试地址",
                        "zh_CN",
                        eid,
                        rname,
                        rregion,
                        green,
                        "goods",
                        "商品",
                        (filed - timedelta(days=5)).date(),
                        "100.00",
                        rng.choices(ISSUES, ISSUE_WEIGHTS)[0],
                        '["refund"]',
                        "100.00",
                        "事实",
                        state,
                        None if green and state in ("negotiating", "settled") else body,
                        deadline.replace(tzinfo=None) if deadline else None,
                        accepted is not None and rng.random() < 0.08,
                        "2026.1",
                        filed.replace(tzinfo=None),
                        escalated.replace(tzinfo=None) if escalated else None,
                        arrived.replace(tzinfo=None) if arrived else None,
                        accepted.replace(tzinfo=None) if accepted else None,
                        closed.replace(tzinfo=None) if closed else None,
                        answered.replace(tzinfo=None) if answered else None,
                        due.replace(tzinfo=None) if due else None,
                        ("T5" if rng.random() < 0.2 else "T3")
                        if state == "terminated"
                        else ("T1" if state == "withdrawn" else None),
                        "R1" if state == "refused" else None,
                        rng.randint(1, 5) if closed is not None and rng.random() < 0.4 else None,
                        1,
                    )
                )
        raw.commit()
        t_cases = time.perf_counter()
        n_requests = max(n_cases // 20, 1)
        with (
            raw.cursor() as cur,
            cur.copy(
                "COPY service_request (id, kind, reference, user_id, enterprise_id, region_code,"
                " body_id, subject, text, real_name, state, deadline_at, extended, outcome,"
                " created_at, closed_at) FROM STDIN"
            ) as cp,
        ):
            for i in range(1, n_requests + 1):
                kind = rng.choices(["consultation", "report", "suggestion"], [6, 3, 1])[0]
                created = now - timedelta(seconds=span * rng.random())
                deadline = created + timedelta(days=21)
                closed = (
                    created + timedelta(days=rng.uniform(1, 25)) if rng.random() < 0.9 else None
                )
                if closed is not None and closed > now:
                    closed = None
                region = rng.choice(counties)
                outcome = None
                if closed is not None:
                    outcome = rng.choice(["filed", "not_filed"]) if kind == "report" else "answered"
                cp.write_row(
                    (
                        i,
                        kind,
                        f"{kind[:2].upper()}-{i:07d}",
                        rng.randint(2, n_consumers + 1),
                        rng.randint(1, n_ent) if kind == "report" else None,
                        region,
                        body_ids[region] if kind != "suggestion" else None,
                        "主题",
                        "内容",
                        True,
                        "open" if closed is None else "closed",
                        deadline.replace(tzinfo=None),
                        False,
                        outcome,
                        created.replace(tzinfo=None),
                        closed.replace(tzinfo=None) if closed else None,
                    )
                )
        raw.commit()
        raw.driver_connection.autocommit = True
        with raw.cursor() as cur:
            for table in ("complaint", "service_request"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                )
            t_vac = time.perf_counter()
            cur.execute("VACUUM ANALYZE")
        t_end = time.perf_counter()
    finally:
        raw.close()
        engine.dispose()
    return {
        "cases": n_cases,
        "requests": n_requests,
        "reference_s": round(t_ref - t0, 1),
        "cases_s": round(t_cases - t_ref, 1),
        "vacuum_analyze_s": round(t_end - t_vac, 1),
        "total_s": round(t_end - t0, 1),
    }


# -- measuring ---------------------------------------------------------------------------


def _timed(client, path: str, runs: int) -> dict:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    return {
        "path": path,
        "runs": runs,
        "min_s": round(min(times), 3),
        "median_s": round(statistics.median(times), 3),
        "max_s": round(max(times), 3),
    }


def measure(url: str, runs: int = 5) -> list[dict]:
    from odr.disputes import stats
    from odr.extensions import db

    results = []
    paths = ["/admin/", "/admin/?region=410000", "/admin/performance", "/enterprises"]
    for label, snapshots in (("computed", False), ("snapshot", True)):
        app = make_app(url, snapshots)
        if snapshots:
            with app.app_context():
                for key in stats.BUILDERS:
                    stats.refresh(key)
                db.session.remove()
        client = app.test_client()
        response = client.post("/auth/login", data={"email": ADMIN_EMAIL, "password": PASSWORD})
        assert response.status_code == 302, "cannot sign in as the bench regulator"
        for path in paths:
            result = _timed(client, path, runs)
            result["mode"] = label
            results.append(result)
    return results


def aggregates(url: str) -> None:
    """Each aggregate of the figures, computed once, timed."""
    app = make_app(url)
    from odr.disputes import stats
    from odr.extensions import db

    with app.app_context():
        db.create_all()  # the snapshot table, on a database generated by an older version
        for name, fn in (
            ("overview (states, categories, rates, clocks, days)", stats.case_overview),
            ("cases by enterprise", stats.cases_by_enterprise),
            ("unlisted respondents by region", stats._unlisted_by_region),
            ("filings per week", stats.weekly_filings),
            ("early warnings", stats.early_warnings),
            ("requests", stats.request_overview),
            ("enterprise numbers", stats.enterprise_numbers),
        ):
            start = time.perf_counter()
            fn()
            db.session.rollback()
            print(f"  {name}: {time.perf_counter() - start:.3f} s")
        for key in stats.BUILDERS:
            start = time.perf_counter()
            stats.refresh(key)
            print(f"  refresh-stats {key}: {time.perf_counter() - start:.3f} s")
        db.session.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-generate", action="store_true")
    args = parser.parse_args()
    if not args.skip_generate:
        ensure_database(args.url)
        print("generating ...", flush=True)
        print(generate(args.url, args.cases), flush=True)
    engine = sa.create_engine(args.url)
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM complaint")).scalar()
    engine.dispose()
    print(f"cases in the database: {n}")
    print("each aggregate, computed once:")
    aggregates(args.url)
    print("pages (test client, signed in as the regulator):")
    for result in measure(args.url, args.runs):
        print(
            f"  {result['mode']:8} {result['path']:24} min {result['min_s']:.3f} s  "
            f"median {result['median_s']:.3f} s  max {result['max_s']:.3f} s"
        )


if __name__ == "__main__":
    main()
