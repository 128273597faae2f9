"""The compiled translations (the .mo files the package ships) are those of the .po files:
a .po changed without `make messages` would ship the old ones."""

import ast
import gettext
from pathlib import Path

import future_celery

# The package as imported: the source tree, or the wheel where a pass tests that.
PACKAGE = Path(future_celery.__file__).parent


def po_translations(po: Path) -> list[tuple[str, str | None, list[str]]]:
    """The translated entries of a .po file that gettext uses (not fuzzy, not the header):
    (msgid, msgid_plural or None, msgstrs); no msgctxt is used in ours."""
    entries: list[tuple[str, str | None, list[str]]] = []
    fields: dict[str, str] = {}
    key, fuzzy = "", False

    def flush() -> None:
        strs = [fields[k] for k in sorted(fields) if k.startswith("msgstr")]
        if fields.get("msgid") and all(strs) and strs and not fuzzy:
            entries.append((fields["msgid"], fields.get("msgid_plural"), strs))

    for line in [*po.read_text().splitlines(), ""]:
        if not line.strip():
            flush()
            fields, fuzzy = {}, False
        elif line.startswith("#,"):
            fuzzy = fuzzy or "fuzzy" in line
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            fields[key] += _po_string(line)
        else:
            key, _, value = line.partition(" ")
            fields[key] = _po_string(value)
    return entries


def _po_string(quoted: str) -> str:
    """A .po string's text ("..." with C escapes, as a Python literal's)."""
    return ast.literal_eval(quoted.strip())


def test_each_translation_of_the_po_files_is_compiled():
    languages = sorted(PACKAGE.glob("locale/*/LC_MESSAGES/django.po"))
    assert languages
    for po in languages:
        with po.with_suffix(".mo").open("rb") as mo:
            compiled = gettext.GNUTranslations(mo)
        entries = po_translations(po)
        assert entries, po
        for msgid, plural, strs in entries:
            if plural is None:
                assert compiled.gettext(msgid) == strs[0], (po, msgid)
            else:
                # n = 1, 2: one of each of the two plural forms (ours: German)
                assert [compiled.ngettext(msgid, plural, n) for n in (1, 2)] == strs, (po, msgid)
