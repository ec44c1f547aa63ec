"""Translations: extract the messages, build the zh_CN catalog from the per-area
dictionaries in odr/translations/zh/*.json ({"English": "中文"}), and compile it.

    python scripts/i18n.py compile   # extract + build + compile (make run / make test do it)
    python scripts/i18n.py missing   # list messages without a Chinese translation
"""

import json
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "odr" / "translations"
DICTS = TRANSLATIONS / "zh"


def extract() -> Catalog:
    with open(ROOT / "babel.cfg") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    catalog = Catalog(project="odr-portal", charset="utf-8")
    keywords = {
        "_": None,
        "gettext": None,
        "_l": None,
        "lazy_gettext": None,
        "ngettext": (1, 2),
        "lazy_ngettext": (1, 2),
    }
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords, strip_comment_tags=True
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def load_dicts() -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted(DICTS.glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def build(catalog: Catalog) -> tuple[Catalog, list[str]]:
    zh = load_dicts()
    out = Catalog(locale="zh_CN", project="odr-portal", charset="utf-8")
    missing = []
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id
        key = msgid if isinstance(msgid, str) else msgid[0]
        text = zh.get(key)
        if text is None:
            missing.append(key)
        if isinstance(msgid, tuple):
            out.add(msgid, (text or "",) if text else None, message.locations)
        else:
            out.add(msgid, text or "", message.locations)
    return out, missing


def main(command: str) -> int:
    catalog, missing = build(extract())
    if command == "missing":
        for key in missing:
            print(key)
        return 1 if missing else 0
    target = TRANSLATIONS / "zh_CN" / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    with open(target / "messages.po", "wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False, sort_output=True)
    with open(target / "messages.mo", "wb") as handle:
        write_mo(handle, catalog)
    # Babel >= 2.12 parses "zh_CN" as zh_Hans_CN, and gettext then looks in zh_Hans_CN/ and
    # zh/, never zh_CN/: without this copy no Chinese translation is ever found.
    hans = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES"
    hans.mkdir(parents=True, exist_ok=True)
    with open(hans / "messages.mo", "wb") as handle:
        write_mo(handle, catalog)
    print(f"translations: {len(catalog)} messages, {len(missing)} without Chinese")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "compile"))
