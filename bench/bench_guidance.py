"""How fast is the outcome guidance with a million cases? (issue 20: the wizard's review step,
which shows it, p95 < 50 ms.)

    python -m bench.generate --url sqlite:///instance/bench/odr_guidance.sqlite \
        --cases 1000000 --due 0
    python -m bench.bench_guidance --url sqlite:///instance/bench/odr_guidance.sqlite

On a database made by bench/generate.py it measures, in one process through Flask's test
client (no HTTP server, no wrk: the figure is the application's own time):

- the guidance snapshot's build (`stats.refresh("guidance")`: the grouped scans, what the
  worker pays every few minutes), twice;
- `guidance.for_filing` alone, for a big enterprise (its own group answers) and for a small
  one (a fallback), with the snapshot stored: what every request pays;
- GET /api/v1/guidance;
- the consumer wizard's review step for the bench consumer's draft, with the guidance and
  with it switched off (the difference is the guidance's share of the page);
- the mediation workspace of a case of the big enterprise.

Each timed request is repeated `--requests` times after a warm-up; p50, p95 and max are
printed as JSON (and appended to instance/bench/guidance-results.json).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import sqlalchemy as sa

from bench.generate import BENCH_PASSWORD


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)

    def at(q):
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {
        "n": len(ordered),
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
    }


def _timed(fn, n: int, warm: int = 10) -> dict:
    for _ in range(warm):
        fn()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return _percentiles(samples)


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
        ODR_STATS_SNAPSHOTS=True,
        ODR_STATS_TTL=3600,
        WTF_CSRF_ENABLED=False,
        RATELIMIT_ENABLED=False,
    )


def run(url: str, requests: int) -> dict:
    from odr import viewcache
    from odr.auth.models import User
    from odr.disputes import drafts, guidance, stats
    from odr.disputes.models import Complaint, Enterprise
    from odr.disputes.states import State
    from odr.extensions import db

    app = make_app(url)
    result: dict = {"url": url, "requests": requests}
    with app.app_context():
        result["cases"] = db.session.scalar(sa.select(sa.func.count(Complaint.id)))
        result["closed"] = db.session.scalar(
            sa.select(sa.func.count(Complaint.id)).where(Complaint.closed_at.is_not(None))
        )
        builds = []
        for _ in range(2):
            started = time.perf_counter()
            data = stats.refresh("guidance")
            builds.append(round(time.perf_counter() - started, 2))
        result["snapshot_build_s"] = builds
        result["groups_stored"] = len(data["groups"])
        result["snapshot_bytes"] = len(json.dumps(data))

        # A question as the pages ask it: the first after a refresh reads and parses the
        # stored snapshot once for the process (odr/viewcache.py); every later one is a
        # dictionary lookup.
        def ask(**question):
            return guidance.for_filing(**question, figures=viewcache.snapshot("guidance"))

        firsts = []
        for _ in range(5):
            viewcache.clear(app)
            started = time.perf_counter()
            ask(issue="quality")
            firsts.append(time.perf_counter() - started)
        result["first_read_after_refresh"] = _percentiles(firsts)

        # A big enterprise (the national one) and a small one with few cases.
        counts = db.session.execute(
            sa.select(Complaint.enterprise_id, sa.func.count())
            .where(Complaint.enterprise_id.is_not(None))
            .group_by(Complaint.enterprise_id)
            .order_by(sa.func.count().desc())
        ).all()
        big, small = counts[0][0], counts[-1][0]
        result["big_enterprise_cases"], result["small_enterprise_cases"] = (
            counts[0][1],
            counts[-1][1],
        )
        for name, eid in (("big", big), ("small", small)):
            answer = ask(enterprise_id=eid, issue="quality", amount="1299")
            result[f"answer_{name}"] = answer
            result[f"for_filing_{name}"] = _timed(
                lambda eid=eid: ask(enterprise_id=eid, issue="quality", amount="1299"),
                requests * 5,
            )

        consumer = db.session.scalar(
            sa.select(User).where(User.email == "bench.consumer@odr.bench")
        )
        mediator = db.session.scalar(
            sa.select(User).where(User.email == "bench.mediator@odr.bench")
        )
        draft = drafts.new_draft(consumer)
        draft.data = {
            "enterprise_id": str(big),
            "green_channel": True,
            "subject_kind": "goods",
            "subject": "羽绒服",
            "purchase_date": "2026-09-01",
            "amount": "1299",
            "issue": "quality",
            "requests": ["refund"],
            "claimed_amount": "1299",
            "facts": "拉链坏了",
        }
        draft.step = "review"
        db.session.commit()
        draft_id, consumer_email = draft.id, consumer.email
        case_id = db.session.scalar(
            sa.select(Complaint.id)
            .where(
                Complaint.enterprise_id == big,
                Complaint.state == State.MEDIATING,
                Complaint.body_id.in_(list(mediator.body_ids)),
            )
            .limit(1)
        )
        mediator_email = mediator.email
        enterprise_name = db.session.get(Enterprise, big).name

    client = app.test_client()

    def sign_in(email):
        client.post("/auth/logout")
        answer = client.post("/auth/login", data={"email": email, "password": BENCH_PASSWORD})
        assert answer.status_code == 302, ("sign in", email, answer.status_code)

    def get(path):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response

    result["api_guidance"] = _timed(
        lambda: get(f"/api/v1/guidance?enterprise_id={big}&issue=quality&amount=1299"), requests
    )
    sign_in(consumer_email)
    review = f"/consumer/drafts/{draft_id}/review"
    page = get(review).get_data(as_text=True)
    assert 'id="guidance"' in page and enterprise_name in page
    result["review_step"] = _timed(lambda: get(review), requests)
    real = guidance.for_filing, viewcache.snapshot
    guidance.for_filing = lambda **kw: None
    viewcache.snapshot = lambda key, version=None: None
    try:
        result["review_step_without_guidance"] = _timed(lambda: get(review), requests)
    finally:
        guidance.for_filing, viewcache.snapshot = real
    if case_id is not None:
        sign_in(mediator_email)
        workspace = f"/mediation/cases/{case_id}"
        assert 'id="guidance"' in get(workspace).get_data(as_text=True)
        result["mediation_workspace"] = _timed(lambda: get(workspace), max(requests // 2, 20))
    with app.app_context():
        db.session.execute(sa.text("DELETE FROM draft WHERE id = :d"), {"d": draft_id})
        db.session.commit()
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="a database made by bench.generate")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)
    result = run(args.url, args.requests)
    print(json.dumps(result, indent=1, ensure_ascii=False))
    out = Path(__file__).resolve().parent.parent / "instance" / "bench" / "guidance-results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    history = json.loads(out.read_text()) if out.exists() else []
    history.append(result)
    out.write_text(json.dumps(history, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
