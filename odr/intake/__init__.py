"""Hotline seats' and service stations' pages: file for a caller, log a consultation,
pass a record to another office's seats, and the workload."""
