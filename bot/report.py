"""The committee's chart (a PNG, readable on a phone) and workbook (XLSX), from a
``bot.committee.CommitteeSummary``: counts, statuses, levels and scores, never an answer.

Every word comes from ``templates/committee.toml``. The chart uses DejaVu Sans, which
matplotlib ships (so it works offline) and which has every Vietnamese letter; a glyph it
lacked would be a test failure, not a box on the picture. Core module: no channel, no storage.
"""

from __future__ import annotations

import io
import tomllib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from bot.bundle import _header_row, _put, _stamp, _workbook_bytes
from bot.committee import FUNNEL, SEGMENTS, CommitteeSummary
from bot.config import ROOT
from bot.draft import clean_line

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DEFAULT_TEXTS = ROOT / "templates" / "committee.toml"
FONT = "DejaVu Sans"
# Colours of the segments, from done (green) to not started (greys); colour-blind safe
# enough and each labelled in the legend.
COLOURS: Mapping[str, str] = {
    "accepted": "#1b7837", "submitted": "#5aae61", "returned": "#e08214",
    "started": "#fdb863", "linked": "#92c5de", "invited": "#c6dbef",
    "not_invited": "#d9d9d9", "not_reviewed": "#f0f0f0",
}
LATE = "#b2182b"


def load_texts(path: Path = DEFAULT_TEXTS) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


# ----------------------------------------------------------------- the chart


