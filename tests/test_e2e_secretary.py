"""The secretary's season end to end, with the bot as a subprocess on the fake Bot API:
roster upload → invites → members join and submit → tracker → return with a comment →
resubmit → accept → the bundle, whose files are opened and checked."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, timedelta
from pathlib import Path

import docx
import openpyxl

from bot.workdays import WorkCalendar
from tests.conftest import REPO
from tests.fakebotapi import FakeBotApi
from tests.test_e2e import Bot, Member, invite_code, tusoi, write_config

SECRETARY = 5000
ROSTER = (
    "Họ và tên,Ngày sinh,Chức vụ Đảng,Chức vụ chính quyền,Chức vụ đoàn thể,"
    "Đơn vị công tác,Lãnh đạo,Ngày vào Đảng\n"
    "Nguyễn Văn An,01/01/1970,Đảng viên,Chuyên viên,,Phòng A,,01/01/2000\n"
    "Trần Thị Bé,02/02/1980,Đảng viên,Chuyên viên,,Phòng A,,01/01/2005\n"
    "Lê Văn Cao,03/03/1990,Đảng viên,Trưởng phòng,,Phòng A,có,01/01/2010\n"
    ",,,,,,,\n"
    "Sai Ngày,31/02/1991,,,,,,\n"
)


async def walk(member: Member, level: str, score: str) -> None:
    """Answer everything: no manifestation, short concrete texts, the given level; part B's
    two groups add up to ``score`` (30% of it for the common criteria)."""
    total = int(score)
    common = total * 3 // 10
    for _ in range(27):
        await member.press("Không có biểu hiện")
    for _ in range(40):
        screen = member.question()
        markup = str(member.messages()[-1].get("reply_markup"))
        if "Xem lại bản kiểm điểm" in screen:
            return
        if "Hoàn thành tốt nhiệm vụ" in markup:
            await member.press(level if level in markup else "Không áp dụng")
        elif "Không lập" in markup:
            await member.press("Không lập")
        elif "Đã khắc phục hết" in markup:
            await member.press("Đã khắc phục hết")
        elif "'Có'" in markup:
            await member.press("Có")
        elif "Gõ một số" in screen:
            await member.send(str(common if "đến 30" in screen else total - common),
                              settle="Đã ghi điểm")
        elif "Không có nội dung này" in markup:
            await member.press("Không có nội dung này")
        else:
            await member.send("Làm đúng hạn các việc được giao, hoàn thành trước 30/6/2027",
                              settle="Đã ghi")
            await member.press("Xong", settle="Đã lưu")
    raise AssertionError("the form never ended")


async def test_secretary_season_from_roster_to_bundle(tmp_path: Path) -> None:
    async with FakeBotApi() as api:
        config = write_config(tmp_path, api)
        tusoi(config, "cell", "add", "--name", "Phòng A", "--committee", "Sở B", "--place", "Huế")
        tusoi(config, "member", "add", "--cell", "1", "--name", "Phạm Bí Thư", "--secretary")
        secretary_code = invite_code(tusoi(config, "invite", "--member", "1"))
        calendar = WorkCalendar.load(REPO / "data" / "calendar" / "vn.toml")
        meeting = calendar.next_working_day(date.today() + timedelta(days=30))
        tusoi(config, "round", "open", "--cell", "1", "--meeting", meeting.strftime("%d/%m/%Y"))

        bot = Bot(config, tmp_path / "bot.log")
        bot.start()
        try:
            await api.wait_for_call("setMyCommands", timeout=30)
            sec = Member(api, SECRETARY)
            await sec.send(f"/start {secretary_code}", settle="Tự soi 1/27")

            # The roster: a preview first, nothing imported until confirmed.
            before = len(sec.messages())
            api.user_document(SECRETARY, "danh-sach.csv", ROSTER.encode("utf-8-sig"), "text/csv")
            [preview] = await sec.replies(before, "Xem trước danh sách")
            assert "3 người đọc được" in preview["text"]
            assert "Dòng 6:" in preview["text"]  # the impossible date, with its row number
            replies = await sec.press("Nhập danh sách", settle="Đã nhập danh sách")
            codes = dict(re.findall(r"• (.+?): https://t\.me/tusoi_test_bot\?start=([A-Z0-9]{8})",
                                    replies[0]["text"]))
            assert set(codes) == {"Nguyễn Văn An", "Trần Thị Bé", "Lê Văn Cao"}

            # Members join with their links and submit; two rate themselves "xuất sắc".
            members = {}
            for user_id, (name, level, score) in enumerate(
                [("Nguyễn Văn An", "Hoàn thành xuất sắc nhiệm vụ", "95"),
                 ("Trần Thị Bé", "Hoàn thành xuất sắc nhiệm vụ", "92"),
                 ("Lê Văn Cao", "Hoàn thành tốt nhiệm vụ", "80")], start=6001):
                member = Member(api, user_id)
                replies = await member.send(f"/start {codes[name]}", settle="Tự soi 1/27")
                assert name in replies[0]["text"]
                await walk(member, level, score)
                await member.press("Nộp bản kiểm điểm", settle="Đã nộp", buttons=False)
                members[name] = member
            await api.wait_for(lambda: len(api.documents(SECRETARY)) == 3 or None, timeout=20)

            tracker = (await sec.send("/chibo", settle="Theo dõi kiểm điểm"))[-1]["text"]
            assert "Tổng 4" in tracker and "đã nộp 3" in tracker

            # Return An's draft with a comment; An is told, resubmits; then it is accepted.
            await sec.press("Nguyễn Văn An", settle="Tình trạng: đã nộp")
            await sec.press("Trả lại", settle="gõ góp ý")
            an = members["Nguyễn Văn An"]
            before_an = len(an.messages())
            await sec.send("Mục VI cần nêu rõ việc & thời hạn", settle="Đã trả lại", buttons=False)
            notice = await an.replies(before_an, "Mục VI cần nêu rõ việc & thời hạn", buttons=False)
            assert "trả lại" in notice[0]["text"]
            await an.send("/xemlai", settle="Xem lại bản kiểm điểm")
            await an.press("Nộp lại", settle="bản số 2", buttons=False)
            await sec.send("/chibo", settle="Theo dõi kiểm điểm")
            await sec.press("Nguyễn Văn An", settle="bản số 2")
            await sec.press("Chấp nhận", settle="Đã chấp nhận", buttons=False)
            tracker = (await sec.send("/chibo", settle="Theo dõi kiểm điểm"))[-1]["text"]
            assert "Nguyễn Văn An: đã chấp nhận (bản 2)" in tracker

            # The bundle.
            await sec.press("Tổng hợp hồ sơ", settle="Hồ sơ trước hội nghị", buttons=False)
            await api.wait_for(lambda: any(d.filename.endswith(".zip")
                                           for d in api.documents(SECRETARY)) or None)
        finally:
            bot.stop()

        [bundle] = [d for d in api.documents(SECRETARY) if d.filename.endswith(".zip")]
        archive = zipfile.ZipFile(io.BytesIO(bundle.content))
        names = archive.namelist()
        drafts = [n for n in names if n.endswith(".docx") and "ban-kiem-diem" in n]
        assert len(drafts) == 3
        an_draft = next(n for n in drafts if "nguyen-van-an" in n)
        assert "-v2" in an_draft
        text = "\n".join(p.text for p in docx.Document(io.BytesIO(archive.read(an_draft))).paragraphs)
        assert "Nguyễn Văn An" in text and "Mẫu 2B-HD KĐ.ĐG 2025" in text
        cao = next(n for n in drafts if "le-van-cao" in n)
        text = "\n".join(p.text for p in docx.Document(io.BytesIO(archive.read(cao))).paragraphs)
        assert "Mẫu 2A-HD KĐ.ĐG 2025" in text  # the roster's "Lãnh đạo: có" gives form 2A

        summary = openpyxl.load_workbook(io.BytesIO(archive.read(
            next(n for n in names if n.endswith("tong-hop.xlsx")))))
        cells = [str(c.value) for row in summary.active.iter_rows() for c in row if c.value]
        assert {"Nguyễn Văn An", "Trần Thị Bé", "Lê Văn Cao", "Phạm Bí Thư"} <= set(cells)

        proposal = openpyxl.load_workbook(io.BytesIO(archive.read(
            next(n for n in names if n.endswith("de-xuat-xep-loai.xlsx")))))
        everything = " ".join(str(c.value) for sheet in proposal.worksheets
                              for row in sheet.iter_rows() for c in row if c.value)
        assert "20%" in everything  # the cap: 2 "xuất sắc" against 1 "tốt" is over it
        assert "Nguyễn Văn An" in everything and "Trần Thị Bé" in everything
        minutes = next(n for n in names if n.endswith("bien-ban-hop.docx"))
        minutes_doc = docx.Document(io.BytesIO(archive.read(minutes)))
        table_text = " ".join(c.text for t in minutes_doc.tables for r in t.rows for c in r.cells)
        assert "Lê Văn Cao" in table_text
