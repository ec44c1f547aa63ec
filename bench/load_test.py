"""Load test: N concurrent API clients for T seconds against gunicorn on PostgreSQL.

    .venv/bin/python -m bench.load_test [--clients 50] [--duration 60] \
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/odr_load] \
        [--workers 4] [--threads 4] [--json results.json]

What it does:
1. Drops and recreates the database named in --database-url (it must be a database of its
   own: everything in it is lost), migrates it (`flask db upgrade`) and adds a small world:
   the Henan regions and offices, 5 enterprises with an agent each, one consumer per
   client; every account gets an API token.
2. Starts gunicorn on 127.0.0.1 (a free port) with the production configuration.
3. Runs the clients, one thread each with its own keep-alive connection. Each client plays
   whole cases through the JSON API, as consumer and as the enterprise's agent:
   file -> message -> offer -> message -> reject with a counter-proposal -> better offer ->
   accept (the case is settled and its PDF record issued), reading the case between moves,
   then files the next one. Every answer must have the expected status.
4. Stops gunicorn and counts, in the database, what each client saw created: complaints,
   messages, offers, accepted and rejected offers, records, events. Any difference is a
   lost (or phantom) write.
5. Prints the figures (requests, throughput, latency percentiles per kind of request,
   errors, lost writes) as Markdown, plus the machine it ran on, and exits non-zero when
   there was an error or a lost write.

Only 127.0.0.1 is ever contacted.
"""

import argparse
import http.client
import json
import math
import os
import platform
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/odr_load"
ENTERPRISES = 5


# -- preparing the database --------------------------------------------------------------


def recreate_database(url: str) -> None:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    target = make_url(url)
    if target.get_backend_name() != "postgresql":
        raise SystemExit("the load test runs against PostgreSQL")
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    admin.dispose()


def server_env(url: str, instance: Path) -> dict:
    return {
        **os.environ,
        "ODR_CONFIG": "production",
        "ODR_SECRET_KEY": secrets.token_hex(32),
        "ODR_PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        "ODR_DATABASE_URL": url,
        "ODR_INSTANCE_DIR": str(instance),
        "ODR_MAIL_BACKEND": "file",
        "FLASK_APP": "wsgi",
    }


def migrate(env: dict) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def build_world(url: str, instance: Path, clients: int) -> dict:
    """Regions, offices, enterprises with an agent, consumers; a token for each account."""
    sys.path.insert(0, str(ROOT))
    from odr import create_app
    from odr.auth import operations as auth_ops
    from odr.auth.models import StaffRole, UserRole
    from odr.config import TestConfig
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

    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=url,
        INSTANCE_DIR=str(instance),
        UPLOAD_DIR=str(instance / "uploads"),
        RECORD_DIR=str(instance / "records"),
        MAIL_DIR=str(instance / "mail"),
    )
    world: dict = {"consumers": [], "agents": []}
    with app.app_context():
        for code, name, level, parent in (
            ("410000", "河南省", RegionLevel.PROVINCE, None),
            ("410100", "郑州市", RegionLevel.CITY, "410000"),
            ("410105", "金水区", RegionLevel.COUNTY, "410100"),
        ):
            db.session.add(
                Region(code=code, name=name, name_en=name, level=level, parent_code=parent)
            )
        db.session.flush()
        province = MediationBody(
            name="河南省市场监督管理局",
            name_en="Henan AMR",
            kind=BodyKind.OFFICE,
            region_code="410000",
            level=RegionLevel.PROVINCE,
        )
        db.session.add(province)
        db.session.flush()
        county = MediationBody(
            name="金水区市场监督管理局",
            name_en="Jinshui AMR",
            kind=BodyKind.OFFICE,
            region_code="410105",
            level=RegionLevel.COUNTY,
            parent_id=province.id,
        )
        db.session.add(county)
        db.session.flush()
        mediator = auth_ops.create_user(
            role=UserRole.MEDIATOR,
            email="mediator@load.example",
            password=secrets.token_urlsafe(12),
            name="调解员",
        )
        db.session.add(BodyMembership(user_id=mediator.id, body_id=county.id, is_head=True))
        for n in range(ENTERPRISES):
            base = f"914101{n + 1:011d}"
            enterprise = Enterprise(
                name=f"压测商户{n + 1}有限公司",
                credit_code=base + check_character(base),
                region_code="410105",
                address="郑州市金水区花园路1号",
                contact_phone="0371-12345678",
                status=EnterpriseStatus.APPROVED,
                commitment=True,
            )
            db.session.add(enterprise)
            db.session.flush()
            agent = auth_ops.create_user(
                role=UserRole.ENTERPRISE,
                email=f"agent{n}@load.example",
                password=secrets.token_urlsafe(12),
                name=f"客服{n + 1}",
                enterprise=enterprise,
                staff_role=StaffRole.OWNER,
            )
            raw, _ = auth_ops.issue_token(agent, ttl_hours=24)
            world["agents"].append({"enterprise_id": enterprise.id, "token": raw})
        for n in range(clients):
            consumer = auth_ops.register_consumer(
                email=f"consumer{n}@load.example",
                password=secrets.token_urlsafe(12),
                name=f"消费者{n}",
                phone="13800000000",
                region_code="410105",
                address="郑州市金水区测试路1号",
            )
            raw, _ = auth_ops.issue_token(consumer, ttl_hours=24)
            world["consumers"].append({"id": consumer.id, "token": raw})
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return world


