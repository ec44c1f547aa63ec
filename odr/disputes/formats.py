"""How values are written for people, one home each: pages (as Jinja filters, registered
once by odr/web.py), PDF records, e-mails and the CSV export all call these."""

import csv
from decimal import Decimal

# Babel patterns: a moment (pages, records, e-mails), a day on pages, a day in records.
# A moment is always Asia/Shanghai and says so (moment_zone), the same digits in both
# languages; a day is written in the reader's language (2026年12月11日, Dec 11, 2026).
DATETIME_FORMAT = "yyyy-MM-dd HH:mm"
# The zone a moment is shown in, named for each language (docs/GLOSSARY.md).
ZONE_NAMES = {"zh": "（北京时间）", "en": " (China time, UTC+8)"}
DATE_FORMAT = "medium"
RECORD_DATE_FORMAT = "long"
# strftime patterns of the CSV export (machine-readable, the same in every language).
CSV_DATETIME_FORMAT = "%Y-%m-%d %H:%M"
CSV_DATE_FORMAT = "%Y-%m-%d"


def moment_zone(locale) -> str:
    """What follows a moment's digits in `locale` ("zh_CN", "en", a Babel Locale)."""
    return ZONE_NAMES["en" if str(locale).startswith("en") else "zh"]


def amount(value) -> str:
    """1299 -> '1,299.00'; '' for nothing or something that is not a number."""
    if value is None:
        return ""
    try:
        return f"{Decimal(value):,.2f}"
    except (ArithmeticError, ValueError, TypeError):
        return ""


def money(value) -> str:
    """1299 -> '¥1,299.00' (renminbi); '' for nothing."""
    text = amount(value)
    return f"¥{text}" if text else ""


def mask_phone(phone: str | None) -> str:
    """13812348000 -> 138****8000: enough to recognise a caller, not to call them."""
    phone = (phone or "").strip()
    digits = len(phone)
    if digits >= 11:
        return phone[:3] + "****" + phone[-4:]
    if digits >= 7:
        return phone[:2] + "****" + phone[-2:]
    return "****" if phone else ""


def mask_address(address: str | None) -> str:
    """Keep the district, hide the street and the house number."""
    address = (address or "").strip()
    if not address:
        return ""
    keep = min(6, max(len(address) // 3, 1))
    return address[:keep] + "****"


def mask_name(name: str | None) -> str:
    """张三丰 -> 张**, Jane Doe -> J*** D**: fellow members of a joint complaint recognise a
    representative without learning each other's names."""
    parts = (name or "").split()
    if not parts:
        return ""
    return " ".join(part[0] + "*" * max(len(part) - 1, 1) for part in parts)


# A spreadsheet program runs a cell that begins with one of these as a formula
# (=HYPERLINK(...), +cmd|..., @SUM(...)); tab and carriage return hide such a start.
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """One cell of a CSV export: text that begins with a formula character is prefixed with
    an apostrophe, so a spreadsheet shows it instead of running it; numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(CSV_FORMULA_START) else text


class _SafeWriter:
    """csv.writer whose every cell goes through csv_cell: an export cannot forget one."""

    def __init__(self, buffer):
        self._writer = csv.writer(buffer)

    def writerow(self, row) -> None:
        self._writer.writerow([csv_cell(value) for value in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(buffer) -> _SafeWriter:
    """The writer of every CSV export (the regulator's, the enterprise's, any other)."""
    return _SafeWriter(buffer)
