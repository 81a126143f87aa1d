"""How likely a string's letters are as people write names: letter trigram models.

A handwritten e-mail address's local part is mostly a name ("jean.dupont", "m-leroux",
"pdurand75"), a text box a name, a place or an address; so of two readings of a box's
letters the one whose letters follow one another as in French and English names and words
is the likelier. Two models, counted from the name and word lists of the Faker package (a
dependency of the service: nothing is fetched): French and English first names, last names
and common words, accents taken off, put together as e-mail local parts are (first.last,
firstlast, f.last, first-last, first_last, a name and digits) and as text boxes are (one to
three names or words, some hyphenated, a French department or region, an address after
a number and a street type of Faker's French addresses). `scripts/count_letters.py`
writes them into `letters.json` beside this module, with their source and the command.
They know letter triples, not names: any string has a probability, a name they never saw
as well as one they did.
"""

from __future__ import annotations

import json
import math
import random
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

#: Symbols of the models: letters, the separators of names and local parts, one class for
#: all digits, and the string's start and end.
LETTERS = "abcdefghijklmnopqrstuvwxyz"
SEPARATORS = ".-_' "
DIGIT = "0"
START, END = "^", "$"
SYMBOLS = LETTERS + SEPARATORS + DIGIT + END
#: Added to every pair's count (a pair never seen is rare, not impossible), and how much a
#: trigram leans on its bigram.
SMOOTHING = 0.5
MIX = 2.0
#: The log-probability of a symbol outside SYMBOLS (a "+"), or after one.
UNKNOWN = -math.log(len(SYMBOLS))
#: Strings put together from the lists per model (a fixed seed: the same model every time).
SAMPLES = 40_000
TABLE_PATH = Path(__file__).with_name("letters.json")


def _plain(word: str) -> str:
    """Lower case, accents off, letters only ("Lefèvre" -> "lefevre", "Da Silva" -> "dasilva")."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if c in LETTERS)


def _symbol(char: str) -> str:
    """The model's symbol for a character of lower-cased text."""
    if char in SYMBOLS:
        return char
    if char.isdigit():
        return DIGIT
    plain = unicodedata.normalize("NFKD", char.lower())[:1]
    return plain if plain in SYMBOLS else char


@dataclass(frozen=True)
class LetterModel:
    """Letter trigrams, smoothed towards bigrams: how likely each symbol is after two others.

    P(c | a b) = (n(a b c) + MIX * P(c | b)) / (n(a b) + MIX), P(c | b) =
    (n(b c) + SMOOTHING) / (n(b) + SMOOTHING * |SYMBOLS|): a pair of letters never seen
    before another still has its bigram's probability.
    """

    trigrams: dict[str, int]
    bigrams: dict[str, int]

    @classmethod
    def counted(cls, texts: Iterable[str]) -> LetterModel:
        """The model of these strings."""
        trigrams: Counter[str] = Counter()
        bigrams: Counter[str] = Counter()
        for text in texts:
            symbols = [START, START, *(_symbol(c) for c in text.lower()), END]
            trigrams.update("".join(symbols[i : i + 3]) for i in range(len(symbols) - 2))
            bigrams.update("".join(symbols[i : i + 2]) for i in range(1, len(symbols) - 1))
        return cls(dict(sorted(trigrams.items())), dict(sorted(bigrams.items())))

    def as_json(self) -> dict[str, Any]:
        """The counts, as `from_json` reads them."""
        return {"trigrams": self.trigrams, "bigrams": self.bigrams}

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> LetterModel:
        """The counts `as_json` wrote."""
        return cls(dict(stored["trigrams"]), dict(stored["bigrams"]))

    @cached_property
    def _logs(self) -> tuple[dict[str, float], dict[str, float]]:
        """Log P(c | a b) for every context seen, and log P(c | b) for every symbol."""
        pairs: Counter[str] = Counter()
        for triple, count in self.trigrams.items():
            pairs[triple[:2]] += count
        singles: Counter[str] = Counter()
        for double, count in self.bigrams.items():
            singles[double[:1]] += count
        bigram = {
            before + after: (self.bigrams.get(before + after, 0) + SMOOTHING)
            / (singles[before] + SMOOTHING * len(SYMBOLS))
            for before in START + SYMBOLS
            for after in SYMBOLS
        }
        trigram = {
            context + after: math.log(
                (self.trigrams.get(context + after, 0) + MIX * bigram[context[1] + after])
                / (total + MIX)
            )
            for context, total in pairs.items()
            for after in SYMBOLS
        }
        return trigram, {key: math.log(value) for key, value in bigram.items()}

    def log_probability(self, text: str) -> float:
        """The string's log-probability, its end included; digits all count as one."""
        trigram, bigram = self._logs
        padded = START + START + "".join(_symbol(c) for c in text.lower()) + END
        total = 0.0
        for i in range(2, len(padded)):
            key = padded[i - 2 : i + 1]
            found = trigram.get(key)
            # An unseen pair of symbols: its bigram (an unknown symbol: uniform).
            total += found if found is not None else bigram.get(key[1:], UNKNOWN)
        return total