def chart_figure(summary: CommitteeSummary, texts: Mapping[str, Any], now: datetime) -> Figure:
    """One horizontal stacked bar per cell, the late ones marked in red; sized for a phone
    (1080 px wide)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    t = texts["chart"]
    cells = summary.cells
    rows = max(1, len(cells))
    figure = Figure(figsize=(6.0, 2.2 + 0.42 * rows), dpi=180)
    figure.set_layout_engine("constrained")
    axes = figure.add_subplot()
    names = []
    for cell in cells:
        name = clean_line(cell.cell.name)
        if cell.round is None:
            name += f" ({t['no_round']})"
        elif cell.late:
            name += f" ({t['late'].format(days=cell.days_late)})"
        names.append(name)
    positions = list(range(len(cells)))
    left = [0] * len(cells)
    for segment in SEGMENTS:
        widths = [cell.segments[segment] for cell in cells]
        axes.barh(positions, widths, left=left, color=COLOURS[segment],
                  edgecolor="white", linewidth=0.6, label=texts["segments"][segment])
        left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.set_yticks(positions, names, fontfamily=FONT, fontsize=8)
    for label, cell in zip(axes.get_yticklabels(), cells, strict=True):
        if cell.late:
            label.set_color(LATE)
            label.set_fontweight("bold")
    axes.invert_yaxis()
    axes.set_xlabel(t["axis"], fontfamily=FONT, fontsize=8)
    axes.tick_params(axis="x", labelsize=7)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if not cells:
        axes.text(0.5, 0.5, t["empty"], ha="center", va="center", transform=axes.transAxes,
                  fontfamily=FONT)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.suptitle(t["title"].format(committee=clean_line(summary.committee.name)),
                    fontfamily=FONT, fontsize=10, fontweight="bold")
    axes.set_title(t["subtitle"].format(date=_stamp(now)), fontfamily=FONT, fontsize=7)
    figure.legend(loc="outside lower center", ncols=2, fontsize=7, frameon=False,
                  prop={"family": FONT, "size": 7})
    return figure


def chart_png(summary: CommitteeSummary, texts: Mapping[str, Any], now: datetime) -> bytes:
    """The chart as PNG bytes (Agg, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = chart_figure(summary, texts, now)
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


# ----------------------------------------------------------------- the workbook

_LATE_FONT = Font(bold=True, color="B2182B")


def _percent(share: Any) -> str:
    return f"{float(share) * 100:g}".replace(".", ",")


def workbook(summary: CommitteeSummary, texts: Mapping[str, Any], now: datetime) -> bytes:
    """Three sheets: the cells' counts, each member's status, level and score, and the cap
    per group with the rule quoted from the data."""
    x = texts["xlsx"]
    book = Workbook()
    cells = book.active
    cells.title = x["cells_sheet"]
    committee = clean_line(summary.committee.name)
    _put(cells, 1, 1, x["title"].format(committee=committee), font=Font(bold=True, size=13))
    _put(cells, 2, 1, x["subtitle"].format(generated=_stamp(now)), font=Font(italic=True))
    _header_row(cells, 3, x["cells_headers"], (6, 30, 28, 12, 9, 9, 11, 11, 9, 10, 12, 14, 11,
                                                13))
    row = 3
    for cell in summary.cells:
        row += 1
        counts = cell.counts
        values: list[Any] = [cell.cell.id, cell.cell.name,
                             cell.round.title if cell.round else x["no_round"],
                             cell.round.member_due.strftime("%d/%m/%Y") if cell.round else "",
                             cell.total, *(counts[k] for k in FUNNEL), cell.not_done,
                             cell.days_late if cell.late else ""]
        for column, value in enumerate(values, start=1):
            _put(cells, row, column, value, **({"font": _LATE_FONT} if cell.late else {}))
    row += 1
    totals = summary.counts
    total_values: list[Any] = ["", x["totals"], "", "",
                               sum(c.total for c in summary.cells),
                               *(totals[k] for k in FUNNEL),
                               sum(c.not_done for c in summary.cells), ""]
    for column, value in enumerate(total_values, start=1):
        _put(cells, row, column, value, font=Font(bold=True))
    cells.auto_filter.ref = f"A3:{get_column_letter(len(x['cells_headers']))}{row - 1}"

    members = book.create_sheet(x["members_sheet"])
    _header_row(members, 1, x["members_headers"], (6, 30, 30, 34, 22, 30, 12))
    index = 0
    for cell in summary.cells:
        for member in cell.members:
            index += 1
            status = texts["segments"][member.status]
            if member.reason:
                status += f" ({texts['reasons'][member.reason]})"
            values = [index, cell.cell.name, member.name, texts["groups"][member.category],
                      status, texts["levels"][member.level] if member.level else "",
                      member.score if member.score is not None else ""]
            for column, value in enumerate(values, start=1):
                _put(members, 1 + index, column, value)
    members.auto_filter.ref = f"A1:G{1 + index}"

    cap = book.create_sheet(x["cap_sheet"])
    rules = summary.rules
    wrap = Alignment(wrap_text=True, vertical="top")
    if rules is not None:
        rule = rules.cap
        share = _percent(rule.max_share)
        exception = _percent(rule.exception_share) if rule.exception_share else "—"
        headers = [h.format(share=share, exception=exception) for h in x["cap_headers"]]
        _header_row(cap, 1, headers, (40, 16, 16, 18, 20, 14, 14))
        line = 1
        for group in summary.cap:
            line += 1
            values = [texts["groups"][group.group], group.excellent, group.good, group.allowed,
                      group.exception_allowed if group.exception_allowed is not None else "",
                      x["yes"] if group.over else x["no"],
                      (x["yes"] if group.over_exception else x["no"])
                      if group.exception_allowed is not None else ""]
            for column, value in enumerate(values, start=1):
                _put(cap, line, column, value,
                     **({"font": _LATE_FONT} if group.over and column >= 6 else {}))
        line += 2
        meetings = [c.round.meeting_date for c in summary.cells if c.round is not None]
        when = max(meetings) if meetings else summary.today
        _put(cap, line, 1, x["rule_heading"].format(date=when.strftime("%d/%m/%Y")),
             font=Font(bold=True))
        for text in (rule.wording, rule.exception_wording):
            if text:
                line += 1
                _put(cap, line, 1, f"«{text}»", alignment=wrap)
                cap.merge_cells(start_row=line, start_column=1, end_row=line, end_column=7)
                cap.row_dimensions[line].height = 75
        line += 1
        _put(cap, line, 1, f"{rule.origin.source} — {rule.origin.url} "
                           f"({rule.origin.retrieved.strftime('%d/%m/%Y')}; {rule.origin.status})",
             alignment=wrap)
        cap.merge_cells(start_row=line, start_column=1, end_row=line, end_column=7)
        cap.row_dimensions[line].height = 45
        line += 2
        _put(cap, line, 1, x["who_decides"], font=Font(italic=True, bold=True), alignment=wrap)
        cap.merge_cells(start_row=line, start_column=1, end_row=line, end_column=7)
        cap.row_dimensions[line].height = 45
    return _workbook_bytes(book, now)
