"""Every message has its Simplified Chinese (the default language), with the same
placeholders, in odr/translations/zh_CN/LC_MESSAGES/messages.po, and the compiled catalog
serves it."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import render_template_string
from flask_babel import force_locale, get_translations, gettext, pgettext

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "odr" / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _key(message) -> tuple[str | None, str]:
    return message.context, message.id if isinstance(message.id, str) else message.id[0]


def _label(key) -> str:
    context, msgid = key
    return f"{context}|{msgid!r}" if context else repr(msgid)


def _strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


@pytest.fixture(scope="module")
def po():
    with open(PO, "rb") as handle:
        return read_po(handle, locale="zh_CN")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The messages in the code and templates today (pybabel extract into a temp dir)."""
    pybabel = Path(sys.executable).with_name("pybabel")
    command = str(pybabel) if pybabel.exists() else shutil.which("pybabel")
    out = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [command, "extract", "-F", "babel.cfg", "-o", str(out), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with open(out, "rb") as handle:
        return read_po(handle)


def test_babel_cfg_names_the_lazy_keywords(extracted):
    """babel.cfg is the one home of the keywords: a lazy message and a lazy one with a
    context are found with it alone (an older Babel would ignore its keywords)."""
    keys = {_key(m) for m in extracted}
    assert (None, "Please sign in to see this page.") in keys  # _l, odr/__init__.py
    assert ("mediation", "No such case.") in keys  # lazy_pgettext
    assert ("api", "Must be text.") in keys  # pgettext


def test_every_extracted_message_is_in_the_catalog(po, extracted):
    known = {_key(m) for m in po if m.id}
    missing = [m for m in extracted if m.id and _key(m) not in known]
    assert missing == [], (
        f"{len(missing)} messages missing from messages.po (run `make translations-update`):\n"
        + "\n".join(
            f"  {_label(_key(m))}  ({', '.join(sorted({f for f, _ in m.locations}))})"
            for m in missing
        )
    )


def test_every_message_has_chinese(po):
    untranslated = [m for m in po if m.id and not all(s.strip() for s in _strings(m))]
    fuzzy = [m for m in po if m.id and m.fuzzy]
    assert untranslated == [], f"{len(untranslated)} messages without Chinese:\n" + "\n".join(
        f"  {_label(_key(m))}" for m in untranslated
    )
    assert fuzzy == [], f"{len(fuzzy)} fuzzy messages (check and unmark):\n" + "\n".join(
        f"  {_label(_key(m))}" for m in fuzzy
    )


def test_the_catalog_keeps_no_obsolete_messages(po):
    assert list(po.obsolete) == [], "run `make translations-update` (it drops them)"


def test_placeholders_are_kept(po):
    for message in po:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        wanted = sorted(PLACEHOLDER.findall(ids[-1]))
        for text in _strings(message):
            assert sorted(PLACEHOLDER.findall(text)) == wanted, _label(_key(message))


def test_the_compiled_catalog_serves_chinese(app, po):
    """`make test` compiles the catalog first (pybabel compile -d odr/translations)."""
    zh = {_key(m): m.string for m in po if m.id}
    with app.test_request_context(), force_locale("zh_CN"):
        for msgid in ("Sign out", "Wrong e-mail or password.", "Not found."):
            assert gettext(msgid) == zh[None, msgid]
        assert gettext("Use at least %(n)s characters.", n=8) == zh[
            None, "Use at least %(n)s characters."
        ].replace("%(n)s", "8")
        # Not stale: every entry of the .po is what the compiled catalog serves.
        translations = get_translations()
        stale = [
            key
            for key, text in zh.items()
            if isinstance(text, str)
            and (
                translations.upgettext(key[0], key[1]) if key[0] else translations.ugettext(key[1])
            )
            != text
        ]
        assert stale == [], "run `make translations`: " + ", ".join(map(_label, stale[:10]))
    with app.test_request_context(), force_locale("en"):
        assert gettext("Sign out") == "Sign out"


def test_one_english_text_with_two_chinese_texts_takes_a_context(app, po):
    """The API and the mediator's pages word these differently from the rest."""
    zh = {_key(m): m.string for m in po if m.id}
    with app.test_request_context(), force_locale("zh_CN"):
        for context, msgid in (
            ("api", "Must be text."),
            ("api", "Not a valid date."),
            ("api", "You may not do this on this case."),
            ("mediation", "No such case."),
        ):
            assert pgettext(context, msgid) == zh[context, msgid]
            assert gettext(msgid) == zh[None, msgid]
            assert zh[context, msgid] != zh[None, msgid]
    with app.test_request_context(), force_locale("en"):
        assert pgettext("api", "Must be text.") == "Must be text."


def test_templates_translate_and_escape_the_values(app):
    """Flask-Babel's newstyle gettext in Jinja: the text is translated, the values escaped."""
    with app.test_request_context(), force_locale("zh_CN"):
        assert render_template_string("{{ _('Sign out') }}") == gettext("Sign out")
        html = render_template_string(
            "{{ _('Use at least %(n)s characters.', n=value) }}", value="<b>8</b>"
        )
        assert "&lt;b&gt;8&lt;/b&gt;" in html and "<b>" not in html
        assert html == gettext("Use at least %(n)s characters.", n="&lt;b&gt;8&lt;/b&gt;")
