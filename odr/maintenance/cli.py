"""Maintenance commands added to `flask odr`: audit verify, backup, restore."""

import click


def register(group: click.Group) -> None:
    """Attach the maintenance commands to the `flask odr` group."""