# -- the server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(env: dict, port: int, workers: int, threads: int, log: Path):
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread" if threads > 1 else "sync",
        "--timeout",
        "60",
        "--keep-alive",
        "5",
        "--error-logfile",
        str(log),
        "wsgi:app",
    ]
    with open(log, "ab") as handle:  # the app's own log lines (stderr) go there too
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=handle
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return process
        except OSError:
            time.sleep(0.2)
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {log}")
    process.terminate()
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


# -- the clients -------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    complaint_ids: list[int] = field(default_factory=list)
    reconnects: int = 0


class Client:
    def __init__(self, port: int, consumer: dict, agent: dict, stop_at: float, seed: int):
        self.port = port
        self.consumer = consumer
        self.agent = agent
        self.stop_at = stop_at
        self.random = random.Random(seed)
        self.tally = Tally()
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, kind: str, method: str, path: str, token: str, body=None, expect=200):
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                self.conn.request(method, "/api/v1" + path, body=payload, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed an idle keep-alive connection before this request was
                # sent: open a new one. (Were it a request the server had processed, the
                # database check afterwards would show the duplicate.)
                self.conn.close()
                self.tally.reconnects += 1
                if attempt == 2:
                    raise
        elapsed = time.perf_counter() - started
        self.tally.latencies[kind].append(elapsed)
        if response.status != expect:
            self.tally.errors.append(f"{method} {path}: {response.status} {data[:300]!r}")
            return None
        return json.loads(data) if data else {}

    def run(self) -> Tally:
        try:
            while time.monotonic() < self.stop_at:
                self.one_case()
        except Exception as exc:  # a broken connection or a bug: counted, never hidden
            self.tally.errors.append(f"client crashed: {type(exc).__name__}: {exc}")
        finally:
            self.conn.close()
        return self.tally

    def one_case(self) -> None:
        consumer, agent, t = self.consumer["token"], self.agent["token"], self.tally
        today = date.today()
        complaint = self.call(
            "file",
            "POST",
            "/complaints",
            consumer,
            {
                "enterprise_id": self.agent["enterprise_id"],
                "green_channel": True,
                "issue": self.random.choice(["quality", "after_sales", "contract"]),
                "subject": "羽绒服 load test 🧥",
                "purchase_date": (today - timedelta(days=10)).isoformat(),
                "purchase_place": "郑州市金水区花园路",
                "amount": "1299.00",
                "requests": ["refund"],
                "claimed_amount": "1299.00",
                "facts": "拉链三天就坏了，要求退款。" * self.random.randint(1, 20),
            },
            expect=201,
        )
        if complaint is None:
            return
        cid = complaint["id"]
        t.created["complaints"] += 1
        t.complaint_ids.append(cid)
        if self.message(cid, consumer, "请尽快处理，谢谢。") is None:
            return
        if self.call("read", "GET", f"/complaints/{cid}", agent) is None:
            return
        offer = self.offer(cid, "800.00")
        if offer is None or self.message(cid, agent, "我们愿意部分退款。") is None:
            return
        if self.call("read", "GET", f"/complaints/{cid}", consumer) is None:
            return
        rejected = self.call(
            "answer",
            "POST",
            f"/complaints/{cid}/offers/{offer['id']}/reject",
            consumer,
            {"counter_proposal": "请全额退款。"},
        )
        if rejected is None:
            return
        t.created["rejected"] += 1
        offer = self.offer(cid, "1299.00")
        if offer is None:
            return
        accepted = self.call(
            "answer", "POST", f"/complaints/{cid}/offers/{offer['id']}/accept", consumer, {}
        )
        if accepted is None:
            return
        t.created["accepted"] += 1
        if accepted.get("state") != "settled":
            t.errors.append(f"case {cid} accepted but in state {accepted.get('state')}")
        self.call("read", "GET", f"/complaints/{cid}", consumer)

    def message(self, cid: int, token: str, text: str):
        result = self.call(
            "message", "POST", f"/complaints/{cid}/messages", token, {"body": text}, expect=201
        )
        if result is not None:
            self.tally.created["messages"] += 1
        return result

    def offer(self, cid: int, amount: str):
        result = self.call(
            "offer",
            "POST",
            f"/complaints/{cid}/offers",
            self.agent["token"],
            {"remedy": "refund", "amount": amount, "terms": f"退款 {amount} 元，七日内到账。"},
            expect=201,
        )
        if result is not None:
            self.tally.created["offers"] += 1
        return result


# -- checking the database afterwards ----------------------------------------------------


def count_in_database(url: str, complaint_ids: list[int]) -> dict[str, int]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:

        def scalar(sql: str) -> int:
            return conn.exec_driver_sql(sql).scalar()

        counts = {
            "complaints": scalar("SELECT count(*) FROM complaint"),
            "messages": scalar("SELECT count(*) FROM message"),
            "offers": scalar("SELECT count(*) FROM offer"),
            "accepted": scalar("SELECT count(*) FROM offer WHERE status = 'accepted'"),
            "rejected": scalar("SELECT count(*) FROM offer WHERE status = 'rejected'"),
            "settled": scalar("SELECT count(*) FROM complaint WHERE state = 'settled'"),
            "records": scalar("SELECT count(*) FROM record"),
            "events": scalar("SELECT count(*) FROM case_event"),
            "missing_ids": 0,
        }
        if complaint_ids:
            found = {
                row[0]
                for row in conn.execute(
                    sa.text("SELECT id FROM complaint WHERE id = ANY(:ids)"),
                    {"ids": complaint_ids},
                )
            }
            counts["missing_ids"] = len(set(complaint_ids) - found)
        counts["server_version"] = conn.exec_driver_sql("SHOW server_version").scalar()
    engine.dispose()
    return counts


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)  # nearest rank
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) // 1024 // 1024} GB"
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_before": os.getloadavg()[0],
    }


