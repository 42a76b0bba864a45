"""Translation review: catalogs to a spreadsheet and back, checked row by row.

``hirfa translations export --lang ary -o ary.xlsx`` writes one row per text (one per plural
form): key, English, French, the language, a note, its status (``draft`` for texts nobody has
reviewed yet, ``reviewed`` once the chamber's people have). ``hirfa translations import
ary.xlsx`` takes the sheet back: each changed row is checked (same ``{placeholders}`` as the
English text, only Telegram's tags and each one closed, every plural form filled) and only the
rows that pass are written to ``locales/<lang>/<domain>.po``; the report says why the others
were refused.

A text's status and the reviewer's note live in the ``.po`` file as translator comments
(``# status: draft``, ``# note: ...``), so they travel with the catalog and survive a round trip.
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

from bot.i18n import LOCALES_DIR, placeholders

DRAFT = "draft"
REVIEWED = "reviewed"
STATUSES = (DRAFT, REVIEWED)
HEADER = ("key", "English", "French", "{lang}", "note", "status", "plural form")
SHEET = "translations"

_STATUS = "status: "
_NOTE = "note: "
_ALLOWED_TAG = re.compile(r"</?(b|i|u|s|code|pre)>")
_TAG = re.compile(r"</?([a-z]+)>")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLURAL_KEY = re.compile(r"^(?P<key>.+)\[(?P<form>\d)\]$")


# -- catalog files ---------------------------------------------------------------------------

def domains(lang: str = "en", directory: Path = LOCALES_DIR) -> list[str]:
    """The domain files of a language (``core`` first), by name."""
    files = sorted((directory / lang).glob("*.po"), key=lambda p: (p.stem != "core", p.name))
    return [path.stem for path in files]


def load(lang: str, domain: str, directory: Path = LOCALES_DIR) -> Catalog:
    with (directory / lang / f"{domain}.po").open("rb") as fh:
        return read_po(fh, locale="ar" if lang == "ary" else lang)


def save(catalog: Catalog, lang: str, domain: str, directory: Path = LOCALES_DIR) -> None:
    """Write a catalog the way the shipped files are written (no line wrapping)."""
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=0)
    (directory / lang).mkdir(parents=True, exist_ok=True)
    (directory / lang / f"{domain}.po").write_bytes(buffer.getvalue())


def key_of(message: Message) -> str:
    return str(message.id[0] if isinstance(message.id, tuple | list) else message.id)


def texts_of(message: Message) -> tuple[str, ...]:
    strings = message.string
    return tuple(str(s) for s in strings) if isinstance(strings, tuple | list) else (str(strings),)


def status_of(message: Message) -> str:
    for comment in message.user_comments:
        if comment.startswith(_STATUS):
            return comment.removeprefix(_STATUS).strip()
    return REVIEWED


def note_of(message: Message) -> str:
    return "\n".join(c.removeprefix(_NOTE) for c in message.user_comments if c.startswith(_NOTE))


def _set_comments(message: Message, status: str, note: str) -> None:
    kept = [c for c in message.user_comments if not c.startswith((_STATUS, _NOTE))]
    notes = [_NOTE + line for line in note.splitlines() if line.strip()]
    message.user_comments = [*kept, *notes, *([_STATUS + status] if status != REVIEWED else [])]


def messages(catalog: Catalog) -> Iterator[Message]:
    return (m for m in catalog if m.id)


# -- checks ----------------------------------------------------------------------------------

def problems(text: str, reference: Iterable[str], *, plural: bool) -> list[str]:
    """What is wrong with one translated text, compared with the English text(s)."""
    found: list[str] = []
    if not text.strip():
        return ["empty"]
    expected = set().union(*(placeholders(t) for t in reference))
    try:
        got = placeholders(text)
    except ValueError:
        return ["a { or } without its pair (write {{ or }} for a brace)"]
    optional = {"count"} if plural else set()
    if got - expected:
        found.append("unknown placeholder " + _braced(got - expected))
    if expected - got - optional:
        found.append("missing placeholder " + _braced(expected - got - optional))
    stripped = _ALLOWED_TAG.sub("", text)
    if "<" in stripped or ">" in stripped:
        found.append("markup other than <b> <i> <u> <s> <code> <pre> (write &lt; for <)")
    else:
        stack: list[str] = []
        for match in _TAG.finditer(text):
            tag = match.group(1)
            if not match.group(0).startswith("</"):
                stack.append(tag)
            elif not stack or stack.pop() != tag:
                found.append(f"</{tag}> closes nothing open")
                break
        else:
            if stack:
                found.append(f"<{stack[-1]}> is never closed")
    return found


def _braced(names: set[str]) -> str:
    return ", ".join("{" + name + "}" for name in sorted(names))


# -- spreadsheet -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    key: str
    english: str
    french: str
    text: str
    note: str
    status: str
    form: str = ""

    def cells(self) -> list[str]:
        return [self.key, self.english, self.french, self.text, self.note, self.status, self.form]


def _form_label(example: int, numbers: list[int]) -> str:
    return f"n = {example}" + ("" if len(numbers) < 2 else f" ({', '.join(map(str, numbers[:4]))}, …)")


def export_rows(lang: str, directory: Path = LOCALES_DIR) -> list[Row]:
    """One row per text of ``lang`` (one per plural form), in the catalogs' order."""
    rows: list[Row] = []
    for domain in domains(lang, directory):
        target = load(lang, domain, directory)
        english = {key_of(m): m for m in messages(load("en", domain, directory))}
        french = {key_of(m): m for m in messages(load("fr", domain, directory))}
        plural = _plural(target)
        en_plural, fr_plural = _plural(load("en", domain, directory)), _plural(load("fr", domain, directory))
        for message in messages(target):
            key = key_of(message)
            en, fr = english.get(key), french.get(key)
            en_texts = texts_of(en) if en else ("",)
            fr_texts = texts_of(fr) if fr else ("",)
            texts = texts_of(message)
            if not message.pluralizable:
                rows.append(Row(key, en_texts[0], fr_texts[0], texts[0], note_of(message),
                                status_of(message)))
                continue
            for form, text in enumerate(texts):
                numbers = [n for n in range(0, 200) if plural(n) == form]
                n = numbers[0] if numbers else 0
                rows.append(Row(
                    f"{key}[{form}]", en_texts[min(en_plural(n), len(en_texts) - 1)],
                    fr_texts[min(fr_plural(n), len(fr_texts) - 1)], text,
                    note_of(message), status_of(message), _form_label(n, numbers),
                ))
    return rows


