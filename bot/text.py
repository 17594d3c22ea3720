"""Cleaning what members type before it is stored or compared."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Zero-width and bidi formatting characters that phones and copy-paste leave behind.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# C0/C1 control characters except tab and newline (they make invalid XML in the draft).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(raw: str) -> str:
    """Return the member's text as NFC with invisible and control characters removed.

    Line breaks are kept (answers are often lists), runs of spaces folded, and the
    whole trimmed. An answer made only of invisible characters becomes "".
    """
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def strip_marks(text: str) -> str:
    """Lower-case and without Vietnamese diacritics: "Thứ Sáu, Đảng" -> "thu sau, dang".

    For matching what people type (keywords, headers, weekdays), never for storing it.
    """
    decomposed = unicodedata.normalize("NFD", text.lower())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.replace("đ", "d")


def fold(text: str) -> str:
    """Typed keywords without diacritics, case or spaces: "Quay lại" -> "quaylai"."""
    return strip_marks(clean_text(text)).replace(" ", "")


def chunk(text: str, limit: int) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters, preferring line breaks."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def ascii_number(text: str, max_digits: int = 9) -> int | None:
    """A whole number as a person types it, or None.

    Only ASCII digits count, after NFKC, so full-width "１２" and circled "①" read as 12 and
    1; other characters ``str.isdigit`` accepts (superscripts, other scripts' digits) and
    anything longer than ``max_digits`` are not numbers here.
    """
    normal = unicodedata.normalize("NFKC", text).strip()
    if 0 < len(normal) <= max_digits and normal.isascii() and normal.isdigit():
        return int(normal)
    return None


def token_hash(token: str) -> str:
    """What is stored of a secret token (a download link's, a web login's or session's):
    its SHA-256, never the token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
