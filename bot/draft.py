"""Turn a member's answers into the Word draft of their self-review (bản kiểm điểm cá nhân).

The template is built by ``templates/docx/build_templates.py``; this module only fills it in.
It knows nothing about a channel or storage: callers hand over a plain mapping (see
``DRAFT_CONTEXT_KEYS``) and get the ``.docx`` bytes back.

Member text is made safe here, once: NFC-normalised, stripped of characters that would make
invalid XML or that are invisible junk from copy-paste, and autoescaped by Jinja. docxtpl parses
the rendered XML with lxml's ``recover=True``, so anything left unescaped (``&``, ``<``) would be
dropped silently rather than fail.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate
from jinja2 import Environment, StrictUndefined, Template
from jinja2.exceptions import UndefinedError

TEMPLATE_2023 = (
    Path(__file__).resolve().parent.parent / "templates" / "docx" / "ban-kiem-diem-2023.docx"
)
TEMPLATE_2025 = TEMPLATE_2023.with_name("ban-kiem-diem-2025.docx")

# The four quality levels, form wording (domain.md §4.1, section VII).
LEVELS: tuple[str, ...] = (
    "Hoàn thành xuất sắc nhiệm vụ",
    "Hoàn thành tốt nhiệm vụ",
    "Hoàn thành nhiệm vụ",
    "Không hoàn thành nhiệm vụ",
)

# What the template expects. Paths use `[]` for list elements. Every key is required unless
# marked optional; string values may be empty (the draft then shows dots to fill in by hand).
DRAFT_CONTEXT_KEYS: Mapping[str, str] = {
    "form_code": "str: e.g. 'Mẫu 02B-HD KĐ.ĐG 2023', printed top right",
    "party_committee": "str: the đảng bộ, printed upper-case after 'ĐẢNG BỘ'",
    "cell_name": "str: the chi bộ, upper-case in the header, as given after 'Chi bộ'",
    "place": "str: place of the date line",
    "day": "str | int: day of the date line (may be empty)",
    "month": "str | int: month of the date line (may be empty)",
    "year": "str | int: year of the date line (may be empty)",
    "review_year": "str | int: the year under review ('Năm …')",
    "subtitle": "str: e.g. '(Cá nhân giữ chức vụ lãnh đạo, quản lý)', parentheses included",
    "full_name": "str: 'Họ và tên', also printed under the signature",
    "birth_date": "str: 'Ngày sinh'",
    "party_position": "str: 'Chức vụ Đảng'",
    "government_position": "str: 'Chức vụ chính quyền'",
    "mass_org_position": "str: 'Chức vụ đoàn thể'",
    "work_unit": "str: 'Đơn vị công tác'",
    "sections": "list[Mapping]: sections I–VI in order",
    "sections[].title": "str: e.g. 'I. Ưu điểm, kết quả đạt được'",
    "sections[].items": "list[Mapping]: the section's lines",
    "sections[].items[].label": "str: the form's own line, e.g. '1. Hạn chế, khuyết điểm'; may be ''",
    "sections[].items[].text": "str: the member's answer; '\\n' separates paragraphs; may be ''",
    "levels": "Mapping: section VII",
    "levels.civil_applicable": "bool: False prints 'Không áp dụng' instead of the civil boxes",
    "levels.civil": "list[Mapping]: civil-service levels (required when civil_applicable)",
    "levels.party": "list[Mapping]: Party-member levels",
    "levels.civil[].label / levels.party[].label": "str: level wording, see LEVELS",
    "levels.civil[].checked / levels.party[].checked": "bool: at most one True per list",
    "self_score": "optional, int | float | None: printed as 'Tự chấm điểm: N/100' when not None",
    "generated_on": "str: date shown in the footer, e.g. '23/11/2026'",
}

# The 2025 template (Mẫu 2A/2B/2C) reads the keys above (``levels`` and ``self_score`` are
# ignored) and these; the 2023 template ignores them. All are optional for ``prepare_context``.
DRAFT_2025_KEYS: Mapping[str, str] = {
    "title": "str: 'BẢN KIỂM ĐIỂM, TỰ ĐÁNH GIÁ, XẾP LOẠI CÁ NHÂN'",
    "part_a_title": "str: 'A. NỘI DUNG KIỂM ĐIỂM'",
    "show_posts": "bool: print the Chức vụ Đảng / chính quyền / đoàn thể lines",
    "sections[].note": "str: the form's explanatory line under a heading; may be ''",
    "sections[].items[].source": "str: where a line not seen on the form comes from; may be ''",
    "part_b": "Mapping | None: part B (None: not printed)",
    "part_b.title / scores_title / scores_intro / level_title / level_note": "str",
    "part_b.headers": "list[str]: the score table's three column headings",
    "part_b.rows[]": "Mapping: label, max, score (str; score '' prints dots)",
    "part_b.total": "Mapping: label, max, score: the computed total",
    "part_b.levels[]": "Mapping: label, checked (at most one True)",
    "annex": "Mapping | None: the task-results annex (None: not printed)",
    "annex.title / counts": "str",
    "annex.headers": "list[str]: five column headings",
    "annex.rows[]": "Mapping: number, task, result, on_time, exceeded (str)",
    "blocks[]": "Mapping: heading, fields (list[str]), signer, signer_note, signer_name (bool)",
}

_SCALAR_KEYS: tuple[str, ...] = (
    "form_code",
    "party_committee",
    "cell_name",
    "place",
    "day",
    "month",
    "year",
    "review_year",
    "subtitle",
    "full_name",
    "birth_date",
    "party_position",
    "government_position",
    "mass_org_position",
    "work_unit",
    "generated_on",
)

# Line separators other than "\n" that members paste in (CR, VT, FF, NEL, U+2028, U+2029).
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
# Characters removed from member text: C0/C1 controls except tab and newline (invalid in XML or
# turned into page/paragraph breaks by docxtpl), surrogates, non-characters, and invisible
# format characters (zero-width space, BOM, bidi overrides, soft hyphen). ZWJ and ZWNJ stay:
# emoji sequences need them.
_UNWANTED = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ufffe\uffff\ud800-\udfff]"
)
_SPACES = re.compile(r"[ \t\n]+")


class DraftContextError(KeyError):
    """The context given to ``render_draft`` lacks a key or has one of the wrong shape."""

    def __init__(self, path: str, problem: str = "missing") -> None:
        super().__init__(path)
        self.path = path
        self.problem = problem

    def __str__(self) -> str:
        return f"draft context key {self.path!r}: {self.problem}"


def clean_text(value: Any) -> str:
    """Member text made safe for the document: NFC, no control or invisible characters."""
    text = "" if value is None else str(value)
    text = _LINE_BREAKS.sub("\n", text)
    text = _UNWANTED.sub("", text)
    return unicodedata.normalize("NFC", text)


def clean_line(value: Any) -> str:
    """A one-line field: cleaned, with runs of whitespace (newlines included) made one space."""
    return _SPACES.sub(" ", clean_text(value)).strip()


def answer_lines(text: str) -> list[str]:
    """An answer's paragraphs: one per line, leading and trailing blank lines dropped."""
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def level_choices(chosen: str | None) -> list[dict[str, Any]]:
    """The four levels as the template wants them, with ``chosen`` (if any) ticked."""
    if chosen is not None and chosen not in LEVELS:
        raise ValueError(f"unknown level {chosen!r}; expected one of {LEVELS}")
    return [{"label": label, "checked": label == chosen} for label in LEVELS]


