"""What people type, understood: words → the concepts the dialogue engine acts on.

Artisans write to the bot as they write to a friend: "iyeh", "wakha", "la", "نعم", "oui",
"joj", "زرابي", "fkhar", "marrakech", "bghit nsjl f formation 3afak", in five languages and two
scripts for Darija (Arabic letters, or Latin letters with 3/7/9). The words live in data files,
``locales/understanding/*.tsv`` (``concept<TAB>language<TAB>phrase``), not in the catalogs: a
language is understood even before it has catalogs, and nothing here is ever shown.

How a text is read against the concepts a screen accepts (:meth:`Lexicon.read`):

1. the whole text, folded (:func:`fold`: case, accents, Arabic letter variants, emphatic
   Tifinagh letters, punctuation, letters repeated for emphasis), then without politeness words
   ("3afak", "svp") and articles ("la", "l'", "ال"), then with doubled letters squeezed;
2. otherwise its word groups, longest first ("bghit nsjl f formation" → "formation"); yes/no and
   the words that work everywhere only count at the start ("oui je confirme", "la merci"), and a
   number word only as the whole answer (so "un tapis" is the carpets, not choice 1);
3. otherwise small typos, with rapidfuzz, against the words of the accepted concepts only (so a
   typo can only land on something that is on the screen), for words of four letters or more.

An answer that reads as two different concepts of the screen is not guessed: the engine asks
again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

DATA_DIR = Path(__file__).resolve().parent.parent / "locales" / "understanding"

# Concepts that may only come from the whole answer or its first words.
LEADING = frozenset({"yes", "no", "menu", "help", "back", "cancel", "stop", "skip"})
# The only choices of a step that waits for free text (a name, a card number, a title).
FREE_TEXT = frozenset({"back", "cancel", "menu", "skip"})
ARTICLES = frozenset({"le", "la", "les", "l", "un", "une", "des", "the", "a", "an", "el", "al"})
MAX_GROUP = 4

_LETTERS = str.maketrans({
    # Arabic letter variants people use interchangeably.
    "ة": "ه", "ى": "ي", "گ": "ك", "ڭ": "ك", "ڤ": "ف", "ﻻ": "لا",
    # Tifinagh: emphatic letters are often typed plain; the schwa and labialisation dropped.
    "ⵕ": "ⵔ", "ⵚ": "ⵙ", "ⴹ": "ⴷ", "ⵟ": "ⵜ", "ⵥ": "ⵣ", "ⴻ": "", "ⵯ": "",
    # Latin Tamazight letters → what a phone keyboard types.
    "ɛ": "3", "ɣ": "gh", "ʷ": "",
})
_NOT_WORD = re.compile(r"[^\w\s]|_")
_REPEATED = re.compile(r"(.)\1{2,}")
_DOUBLED = re.compile(r"(.)\1")


def fold(text: str) -> str:
    """A typed phrase reduced to what matters for matching (see the module docstring)."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.translate(_LETTERS).replace("\u0640", "")
    text = text.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789"))
    text = _NOT_WORD.sub(" ", text)
    text = _REPEATED.sub(r"\1", text)
    return " ".join(text.split())


def squeeze(text: str) -> str:
    """Doubled letters as one ("mrrakch" = "mrakch", "fkhkhar" ≈ "fkhar")."""
    return _DOUBLED.sub(r"\1", text)


def _stems(token: str) -> list[str]:
    """A word without its article or plural: "الزرابي" → "زرابي", "lfkhar" → "fkhar",
    "tapis" stays, "formations" → "formation"."""
    out = [token]
    for prefix in ("بال", "وال", "ال", "لل"):
        if token.startswith(prefix) and len(token) - len(prefix) >= 3:
            out.append(token[len(prefix):])
    for prefix in ("al", "el", "l"):
        if token.startswith(prefix) and len(token) - len(prefix) >= 4:
            out.append(token[len(prefix):])
    if token[-1:] in ("s", "x") and len(token) >= 5:
        out.append(token[:-1])
    if token.endswith("ات") and len(token) >= 5:
        out.append(token[:-2])
    return out


