"""A joint complaint of 1,000 members: the enterprise's grouped page (p95 of in-process
requests through the Flask test client, signed in as the owner), the group offer to every
member, and the escalation of the group (the enterprise declines: every member case goes to
the competent body). Targets (issue 19): page p95 < 100 ms, offer < 2 s, escalation < 2 s.

    .venv/bin/python -m bench.bench_joint [--members 1000] [--requests 50]
    .venv/bin/python -m bench.bench_joint --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/wt_joint

The PostgreSQL database is emptied first (every table dropped and created again).
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CLAIM = {
    "purchase_date": "2026-09-01",
    "amount": "3000.00",
    "claimed_amount": "2400.00",
    "requests": ["refund"],
    "facts": "健身房关门，预付卡余额无法使用。",
}


def build_group(members: int):
    """The world, and a submitted group of `members` consumers (the first its representative)."""
    from odr.auth.models import User, UserRole
    from odr.disputes import joint
    from odr.extensions import db
    from tests.factories import _scrypt, build_world

    world = build_world()
    password = _scrypt("Test-pass-2026")
    people = [world.consumer]
    for n in range(members - 1):
        user = User(
            email=f"member{n}@bench.example",
            name=f"会员{n}",
            role=UserRole.CONSUMER,
            phone="13800000000",
            region_code="410105",
            address="郑州市金水区",
            password_hash=password,
        )
        db.session.add(user)
        people.append(user)
    db.session.flush()
    group = joint.start(
        world.consumer,
        {
            "enterprise_id": world.enterprise.id,
            "issue": "prepaid_card",
            "subject": "健身卡",
            "facts": "健身房关门",
            **CLAIM,
        },
    )
    for person in people[1:]:
        joint.join(person, group, CLAIM)
    db.session.commit()
    joint.elect(world.consumer, group, [joint.members_of(group)[0].id])
    started = time.perf_counter()
    joint.submit(world.consumer, group)
    db.session.commit()
    return world, group, time.perf_counter() - started


def measure(app, members: int, requests: int) -> dict:
    from odr.disputes import joint
    from odr.extensions import db
    from tests.factories import PASSWORD

    with app.app_context():
        started = time.perf_counter()
        world, group, submit_s = build_group(members)
        build_s = time.perf_counter() - started
        owner_email, group_id = world.owner.email, group.id

    client = app.test_client()
    with app.app_context():
        client.post("/auth/login", data={"email": owner_email, "password": PASSWORD})
    timings = []
    for n in range(requests + 3):
        with app.app_context():
            started = time.perf_counter()
            response = client.get(f"/merchant/joint/{group_id}")
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        if n >= 3:  # warm-up
            timings.append(elapsed)
    size = len(response.data)

    with app.app_context():
        owner = db.session.scalar(db.select(type(world.owner)).filter_by(email=owner_email))
        group = joint.get_joint(group_id)
        started = time.perf_counter()
        offers = joint.offer(owner, group, remedy="refund", terms="退还八成", share_percent=80)
        db.session.commit()
        offer_s = time.perf_counter() - started
        group = joint.get_joint(group_id)
        started = time.perf_counter()
        moved = joint.decline(owner, group, reason="已停业")
        db.session.commit()
        decline_s = time.perf_counter() - started
    timings.sort()
    return {
        "members": members,
        "build_s": build_s,
        "submit_s": submit_s,
        "page_p50_ms": statistics.median(timings) * 1000,
        "page_p95_ms": timings[int(len(timings) * 0.95) - 1] * 1000,
        "page_kb": size / 1024,
        "offers": len(offers),
        "offer_s": offer_s,
        "escalated": len(moved),
        "escalation_s": decline_s,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--pg-url", default=None)
    args = parser.parse_args(argv)

    from odr import create_app
    from odr.config import TestConfig
    from odr.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        url = args.pg_url or f"sqlite:///{tmp}/bench.sqlite"
        app = create_app(
            TestConfig,
            SQLALCHEMY_DATABASE_URI=url,
            INSTANCE_DIR=tmp,
            UPLOAD_DIR=f"{tmp}/uploads",
            RECORD_DIR=f"{tmp}/records",
            MAIL_DIR=f"{tmp}/mail",
        )
        with app.app_context():
            db.drop_all()
            db.create_all()
        result = measure(app, args.members, args.requests)
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()
    database = "PostgreSQL" if args.pg_url else "SQLite"
    print(
        f"{database}: {result['members']} members (built in {result['build_s']:.1f} s; "
        f"submitted in {result['submit_s']:.2f} s)\n"
        f"  grouped page: p50 {result['page_p50_ms']:.1f} ms, p95 {result['page_p95_ms']:.1f} ms"
        f" ({result['page_kb']:.0f} KB)\n"
        f"  group offer to {result['offers']} members: {result['offer_s']:.2f} s\n"
        f"  escalation of {result['escalated']} cases: {result['escalation_s']:.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
