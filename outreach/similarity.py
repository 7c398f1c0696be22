"""Near-identical letters: every pair of letter bodies compared on word 5-gram shingles, by exact Jaccard.

A body runs from the salutation to the sign-off: the letterhead, date and address block are left out, since they
differ in every letter and would hide two letters that say the same thing. A campaign of ~800 letters has ~300,000
pairs; the intersections are counted for all of them at once as one matrix product. Shingles shared by exactly the
same letters are folded into one weighted column first (a template's boilerplate is thousands of shingles but only a
few dozen distinct sets of letters), which keeps the product small; the figures stay exact, not estimated.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

SHINGLE_WORDS = 5
THRESHOLD = 0.85  # above this, two letters read as the same letter with the names changed

_WORD = re.compile(r"[\w’'-]+")


@dataclass(frozen=True)
class Pair:
    """Two letters and the Jaccard similarity of their bodies."""

    first: str
    second: str
    score: float


@dataclass(frozen=True)
class Similarity:
    """The figures for a set of letters: median and maximum pairwise similarity, and the pairs above the threshold."""

    letters: int
    pairs: int
    median: float
    maximum: float
    above: tuple[Pair, ...]
    threshold: float = THRESHOLD


def body(markdown: str, salutation: str, closing: str) -> str:
    """Return a letter's body, from its salutation line to its sign-off line, out of the letter's Markdown.

    Falls back to the whole text when either line is missing (a hand-edited letter), so nothing is skipped silently.
    """
    lines = markdown.splitlines()
    start = next((index for index, line in enumerate(lines) if line.strip() == f"{salutation},"), 0)
    end = next(
        (index for index in range(len(lines) - 1, start - 1, -1) if lines[index].strip() == f"{closing},"),
        len(lines) - 1,
    )
    return "\n".join(lines[start : end + 1])


def words(text: str) -> list[str]:
    """Return the words of a text, lower-cased, without Markdown emphasis or punctuation."""
    return _WORD.findall(text.replace("*", " ").lower())


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[tuple[str, ...]]:
    """Return the set of `size`-word runs in a text (the whole text as one shingle when it is shorter)."""
    found = words(text)
    if len(found) < size:
        return {tuple(found)} if found else set()
    return set(zip(*(found[offset:] for offset in range(size)), strict=False))


def jaccard(first: str, second: str) -> float:
    """Return the Jaccard similarity of two texts' shingle sets (1.0 for two empty texts)."""
    one, two = shingles(first), shingles(second)
    union = len(one | two)
    return len(one & two) / union if union else 1.0


def compare(bodies: Mapping[str, str], threshold: float = THRESHOLD) -> Similarity:
    """Return the pairwise figures for {letter_id: body}, with the pairs above `threshold`, most similar first."""
    import numpy as np

    ids = list(bodies)
    count = len(ids)
    if count < 2:
        return Similarity(letters=count, pairs=0, median=0.0, maximum=0.0, above=(), threshold=threshold)
    # Posting list of every shingle: the letters (by index) that contain it.
    postings: defaultdict[tuple[str, ...], list[int]] = defaultdict(list)
    sizes = np.zeros(count, dtype=np.float64)
    for index, letter_id in enumerate(ids):
        found = shingles(bodies[letter_id])
        sizes[index] = len(found)
        for shingle in found:
            postings[shingle].append(index)
    groups: Counter[tuple[int, ...]] = Counter(
        tuple(letters) for letters in postings.values() if len(letters) > 1
    )  # a shingle in one letter only adds to that letter's size, never to an intersection
    matrix = np.zeros((count, max(len(groups), 1)), dtype=np.float64)
    weights = np.zeros(max(len(groups), 1), dtype=np.float64)
    for column, (letters_in, weight) in enumerate(groups.items()):
        matrix[list(letters_in), column] = 1.0
        weights[column] = weight
    shared = (matrix * weights) @ matrix.T
    union = sizes[:, None] + sizes[None, :] - shared
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = np.where(union > 0, shared / union, 1.0)
    upper = np.triu_indices(count, k=1)
    values = scores[upper]
    hits = np.nonzero(values > threshold)[0]
    above = sorted(
        (Pair(ids[int(upper[0][hit])], ids[int(upper[1][hit])], float(values[hit])) for hit in hits),
        key=lambda pair: (-pair.score, pair.first, pair.second),
    )
    return Similarity(
        letters=count,
        pairs=int(values.size),
        median=float(np.median(values)),
        maximum=float(values.max()),
        above=tuple(above),
        threshold=threshold,
    )
