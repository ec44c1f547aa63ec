"""Every message has its Simplified Chinese (the default language), with the same
placeholders, and the compiled catalog serves it."""

import importlib.util
import json
import re
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.fixture(scope="module")
def i18n():
    spec = importlib.util.spec_from_file_location("odr_i18n", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def catalog(i18n):
    return i18n.extract()


def test_every_message_has_chinese(i18n, catalog):
    _, missing = i18n.build(catalog)
    where = {
        (m.id if isinstance(m.id, str) else m.id[0]): sorted({f for f, _ in m.locations})
        for m in catalog
        if m.id
    }
    assert missing == [], f"{len(missing)} messages without Chinese:\n" + "\n".join(
        f"  {msgid!r}  ({', '.join(where.get(msgid, []))})" for msgid in missing
    )


def test_dictionaries_are_flat_string_maps_without_empty_translations():
    for path in sorted((ROOT / "odr" / "translations" / "zh").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(data, dict), path.name
        for msgid, text in data.items():
            assert isinstance(msgid, str) and isinstance(text, str), (path.name, msgid)
            assert text.strip(), f"{path.name}: empty translation for {msgid!r}"


def test_placeholders_are_kept(i18n):
    for msgid, text in i18n.load_dicts().items():
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(text)), msgid


def test_the_compiled_catalog_serves_chinese(app, i18n):
    """`make test` compiles the catalog first (scripts/i18n.py compile)."""
    zh = i18n.load_dicts()
    with app.test_request_context(), force_locale("zh_CN"):
        for msgid in ("Sign out", "Wrong e-mail or password.", "Not found."):
            assert gettext(msgid) == zh[msgid]
        assert gettext("Use at least %(n)s characters.", n=8) == zh[
            "Use at least %(n)s characters."
        ].replace("%(n)s", "8")
    with app.test_request_context(), force_locale("en"):
        assert gettext("Sign out") == "Sign out"
