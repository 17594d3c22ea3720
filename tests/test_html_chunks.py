"""Rendered HTML split into Telegram messages: every piece must be valid on its own.

Telegram refuses a message whose HTML is cut inside an entity (``&am`` | ``p;``) or leaves a
tag open (400 "can't parse entities"); ``tests.fakebotapi.parse_html`` refuses the same.
"""

from __future__ import annotations

import random

import pytest

from handlers.tg.send import html_chunks
from tests.fakebotapi import parse_html

SAMPLES = {
    "entities, no spaces": "<b>Mục II</b>\n" + "Lỗi&amp;sai&lt;chậm&gt;" * 900,
    "long bold, spaces": "<b>" + "chữ đậm rất dài " * 700 + "</b> và thường",
    "nested, lines": "\n".join(f"<i>{n}. <b>Biểu hiện</b> &quot;{'x' * 90}&quot;</i>"
                               for n in range(200)),
    "link": '<a href="https://t.me/tusoi_bot?start=ABCD2345">' + "mời " * 1500 + "</a>",
    "numeric entities and emoji": "✔️ &#34;" + "😀&#39;" * 3000,
}


def visible(html: str) -> str:
    return parse_html(html)


@pytest.mark.parametrize("name", list(SAMPLES))
@pytest.mark.parametrize("limit", [100, 1024, 4096])
def test_every_piece_parses_fits_and_together_they_say_everything(name: str, limit: int) -> None:
    html = SAMPLES[name]
    pieces = html_chunks(html, limit)
    assert len(pieces) > 1
    for piece in pieces:
        assert len(piece.encode("utf-16-le")) // 2 <= limit
        visible(piece)  # raises like Telegram on a broken entity or tag
    whole = "".join(visible(p) for p in pieces).replace(" ", "").replace("\n", "")
    assert whole == visible(html).replace(" ", "").replace("\n", "")


def test_cuts_prefer_line_breaks_then_spaces() -> None:
    html = "dòng một\n" + "chữ " * 30
    assert html_chunks(html, 20)[0] == "dòng một"
    assert html_chunks("aaa bbb ccc", 8) == ["aaa bbb", "ccc"]


def test_a_short_text_is_one_piece() -> None:
    assert html_chunks("<b>Xin chào</b> &amp; hẹn gặp", 4096) == ["<b>Xin chào</b> &amp; hẹn gặp"]


def test_random_html_never_breaks() -> None:
    rng = random.Random(8)
    atoms = ["a", "ă", " ", "\n", "&amp;", "&lt;", "&#39;", "😀", "<b>", "</b>", "<i>", "</i>"]
    for _ in range(200):
        parts, stack = [], []
        for _ in range(rng.randint(50, 400)):
            atom = rng.choice(atoms)
            if atom in ("<b>", "<i>"):
                if atom in stack:
                    continue
                stack.append(atom)
            elif atom in ("</b>", "</i>"):
                if not stack or stack[-1] != atom.replace("/", ""):
                    continue
                stack.pop()
            parts.append(atom)
        parts += [t.replace("<", "</") for t in reversed(stack)]
        html = "".join(parts)
        if not visible(html).strip():
            continue
        for piece in html_chunks(html, rng.randint(30, 120)):
            visible(piece)
