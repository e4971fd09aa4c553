"""Keep the translations in step with the code.

    .venv/bin/python scripts/i18n.py update        regenerate skynet/locales/messages.pot with
                                                   redgettext and merge every <locale>.po with it
    .venv/bin/python scripts/i18n.py new de-DE     start a new language (an empty <locale>.po)
    .venv/bin/python scripts/i18n.py check         list what each language has not translated yet
    .venv/bin/python scripts/i18n.py todo fr-FR tools skynet/commands/tools/tools.py skynet/engine/tools
                                                   write i18n/fr-FR/tools.po: the texts of those
                                                   files, with the translations known so far

``update`` keeps every translation whose English text still exists, adds the new texts with an
empty translation, and drops the ones the code no longer uses. Translations waiting in
``i18n/<locale>/*.po`` (work in progress kept apart, e.g. one file per area, made by ``todo``)
are merged in too, over the .po's own; delete those work files once merged, so later edits of the
.po are not overwritten by them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import polib

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "skynet"
LOCALES = PACKAGE / "locales"
TEMPLATE = LOCALES / "messages.pot"
PENDING = ROOT / "i18n"
# The hook's own definition is not a translatable call.
NOT_SOURCES = {PACKAGE / "engine" / "i18n.py"}


def sources() -> List[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if path not in NOT_SOURCES)


def extract(output_dir: Path) -> Path:
    """Run redgettext (Red's extractor: ``_()`` calls, cog and command docstrings) over the cog."""
    files = [str(path.relative_to(ROOT)) for path in sources()]
    subprocess.run(
        [sys.executable, "-m", "redgettext", "--command-docstrings", "--output-dir", str(output_dir),
         "--relative-to-cwd", *files],
        cwd=ROOT, check=True,
    )
    template = output_dir / "messages.pot"
    pot = polib.pofile(str(template), wrapwidth=100)
    pot.metadata.pop("POT-Creation-Date", None)  # a date in it would make every run a change
    pot.metadata["Project-Id-Version"] = "skynet"
    pot.save(str(template))
    return template


def known_translations(locale: str, current: polib.POFile) -> Dict[str, str]:
    translations = {entry.msgid: entry.msgstr for entry in current if entry.msgstr}
    for pending in sorted((PENDING / locale).glob("*.po")) if (PENDING / locale).is_dir() else []:
        translations.update({entry.msgid: entry.msgstr for entry in polib.pofile(str(pending)) if entry.msgstr})
    return translations


def merge(template: polib.POFile, po_path: Path) -> polib.POFile:
    locale = po_path.stem
    current = polib.pofile(str(po_path)) if po_path.exists() else polib.POFile()
    translations = known_translations(locale, current)
    merged = polib.POFile(wrapwidth=100)
    merged.metadata = dict(template.metadata)
    merged.metadata.update(current.metadata)
    merged.metadata["Language"] = locale.replace("-", "_")
    merged.metadata["Project-Id-Version"] = "skynet"
    merged.metadata.pop("POT-Creation-Date", None)
    for entry in template:
        merged.append(polib.POEntry(
            msgid=entry.msgid, msgstr=translations.get(entry.msgid, ""),
            occurrences=entry.occurrences, flags=list(entry.flags),
        ))
    merged.save(str(po_path))
    return merged


def update() -> None:
    LOCALES.mkdir(exist_ok=True)
    extract(LOCALES)
    template = polib.pofile(str(TEMPLATE))
    for po_path in sorted(LOCALES.glob("*.po")):
        merged = merge(template, po_path)
        print(f"{po_path.name}: {merged.percent_translated()}% of {len(template)} texts translated")


def check() -> int:
    template = polib.pofile(str(TEMPLATE))
    missing_any = False
    for po_path in sorted(LOCALES.glob("*.po")):
        po = polib.pofile(str(po_path))
        translated = {entry.msgid for entry in po if entry.msgstr}
        missing = [entry.msgid for entry in template if entry.msgid not in translated]
        print(f"{po_path.name}: {len(missing)} of {len(template)} texts untranslated")
        for msgid in missing:
            print("   ", msgid.splitlines()[0][:100])
        missing_any = missing_any or bool(missing)
    return 1 if missing_any else 0


def todo(locale: str, area: str, paths: List[str]) -> None:
    """A work file for one area: its texts, to translate apart and merge with ``update``."""
    template = polib.pofile(str(extract(LOCALES)))
    prefixes = [str((ROOT / path).resolve().relative_to(ROOT)) for path in paths]
    po_path = LOCALES / f"{locale}.po"
    translations = known_translations(locale, polib.pofile(str(po_path)) if po_path.exists() else polib.POFile())
    work = polib.POFile(wrapwidth=100)
    work.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Language": locale.replace("-", "_")}
    for entry in template:
        if any(file.startswith(prefix) for file, _ in entry.occurrences for prefix in prefixes):
            work.append(polib.POEntry(msgid=entry.msgid, msgstr=translations.get(entry.msgid, ""),
                                      occurrences=entry.occurrences, flags=list(entry.flags)))
    target = PENDING / locale / f"{area}.po"
    target.parent.mkdir(parents=True, exist_ok=True)
    work.save(str(target))
    print(f"{target.relative_to(ROOT)}: {len(work)} texts, {len(work.untranslated_entries())} to translate")


def main(argv: List[str]) -> int:
    command = argv[0] if argv else "update"
    if command == "update":
        update()
        return 0
    if command == "new" and len(argv) == 2:
        (LOCALES / f"{argv[1]}.po").touch()
        update()
        return 0
    if command == "todo" and len(argv) >= 4:
        todo(argv[1], argv[2], argv[3:])
        return 0
    if command == "check":
        return check()
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
