"""The benchmark: `make bench` (python -m bench.run).

For each database (SQLite file and/or PostgreSQL database of its own):
1. generate N cases (bench/generate.py), or reuse the data of an earlier run;
2. start the portal under gunicorn (4 sync workers) and the floor app (bench/floor.py,
   also 4 workers) on free 127.0.0.1 ports; sign in the bench users (web sessions through
   the real login form, API tokens through auth.operations.issue_token);
3. run wrk against every page (a short warm-up first, then --duration seconds), with a Lua
   script for cookies, bearer tokens, POST bodies and rotating case ids; read req/s and
   p50/p95/p99 from the script's done() hook; print each beside the floor measured in the
   same run (the mean of a floor run before and one after the pages), as a ratio;
4. read the RSS of every gunicorn worker after the load;
5. in-process: the deadline sweep with K due cases among N, then with 0 due; the
   regulator dashboard computed cold; PDF records issued in a warm process;
6. write the figures into docs/PERFORMANCE.md (between markers, one block per database)
   and instance/bench/results-<db>.json.

    python -m bench.run                         # both databases, 1,000,000 cases
    python -m bench.run --db sqlite --cases 100000 --duration 5
    python -m bench.run --db postgres --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/odr_bench
    python -m bench.run --only inbox,case_page  # some pages only (no sweep, no PDF)
    python -m bench.run --view-cache off        # ODR_VIEW_CACHE=0 in the portal's workers
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import itertools
import json
import os
import platform
import re
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench import generate as gen

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "instance" / "bench"
DOC = ROOT / "docs" / "PERFORMANCE.md"
VENV_BIN = Path(sys.executable).parent
DEFAULT_SQLITE = f"sqlite:///{BENCH_DIR / 'odr_bench.sqlite'}"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/odr_bench"


def log(*args) -> None:
    print(*args, flush=True)


# -- scenarios -------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    label: str
    server: str = "app"  # app | floor
    method: str = "GET"
    paths: list[str] = field(default_factory=lambda: ["/"])
    auth: str | None = None  # consumer | owner | mediator | admin (cookie) or api:<role>
    body: str | None = None
    content_type: str | None = None
    kind: str = "page"  # floor | list | page | write | dashboard
    lua: str | None = None  # a whole custom script (multi-step flows)
    expect: tuple[int, ...] = (200,)


LUA_COMMON = r"""
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

codes = {}
function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
  if on_response then on_response(status, headers, body) end
end

function done(summary, latency, requests)
  local agg = {}
  for _, t in ipairs(threads) do
    local c = t:get("codes")
    if c then for k, v in pairs(c) do agg[k] = (agg[k] or 0) + v end end
    local f = t:get("completed")
    if f then agg["flows"] = (agg["flows"] or 0) + f end
  end
  local parts = {}
  for k, v in pairs(agg) do table.insert(parts, string.format('"%s": %d', k, v)) end
  local out = io.open(os.getenv("BENCH_OUT"), "w")
  out:write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"codes": {%s}}',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, table.concat(parts, ", ")))
  out:close()
end
"""


def _lua_str(value: str) -> str:
    return "[==[" + value + "]==]"


def simple_lua(scenario: Scenario, headers: dict[str, str]) -> str:
    lines = [f"wrk.method = {_lua_str(scenario.method)}"]
    for key, value in headers.items():
        lines.append(f"wrk.headers[ {_lua_str(key)} ] = {_lua_str(value)}")
    if scenario.body is not None:
        lines.append(f"wrk.body = {_lua_str(scenario.body)}")
    paths = ", ".join(_lua_str(p) for p in scenario.paths)
    lines.append(f"local paths = {{{paths}}}")
    lines.append(
        """