def report(args, result: dict) -> str:
    lines = [
        f"Command: `{result['command']}`",
        "",
        f"Machine: {result['machine']['cpu']}, {result['machine']['cores']} cores, "
        f"{result['machine']['memory']} RAM, {result['machine']['os']}, "
        f"Python {result['machine']['python']}, PostgreSQL {result['db']['server_version']}; "
        f"load average before the run {result['machine']['load_before']:.1f}, "
        f"after {result['load_after']:.1f}. Clients and server share the machine.",
        "",
        f"gunicorn: {args.workers} workers x {args.threads} threads; {args.clients} clients "
        f"for {args.duration} s.",
        "",
        "| requests | kind | p50 ms | p95 ms | p99 ms | max ms |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for kind, stats in result["latency"].items():
        lines.append(
            f"| {stats['count']} | {kind} | {stats['p50']:.0f} | {stats['p95']:.0f} | "
            f"{stats['p99']:.0f} | {stats['max']:.0f} |"
        )
    lines += [
        "",
        f"Throughput: {result['requests']} requests in {result['elapsed']:.1f} s = "
        f"{result['requests'] / result['elapsed']:.1f} requests/s; "
        f"{result['created']['complaints']} complaints filed, "
        f"{result['created']['accepted']} settled with a PDF record.",
        f"Errors: {len(result['errors'])} (any status other than the expected one, or a "
        f"broken connection; reconnections: {result['reconnects']}). "
        f"Lost writes: {result['lost']} "
        "(complaints, messages, offers, accepted and rejected offers, settled cases, records: "
        "what the clients were told was created versus what is in the database).",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument(
        "--database-url", default=os.environ.get("ODR_LOAD_DATABASE_URL", DEFAULT_URL)
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args(argv)

    command = "python -m bench.load_test " + " ".join(argv if argv is not None else sys.argv[1:])
    before = machine()
    with tempfile.TemporaryDirectory(prefix="odr-load-") as scratch:
        instance = Path(scratch)
        env = server_env(args.database_url, instance)
        print(f"preparing {args.database_url} ...", flush=True)
        recreate_database(args.database_url)
        migrate(env)
        world = build_world(args.database_url, instance, args.clients)
        port = free_port()
        log = instance / "gunicorn.log"
        server = start_gunicorn(env, port, args.workers, args.threads, log)
        print(f"gunicorn on 127.0.0.1:{port}; {args.clients} clients for {args.duration:.0f} s")
        try:
            started = time.monotonic()
            stop_at = started + args.duration
            clients = [
                Client(
                    port,
                    world["consumers"][n],
                    world["agents"][n % len(world["agents"])],
                    stop_at,
                    seed=n,
                )
                for n in range(args.clients)
            ]
            tallies: list[Tally] = [None] * len(clients)

            def run(index):
                tallies[index] = clients[index].run()

            threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        server_log = log.read_text(errors="replace") if log.exists() else ""

    latencies: dict[str, list[float]] = defaultdict(list)
    created: dict[str, int] = defaultdict(int)
    errors: list[str] = []
    complaint_ids: list[int] = []
    reconnects = 0
    for tally in tallies:
        reconnects += tally.reconnects
        for kind, values in tally.latencies.items():
            latencies[kind].extend(values)
        for kind, n in tally.created.items():
            created[kind] += n
        errors += tally.errors
        complaint_ids += tally.complaint_ids
    everything = [v for values in latencies.values() for v in values]
    latencies["all"] = everything
    if "Traceback" in server_log:
        errors.append("the server logged a traceback")

    db = count_in_database(args.database_url, complaint_ids)
    expected = {
        "complaints": created["complaints"],
        "messages": created["messages"],
        "offers": created["offers"],
        "accepted": created["accepted"],
        "rejected": created["rejected"],
        "settled": created["accepted"],
        "records": created["accepted"],
        "missing_ids": 0,
    }
    differences = {k: (v, db[k]) for k, v in expected.items() if db[k] != v}
    result = {
        "command": command,
        "machine": before,
        "load_after": os.getloadavg()[0],
        "db": db,
        "elapsed": elapsed,
        "requests": len(everything),
        "reconnects": reconnects,
        "created": dict(created),
        "errors": errors,
        "lost": sum(abs(a - b) for a, b in differences.values()),
        "differences": differences,
        "latency": {
            kind: {
                "count": len(values),
                "p50": 1000 * statistics.median(values) if values else 0.0,
                "p95": 1000 * percentile(values, 0.95),
                "p99": 1000 * percentile(values, 0.99),
                "max": 1000 * max(values, default=0.0),
            }
            for kind, values in sorted(latencies.items(), key=lambda kv: kv[0] == "all")
        },
    }
    print(report(args, result))
    for error in errors[:20]:
        print("ERROR", error)
    if differences:
        print("DIFFERENCES (client saw, database has):", differences)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))
    return 1 if errors or differences else 0


if __name__ == "__main__":
    sys.exit(main())