def _require(mapping: Any, key: str, path: str) -> Any:
    if not isinstance(mapping, Mapping):
        raise DraftContextError(path.rsplit(".", 1)[0] or path, "expected a mapping")
    if key not in mapping:
        raise DraftContextError(path)
    return mapping[key]


def _as_list(value: Any, path: str) -> Sequence[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise DraftContextError(path, "expected a list")
    return list(value)


def _levels(raw: Any, path: str) -> list[dict[str, Any]]:
    levels = []
    for index, entry in enumerate(_as_list(raw, path)):
        entry_path = f"{path}[{index}]"
        levels.append(
            {
                "label": clean_line(_require(entry, "label", f"{entry_path}.label")),
                "checked": bool(_require(entry, "checked", f"{entry_path}.checked")),
            }
        )
    if sum(1 for level in levels if level["checked"]) > 1:
        raise DraftContextError(path, "more than one level is checked")
    return levels


def _format_score(score: Any) -> str | None:
    if score is None:
        return None
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        raise DraftContextError("self_score", "expected a number or None")
    if isinstance(score, float) and not score.is_integer():
        return f"{score:g}".replace(".", ",")  # Vietnamese decimal comma
    return str(int(score))


def prepare_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``context`` against ``DRAFT_CONTEXT_KEYS`` and return a cleaned copy to render."""
    if not isinstance(context, Mapping):
        raise DraftContextError("<context>", "expected a mapping")
    prepared: dict[str, Any] = {
        key: clean_line(_require(context, key, key)) for key in _SCALAR_KEYS
    }

    sections = []
    for s_index, section in enumerate(
        _as_list(_require(context, "sections", "sections"), "sections")
    ):
        s_path = f"sections[{s_index}]"
        items = []
        raw_items = _require(section, "items", f"{s_path}.items")
        for i_index, item in enumerate(_as_list(raw_items, f"{s_path}.items")):
            i_path = f"{s_path}.items[{i_index}]"
            items.append(
                {
                    "label": clean_line(_require(item, "label", f"{i_path}.label")),
                    "text": clean_text(_require(item, "text", f"{i_path}.text")),
                    "source": clean_line(item.get("source", "")),
                }
            )
        sections.append(
            {"title": clean_line(_require(section, "title", f"{s_path}.title")), "items": items,
             "note": clean_line(section.get("note", ""))}
        )
    prepared["sections"] = sections

    raw_levels = _require(context, "levels", "levels")
    civil_applicable = bool(_require(raw_levels, "civil_applicable", "levels.civil_applicable"))
    prepared["levels"] = {
        "civil_applicable": civil_applicable,
        "civil": _levels(_require(raw_levels, "civil", "levels.civil"), "levels.civil")
        if civil_applicable
        else [],
        "party": _levels(_require(raw_levels, "party", "levels.party"), "levels.party"),
    }
    prepared["self_score"] = _format_score(context.get("self_score"))
    prepared.update(_prepare_2025(context))
    return prepared


def _strings(raw: Any, path: str) -> list[str]:
    return [clean_line(v) for v in _as_list(raw, path)]


def _prepare_2025(context: Mapping[str, Any]) -> dict[str, Any]:
    """The optional keys of the 2025 template, checked and cleaned (``DRAFT_2025_KEYS``)."""
    prepared: dict[str, Any] = {
        "title": clean_line(context.get("title", "")),
        "part_a_title": clean_line(context.get("part_a_title", "")),
        "show_posts": bool(context.get("show_posts", True)),
        "part_b": None,
        "annex": None,
        "blocks": [],
    }
    raw = context.get("part_b")
    if raw is not None:
        part: dict[str, Any] = {
            key: clean_line(_require(raw, key, f"part_b.{key}"))
            for key in ("title", "scores_title", "scores_intro", "level_title", "level_note")}
        part["headers"] = _strings(_require(raw, "headers", "part_b.headers"), "part_b.headers")
        rows = []
        for index, row in enumerate(_as_list(_require(raw, "rows", "part_b.rows"), "part_b.rows")):
            rows.append({key: clean_line(_require(row, key, f"part_b.rows[{index}].{key}"))
                         for key in ("label", "max", "score")})
        part["rows"] = rows
        total = _require(raw, "total", "part_b.total")
        part["total"] = {key: clean_line(_require(total, key, f"part_b.total.{key}"))
                         for key in ("label", "max", "score")}
        part["levels"] = _levels(_require(raw, "levels", "part_b.levels"), "part_b.levels")
        prepared["part_b"] = part
    annex = context.get("annex")
    if annex is not None:
        rows = []
        for index, row in enumerate(_as_list(_require(annex, "rows", "annex.rows"), "annex.rows")):
            rows.append({key: clean_line(_require(row, key, f"annex.rows[{index}].{key}"))
                         for key in ("number", "task", "result", "on_time", "exceeded")})
        prepared["annex"] = {
            "title": clean_line(_require(annex, "title", "annex.title")),
            "headers": _strings(_require(annex, "headers", "annex.headers"), "annex.headers"),
            "rows": rows,
            "counts": clean_line(_require(annex, "counts", "annex.counts")),
        }
    for index, block in enumerate(_as_list(context.get("blocks", []), "blocks")):
        path = f"blocks[{index}]"
        prepared["blocks"].append({
            "heading": clean_line(block.get("heading", "")),
            "fields": _strings(block.get("fields", []), f"{path}.fields"),
            "signer": clean_line(block.get("signer", "")),
            "signer_note": clean_line(block.get("signer_note", "")),
            "signer_name": bool(block.get("signer_name", False)),
        })
    return prepared


class CompiledOnce(Environment):
    """A Jinja environment that compiles each template source once. docxtpl hands it the
    document's whole XML at every render (``from_string``); compiling that XML was most of the
    cost of a draft. Templates are immutable, so one compiled template serves every render,
    on any thread."""

    KEEP = 64  # distinct sources kept (a few per document template)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._compiled: dict[str, Template] = {}

    def from_string(self, source: str | Any, globals: MutableMapping[str, Any] | None = None,
                    template_class: type[Template] | None = None) -> Template:
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        found = self._compiled.get(source)
        if found is None:
            if len(self._compiled) >= self.KEEP:
                self._compiled.clear()
            found = self._compiled[source] = super().from_string(source)
        return found


def _environment() -> Environment:
    env = CompiledOnce(autoescape=True, undefined=StrictUndefined)
    env.filters["answer_lines"] = answer_lines
    return env


_ENVIRONMENT = _environment()  # one for every draft: what it compiled, it keeps


def render_draft(template_path: Path, context: Mapping[str, Any]) -> bytes:
    """The member's draft as ``.docx`` bytes, ready to send as a document."""
    prepared = prepare_context(context)
    template = DocxTemplate(template_path)
    try:
        template.render(prepared, jinja_env=_ENVIRONMENT, autoescape=True)
    except UndefinedError as exc:  # the template uses a key the checks above did not cover
        raise DraftContextError(str(exc), "undefined in the template") from exc
    buffer = io.BytesIO()
    template.save(buffer)
    return buffer.getvalue()


# Form wording for sections I–VI (domain.md §4.1), used by the sample below.
_I_TITLE = "I. Ưu điểm, kết quả đạt được"
_I_LABELS = (
    "1. Về phẩm chất chính trị; phẩm chất đạo đức, lối sống; ý thức tổ chức kỷ luật; tác phong, lề lối làm việc.",
    "2. Việc thực hiện nhiệm vụ, quyền hạn và kết quả thực hiện các chỉ tiêu, nhiệm vụ được giao trong năm.",
    (
        "3. Kết quả công tác lãnh đạo, chỉ đạo, quản lý, điều hành; thực hiện chức trách, nhiệm vụ; mức độ hoàn "
        "thành nhiệm vụ của các tổ chức, cơ quan, đơn vị thuộc quyền quản lý; khả năng quy tụ, xây dựng đoàn kết nội bộ."
    ),
    (
        "4. Trách nhiệm trong công việc; tinh thần năng động, đổi mới, sáng tạo, dám nghĩ, dám làm, dám chịu trách "
        "nhiệm; xử lý những vấn đề khó, phức tạp, nhạy cảm trong thực hiện nhiệm vụ."
    ),
    (
        "5. Trách nhiệm nêu gương của bản thân và gia đình; việc đấu tranh phòng, chống tham nhũng, tiêu cực, lãng "
        "phí; sự tín nhiệm của cán bộ, đảng viên."
    ),
    "6. Việc thực hiện cam kết tu dưỡng, rèn luyện, phấn đấu hằng năm.",
)
_II_TITLE = "II. Hạn chế, khuyết điểm và nguyên nhân"
_II_LABELS = ("1. Hạn chế, khuyết điểm", "2. Nguyên nhân của hạn chế, khuyết điểm")
_III_TITLE = (
    "III. Kết quả khắc phục những hạn chế, khuyết điểm đã được cấp có thẩm quyền kết luận hoặc được chỉ "
    "ra ở các kỳ kiểm điểm trước"
)
_IV_TITLE = "IV. Giải trình những vấn đề được gợi ý kiểm điểm (nếu có)"
_V_TITLE = (
    "V. Làm rõ trách nhiệm của cá nhân đối với những hạn chế, khuyết điểm của tập thể (nếu có)"
)
_VI_TITLE = "VI. Phương hướng, biện pháp khắc phục hạn chế, khuyết điểm"


def sample_context() -> dict[str, Any]:
    """A realistic example: a department head (form 02B, 2023) with every section filled in."""
    answers_i = (
        (
            "Luôn kiên định chủ nghĩa Mác - Lênin, tư tưởng Hồ Chí Minh, mục tiêu độc lập dân tộc gắn liền với "
            "chủ nghĩa xã hội; chấp hành nghiêm chủ trương, đường lối của Đảng, chính sách, pháp luật của Nhà nước.\n"
            'Đã tự đối chiếu với 27 biểu hiện suy thoái về tư tưởng chính trị, đạo đức, lối sống, "tự diễn biến", '
            '"tự chuyển hóa" nêu trong Nghị quyết 04-NQ/TW ngày 30/10/2016, Hội nghị Trung ương 4 khóa XII; '
            "bản thân không có biểu hiện nào trong 27 biểu hiện đó.\n"
            "Giữ gìn phẩm chất đạo đức, lối sống giản dị, trung thực; chấp hành nguyên tắc tập trung dân chủ; "
            "tác phong làm việc khoa học, gần gũi đồng nghiệp và người dân."
        ),
        (
            "Hoàn thành 100% nhiệm vụ được giao đúng hạn, trong đó có 4/11 nhiệm vụ hoàn thành vượt mức: chủ trì xây "
            "dựng kế hoạch tài chính năm 2024 của Sở, hoàn thành trước thời hạn 10 ngày; phối hợp triển khai phần mềm "
            "quản lý tài sản công tại 12 đơn vị trực thuộc."
        ),
        (
            "Lãnh đạo phòng hoàn thành tốt các chỉ tiêu năm 2023; phân công nhiệm vụ rõ người, rõ việc, rõ thời hạn. "
            "Tập thể phòng đoàn kết, không có cán bộ vi phạm kỷ luật."
        ),
        (
            "Chủ động đề xuất quy trình thẩm định dự toán rút ngắn từ 15 xuống 10 ngày làm việc; trực tiếp xử lý "
            "các hồ sơ khó, phức tạp về quyết toán vốn đầu tư tồn đọng từ năm 2021."
        ),
        (
            "Bản thân và gia đình gương mẫu chấp hành chủ trương, pháp luật; kê khai tài sản, thu nhập trung thực, "
            "đúng hạn. Tích cực đấu tranh phòng, chống tham nhũng, tiêu cực, lãng phí trong đơn vị."
        ),
        (
            "Thực hiện đầy đủ các nội dung trong bản cam kết tu dưỡng, rèn luyện, phấn đấu năm 2023: hoàn thành lớp "
            "bồi dưỡng kiến thức quốc phòng và an ninh đối tượng 3; tham gia đầy đủ sinh hoạt chi bộ."
        ),
    )
    answers_ii = (
        (
            "Có lúc chưa sâu sát trong kiểm tra, đôn đốc tiến độ một số nhiệm vụ do chuyên viên thực hiện.\n"
            "Việc nghiên cứu, cập nhật văn bản mới có lúc chưa kịp thời."
        ),
        "Khối lượng công việc lớn, nhiều nhiệm vụ phát sinh đột xuất; bản thân chưa sắp xếp thời gian hợp lý.",
    )
    return {
        "form_code": "Mẫu 02B-HD KĐ.ĐG 2023",
        "party_committee": "Sở Tài chính",
        "cell_name": "Phòng Kế hoạch – Tài chính",
        "place": "Bắc Ninh",
        "day": "15",
        "month": "12",
        "year": "2023",
        "review_year": "2023",
        "subtitle": "(Cá nhân giữ chức vụ lãnh đạo, quản lý)",
        "full_name": "Nguyễn Thị Hồng Nhung",
        "birth_date": "12/03/1979",
        "party_position": "Phó Bí thư chi bộ",
        "government_position": "Trưởng phòng Kế hoạch – Tài chính",
        "mass_org_position": "Ủy viên Ban Chấp hành Công đoàn cơ sở",
        "work_unit": "Sở Tài chính tỉnh Bắc Ninh",
        "sections": [
            {
                "title": _I_TITLE,
                "items": [
                    {"label": label, "text": text} for label, text in zip(_I_LABELS, answers_i)
                ],
            },
            {
                "title": _II_TITLE,
                "items": [
                    {"label": label, "text": text} for label, text in zip(_II_LABELS, answers_ii)
                ],
            },
            {
                "title": _III_TITLE,
                "items": [
                    {
                        "label": "",
                        "text": "Hạn chế được chỉ ra năm 2022 (chậm tổng hợp báo cáo quý) đã được khắc phục: "
                        "năm 2023 các báo cáo quý đều gửi đúng hạn.",
                    }
                ],
            },
            {
                "title": _IV_TITLE,
                "items": [{"label": "", "text": "Không có vấn đề được gợi ý kiểm điểm."}],
            },
            {
                "title": _V_TITLE,
                "items": [
                    {
                        "label": "",
                        "text": "Là Trưởng phòng, bản thân chịu trách nhiệm chính về việc phòng còn 01 hồ sơ "
                        "thẩm định dự toán giải quyết quá hạn 03 ngày trong quý II.",
                    }
                ],
            },
            {
                "title": _VI_TITLE,
                "items": [
                    {
                        "label": "",
                        "text": "Lập kế hoạch kiểm tra tiến độ hằng tuần đối với các nhiệm vụ trọng tâm.\n"
                        "Dành tối thiểu 02 giờ mỗi tuần để nghiên cứu văn bản mới.",
                    }
                ],
            },
        ],
        "levels": {
            "civil_applicable": True,
            "civil": level_choices("Hoàn thành tốt nhiệm vụ"),
            "party": level_choices("Hoàn thành tốt nhiệm vụ"),
        },
        "self_score": None,
        "generated_on": "10/12/2023",
    }
