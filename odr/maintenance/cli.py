"""Maintenance commands added to `flask odr`: audit verify, backup, restore."""

import sys

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from odr.maintenance.audit import AdoptionRefused, adopt_existing, verify_all
from odr.maintenance.backup import BackupError, backup, restore


def register(group: click.Group) -> None:
    """Attach the maintenance commands to the `flask odr` group."""
    group.add_command(audit_cli)
    group.add_command(backup_command)
    group.add_command(restore_command)


audit_cli = AppGroup("audit", help="Tamper evidence of the case timelines and stored files.")


@audit_cli.command("verify")
def audit_verify_command():
    """Check every case's hash chain and every record's and evidence file's SHA-256.

    Prints one line per problem and a summary; exits with status 1 when anything was
    altered or is missing."""
    report = verify_all()
    for line in report.problems:
        click.echo(f"ALTERED {line}", err=True)
    click.echo(report.lines()[-1])
    sys.exit(0 if report.ok else 1)


@audit_cli.command("adopt")
def audit_adopt_command():
    """Once, after upgrading to the keyed audit: re-link every case's timeline under
    ODR_AUDIT_KEY and seal its facts as they are. Refused if any case is sealed already."""
    try:
        report = adopt_existing()
    except AdoptionRefused as exc:
        raise click.ClickException(str(exc)) from None
    for line in report.problems:
        click.echo(f"ALTERED {line}", err=True)
    click.echo(
        f"adopted {report.cases - len(report.problems)} of {report.cases} cases "
        f"({report.events} events)"
    )
    sys.exit(0 if report.ok else 1)


@click.command("backup")
@with_appcontext
@click.option(
    "--output",
    "-o",
    default=None,
    help="Archive file, or a folder to put it in (default: instance/backups/).",
)
def backup_command(output: str | None):
    """Write the database, the evidence and the records into one .tar.gz archive."""
    try:
        summary = backup(output)
    except (BackupError, OSError, SQLAlchemyError) as exc:
        raise click.ClickException(str(exc)) from None
    for line in summary.lines():
        click.echo(line)
    click.echo(f"backup written to {summary.path}")


@click.command("restore")
@with_appcontext
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
def restore_command(archive: str):
    """Restore an archive made by `flask odr backup` into an empty, migrated database."""
    try:
        summary = restore(archive)
    except (BackupError, OSError, SQLAlchemyError) as exc:
        raise click.ClickException(f"restore failed, nothing was changed: {exc}") from None
    for line in summary.lines():
        click.echo(line)
    click.echo(f"restored from {summary.path}")
