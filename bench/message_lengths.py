"""How long Hirfa's messages are, per language: characters per message (plain text, as read)
and the longest ones, now and at an earlier git revision. Not a speed benchmark: the plain-
language review of issue 14 uses it to show that texts got shorter.

    python -m bench.message_lengths [--before REV] [--top 10]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
from pathlib import Path

from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, html_to_plain
from bot.languages import LANGUAGES

ROOT = LOCALES_DIR.parent


def lengths(lang: str, rev: str | None) -> dict[str, int]:
    """Plain-text length of every message (the longest plural form) of ``lang``."""
    out: dict[str, int] = {}
    paths = sorted((LOCALES_DIR / lang).glob("*.po")) if rev is None else [
        Path(p) for p in _git("ls-tree", "--name-only", rev, f"locales/{lang}/").split()
    ]
    for path in paths:
        data = path.read_bytes() if rev is None else _git("show", f"{rev}:{path}").encode()
        for message in read_po(io.BytesIO(data), locale="ar" if lang == "ary" else lang):
            if not message.id:
                continue
            key = str(message.id[0] if isinstance(message.id, tuple | list) else message.id)
            texts = message.string if isinstance(message.string, tuple | list) else [message.string]
            out[key] = max(len(html_to_plain(str(t))) for t in texts)
    return out


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def summary(sizes: dict[str, int]) -> str:
    values = sorted(sizes.values())
    if not values:
        return "(none)"
    p90 = values[int(len(values) * 0.9)]
    return (f"{len(values):4d} messages, mean {statistics.mean(values):5.1f}, median "
            f"{statistics.median(values):5.1f}, p90 {p90:4d}, max {values[-1]:4d}, "
            f"over 200: {sum(v > 200 for v in values):3d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", help="a git revision to compare with")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    for lang in LANGUAGES:
        now = lengths(lang, None)
        print(f"{lang:4s} now    {summary(now)}")
        if args.before:
            try:
                then = lengths(lang, args.before)
            except subprocess.CalledProcessError:
                then = {}
            print(f"{lang:4s} before {summary(then)}")
        longest = sorted(now.items(), key=lambda item: -item[1])[: args.top]
        print("     longest now: " + ", ".join(f"{k} {v}" for k, v in longest))
        if args.before and then:
            longest = sorted(then.items(), key=lambda item: -item[1])[: args.top]
            print("     longest before: " + ", ".join(f"{k} {v}" for k, v in longest))


if __name__ == "__main__":
    main()
