"""Maintenance: audit of the tamper-evident records, backup and restore."""
