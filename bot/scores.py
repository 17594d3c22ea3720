"""Reading a self-score the way members type it: "25", "25 điểm", "25đ", "25/30".

Anything else gets a reason code, so the reply can say exactly what is allowed; nothing is
stored until a whole number within the question's range has been read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.text import clean_text, strip_marks

# Reason codes (the Vietnamese replies are in templates/messages/review/score_hint.html.j2).
EMPTY = "empty"
WORDS = "words"
DECIMAL = "decimal"
NEGATIVE = "negative"
ABOVE = "above"
BELOW = "below"
UNREADABLE = "unreadable"
PROBLEMS = (EMPTY, WORDS, DECIMAL, NEGATIVE, ABOVE, BELOW, UNREADABLE)

_UNIT = re.compile(r"\s*(?:diem|d)\s*\.?$")
# ASCII digits only, after NFKC (as bot.text.ascii_number reads numbers elsewhere): full-width
# and circled digits count, other scripts' digits do not.
_OUT_OF = re.compile(r"^(.+?)\s*/\s*([0-9]+)$")
_WHOLE = re.compile(r"^([+-]?)\s*([0-9]{1,9})$")
_DECIMAL = re.compile(r"^[+-]?\s*[0-9]+\s*[.,]\s*[0-9]+$")


@dataclass(frozen=True)
class ScoreProblem:
    code: str
    value: int | None = None  # the number read, when it is out of range


def parse_score(raw: str, low: int, high: int) -> int | ScoreProblem:
    """The score in ``raw`` if it is a whole number from ``low`` to ``high``.

    Units are dropped ("25 điểm", "25đ"), and so is "/N" when N is the question's maximum.
    """
    text = strip_marks(unicodedata.normalize("NFKC", clean_text(raw))).strip()
    if not text:
        return ScoreProblem(EMPTY)
    text = _UNIT.sub("", text)
    out_of = _OUT_OF.match(text)
    if out_of is not None:
        if int(out_of[2]) != high:
            return ScoreProblem(UNREADABLE)
        text = _UNIT.sub("", out_of[1])
    whole = _WHOLE.match(text)
    if whole is not None:
        value = int(whole[2]) * (-1 if whole[1] == "-" else 1)
        if value < 0 and low >= 0:
            return ScoreProblem(NEGATIVE, value)
        if value > high:
            return ScoreProblem(ABOVE, value)
        if value < low:
            return ScoreProblem(BELOW, value)
        return value
    if _DECIMAL.match(text):
        return ScoreProblem(DECIMAL)
    if any(ch.isalpha() for ch in text):
        return ScoreProblem(WORDS)
    return ScoreProblem(UNREADABLE)