@dataclass
class Lexicon:
    """Every phrase of the data files, folded, with the concepts it names."""

    phrases: dict[str, set[str]] = field(default_factory=dict)
    fillers: set[str] = field(default_factory=set)
    languages: dict[str, set[str]] = field(default_factory=dict)  # concept → languages

    @classmethod
    def load(cls, directory: Path = DATA_DIR) -> Lexicon:
        lexicon = cls()
        paths = sorted(directory.glob("*.tsv"))
        if not paths:  # an install without its data: fail at start, not by understanding less
            raise FileNotFoundError(f"no word lists (*.tsv) in {directory}")
        for path in paths:
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip() or line.startswith("#"):
                    continue
                parts = line.split("\t")
                if len(parts) != 3:
                    raise ValueError(f"{path.name}:{number}: expected concept, language, phrase")
                lexicon.add(*parts)
        return lexicon

    def add(self, concept: str, language: str, phrase: str) -> None:
        key = fold(phrase)
        if not key:
            return
        if concept == "filler":
            self.fillers.add(key)
            return
        self.languages.setdefault(concept, set()).add(language)
        for variant in {key, squeeze(key)}:
            self.phrases.setdefault(variant, set()).add(concept)

    # -- reading ---------------------------------------------------------------------------
    def lookup(self, phrase: str) -> set[str]:
        """Concepts named exactly by ``phrase`` (folded), its squeezed form or its stems."""
        found = set(self.phrases.get(phrase, ()))
        found |= self.phrases.get(squeeze(phrase), set())
        if not found and " " not in phrase:
            for stem in _stems(phrase)[1:]:
                found |= self.phrases.get(stem, set()) | self.phrases.get(squeeze(stem), set())
        return found

    def _content(self, tokens: list[str]) -> list[str]:
        """Tokens without politeness words and articles (kept when nothing else is left)."""
        kept = [t for t in tokens if t not in self.fillers]
        words = [t for t in kept if t not in ARTICLES]
        return words or kept

    def read(self, text: str, accepted: Collection[str], *, whole_only: bool = False) -> str | None:
        """The one concept of ``accepted`` that ``text`` names, or None (nothing, or two).

        ``whole_only``: the concept must be the whole answer (give or take politeness words and
        typos), for steps that also take free text.
        """
        if not accepted:
            return None
        tokens = fold(text).split()
        if not tokens:
            return None
        content = self._content(self._without_filler_phrases(tokens))
        for whole in (tokens, content):
            found = self.lookup(" ".join(whole)) & set(accepted)
            if found:
                return found.pop() if len(found) == 1 else None
        if not whole_only:
            grouped = self._groups(content, accepted)
            if grouped is not None:
                return grouped or None
        return self._fuzzy(content, accepted, whole_only=whole_only)

    def _without_filler_phrases(self, tokens: list[str]) -> list[str]:
        """Drop multi-word fillers ("s il vous plait", "allah ykhlik") before single ones."""
        text = f" {' '.join(tokens)} "
        for filler in sorted((f for f in self.fillers if " " in f), key=len, reverse=True):
            text = text.replace(f" {filler} ", " ")
        return text.split() or tokens

    def _groups(self, tokens: list[str], accepted: Collection[str]) -> str | None:
        """The concept named by the longest word group; "" when two groups disagree, None when
        no group names an accepted concept."""
        for size in range(min(MAX_GROUP, len(tokens)), 0, -1):
            found: set[str] = set()
            for start in range(len(tokens) - size + 1):
                group = " ".join(tokens[start:start + size])
                for concept in self.lookup(group):
                    if concept not in accepted or concept.startswith("num:"):
                        continue
                    if concept in LEADING and start > 0:
                        continue
                    found.add(concept)
            if len(found) == 1:
                return found.pop()
            if found:
                return ""
        return None

    def _fuzzy(self, tokens: list[str], accepted: Collection[str], *, whole_only: bool) -> str | None:
        keys = _keys_for(self, frozenset(accepted))
        if not keys:
            return None
        candidates = [" ".join(tokens)]
        if len(tokens) > 1 and not whole_only:
            candidates += [t for t in tokens if len(t) >= 4]
        best: tuple[float, set[str]] | None = None
        for query in candidates:
            if len(query) < 4:
                continue
            known = self.lookup(query)
            if known and not known & set(accepted):
                continue  # a word we know means something else ("القائمة" is not "اللغة")
            cutoff = 80.0 if len(query) <= 5 else 84.0
            hit = process.extractOne(query, list(keys), scorer=fuzz.ratio, score_cutoff=cutoff)
            if hit is None:
                continue
            key, score = hit[0], float(hit[1])
            concepts = {c for c in keys[key] if c in accepted and not c.startswith("num:")}
            if query != " ".join(tokens):
                concepts -= LEADING
            if concepts and (best is None or score > best[0]):
                best = (score, concepts)
        if best is None or len(best[1]) != 1:
            return None
        return next(iter(best[1]))

    def closest_label(self, text: str, offer: list[tuple[str, str]]) -> str | None:
        """The one offered choice whose label holds the words of ``text`` (typos forgiven,
        synonyms of a craft too): "zlij" or "formation zellige" picks "2. Zellige : les bases"."""
        words = [w for w in self._content(self._without_filler_phrases(fold(text).split()))
                 if len(w) >= 3 and not self._generic(w)]
        if not words or sum(len(w) for w in words) < 4 or self.lookup(" ".join(words)) - {
                c for c in self.lookup(" ".join(words)) if c.startswith(("craft:", "region:"))}:
            return None  # nothing specific, or words that mean something else ("القائمة")
        weights = {w: self._weight(w) for w in words}
        scores: dict[str, float] = {}
        for choice_id, label in offer:
            label_words = [w for w in fold(label).split() if not w.isdigit()]
            if not label_words:
                continue
            whole = fuzz.ratio(" ".join(words), " ".join(label_words))
            matched = [w for w in words if self._in_label(w, label_words)]
            share = sum(weights[w] for w in matched) / sum(weights.values())
            score = max(whole if whole >= 84 else 0.0,
                        50.0 + 50.0 * share if sum(len(w) for w in matched) >= 4 else 0.0)
            if score >= 50:
                scores[choice_id] = score
        if not scores:
            return None
        best = max(scores.values())
        winners = [i for i, score in scores.items() if score == best]
        return winners[0] if len(winners) == 1 else None

    def _generic(self, word: str) -> bool:
        """A word that names an action or a menu entry, not a line ("formation", "oui")."""
        meaning = self.lookup(word)
        return bool(meaning) and all(
            c.startswith(("feature:", "num:", "lang:")) or c in LEADING or c in ("enrol", "mine", "more")
            for c in meaning)

    def _weight(self, word: str) -> float:
        """How much a word says about which line is meant: a craft or a place most, a generic
        word ("formation", "oui") least."""
        meaning = self.lookup(word)
        if any(c.startswith(("craft:", "region:")) for c in meaning):
            return 2.0
        if any(c.startswith("feature:") or c in LEADING for c in meaning):
            return 0.5
        return 1.0

    def _in_label(self, word: str, label_words: list[str]) -> bool:
        meaning = {c for c in self.lookup(word) if ":" in c and not c.startswith("num:")}
        for candidate in label_words:
            if fuzz.ratio(word, candidate) >= 84 or (len(word) >= 5 and candidate.startswith(word)):
                return True
            if meaning and meaning & self.lookup(candidate):
                return True
        return False

    def concepts_of(self, label: str) -> set[str]:
        """What a button's label names: the whole label, or its first word ("Oui, m'inscrire"
        → yes; "No, keep it" → no)."""
        tokens = fold(label).split()
        while tokens and tokens[0].isdigit():  # "1. Zellige" (a numbered label)
            tokens = tokens[1:]
        if not tokens:
            return set()
        return self.lookup(" ".join(tokens)) | {
            c for c in self.lookup(tokens[0]) if c in LEADING or c in ("enrol", "more")
        }


