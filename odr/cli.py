"""Operations commands: flask odr sweep | worker | seed-demo | create-user | calendar ..."""

import logging
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import click
from flask.cli import AppGroup

from odr import seed
from odr.auth import operations as auth_ops
from odr.auth.models import User, UserRole
from odr.disputes import deadlines, records, stats, supervision, sweep
from odr.disputes.delivery import deliver_due
from odr.disputes.models import BodyMembership, MediationBody
from odr.disputes.states import Invalid
from odr.extensions import db
from odr.maintenance.cli import register as register_maintenance

odr_cli = AppGroup("odr", help="ODR portal operations.")


def stats_every() -> float:
    """Seconds between the worker's recomputations of the statistics snapshots: within
    their time to live (ODR_STATS_TTL), so that pages never find them stale and never
    recompute them on an app server (it was 600 s against a 300 s TTL: for half of every
    ten minutes, the first reader's server recomputed them as well)."""
    return stats.snapshot_ttl() * 0.8


def _parse_as_of(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter("use an ISO timestamp, e.g. 2026-10-20T09:00:00+08:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=deadlines.SHANGHAI)
    return moment.astimezone(UTC)


@odr_cli.command("sweep")
@click.option("--as-of", "as_of", help="Run as if the clock read this ISO timestamp.")
def sweep_command(as_of: str | None):
    """Run every due deadline once and print what was done."""
    report = sweep.sweep(_parse_as_of(as_of))
    for line in report.lines():
        click.echo(line)


@odr_cli.command("worker")
@click.option("--interval", default=30.0, show_default=True, help="Seconds between rounds.")
@click.option("--once", is_flag=True, help="Run one round and stop.")
def worker_command(interval: float, once: bool):
    """Loop: the sweep, the records issued and not rendered yet, then the outbox (mail and
    webhooks); the dashboard figures before their snapshot goes stale (every 0.8 x
    ODR_STATS_TTL seconds)."""
    last_stats = float("-inf")
    while True:
        try:
            if time.monotonic() - last_stats >= stats_every():
                for key in stats.BUILDERS:
                    stats.refresh(key)
                last_stats = time.monotonic()
            report = sweep.sweep()
            if report.actions:
                for line in report.lines():
                    click.echo(line)
            rendered = records.render_due()
            if rendered:
                click.echo(f"records rendered: {rendered}")
            sent = deliver_due()
            if sent:
                click.echo(f"outbox: {sent}")
        except Exception:
            # A failed round (the database restarting, a bug on one path) must not end the
            # worker: what was done is committed; log it and try again next round.
            db.session.rollback()
            if once:
                raise
            logging.getLogger(__name__).exception("worker round failed; retrying")
        finally:
            db.session.remove()
        if once:
            return
        time.sleep(interval)


@odr_cli.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has users.")
def seed_demo_command(if_empty: bool):
    """Build the Henan demo and print one line per login: <role> <email> <password>."""
    if if_empty and db.session.scalar(db.select(db.func.count(User.id))):
        click.echo("demo data already present; logins:")
        for role, email, password in seed.DEMO_LOGINS:
            click.echo(f"{role} {email} {password}")
        return
    if db.session.scalar(db.select(db.func.count(User.id))):
        raise click.ClickException(
            "the database already has users: the demo goes into an empty database "
            "(--if-empty prints the demo logins instead)"
        )
    for role, email, password in seed.seed_demo():
        click.echo(f"{role} {email} {password}")


@odr_cli.command("create-user")
@click.option("--role", type=click.Choice(["admin", "mediator"]), required=True)
@click.option("--email", required=True)
@click.option("--password", default=None, help="Prompted for when left out.")
@click.option("--name", required=True)
@click.option("--body", "body_id", type=int, default=None, help="Mediation body id (mediators).")
@click.option("--head", is_flag=True, help="Make the mediator head of the body.")
def create_user_command(role, email, password, name, body_id, head):
    """Create an admin or a mediator account."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if role == "mediator":
        if body_id is None:
            raise click.UsageError("a mediator needs --body BODY_ID")
        if db.session.get(MediationBody, body_id) is None:
            raise click.UsageError(f"no mediation body {body_id}")
    try:
        user = auth_ops.create_user(role=UserRole(role), email=email, password=password, name=name)
    except Invalid as exc:
        for field, message in exc.fields.items():
            click.echo(f"{field}: {message}", err=True)
        sys.exit(1)
    if body_id is not None:
        db.session.add(BodyMembership(user_id=user.id, body_id=body_id, is_head=head))
    db.session.commit()
    click.echo(f"created {role} {user.email} (id {user.id})")


calendar_cli = AppGroup("calendar", help="The working-day calendar.")
odr_cli.add_command(calendar_cli)


@calendar_cli.command("deadline")
@click.option("--from", "start", required=True, help="YYYY-MM-DD, the day of the act.")
@click.option("--working-days", "n", required=True, type=click.IntRange(0, 10000))
def calendar_deadline(start: str, n: int):
    """Print the date of the N-th working day after --from (that day not counted)."""
    try:
        day = date.fromisoformat(start)
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--from") from None
    click.echo(deadlines.add_working_days(day, n).isoformat())


@calendar_cli.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def calendar_load(file: Path):
    """Load a year's official schedule (days off and make-up working days). Prints the days
    that change against the calendar in force, then the open cases whose deadline moved."""
    try:
        rows = deadlines.parse_schedule(file.read_text(encoding="utf-8-sig"), file.suffix)
    except ValueError as exc:
        raise click.ClickException(f"cannot read {file}: {exc}") from None
    change = supervision.store_schedule(rows, source=file.name)
    db.session.commit()
    click.echo(f"loaded {change.stored} days ({change.off} days off, {change.work} working days)")
    if not change.days:
        click.echo("no day changes: the calendar in force already had these days")
    for day, was, now, note in change.days:
        line = f"{day.isoformat()} {day:%a}: {_day_kind(was)} -> {_day_kind(now)}"
        click.echo(f"{line} ({note})" if note else line)
    if change.days:
        click.echo(f"{len(change.days)} days change")
    for moved in change.moved:
        click.echo(f"{moved.reference} {moved.state}: {moved.before} -> {moved.after}")
    click.echo(f"open cases whose deadline moved: {len(change.moved)}")


def _day_kind(workday: bool) -> str:
    return "working day" if workday else "day off"


register_maintenance(odr_cli)


@odr_cli.command("refresh-stats")
def refresh_stats_command():
    """Recompute the dashboard and scoreboard figures the pages read (cron or the worker)."""
    for key in stats.BUILDERS:
        started = time.perf_counter()
        stats.refresh(key)
        click.echo(f"{key}: {time.perf_counter() - started:.2f} s")