Lists = tuple[Sequence[str], Sequence[str], Sequence[str], Sequence[str], Sequence[str]]
"""First names, last names, words, places (French departments and regions), street types."""


def _local_parts(lists: Lists, rng: random.Random) -> Iterator[str]:
    """E-mail local parts the way people make them from their names (a few from words)."""
    first, last, words = lists[:3]
    shapes = (
        "{f}.{s}", "{f}.{s}", "{f}{s}", "{f}-{s}", "{f}_{s}", "{i}.{s}", "{i}{s}",
        "{f}.{s}{n}", "{f}{n}", "{s}.{f}", "{s}{n}", "{w}{n}", "{w}.{w2}", "{f}",
    )  # fmt: skip
    for _ in range(SAMPLES):
        f, surname = rng.choice(first), rng.choice(last)
        w, w2 = rng.choice(words), rng.choice(words)
        number = str(rng.randint(1, 99)) if rng.random() < 0.7 else str(rng.randint(1950, 2009))
        yield rng.choice(shapes).format(f=f, s=surname, i=f[0], n=number, w=w, w2=w2)


def _texts(lists: Lists, rng: random.Random) -> Iterator[str]:
    """What a text box holds: a name, a place, an address ("12 rue ..."), some hyphenated."""
    first, last, words, places, streets = lists
    for _ in range(SAMPLES):
        pools = (first, last, words, words, places)
        tokens = [rng.choice(rng.choice(pools)) for _ in range(rng.choice((1, 1, 2, 2, 3)))]
        text = (rng.choice((" ", " ", " ", "-"))).join(tokens)
        shape = rng.random()
        if shape < 0.15:
            text = f"{rng.choice(first)} {rng.choice(last)}"
        elif shape < 0.35:
            text = f"{rng.randint(1, 150)} {rng.choice(streets)} {text}"
        yield text


def _faker_lists() -> Lists:
    from faker.providers.address.fr_FR import Provider as FrenchPlaces
    from faker.providers.lorem.en_US import Provider as EnglishWords
    from faker.providers.lorem.fr_FR import Provider as FrenchWords
    from faker.providers.person.en_US import Provider as EnglishNames
    from faker.providers.person.fr_FR import Provider as FrenchNames

    def plain(names: Iterable[str]) -> list[str]:
        return sorted({p for p in (_plain(n) for n in names) if len(p) > 1})

    return (
        plain([*FrenchNames.first_names, *EnglishNames.first_names]),
        plain([*FrenchNames.last_names, *EnglishNames.last_names]),
        plain([*FrenchWords.word_list, *EnglishWords.word_list]),
        [
            " ".join(_plain(part) for part in place.replace("-", " ").split())
            for place in sorted(
                {*(name for _, name in FrenchPlaces.departments), *FrenchPlaces.regions}
            )
        ],
        plain(FrenchPlaces.street_prefixes),
    )


#: The models: which strings each is counted from.
KINDS: dict[str, Callable[[Lists, random.Random], Iterator[str]]] = {
    "email": _local_parts,
    "text": _texts,
}


def count_letters() -> dict[str, LetterModel]:
    """Every model counted afresh from Faker's lists (what letters.json holds)."""
    lists = _faker_lists()
    return {
        kind: LetterModel.counted(make(lists, random.Random(0)))  # noqa: S311 (data, not secrets)
        for kind, make in KINDS.items()
    }


@cache
def shipped_letters(kind: str) -> LetterModel:
    """A shipped model ("email" local parts, "text" boxes), loaded once per process."""
    stored = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    return LetterModel.from_json(stored["models"][kind])