@lru_cache(maxsize=256)
def _keys_for(lexicon: Lexicon, accepted: frozenset[str]) -> dict[str, set[str]]:
    """Phrases of four letters or more naming one of ``accepted`` (the fuzzy search space)."""
    return {key: concepts for key, concepts in lexicon.phrases.items()
            if len(key) >= 4 and concepts & accepted}


# Lexicon is a mutable dataclass (unhashable by default); lru_cache needs identity hashing.
Lexicon.__hash__ = object.__hash__  # type: ignore[method-assign]


# -- choices on screen ------------------------------------------------------------------------

_YES_IDS = re.compile(r"(^|:)(yes|confirm|y)(:|$)|ok(:|$)")
_NO_IDS = re.compile(r"(^|:)(no|n)(:|$)")
_PREFIXES = {"region:": "region:", "craft:": "craft:", "lang:": "lang:", "m:": "feature:"}
_FIXED = {"nav:back": "back", "nav:cancel": "cancel", "nav:menu": "menu", "cnie:skip": "skip",
          "s:mine": "mine", "help:chamber": "feature:ask", "help:lang": "feature:language",
          "consent:voice": "voice"}


def choice_concepts(choice_id: str, label: str, lexicon: Lexicon) -> set[str]:
    """The concepts a button answers to: from its id (``consent:yes`` → yes, ``region:FM`` →
    region:FM, ``m:trainings`` → feature:trainings), else from the words of its label."""
    out: set[str] = set()
    if choice_id in _FIXED:
        out.add(_FIXED[choice_id])
    for prefix, concept in _PREFIXES.items():
        if choice_id.startswith(prefix):
            out.add(concept + choice_id.removeprefix(prefix))
    if choice_id.startswith("s:enrol:"):
        out |= {"enrol", "yes"}
    elif _YES_IDS.search(choice_id):
        out.add("yes")
    elif _NO_IDS.search(choice_id):
        out.add("no")
    if not out:
        out = lexicon.concepts_of(label)
    return out


def number_concepts(count: int) -> dict[str, int]:
    return {f"num:{n}": n for n in range(1, count + 1)}


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The shipped word lists (read once per process)."""
    return Lexicon.load()


def languages_covered(lexicon: Lexicon, concepts: Iterable[str]) -> dict[str, set[str]]:
    return {c: lexicon.languages.get(c, set()) for c in concepts}