def _plural(catalog: Catalog) -> Any:
    """The catalog's plural rule as a function of the count."""
    return gettext.c2py(catalog.plural_expr)


def write_xlsx(rows: list[Row], lang: str, path: Path) -> None:
    """The review sheet. Every cell is a string cell, so a text starting with = + - @ is shown,
    never run as a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.worksheet import Worksheet

    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    sheet.title = SHEET
    header = [h.format(lang=lang) for h in HEADER]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row.cells(), start=1):
            cell = sheet.cell(row=r, column=c)
            cell.value = value
            cell.data_type = "s"  # never a formula, whatever the text starts with
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for column, width in zip("ABCDEFG", (28, 50, 50, 50, 30, 10, 16), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "B2"
    book.save(path)


def read_xlsx(path: Path) -> tuple[str, list[tuple[int, Row]]]:
    """The language named in the sheet's header and its rows, with their line numbers."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=False)
    try:
        sheet = book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]
        lines = sheet.iter_rows(values_only=True)
        header = [str(v or "").strip() for v in next(lines, ())]
        if len(header) < 6 or header[:3] != list(HEADER[:3]) or header[4:6] != list(HEADER[4:6]):
            raise ValueError("the first row must be: " + ", ".join(HEADER[:6]).format(lang="<language>"))
        lang = header[3]
        rows = []
        for number, values in enumerate(lines, start=2):
            cells = ["" if v is None else str(v) for v in (*values, *([None] * 7))][:7]
            if not any(c.strip() for c in cells):
                continue
            rows.append((number, Row(cells[0].strip(), cells[1], cells[2], cells[3], cells[4],
                                     cells[5].strip().lower(), cells[6])))
        return lang, rows
    finally:
        book.close()


# -- import ----------------------------------------------------------------------------------

@dataclass
class Report:
    """What an import did, row by row."""

    changed: list[tuple[int, str]] = field(default_factory=list)
    unchanged: int = 0
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # line, key, why

    def lines(self) -> list[str]:
        out = [f"row {line}: {key}: refused: {why}" for line, key, why in self.refused]
        out += [f"row {line}: {key}: saved" for line, key in self.changed]
        out.append(f"{len(self.changed)} saved, {self.unchanged} unchanged, {len(self.refused)} refused.")
        return out