local i = 0
function init(args)
  i = math.random(#paths) + tid * 7919
end
function request()
  i = i + 1
  return wrk.format(nil, paths[(i % #paths) + 1])
end
"""
    )
    return LUA_COMMON + "\n".join(lines)


# -- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, name: str, app_spec: str, env: dict, workers: int):
        self.name, self.port = name, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        log_path = BENCH_DIR / f"gunicorn-{name}.log"
        self.log = log_path.open("w")
        self.proc = subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                "--timeout",
                "120",
                "--bind",
                f"127.0.0.1:{self.port}",
                app_spec,
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait(self, path: str = "/", timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} server died: see {self.log.name}")
            try:
                urllib.request.urlopen(self.base + path, timeout=5).read()
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.name} server did not start")

    def workers(self) -> list[int]:
        parent = re.compile(rf"^PPid:\s+{self.proc.pid}$", re.M)
        return _processes("status", parent.search)

    def rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.workers():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
            if found:
                sizes.append(round(int(found.group(1)) / 1024, 1))
        return sizes

    def cpu_seconds(self) -> float:
        """User + system CPU the workers have used so far."""
        return _cpu_seconds(self.workers())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def _cpu_seconds(pids) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _postgres_pids() -> list[int]:
    return _processes("comm", lambda name: name.startswith("postgres"))


def _processes(field: str, wanted) -> list[int]:
    """The ids of the running processes whose /proc/<pid>/<field> text is `wanted`."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if wanted((entry / field).read_text()):
                    out.append(int(entry.name))
            except OSError:
                continue
    return sorted(out)


# -- HTTP helpers (sign-in, CSRF) ------------------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def http(method: str, url: str, *, headers=None, data: bytes | None = None):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        response = OPENER.open(request, timeout=60)
        return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def session_cookie(headers) -> str | None:
    for value in headers.get_all("Set-Cookie") or []:
        if value.startswith("session="):
            return value.split(";", 1)[0]
    return None


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(html: bytes) -> str | None:
    found = CSRF_RE.search(html.decode("utf-8", "replace"))
    return (found.group(1) or found.group(2)) if found else None


def web_login(base: str, email: str, password: str) -> str:
    status, headers, body = http("GET", base + "/auth/login")
    cookie = session_cookie(headers)
    token = csrf_token(body)
    form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token or ""})
    status, headers, body = http(
        "POST",
        base + "/auth/login",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            **({"Cookie": cookie} if cookie else {}),
        },
        data=form.encode(),
    )
    new = session_cookie(headers)
    if status != 302 or not new:
        raise RuntimeError(f"login of {email} failed: HTTP {status}")
    return new


# -- the data and the users ------------------------------------------------------------------


def db_kind(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgres"


def ensure_data(url: str, args) -> dict:
    path = gen.meta_path(url)
    meta = json.loads(path.read_text()) if path.exists() else None
    exists = meta is not None and _database_exists(url)
    if exists and not args.regenerate and meta["n"] == args.cases and meta["mix"] == args.mix:
        log(f"reusing {meta['n']:,} cases generated at {meta['as_of']} ({path.name})")
        gen.sync_schema(gen.make_app(url), progress=log)
        return meta
    log(f"generating {args.cases:,} cases into {sa.engine.make_url(url).database} ...")
    return gen.build(url, args.cases, args.due, schema=args.schema, mix=args.mix, progress=log)


def _database_exists(url: str) -> bool:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return Path(parsed.database).exists()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return bool(conn.exec_driver_sql("SELECT count(*) FROM complaint").scalar())
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def save_meta(url: str, meta: dict) -> None:
    gen.meta_path(url).write_text(json.dumps(meta, indent=1))


def prepare_users(app, meta: dict) -> dict:
    """API tokens for the bench users, and the ids the scenarios need."""
    from odr.auth import operations as auth_ops
    from odr.auth.models import User
    from odr.disputes.models import Complaint, Enterprise, EnterpriseStatus
    from odr.extensions import db

    out: dict = {"tokens": {}}
    with app.app_context():
        # An earlier run's web filings that wrk cut off mid-wizard left drafts behind; the
        # consumer's list would show them, and grow from run to run.
        from odr.disputes.models import Draft

        consumer_id = meta["bench_users"]["consumer"]["id"]
        db.session.execute(sa.delete(Draft).where(Draft.consumer_id == consumer_id))
        # Filings go in as another consumer (the next generated one, given the bench
        # password), so the measured consumer's list stays as generated.
        filer = db.session.get(User, consumer_id + 1)
        filer.password_hash = db.session.get(User, consumer_id).password_hash
        out["filer"] = {"id": filer.id, "email": filer.email}
        for role, info in [*meta["bench_users"].items(), ("filer", out["filer"])]:
            user = db.session.get(User, info["id"])
            raw, _ = auth_ops.issue_token(user, ttl_hours=48)
            out["tokens"][role] = raw
        other = db.session.scalar(
            sa.select(Enterprise.id)
            .where(
                Enterprise.status == EnterpriseStatus.APPROVED,
                Enterprise.id != meta["big_enterprise_id"],
            )
            .order_by(Enterprise.id)
            .limit(1)
        )
        out["file_enterprise_id"] = other
        # The consumer's cases, richest first, for the case page.
        out["consumer_cases"] = meta["samples"]["consumer"]
        open_ids = db.session.scalars(
            sa.select(Complaint.id).where(
                Complaint.id.in_(meta["samples"]["big_negotiating"]),
                Complaint.state == "negotiating",
            )
        ).all()
        out["offer_cases"] = list(open_ids)[:1000]
        db.session.commit()
    return out


def complaint_body(enterprise_id: int, today: date) -> dict:
    """The complaint every filing of the bench posts (the portal's API and the floor's)."""
    return {
        "enterprise_id": enterprise_id,
        "green_channel": True,
        "subject_kind": "goods",
        "subject": "羽绒服",
        "purchase_date": (today - timedelta(days=10)).isoformat(),
        "purchase_place": "郑州市金水区花园路",
        "amount": "1299.00",
        "issue": "quality",
        "requests": ["refund"],
        "claimed_amount": "1299.00",
        "facts": "拉链三天就坏了，要求退款。",
    }


def scenarios(meta: dict, prep: dict, args) -> list[Scenario]:
    today = date.today()
    complaint = complaint_body(prep["file_enterprise_id"], today)
    offer = {
        "remedy": "refund",
        "amount": "100.00",
        "terms": "七日内退款一百元。",
        "performance_due": (today + timedelta(days=20)).isoformat(),
    }
    case_paths = [f"/consumer/cases/{cid}" for cid in prep["consumer_cases"]]
    offer_paths = [f"/api/v1/complaints/{cid}/offers" for cid in prep["offer_cases"]]
    return [
        Scenario("floor_hello", "floor: bare hello", "floor", paths=["/hello"], kind="floor"),
        Scenario("floor_table", "floor: 50-row Jinja table", "floor", paths=["/"], kind="floor"),
        Scenario(
            "floor_file",
            "floor: bare filing (plain SQL, same rows)",
            "floor",
            method="POST",
            paths=["/file"],
            body=json.dumps(complaint, ensure_ascii=False),
            content_type="application/json",
            kind="floor",
            expect=(201,),
        ),
        Scenario("inbox", "enterprise inbox", paths=["/merchant/inbox"], auth="owner", kind="list"),
        Scenario(
            "consumer_cases",
            "consumer case list",
            paths=["/consumer/cases"],
            auth="consumer",
            kind="list",
        ),
        Scenario("case_page", "case page (consumer)", paths=case_paths, auth="consumer"),
        Scenario(
            "mediator_queue",
            "mediator queue",
            paths=["/mediation/"],
            auth="mediator",
            kind="list",
        ),
        Scenario(
            "api_list",
            "API GET /complaints (enterprise)",
            paths=["/api/v1/complaints"],
            auth="api:owner",
            kind="list",
        ),
        Scenario("dashboard", "admin dashboard", paths=["/admin/"], auth="admin", kind="dashboard"),
        Scenario("scoreboard", "public scoreboard", paths=["/enterprises"], kind="list"),
        Scenario(
            "file_api",
            "file a complaint (API)",
            method="POST",
            paths=["/api/v1/complaints"],
            auth="api:filer",
            body=json.dumps(complaint, ensure_ascii=False),
            content_type="application/json",
            kind="write",
            expect=(201,),
        ),
        web_filing_scenario(prep["file_enterprise_id"]),
        Scenario(
            "offer_api",
            "make an offer (API)",
            method="POST",
            paths=offer_paths or ["/api/v1/complaints/0/offers"],
            auth="api:owner",
            body=json.dumps(offer, ensure_ascii=False),
            content_type="application/json",
            kind="write",
            expect=(201,),
        ),
    ]


def web_filing_scenario(enterprise_id: int) -> Scenario:
    """Filing through the web wizard: one flow is the whole wizard (respondent, purchase,
    claim, facts, evidence, review and submit), each step a POST that redirects to the next.
    The Lua script follows the redirects itself; throughput counts requests, and `flows`
    counts complaints filed."""
    from bench import webflow

    return Scenario(
        "file_web",
        "file a complaint (web wizard)",
        method="POST",
        paths=["/consumer/file"],
        auth="filer",
        kind="write",
        lua=webflow.lua(enterprise_id),
        expect=(200, 302, 303),
    )


def headers_for(scenario: Scenario, cookies: dict, tokens: dict, csrf: dict) -> dict:
    headers = {}
    if scenario.auth and scenario.auth.startswith("api:"):
        headers["Authorization"] = f"Bearer {tokens[scenario.auth[4:]]}"
    elif scenario.auth:
        headers["Cookie"] = cookies[scenario.auth]
        if scenario.method == "POST":
            headers["X-CSRFToken"] = csrf.get(scenario.auth, "")
    if scenario.content_type:
        headers["Content-Type"] = scenario.content_type
    return headers


# -- wrk -------------------------------------------------------------------------------------


def run_wrk(base: str, script: str, duration: float, connections: int, threads: int, env=None):
    with tempfile.TemporaryDirectory() as tmp:
        lua = Path(tmp) / "s.lua"
        lua.write_text(script)
        out = Path(tmp) / "out.json"
        cmd = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(lua),
            base + "/",
        ]
        proc = subprocess.run(
            cmd,
            env={**os.environ, **(env or {}), "BENCH_OUT": str(out)},
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"wrk failed: {proc.stderr or proc.stdout}")
        result = json.loads(out.read_text())
    seconds = result["duration_us"] / 1e6
    result["rps"] = round(result["requests"] / seconds, 1) if seconds else 0.0
    for key in ("p50", "p90", "p95", "p99", "max"):
        result[f"{key}_ms"] = round(result[f"{key}_us"] / 1000, 1)
    result["command"] = " ".join(cmd[:-3] + ["<script>", base + "/"])
    return result


def probe(base: str, scenario: Scenario, headers: dict) -> tuple[int, str]:
    """One request first: is the page there, and does it answer what we expect?"""
    if scenario.lua:
        return 200, ""
    path = scenario.paths[0]
    data = scenario.body.encode() if scenario.body is not None else None
    try:
        status, _, body = http(scenario.method, base + path, headers=headers, data=data)
    except TimeoutError:
        return 0, "no answer within 60 s"
    return status, body[:300].decode("utf-8", "replace")


def measure_pages(kind: str, url: str, meta: dict, args) -> dict:
    app_env = {
        "ODR_CONFIG": "production",
        "ODR_SECRET_KEY": secrets.token_hex(32),
        "ODR_PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        "ODR_DATABASE_URL": url,
        "ODR_INSTANCE_DIR": str(BENCH_DIR),
        "ODR_UPLOAD_DIR": str(BENCH_DIR / "uploads"),
        "ODR_RECORD_DIR": str(BENCH_DIR / "records"),
        "ODR_MAIL_DIR": str(BENCH_DIR / "mail"),
        "ODR_LOGIN_RATE_LIMIT": "1000 per minute",
        # Production refuses to start without an audit key; the one the data were sealed
        # under (bench.generate.make_app), so the portal's writes extend intact seals.
        "ODR_AUDIT_KEY": gen.BENCH_AUDIT_KEY,
        # The web layer's cache (odr/viewcache.py) on or off in the portal's workers.
        "ODR_VIEW_CACHE": "1" if args.view_cache == "on" else "0",
    }
    app = gen.make_app(url)
    prep = prepare_users(app, meta)
    with app.app_context():
        from odr.disputes import stats
        from odr.extensions import db

        # The statistics snapshots fresh, as the worker keeps them in a deployment (README):
        # otherwise the first page to find them stale has one app server recompute them
        # (seconds of CPU) inside some other page's timed run.
        for key in stats.BUILDERS:
            started = time.perf_counter()
            stats.refresh(key)
            log(f"  stats snapshot {key} refreshed in {time.perf_counter() - started:.1f} s")
        db.engine.dispose()
    servers = {
        "app": Server(f"app-{kind}", "wsgi:app", app_env, args.workers),
        "floor": Server(
            f"floor-{kind}",
            "bench.floor:create_app()",
            {
                "ODR_DATABASE_URL": url,
                "BENCH_FLOOR_CONSUMER": str(prep["filer"]["id"]),
            },
            args.workers,
        ),
    }
    results: dict = {"pages": {}, "prep": {k: v for k, v in prep.items() if k != "tokens"}}
    try:
        servers["app"].wait("/healthz")
        servers["floor"].wait("/hello")
        cookies, csrf = {}, {}
        emails = {role: info["email"] for role, info in meta["bench_users"].items()}
        emails["filer"] = prep["filer"]["email"]
        for role in ("consumer", "owner", "mediator", "admin", "filer"):
            cookies[role] = web_login(servers["app"].base, emails[role], meta["password"])
            cookies[role], csrf[role] = _csrf_for(servers["app"].base, cookies[role])
        selected = [s for s in scenarios(meta, prep, args) if _wanted(s, args)]
        floor_runs = []
        order = [s for s in selected if s.kind == "floor"] + [
            s for s in selected if s.kind != "floor"
        ]
        order += [s for s in selected if s.name == "floor_table"]  # the floor again, after
        for scenario in order:
            server = servers[scenario.server]
            headers = headers_for(scenario, cookies, prep["tokens"], csrf)
            status, snippet = probe(server.base, scenario, headers)
            if status not in scenario.expect:
                log(f"  {scenario.name:<16} skipped: HTTP {status} {snippet[:120]!r}")
                results["pages"][scenario.name] = {
                    "label": scenario.label,
                    "skipped": f"HTTP {status}",
                }
                continue
            if scenario.lua:
                script = LUA_COMMON + scenario.lua
                env = {"BENCH_COOKIE": cookies[scenario.auth], "BENCH_CSRF": csrf[scenario.auth]}
            else:
                script, env = simple_lua(scenario, headers), {}
            run_wrk(server.base, script, args.warmup, args.connections, args.threads, env)
            # CPU the workers (and, on PostgreSQL, the server's processes) spend a request:
            # unlike req/s, it hardly moves when other programs share the cores.
            db_pids = _postgres_pids() if kind == "postgres" else []
            cpu_before, db_before = server.cpu_seconds(), _cpu_seconds(db_pids)
            result = run_wrk(
                server.base, script, args.duration, args.connections, args.threads, env
            )
            if result["requests"]:
                result["cpu_ms"] = round(
                    (server.cpu_seconds() - cpu_before) * 1000 / result["requests"], 2
                )
                if db_pids:
                    result["db_cpu_ms"] = round(
                        (_cpu_seconds(db_pids) - db_before) * 1000 / result["requests"], 2
                    )
            result["label"], result["kind"] = scenario.label, scenario.kind
            good = sum(
                v for k, v in result["codes"].items() if k.isdigit() and int(k) in scenario.expect
            )
            result["ok_share"] = round(good / result["requests"], 4) if result["requests"] else 0
            if scenario.name == "floor_table":
                floor_runs.append(result)
                results["pages"].setdefault("floor_table_runs", []).append(result)
            results["pages"][scenario.name] = result
            log(
                f"  {scenario.name:<16} {result['rps']:>8.1f} req/s  p50 {result['p50_ms']:>7.1f}"
                f"  p95 {result['p95_ms']:>7.1f}  p99 {result['p99_ms']:>7.1f} ms"
                f"  cpu {result.get('cpu_ms', 0):.2f}+{result.get('db_cpu_ms', 0):.2f} ms"
                f"  ok {result['ok_share']:.1%}  codes {result['codes']}"
            )
        if floor_runs:
            floor = statistics.mean(r["rps"] for r in floor_runs)
            results["floor_rps"] = round(floor, 1)
            for result in results["pages"].values():
                if isinstance(result, dict) and "rps" in result:
                    result["ratio"] = round(result["rps"] / floor, 2) if floor else None
        results["rss_mb"] = {"app": servers["app"].rss_mb(), "floor": servers["floor"].rss_mb()}
        log(f"  RSS after the run (MB): app workers {results['rss_mb']['app']}")
    finally:
        for server in servers.values():
            server.stop()
    return results


def _csrf_for(base: str, cookie: str) -> tuple[str, str]:
    """(the session cookie, a CSRF token bound to it): any page with a form has one. Sign-in
    drops the CSRF secret with the old session (issue 16), so the first form after it
    makes a new secret, sent back in a new session cookie: that cookie is the one to use."""
    for path in ("/consumer/file", "/merchant/inbox", "/auth/login", "/"):
        status, headers, body = http("GET", base + path, headers={"Cookie": cookie})
        cookie = session_cookie(headers) or cookie
        token = csrf_token(body) if status == 200 else None
        if token:
            return cookie, token
    return cookie, ""


def _wanted(scenario: Scenario, args) -> bool:
    if not args.only:
        return True
    names = set(args.only.split(","))
    return scenario.name in names or scenario.kind == "floor"


# -- in-process measurements -----------------------------------------------------------------


def measure_sweep(url: str, meta: dict) -> dict:
    """The sweep at as_of with the K planted due cases, then again with none due."""
    from odr.disputes.models import Complaint
    from odr.disputes.states import OPEN_STATES
    from odr.disputes.sweep import sweep
    from odr.extensions import db

    app = gen.make_app(url)
    out = {}
    with app.app_context():
        if meta.get("swept"):
            gen.reset_due(meta, progress=log)
        as_of = datetime.fromisoformat(meta["as_of"])
        out["open_cases"] = db.session.scalar(
            sa.select(sa.func.count(Complaint.id)).where(Complaint.state.in_(list(OPEN_STATES)))
        )
        out["k_due"] = meta["k_due"]
        db.session.commit()
        for label in ("due", "none_due"):
            started = time.perf_counter()
            report = sweep(as_of)
            seconds = time.perf_counter() - started
            actions = ("escalated", "flagged_overdue", "terminated_t5", "reminded")
            counts = {a: report.count(a) for a in actions}
            out[label] = {"seconds": round(seconds, 3), "actions": counts}
            log(f"  sweep ({label}): {seconds:.3f} s {counts}")
            meta["swept"] = True
            save_meta(url, meta)
        db.engine.dispose()
    return out


def measure_dashboard_cold(url: str) -> dict:
    """The regulator dashboard's aggregates computed from scratch (cache cleared), and the
    public scoreboard's, each twice."""
    from odr.disputes import stats
    from odr.extensions import db

    app = gen.make_app(url)
    out = {}
    with app.app_context():
        for name, fn in (
            ("dashboard", stats.dashboard),
            ("scoreboard", stats.enterprise_scoreboard),
        ):
            times = []
            for _ in range(2):
                stats.clear_cache()
                started = time.perf_counter()
                fn()
                times.append(time.perf_counter() - started)
                db.session.rollback()
            out[name] = {"seconds": [round(t, 3) for t in times]}
            log(f"  {name} computed cold: {', '.join(f'{t:.3f}' for t in times)} s")
        db.engine.dispose()
    return out


def measure_cpu(url: str, meta: dict, repeat: int = 10, view_cache: bool = True) -> dict:
    """CPU milliseconds a request costs in this process (Flask test client, no HTTP, no
    gunicorn), for each page, each write and the floors: unlike req/s, this hardly moves
    when other programs share the cores. On PostgreSQL the server's own CPU is not
    included. `view_cache`: the web layer's cache on or off, as in the portal's workers."""
    from bench import floor
    from odr.extensions import db

    app = gen.make_app(url)
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["VIEW_CACHE"] = view_cache
    prep = prepare_users(app, meta)
    by_name = {s.name: s for s in scenarios(meta, prep, argparse.Namespace())}
    bare = floor.create_app(url)

    def login(role):
        client = app.test_client()
        client.post(
            "/auth/login",
            data={"email": meta["bench_users"][role]["email"], "password": meta["password"]},
        )
        return client

    def bearer(role):
        return {"Authorization": f"Bearer {prep['tokens'][role]}"}

    case_id = meta["samples"]["consumer"][len(meta["samples"]["consumer"]) // 2]
    reads = {
        "floor_table": (bare.test_client(), "/", None),
        "inbox": (login("owner"), "/merchant/inbox", None),
        "consumer_cases": (login("consumer"), "/consumer/cases", None),
        "case_page": (login("consumer"), f"/consumer/cases/{case_id}", None),
        "mediator_queue": (login("mediator"), "/mediation/", None),
        "api_list": (app.test_client(), "/api/v1/complaints", bearer("owner")),
        "api_detail": (app.test_client(), f"/api/v1/complaints/{case_id}", bearer("consumer")),
        "dashboard": (login("admin"), "/admin/", None),
        "scoreboard": (app.test_client(), "/enterprises", None),
    }
    out = {}

    def timed(name, call, times=repeat):
        for _ in range(2):
            call()
        started = time.process_time()
        for _ in range(times):
            response = call()
        ms = (time.process_time() - started) / times * 1000
        out[name] = {"cpu_ms": round(ms, 2), "status": response.status_code}
        out[name]["bytes"] = len(response.data)
        log(f"  cpu {name:<16} {ms:7.2f} ms a request ({len(response.data):,} bytes)")

    for name, (client, path, headers) in reads.items():
        timed(
            name,
            lambda client=client, path=path, headers=headers: client.get(path, headers=headers),
        )
    # The writes, each posted as the load test posts it: the bare filing (the floor for a
    # write), a filing and an offer by API; ten times as many, as SQLite's checkpoints (a few
    # ms every few hundred writes) would otherwise land in a few of ten.
    offers = itertools.cycle(prep["offer_cases"] or [0])
    writes = {
        "floor_file": (bare.test_client(), lambda: "/file"),
        "file_api": (app.test_client(), lambda: "/api/v1/complaints"),
        "offer_api": (app.test_client(), lambda: f"/api/v1/complaints/{next(offers)}/offers"),
    }
    for name, (client, path) in writes.items():
        scenario = by_name[name]
        headers = headers_for(scenario, {}, prep["tokens"], {})
        timed(
            name,
            lambda client=client, path=path, body=scenario.body.encode(), headers=headers: (
                client.post(path(), data=body, headers=headers)
            ),
            times=repeat * 10,
        )
    bare.extensions["floor_engine"].dispose()
    with app.app_context():
        db.engine.dispose()
    return out


def measure_pdf(url: str, count: int) -> dict:
    """Settlement records issued one after the other in a warm process."""
    from odr.disputes.choices import RecordKind
    from odr.disputes.models import Complaint
    from odr.disputes.records import issue_record
    from odr.extensions import db

    app = gen.make_app(url)
    times = []
    with app.app_context(), app.test_request_context():
        ids = db.session.scalars(
            sa.select(Complaint.id).where(Complaint.state == "settled").limit(count + 1)
        ).all()
        for i, cid in enumerate(ids):
            complaint = db.session.get(Complaint, cid)
            started = time.perf_counter()
            issue_record(complaint, RecordKind.SETTLEMENT)
            elapsed = time.perf_counter() - started
            db.session.rollback()
            if i:  # the first one warms the fonts up
                times.append(elapsed)
        db.engine.dispose()
    median = statistics.median(times)
    out = {
        "records": len(times),
        "median_s": round(median, 3),
        "max_s": round(max(times), 3),
        "per_second": round(1 / median, 2),
    }
    log(f"  PDF: median {median:.3f} s a record ({out['per_second']}/s), max {out['max_s']} s")
    return out


# -- the machine and the report --------------------------------------------------------------


def machine() -> dict:
    def first(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return "?"

    meminfo = Path("/proc/meminfo").read_text()
    total_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    import gunicorn
    import psycopg

    load = os.getloadavg()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu.group(1).strip() if cpu else "?",
        "memory_gb": round(total_kb / 1024 / 1024, 1),
        "os": first(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "flask": importlib.metadata.version("flask"),
        "sqlalchemy": sa.__version__,
        "gunicorn": gunicorn.__version__,
        "psycopg": psycopg.__version__,
        "sqlite": sqlite3.sqlite_version,
        "postgresql": first(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "show server_version"]
        ),
        "wrk": first(["sh", "-c", "wrk -v 2>&1 | head -1"]),
        "load_before": [round(x, 2) for x in load],
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": first(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
    }


TARGETS = {
    "list_p95_ms": 100,
    "ratio": 0.5,
    "dashboard_s": 1.0,
    "sweep_due_s": 5.0,
    "sweep_none_s": 0.2,
    "pdf_s": 0.5,
    "rss_mb": 150,
}


def render(kind: str, url: str, meta: dict, res: dict, args, command: str) -> str:
    m = res["machine"]
    lines = [
        f"### {kind} ({meta['n']:,} cases)",
        "",
        f"Run {m['at']} on {m['nproc']} CPU ({m['cpu']}), {m['memory_gb']} GB, {m['os']}; "
        f"Python {m['python']}, SQLAlchemy {m['sqlalchemy']}, gunicorn {m['gunicorn']}, "
        f"SQLite {m['sqlite']}, PostgreSQL {m['postgresql']}, {m['wrk']}. "
        f"Load average before the run: {m['load_before']}. Commit {m.get('commit', '?')}.",
        "",
        f"Command: `{command}`  ",
        f"View cache (`ODR_VIEW_CACHE`, odr/viewcache.py): {res.get('view_cache', 'on')}.  ",
        f"Data: {sa.engine.make_url(url).render_as_string(hide_password=True)}, "
        f"generated in {meta.get('seconds', '?')} s "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(meta['counts'].items()))}).  ",
    ]
    if "pages" in res:
        lines.append(
            f"wrk: {args.threads} threads, {args.connections} connections, {args.duration:g} s "
            f"per page after a {args.warmup:g} s warm-up; gunicorn {args.workers} sync workers "
            "for the portal and for the floor."
        )
    lines += [
        "",
    ]
    pages = res.get("pages", {})
    if pages:
        floor = pages.get("floor_rps")
        lines += [
            "| page | req/s | × floor | p50 ms | p95 ms | p99 ms | CPU ms/req | OK responses |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, r in pages["pages"].items():
            if name == "floor_table_runs" or not isinstance(r, dict):
                continue
            if "skipped" in r:
                lines.append(f"| {r['label']} | — | — | — | — | — | — | not run ({r['skipped']}) |")
                continue
            flows = r["codes"].get("flows")
            extra = f", {flows} filed" if flows else ""
            cpu = f"{r['cpu_ms']:.2f}" if "cpu_ms" in r else "—"
            if "db_cpu_ms" in r:
                cpu += f" + {r['db_cpu_ms']:.2f}"
            lines.append(
                f"| {r['label']} | {r['rps']:,.1f} | {r.get('ratio', 0):.2f} | {r['p50_ms']} "
                f"| {r['p95_ms']} | {r['p99_ms']} | {cpu} | {r['ok_share']:.1%}{extra} |"
            )
        lines += [
            "",
            f"Floor (50-row table) mean of the runs before and after the pages: "
            f"{floor} req/s. RSS of the portal's workers after the run: "
            f"{pages.get('rss_mb', {}).get('app')} MB (floor: "
            f"{pages.get('rss_mb', {}).get('floor')} MB). CPU ms/req: user and system CPU "
            "of the gunicorn workers during the timed run, divided by the requests"
            + (" (+ every PostgreSQL process's)" if kind == "postgres" else "")
            + "; unlike req/s it hardly moves when other programs share the cores.",
            "",
        ]
    if "cpu" in res:
        cpu = res["cpu"]
        floor_ms = cpu.get("floor_table", {}).get("cpu_ms")
        lines += [
            "CPU per request in one process (Flask test client; SQL included on SQLite, "
            "the PostgreSQL server's share not):",
            "",
            "| page | CPU ms | × floor's | bytes |",
            "|---|---:|---:|---:|",
        ]
        for name, r in cpu.items():
            times = f"{r['cpu_ms'] / floor_ms:.1f}" if floor_ms else "?"
            lines.append(f"| {name} | {r['cpu_ms']} | {times} | {r['bytes']:,} |")
        lines.append("")
    if "sweep" in res:
        s = res["sweep"]
        lines.append(
            f"Sweep: {s['k_due']:,} due among {s['open_cases']:,} open cases: "
            f"**{s['due']['seconds']} s** ({s['due']['actions']}); with 0 due: "
            f"**{s['none_due']['seconds']} s**."
        )
    if "dashboard_cold" in res:
        d = res["dashboard_cold"]
        lines.append(
            f"Dashboard aggregates computed cold: {d['dashboard']['seconds']} s; "
            f"scoreboard: {d['scoreboard']['seconds']} s (pages read the stored snapshot, "
            "recomputed in the background when stale)."
        )
    if "pdf" in res:
        p = res["pdf"]
        lines.append(
            f"PDF settlement records in a warm process: median **{p['median_s']} s** "
            f"({p['per_second']} a second, one core), slowest {p['max_s']} s, over {p['records']}."
        )
    lines.append("")
    return "\n".join(lines)


def write_doc(kind: str, text: str) -> None:
    start, end = f"<!-- bench:{kind}:start -->", f"<!-- bench:{kind}:end -->"
    doc = DOC.read_text() if DOC.exists() else "# Performance\n\n"
    block = f"{start}\n{text}\n{end}"
    if start in doc and end in doc:
        doc = doc[: doc.index(start)] + block + doc[doc.index(end) + len(end) :]
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(doc)


# -- main ------------------------------------------------------------------------------------


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="ODR portal benchmark")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--sqlite-url", default=DEFAULT_SQLITE)
    parser.add_argument("--pg-url", default=os.environ.get("ODR_BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--schema", choices=["create_all", "migrate"], default="create_all")
    parser.add_argument(
        "--mix", choices=sorted(gen.MIXES), default="default", help="open: only open cases"
    )
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--only", default="", help="comma-separated page names")
    parser.add_argument("--skip", default="", help="pages,sweep,dashboard,pdf")
    parser.add_argument("--pdf-count", type=int, default=10)
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument(
        "--view-cache",
        choices=["on", "off"],
        default="on",
        help="ODR_VIEW_CACHE for the portal's processes; off: results and doc block *-cache-off",
    )
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    skip = set(filter(None, args.skip.split(",")))
    if args.only:
        skip |= {"sweep", "dashboard", "pdf"}
    command = "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:])
    urls = []
    if args.db in ("sqlite", "both"):
        urls.append(args.sqlite_url)
    if args.db in ("postgres", "both"):
        urls.append(args.pg_url)
    for url in urls:
        kind = db_kind(url) + ("" if args.mix == "default" else f"-{args.mix}")
        kind += "" if args.view_cache == "on" else "-cache-off"
        log(f"== {kind}: {sa.engine.make_url(url).render_as_string(hide_password=True)}")
        res: dict = {"machine": machine(), "view_cache": args.view_cache}
        meta = ensure_data(url, args)
        if "pages" not in skip:
            res["pages"] = measure_pages(kind, url, meta, args)
        if "cpu" not in skip:
            res["cpu"] = measure_cpu(url, meta, view_cache=args.view_cache == "on")
        if "dashboard" not in skip:
            res["dashboard_cold"] = measure_dashboard_cold(url)
        if "sweep" not in skip:
            res["sweep"] = measure_sweep(url, meta)
        if "pdf" not in skip:
            res["pdf"] = measure_pdf(url, args.pdf_count)
        (BENCH_DIR / f"results-{kind}.json").write_text(json.dumps(res, indent=1, default=str))
        text = render(kind, url, meta, res, args, command.strip())
        log(text)
        if not args.no_doc and not args.only:
            write_doc(kind, text)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
