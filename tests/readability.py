"""Flesch-Kincaid grade level for the explainer's Markdown, computed offline.

textstat's newer releases fetch a pronunciation dictionary on first use, which
fails on machines without internet, so syllables come from pyphen's
hyphenation patterns instead.  Each block (paragraph, list item, heading) is
treated as ending a sentence, so a bulleted list does not read as one long
run-on sentence.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pyphen
from markdown_it import MarkdownIt

BLOCK_TAGS = {"p", "li", "h1", "h2", "h3", "h4", "td", "th", "dt", "dd"}
WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")
VOWEL_GROUPS = re.compile(r"[aeiouy]+")

_hyphenator = pyphen.Pyphen(lang="en_US", left=1, right=1)


class _BlockText(HTMLParser):
    """Collects the text of each block-level element separately."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[str] = []
        self._current: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in BLOCK_TAGS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCK_TAGS:
            self._flush()

    def handle_data(self, data: str) -> None:
        self._current.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._current).split())
        if text:
            self.blocks.append(text)
        self._current = []


def syllables(word: str) -> int:
    """Syllables in one word: the larger of hyphenation points and vowel groups."""
    word = word.lower()
    by_pattern = len(_hyphenator.positions(word)) + 1
    groups = len(VOWEL_GROUPS.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee")) and groups > 1:
        groups -= 1  # a silent final e ("make", "cause")
    return max(1, by_pattern, groups)


def blocks_of(markdown_text: str) -> list[str]:
    """Plain text of each block of a Markdown document."""
    parser = _BlockText()
    parser.feed(MarkdownIt("commonmark").render(markdown_text))
    parser._flush()
    return parser.blocks


def flesch_kincaid_grade(markdown_text: str) -> float:
    """US school grade needed to read the text (lower is easier)."""
    sentences = words = syllable_count = 0
    for block in blocks_of(markdown_text):
        block_words = WORD.findall(block)
        if not block_words:
            continue
        # Every block ends at least one sentence, even without a full stop.
        sentences += max(1, len(SENTENCE_END.findall(block)))
        words += len(block_words)
        syllable_count += sum(syllables(w) for w in block_words)
    if not words:
        raise ValueError("no words to measure")
    return 0.39 * words / sentences + 11.8 * syllable_count / words - 15.59