def import_rows(lang: str, rows: list[tuple[int, Row]], directory: Path = LOCALES_DIR) -> Report:
    """Check every row and write the ones that pass; a plural text goes in whole or not at all."""
    report = Report()
    catalogs = {d: load(lang, d, directory) for d in domains(lang, directory)}
    english = {key_of(m): (texts_of(m), m.pluralizable)
               for d in domains("en", directory) for m in messages(load("en", d, directory))}
    where = {key_of(m): (d, m) for d, c in catalogs.items() for m in messages(c)}
    grouped: dict[str, list[tuple[int, int | None, Row]]] = {}
    for line, row in rows:
        match = _PLURAL_KEY.match(row.key)
        key, form = (match["key"], int(match["form"])) if match else (row.key, None)
        grouped.setdefault(key, []).append((line, form, row))
    touched: set[str] = set()
    for key, entries in grouped.items():
        first_line = entries[0][0]
        if key not in english or key not in where:
            report.refused.append((first_line, key, "unknown key"))
            continue
        reference, plural = english[key]
        domain, message = where[key]
        forms = len(texts_of(message))
        why = _check_entries(entries, reference, plural, forms)
        if why:
            report.refused.append((why[0], key, why[1]))
            continue
        texts = list(texts_of(message))
        status = status_of(message)
        note = note_of(message)
        for _line, form, row in entries:
            texts[form or 0] = row.text
            status = row.status or status
            note = row.note
        if tuple(texts) == texts_of(message) and status == status_of(message) and note == note_of(message):
            report.unchanged += 1
            continue
        message.string = tuple(texts) if plural else texts[0]
        _set_comments(message, status, note)
        report.changed.append((first_line, key))
        touched.add(domain)
    for domain in touched:
        save(catalogs[domain], lang, domain, directory)
    return report


def _check_entries(entries: list[tuple[int, int | None, Row]], reference: tuple[str, ...],
                   plural: bool, forms: int) -> tuple[int, str] | None:
    seen: set[int] = set()
    for line, form, row in entries:
        if plural != (form is not None):
            return line, ("a plural text: one row per form, key[0] … " f"key[{forms - 1}]"
                          if plural else "not a plural text: no [n] after the key")
        if form is not None:
            if form >= forms:
                return line, f"plural form {form} does not exist (0 … {forms - 1})"
            seen.add(form)
        if row.status and row.status not in STATUSES:
            return line, "status must be " + " or ".join(STATUSES)
        found = problems(row.text, reference, plural=plural)
        if found:
            return line, "; ".join(found)
    if plural and seen != set(range(forms)):
        missing = sorted(set(range(forms)) - seen)
        return entries[0][0], "missing plural form " + ", ".join(map(str, missing))
    return None


# -- a new language from the Arabic layout ---------------------------------------------------

def create_language(lang: str, texts: dict[str, str | tuple[str, ...]], plural_forms: str,
                    title: str, directory: Path = LOCALES_DIR, status: str = DRAFT) -> None:
    """Write ``lang``'s catalogs in the order and layout of the Arabic ones (so new keys are
    easy to place), every text marked ``status``; English comments for the translator."""
    found = re.search(r"nplurals=(\d+)", plural_forms)
    if found is None:
        raise ValueError(f"not a Plural-Forms header: {plural_forms!r}")
    nplurals = int(found[1])
    expr = plural_forms.split("plural=", 1)[1].rstrip(";")
    for domain in domains("ar", directory):
        catalog = load("ar", domain, directory)
        english = {key_of(m): m for m in messages(load("en", domain, directory))}
        catalog.locale = lang
        vars(catalog).update(_num_plurals=nplurals, _plural_expr=expr)  # Babel has no setter
        catalog.language_team = f"{lang} (Hirfa)"
        catalog.header_comment = (
            f"# {title} translations for Hirfa.\n"
            "# DRAFT: written by the development team, not yet reviewed by the chamber.\n"
            "# Every text carries `# status: draft` until a reviewer imports it back\n"
            "# (hirfa translations export/import).\n#"
        )
        for message in messages(catalog):
            key = key_of(message)
            value = texts[key]
            if message.pluralizable:
                forms = value if isinstance(value, tuple) else (value,)
                if len(forms) != nplurals:
                    raise ValueError(f"{lang} {key}: {len(forms)} plural forms, expected {nplurals}")
                message.string = forms
            else:
                message.string = value if isinstance(value, str) else value[0]
            source = english.get(key)
            message.user_comments = list(source.user_comments) if source else []
            _set_comments(message, status, "")
        save(catalog, lang, domain, directory)
