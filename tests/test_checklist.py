"""The checklist and form packs: the shipped data, and the loader's error reports."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import Path

import pytest

from bot.checklist import (
    QID_RE,
    CheckReport,
    Pack,
    PackError,
    check_pack_file,
    describe_problem,
    load_pack,
    load_packs,
)
from handlers.render import load_pack_words
from handlers.wiring import Core

ROOT = Path(__file__).resolve().parent.parent
CHECKLIST = ROOT / "checklists" / "nq04-2016.toml"
FORM = ROOT / "checklists" / "form-02-2023.toml"
BROKEN = Path(__file__).resolve().parent / "data" / "packs"
WORDS = load_pack_words()
# Sections 3 and 4.1 of the domain reference, copied into the repository (no test may read a
# file outside it).
DOMAIN_MD = Path(__file__).resolve().parent / "data" / "reference" / "domain-excerpt.md"

DV = (
    "https://danviet.vn/nhan-dien-qua-trinh-tu-suy-thoai-ve-tu-tuong-chinh-tri-den-tu-dien-bien"
    "-tu-chuyen-hoa-2023062209121573.htm"
)
PLO = "http://plo.vn/thoi-su/chinh-tri/diem-mat-hang-loat-bieu-hien-suy-thoai-662223.html"
BHD = "https://boxhoidap.com/bieu-hien-tu-chuyen-bien-tu-chuyen-hoa-nam-2024"
HNM = "https://hanoimoi.vn/tri-benh-vo-cam-thieu-nhiet-tinh-che-chan-ca-nhan-535678.html"

# The verified wording of Nghị quyết 04-NQ/TW (30/10/2016), pasted here independently of
# the pack file, so that an edit to either shows up as a failure.
VERIFIED = {
    "g1-01": (
        ("Phai nhạt lý tưởng cách mạng; dao động, giảm sút niềm tin vào mục tiêu độc lập dân tộc "
        "và chủ nghĩa xã hội; hoài nghi, thiếu tin tưởng vào chủ nghĩa Mác - Lênin, tư tưởng Hồ "
        "Chí Minh."),
        DV,
    ),
    "g1-02": (
        ("Xa rời tôn chỉ, mục đích của Đảng; không kiên định con đường đi lên chủ nghĩa xã hội; "
        "phụ hoạ theo những nhận thức lệch lạc, quan điểm sai trái."),
        DV,
    ),
    "g1-03": (
        ("Nhận thức sai lệch về ý nghĩa, tầm quan trọng của lý luận và học tập lý luận chính trị; "
        "lười học tập chủ nghĩa Mác - Lênin, tư tưởng Hồ Chí Minh, chủ trương, đường lối, nghị "
        "quyết của Đảng, chính sách, pháp luật của Nhà nước."),
        DV,
    ),
    "g1-04": (
        ("Không chấp hành nghiêm các nguyên tắc tổ chức của Đảng; sa sút ý chí phấn đấu, không "
        "gương mẫu trong công tác; né tránh trách nhiệm, thiếu trách nhiệm, trung bình chủ nghĩa, "
        "làm việc qua loa, đại khái, kém hiệu quả; không còn ý thức hết lòng vì nước, vì dân, "
        "không làm tròn chức trách, nhiệm vụ được giao."),
        PLO,
    ),
    "g3-01": (
        ("Phản bác, phủ nhận chủ nghĩa Mác-Lênin, tư tưởng Hồ Chí Minh và các nguyên tắc tổ chức "
        "của Đảng, nhất là nguyên tắc tập trung dân chủ; đòi thực hiện \"đa nguyên, đa đảng\"."),
        BHD,
    ),
    "g3-02": (
        ("Phản bác, phủ nhận nền dân chủ xã hội chủ nghĩa, nhà nước pháp quyền xã hội chủ nghĩa; "
        "đòi thực hiện thể chế \"tam quyền phân lập\", phát triển \"xã hội dân sự\". Phủ nhận nền "
        "kinh tế thị trường định hướng xã hội chủ nghĩa, chế độ sở hữu toàn dân về đất đai."),
        BHD,
    ),
    "g3-03": (
        ("Nói, viết, làm trái quan điểm, chủ trương, đường lối của Đảng, chính sách, pháp luật của "
        "Nhà nước. Hạ thấp, phủ nhận những thành quả cách mạng; thổi phồng khuyết điểm của Đảng, "
        "Nhà nước. Xuyên tạc lịch sử, bịa đặt, vu cáo các lãnh tụ tiền bối và lãnh đạo Đảng, Nhà "
        "nước."),
        BHD,
    ),
    "g3-04": (
        ("Kích động tư tưởng bất mãn, bất đồng chính kiến, chống đối trong nội bộ. Lợi dụng và sử "
        "dụng các phương tiện thông tin, truyền thông, mạng xã hội để nói xấu, bôi nhọ, hạ thấp uy "
        "tín, vai trò lãnh đạo của Đảng, gây chia rẽ nội bộ, nghi ngờ trong cán bộ, đảng viên và "
        "nhân dân."),
        BHD,
    ),
    "g3-05": (
        ("Phủ nhận vai trò lãnh đạo tuyệt đối, trực tiếp về mọi mặt của Đảng đối với lực lượng vũ "
        "trang; đòi \"phi chính trị hóa\" quân đội và công an; xuyên tạc đường lối quốc phòng toàn "
        "dân và an ninh nhân dân; chia rẽ quân đội với công an; chia rẽ nhân dân với quân đội và "
        "công an."),
        BHD,
    ),
}
PARTIAL = {
    "g1-05": (
        ("Trong tự phê bình còn giấu giếm, không dám nhận khuyết điểm; khi có khuyết điểm thì "
        "thiếu thành khẩn, không tự giác nhận kỷ luật. Trong phê bình thì nể nang, né tránh, ngại "
        "va chạm, thấy đúng không bảo vệ, thấy sai không đấu tranh…"),
        PLO,
    ),
    "g2-05": (
        ("…thờ ơ, vô cảm, thiếu trách nhiệm trước những khó khăn, bức xúc và đòi hỏi chính đáng "
        "của nhân dân…"),
        HNM,
    ),
    "g3-06": ("Móc nối, cấu kết với các thế lực thù địch, phản…", BHD),
}
# forms-2025.md §3.2: a partial fragment added 30/11/2026 (Báo Đắk Nông / QDND).
BDN = "http://www.baodaknong.org.vn/dien-dan/benh-hao-danh-thanh-tich-55817.html"
PARTIAL_2026 = {
    "g2-04": (("…thích được đề cao, ca ngợi; \"chạy thành tích\", \"chạy khen thưởng\", "
               "\"chạy danh hiệu\"…"), BDN),
}
# forms-2025.md §3.1: verified on one aggregator page only.
SINGLE_SOURCE = {"g3-01", "g3-02", "g3-03", "g3-05"}
TOPIC_ONLY = {f"g1-0{n}" for n in (6, 7, 8, 9)} | {
    f"g2-0{n}" for n in (1, 2, 3, 6, 7, 8, 9)
} | {f"g3-0{n}" for n in (7, 8, 9)}

# Mnemonic-poem keywords: topic hints only, never to be shown as if they were the wording.
POEM_KEYWORDS = [
    "Nói rồi hứa hẹn hay ho khác làm",
    "Áp đặt, bảo thủ ý mình",
    "Khó khăn thì tránh, tham danh phiếu bầu",
    "Thân, quen bổ nhiệm xếp vào",
    "Cá nhân, cơ hội, tị ganh",
    "Tranh quyền, cục bộ, điều hành trưởng gia",
    "Kê khai tài sản mập mờ",
    "Giấu che khuyết điểm, thân cò phô trương",
    "Quan liêu, vô cảm, bàng quan",
    "Thất thoát, phí phạm thời gian, bạc tiền",
    "Tham ô, lạm dụng chức quyền",
    "Thao túng nhân sự lợi riêng cho mình",
    "Bê tha, phạm đạo gia đình",
    "Thông tin đối ngoại nhiễu hư",
    "Lôi kéo, sáng tác, xấu dư luận đầy",
    "Cực đoan, dân tộc hẹp hòi",
]

LEVELS = [
    ("htxs", "Hoàn thành xuất sắc nhiệm vụ"),
    ("htt", "Hoàn thành tốt nhiệm vụ"),
    ("ht", "Hoàn thành nhiệm vụ"),
    ("kht", "Không hoàn thành nhiệm vụ"),
]


@pytest.fixture(scope="module")
def packs() -> tuple[Pack, Pack]:
    return load_packs(CHECKLIST, FORM)


@pytest.fixture(scope="module")
def checklist(packs: tuple[Pack, Pack]) -> Pack:
    return packs[0]


@pytest.fixture(scope="module")
def form(packs: tuple[Pack, Pack]) -> Pack:
    return packs[1]


def all_strings(pack: Pack) -> list[str]:
    out = [pack.id, pack.title, pack.version, pack.reference or ""]
    if pack.form:
        out += [
            pack.form.title,
            pack.form.code_leader,
            pack.form.code_member,
            pack.form.subtitle_leader,
            pack.form.subtitle_member,
        ]
    for s in pack.sections:
        out += [s.id, s.title, s.note or ""]
    for q in (*pack.questions(), *pack.follow_ups):
        out += [q.id, q.prompt, q.feeds, q.form_label or "", q.form_label_member or ""]
        out += [q.hint or "", q.number or "", q.number_member or ""]
        out += [o.label for o in q.options]
        if q.official:
            out += [q.official.text, q.official.source_url]
    return out


# ---------------------------------------------------------------------------------------
# The shipped checklist pack


def test_default_packs_load(checklist: Pack, form: Pack) -> None:
    assert (checklist.id, checklist.kind) == ("nq04-2016", "checklist")
    assert (form.id, form.kind) == ("form-02-2023", "form")
    assert checklist.reference == (
        "Nghị quyết 04-NQ/TW ngày 30/10/2016, Hội nghị Trung ương 4 khóa XII"
    )


def test_checklist_has_27_items_in_3_groups_of_9(checklist: Pack) -> None:
    assert [s.id for s in checklist.sections] == ["g1", "g2", "g3"]
    assert [s.title for s in checklist.sections] == [
        "Suy thoái về tư tưởng chính trị",
        "Suy thoái về đạo đức, lối sống",
        '"Tự diễn biến", "tự chuyển hóa" trong nội bộ',
    ]
    assert [len(s.questions) for s in checklist.sections] == [9, 9, 9]
    questions = checklist.questions()
    assert [q.id for q in questions] == [f"g{g}-{n:02d}" for g in (1, 2, 3) for n in range(1, 10)]
    assert [q.number for q in questions] == [f"{g}.{n}" for g in (1, 2, 3) for n in range(1, 10)]
    for q in questions:
        assert q.kind == "choice" and q.follow_ups and q.required and not q.leader_only
        assert q.section_id == q.id[:2]
        assert [(o.id, o.label, o.admits, o.severe) for o in q.options] == [
            ("absent", "Không có biểu hiện", False, False),
            ("slight", "Có biểu hiện ở mức độ nhẹ", True, False),
            ("clear", "Có biểu hiện rõ", True, True),
        ]


def test_exactly_9_verified_and_4_partial_texts(checklist: Pack) -> None:
    status = {q.id: q.official.status for q in checklist.questions() if q.official}
    assert {qid for qid, s in status.items() if s == "verified"} == set(VERIFIED)
    assert {qid for qid, s in status.items() if s == "partial"} == {*PARTIAL, *PARTIAL_2026}
    for qid, (text, url) in {**VERIFIED, **PARTIAL, **PARTIAL_2026}.items():
        official = checklist.question(qid).official  # type: ignore[union-attr]
        assert official is not None
        assert official.text == text, qid
        assert official.source_url == url, qid
        assert official.retrieved == (date(2026, 11, 30) if qid in PARTIAL_2026
                                      else date(2026, 11, 23))
        assert official.valid_from == date(2016, 10, 30)
        assert official.valid_to is None
        assert official.single_source is (qid in SINGLE_SOURCE), qid


async def test_single_source_texts_say_so_when_shown(core: Core) -> None:
    """3.1, 3.2, 3.3 and 3.5 rest on one source: the official-text screen says it."""
    for qid, number in (("g3-01", "3.1"), ("g3-04", "3.4")):
        [screen] = core.service.views.official(qid)
        html = core.renderer.html(screen)
        assert f"Nguyên văn biểu hiện {number}" in html
        assert ("theo một nguồn, chưa đối chiếu bản gốc" in html) is (qid in SINGLE_SOURCE)
    [partial] = core.service.views.official("g2-04")
    assert "trích đoạn, chưa đầy đủ" in core.renderer.html(partial)


def test_partial_texts_end_with_an_ellipsis(checklist: Pack) -> None:
    for q in checklist.questions():
        if q.official and q.official.status == "partial":
            assert q.official.text.endswith("…"), q.id
        if q.official and q.official.status == "verified":
            assert not q.official.text.endswith(("…", "...")), q.id
    assert checklist.question("g2-05").official.text.startswith("…")  # type: ignore[union-attr]


def test_topic_only_items_have_no_official_text(checklist: Pack) -> None:
    assert len(TOPIC_ONLY) == 14 and "g3-09" in TOPIC_ONLY  # 3.9 stays without official text
    for qid in TOPIC_ONLY:
        assert checklist.question(qid).official is None, qid  # type: ignore[union-attr]


def test_prompts_are_the_teams_own_words(checklist: Pack) -> None:
    for q in checklist.questions():
        assert q.prompt.strip() and q.prompt.endswith("?"), q.id
        assert len(q.prompt) <= 160, q.id  # short enough for a phone
        if q.official:
            assert q.official.text.strip("…") not in q.prompt, q.id
        folded = q.prompt.casefold()
        for keyword in POEM_KEYWORDS:
            assert keyword.casefold() not in folded, (q.id, keyword)


def test_official_texts_match_the_domain_reference(checklist: Pack) -> None:
    reference = DOMAIN_MD.read_text(encoding="utf-8")
    for qid in ("g1-02", "g1-04", "g3-02", "g1-05", "g2-05"):
        text = checklist.question(qid).official.text  # type: ignore[union-attr]
        assert f"«{text}»" in reference, qid
    for title in ("Suy thoái về tư tưởng chính trị", "Suy thoái về đạo đức, lối sống",
                  '"Tự diễn biến", "tự chuyển hóa" trong nội bộ'):
        assert title in reference


def test_follow_ups(checklist: Pack) -> None:
    assert [q.id for q in checklist.follow_ups] == ["what", "why", "remedy"]
    assert [q.feeds for q in checklist.follow_ups] == ["shortcomings", "causes", "remedies"]
    for q in checklist.follow_ups:
        assert q.kind == "text" and q.required and q.section_id == ""
        assert len(q.prompt) <= 70, q.id
    remedy = checklist.follow_up("remedy")
    assert remedy is not None and remedy.check == "concrete"
    assert remedy.hint and remedy.hint.startswith("Ví dụ:")
    assert checklist.question("what") is None  # question() covers section questions only


# ---------------------------------------------------------------------------------------
# The shipped form pack


def test_form_meta(form: Pack) -> None:
    assert form.form is not None
    assert form.form.title == "BẢN KIỂM ĐIỂM CÁ NHÂN"
    assert form.form.code_leader == "Mẫu 02B-HD KĐ.ĐG 2023"
    assert form.form.code_member == "Mẫu 02A-HD KĐ.ĐG 2023"
    assert form.form.subtitle_leader == "(Cá nhân giữ chức vụ lãnh đạo, quản lý)"
    assert form.form.subtitle_member == "(Cá nhân không giữ chức vụ lãnh đạo, quản lý)"


def test_form_sections_and_lines(form: Pack) -> None:
    assert [s.title for s in form.sections] == [
        "I. Ưu điểm, kết quả đạt được",
        "II. Hạn chế, khuyết điểm và nguyên nhân",
        ("III. Kết quả khắc phục những hạn chế, khuyết điểm đã được cấp có thẩm quyền kết luận "
        "hoặc được chỉ ra ở các kỳ kiểm điểm trước"),
        "IV. Giải trình những vấn đề được gợi ý kiểm điểm (nếu có)",
        "V. Làm rõ trách nhiệm của cá nhân đối với những hạn chế, khuyết điểm của tập thể (nếu có)",
        "VI. Phương hướng, biện pháp khắc phục hạn chế, khuyết điểm",
        "VII. Tự nhận mức xếp loại chất lượng",
    ]
    i1 = form.question("f-i1")
    assert i1 is not None and i1.form_label == (
        "1. Về phẩm chất chính trị; phẩm chất đạo đức, lối sống; ý thức tổ chức kỷ luật; tác "
        "phong, lề lối làm việc."
    )
    assert [q.feeds for q in form.questions()] == [
        "I.1", "I.2", "I.3", "I.4", "I.5", "I.6", "II.1", "II.2",
        "III", "IV", "V", "VI", "VII.1", "VII.2", "VII.3",
    ]
    for q in form.questions():
        assert q.official is None
        assert q.prompt.strip(), q.id


def test_form_wording_matches_the_domain_reference(form: Pack) -> None:
    reference = DOMAIN_MD.read_text(encoding="utf-8")
    for s in form.sections:
        assert s.title in reference, s.id
    for q in form.questions():
        for label in (q.form_label, q.form_label_member):
            if label:
                assert label.split(". ", 1)[1] in reference, q.id


def test_leader_only_items_and_member_numbering(form: Pack) -> None:
    assert [q.id for q in form.questions() if q.leader_only] == ["f-i3", "f-i4", "f-i5"]
    member_items = [q.display_number(leader=False) for q in form.questions_for(leader=False)]
    assert member_items[:3] == ["I.1", "I.2", "I.3"]
    i6 = form.question("f-i6")
    assert i6 is not None
    assert (i6.display_number(leader=True), i6.display_number(leader=False)) == ("I.6", "I.3")
    assert i6.label_for(leader=False) == (
        "3. Việc thực hiện cam kết tu dưỡng, rèn luyện, phấn đấu hằng năm."
    )
    assert i6.label_for(leader=True) == (
        "6. Việc thực hiện cam kết tu dưỡng, rèn luyện, phấn đấu hằng năm."
    )
    assert len(form.questions_for(leader=True)) == len(form.questions()) == 15
    assert len(form.questions_for(leader=False)) == 12


def test_form_prefill_required_and_checks(form: Pack) -> None:
    by_feeds = {q.feeds: q for q in form.questions()}
    assert by_feeds["II.1"].prefill == "shortcomings"
    assert by_feeds["II.2"].prefill == "causes"
    assert by_feeds["VI"].prefill == "remedies" and by_feeds["VI"].check == "concrete"
    optional = {q.feeds for q in form.questions() if not q.required}
    assert optional == {"IV", "V", "VII.3"}


def test_form_classification(form: Pack) -> None:
    by_feeds = {q.feeds: q for q in form.questions()}
    civil, party, score = by_feeds["VII.1"], by_feeds["VII.2"], by_feeds["VII.3"]
    assert [(o.id, o.label) for o in party.options] == LEVELS
    assert [(o.id, o.label) for o in civil.options] == [*LEVELS, ("na", "Không áp dụng")]
    assert not any(o.admits or o.severe for o in (*civil.options, *party.options))
    assert (score.kind, score.min, score.max, score.required) == ("score", 0, 100, False)
    assert "366-QĐ/TW" in score.prompt and "30/8/2025" in score.prompt


# ---------------------------------------------------------------------------------------
# Properties of both packs


def test_all_text_is_nfc(packs: tuple[Pack, Pack]) -> None:
    for path in (CHECKLIST, FORM):
        raw = path.read_text(encoding="utf-8")
        assert unicodedata.is_normalized("NFC", raw), path
    for pack in packs:
        for text in all_strings(pack):
            assert unicodedata.is_normalized("NFC", text), text


def test_ids_unique_across_packs_and_callback_safe(packs: tuple[Pack, Pack]) -> None:
    qids = [q.id for p in packs for q in (*p.questions(), *p.follow_ups)]
    sids = [s.id for p in packs for s in p.sections]
    assert len(qids) == len(set(qids)) == 27 + 3 + 15
    assert len(sids) == len(set(sids))
    for p in packs:
        for q in (*p.questions(), *p.follow_ups):
            assert QID_RE.match(q.id) and q.id.isascii()
            for o in q.options or [None]:  # type: ignore[list-item]
                oid = o.id if o else ""
                assert re.fullmatch(r"[a-z0-9_-]{0,12}", oid)
                for review_id in (1, 999_999, 999_999_999):
                    data = f"a|{review_id:06d}|{q.id}|{oid}"
                    assert len(data.encode("utf-8")) <= 64, data


def test_check_pack_file_counts_the_shipped_packs() -> None:
    report = check_pack_file(CHECKLIST)
    assert report.ok and report.pack is not None
    assert (report.verified, report.single_source, report.partial, report.summaries) == (
        9, 4, 4, 14)
    report = check_pack_file(FORM)
    assert report.ok and (report.verified, report.partial, report.summaries) == (0, 0, 0)
    assert (report.form_lines, report.borrowed_lines, report.score_questions) == (10, 0, 1)
    for name, borrowed in (("form-2025-2a.toml", 3), ("form-2025-2b.toml", 0),
                           ("form-2025-2c.toml", 0)):
        report = check_pack_file(ROOT / "checklists" / name)
        assert report.ok, report.problems
        assert report.score_questions == 2 and report.borrowed_lines == borrowed
        assert report.pack is not None and report.pack.form is not None
        assert report.pack.form.not_seen, name  # what a deployer must check


# ---------------------------------------------------------------------------------------
# Broken packs: every class of error is reported with its key path, a code and its facts,
# and reads as Vietnamese


Q0 = "sections[0].questions[0]"
BROKEN_CASES = [
    ("syntax.toml", "", "syntax_at", r"^lỗi cú pháp TOML ở dòng 24, cột \d+ \(.+\)$"),
    ("unknown-key.toml", f"{Q0}.promt", "unknown_key_close",
     r"^không có khóa «promt»; có phải là «prompt»\?$"),
    ("missing-key.toml", f"{Q0}.feeds", "missing_key",
     r"^thiếu khóa bắt buộc «feeds»: chỗ câu trả lời được ghi vào bản nháp, ví dụ \"I.1\"$"),
    ("wrong-type.toml", f"{Q0}.required", "wrong_type",
     r"^cần true hoặc false, nhưng đang là chuỗi «no»$"),
    ("bad-id.toml", f"{Q0}.id", "bad_id", r"^mã «câu 1» không hợp lệ: dùng 1–16 ký tự"),
    ("bad-option-id.toml", "option_sets.presence.options[0].id", "bad_option_id",
     r"^mã lựa chọn «KhongCoBieuHien» không hợp lệ"),
    ("duplicate-id.toml", "sections[0].questions[1].id", "duplicate_question_id",
     r"^mã câu hỏi «q1» bị trùng \(đã dùng ở sections\[0\]\.questions\[0\]\.id\)$"),
    ("unknown-option-set.toml", f"{Q0}.option_set", "unknown_option_set",
     r"^không có bộ lựa chọn «presense» \(các bộ đang có: presence\)$"),
    ("choice-without-options.toml", f"{Q0}.option_set", "choice_without_options",
     r"^câu hỏi lựa chọn cần option_set"),
    ("options-on-text.toml", f"{Q0}.option_set", "options_not_choice",
     r"^chỉ câu hỏi lựa chọn \(choice\) mới có bộ lựa chọn, câu này là text$"),
    ("score-without-bounds.toml", f"{Q0}.max", "score_bound_missing", r"^câu chấm điểm cần max$"),
    ("score-min-ge-max.toml", f"{Q0}.max", "score_range",
     r"^max \(0\) phải lớn hơn min \(100\)$"),
    ("official-on-form.toml", f"{Q0}.official", "official_in_form",
     r"^nguyên văn \(official\) chỉ dùng trong gói câu hỏi"),
    ("official-bad-status.toml", f"{Q0}.official.status", "unknown_status",
     r"^status «topic» không hợp lệ: .*\(verified, partial\)"),
    ("partial-without-ellipsis.toml", f"{Q0}.official.text", "partial_three_dots",
     r"kết thúc bằng «…».*không dùng ba dấu chấm «\.\.\.»"),
    ("official-missing-source.toml", f"{Q0}.official.source_url", "missing_key",
     r"^thiếu khóa bắt buộc «source_url»: nguyên văn phải ghi chép từ đâu$"),
    ("official-missing-source.toml", f"{Q0}.official.retrieved", "missing_key",
     r"^thiếu khóa bắt buộc «retrieved»"),
    ("not-nfc.toml", f"{Q0}.prompt", "not_nfc", r"^chữ chưa ở dạng Unicode NFC"),
    ("empty-prompt.toml", f"{Q0}.prompt", "empty_prompt", r"^khóa «prompt» để trống"),
    ("bad-prefill.toml", f"{Q0}.prefill", "unknown_value",
     r"^prefill «shortcoming» không hợp lệ; chọn một trong: shortcomings, causes, remedies$"),
    ("bad-check.toml", f"{Q0}.check", "unknown_value",
     r"^check «specific» không hợp lệ; chọn một trong: concrete$"),
    ("follow-ups-without-table.toml", f"{Q0}.follow_ups", "no_follow_ups_table",
     r"không có câu hỏi tiếp theo \[\[follow_ups\]\]"),
    ("unknown-kind.toml", f"{Q0}.kind", "unknown_value",
     r"^kind «multi» không hợp lệ; chọn một trong: choice, text, score$"),
    ("unknown-pack-kind.toml", "pack.kind", "unknown_value",
     r"^kind «survey» không hợp lệ; chọn một trong: checklist, form$"),
    ("form-without-form-table.toml", "form", "no_form_table", r"^gói biểu mẫu cần bảng \[form\]"),
]


@pytest.mark.parametrize(
    ("name", "key", "code", "said"), BROKEN_CASES, ids=[f"{c[0]}:{c[1]}" for c in BROKEN_CASES]
)
def test_broken_pack_reports_key_code_and_vietnamese(
    name: str, key: str, code: str, said: str
) -> None:
    path = BROKEN / name
    with pytest.raises(PackError) as caught:
        load_pack(path)
    problems = caught.value.problems
    matching = [p for p in problems if p.key == key and p.code == code]
    assert matching, [str(p) for p in problems]
    assert any(re.search(said, describe_problem(p, WORDS)) for p in matching), [
        describe_problem(p, WORDS) for p in problems]
    assert all(p.file == str(path) for p in problems)
    assert f"{path}: {key}: {code}" in str(caught.value)


def test_every_broken_pack_file_is_exercised() -> None:
    extra = {"many-problems.toml", "ok-checklist.toml", "ok-form.toml"}
    tested = {c[0] for c in BROKEN_CASES} | extra
    assert {p.name for p in BROKEN.glob("*.toml")} == tested


def test_all_problems_are_reported_at_once() -> None:
    report = check_pack_file(BROKEN / "many-problems.toml")
    assert report.pack is None and not report.ok
    assert [p.key for p in report.problems] == [
        "sections[0].questions[0].colour",
        "sections[0].questions[0].option_set",
        "sections[0].questions[0].official.status",
        "sections[0].questions[1].prompt",
    ]
    assert (report.verified, report.partial, report.summaries) == (0, 0, 0)
    with pytest.raises(PackError) as caught:
        load_pack(BROKEN / "many-problems.toml")
    lines = str(caught.value).splitlines()
    assert len(lines) == 4
    assert all(re.match(r"^.+many-problems\.toml: \S+: [a-z_]+( \(.*\))?$", line)
               for line in lines)


def test_check_pack_file_counts_small_packs() -> None:
    report = check_pack_file(BROKEN / "ok-checklist.toml")
    assert isinstance(report, CheckReport) and report.ok
    assert report.path == BROKEN / "ok-checklist.toml"
    assert (report.verified, report.partial, report.summaries) == (1, 1, 1)
    assert report.pack is not None and len(report.pack.questions()) == 3
    report = check_pack_file(BROKEN / "ok-form.toml")
    assert report.ok and (report.verified, report.partial, report.summaries) == (0, 0, 0)


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    report = check_pack_file(tmp_path / "nowhere.toml")
    assert [(p.key, p.code) for p in report.problems] == [("", "no_file")]
    assert describe_problem(report.problems[0], WORDS) == "không có tệp này"


# ---------------------------------------------------------------------------------------
# load_packs: the two packs must fit together


def test_load_packs_rejects_ids_shared_across_packs(tmp_path: Path) -> None:
    form = tmp_path / "form.toml"
    form.write_text(
        FORM.read_text(encoding="utf-8").replace('id = "f-i2"', 'id = "g1-01"'), encoding="utf-8"
    )
    with pytest.raises(PackError) as caught:
        load_packs(CHECKLIST, form)
    (problem,) = caught.value.problems
    assert (problem.file, problem.key) == (str(form), "sections[0].questions[1].id")
    assert (problem.code, problem.facts) == ("question_id_shared",
                                             {"id": "g1-01", "other": str(CHECKLIST)})
    assert describe_problem(problem, WORDS) == (
        f"mã câu hỏi «g1-01» đã dùng trong {CHECKLIST}; mã phải khác nhau trên cả hai gói")


def test_load_packs_rejects_feeds_the_form_does_not_know(tmp_path: Path) -> None:
    checklist = tmp_path / "checklist.toml"
    checklist.write_text(
        CHECKLIST.read_text(encoding="utf-8").replace('feeds = "causes"', 'feeds = "reasons"'),
        encoding="utf-8",
    )
    with pytest.raises(PackError) as caught:
        load_packs(checklist, FORM)
    (problem,) = caught.value.problems
    assert (problem.key, problem.code) == ("follow_ups[1].feeds", "feeds_unknown")
    assert describe_problem(problem, WORDS).startswith(
        "feeds «reasons» không trỏ tới chỗ nào trong gói biểu mẫu; dùng feeds của một câu trong "
        "gói biểu mẫu (I.1, I.2,")
    assert describe_problem(problem, WORDS).endswith(
        "hoặc một chỗ điền sẵn (shortcomings, causes, remedies)")


def test_load_packs_rejects_swapped_files() -> None:
    with pytest.raises(PackError) as caught:
        load_packs(FORM, CHECKLIST)
    keys = {(Path(p.file).name, p.key, p.code) for p in caught.value.problems}
    assert ("form-02-2023.toml", "pack.kind", "not_checklist") in keys
    assert ("nq04-2016.toml", "pack.kind", "not_form") in keys


def test_load_packs_reports_problems_from_both_files() -> None:
    with pytest.raises(PackError) as caught:
        load_packs(BROKEN / "empty-prompt.toml", BROKEN / "bad-check.toml")
    files = {Path(p.file).name for p in caught.value.problems}
    assert files == {"empty-prompt.toml", "bad-check.toml"}
