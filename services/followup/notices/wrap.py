"""Breaking a paragraph of mixed Chinese and Latin text into lines.

Chinese breaks between any two characters, Latin words only at spaces, and a
line may not start with closing punctuation (，。、；：？！）》” …) nor end with
opening punctuation (（《“ …): the rule printed Chinese follows (避头尾).
A word wider than a whole line (a long URL) is broken where it must.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Measure = Callable[[str], float]
_SLACK = 1e-6  # widths summed token by token differ from the whole in the last digits

NO_LINE_START = frozenset("，。、；：？！）》〉」』】〕”’…—,.;:?!)]}%·")
NO_LINE_END = frozenset("（《〈「『【〔“‘([{")
# A CJK character (or full-width form) is a token of its own; a run of other
# non-space characters is a word; spaces separate.
_TOKENS = re.compile(
    r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]|\s+|[^\s\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]+"
)


def _split_word(word: str, width: float, measure: Measure) -> list[str]:
    pieces: list[str] = []
    current = ""
    for ch in word:
        if current and measure(current + ch) > width:
            pieces.append(current)
            current = ""
        current += ch
    return [*pieces, current] if current else pieces


def _tokens(text: str, width: float, measure: Measure) -> list[str]:
    out: list[str] = []
    for token in _TOKENS.findall(text):
        if not token.isspace() and len(token) > 1 and measure(token) > width:
            out.extend(_split_word(token, width, measure))
        else:
            out.append(token)
    return out


def _carry(line: list[str]) -> list[str]:
    """What moves from a full line to the next: spaces are dropped, and an
    opening mark, or the character a closing mark must stay with, goes along."""
    while line and line[-1].isspace():
        line.pop()
    carried: list[str] = []
    while len(line) > 1 and line[-1] in NO_LINE_END:
        carried.insert(0, line.pop())
    return carried


def wrap(text: str, width: float, measure: Measure, first_indent: float = 0.0) -> list[str]:
    """``text`` (one paragraph) as lines no wider than ``width``; the first line
    starts ``first_indent`` further right."""
    lines: list[str] = []
    line: list[str] = []
    used = first_indent
    for token in _tokens(text, width, measure):
        if token.isspace() and not line:
            continue  # no line starts with a space
        w = measure(token)
        if used + w <= width + _SLACK or not line:
            line.append(token)
            used += w
            continue
        carried = _carry(line)
        if token in NO_LINE_START and len(line) > 1:
            # The mark may not start a line: the character before it comes along.
            carried.insert(0, line.pop())
        if token.isspace():
            token = ""
        lines.append("".join(line).rstrip())
        line = [*carried, token] if token else carried
        used = sum(measure(t) for t in line)
    if line:
        lines.append("".join(line).rstrip())
    return lines
