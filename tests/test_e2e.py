"""The whole product as an operator and a member meet it: CLI commands, then the bot as a
subprocess talking HTTP on 127.0.0.1 to the fake Bot API, killed with SIGKILL mid-review
and restarted, then a submitted Word draft read back with python-docx."""

from __future__ import annotations

import io
import os
import re
import signal
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import docx

from bot.workdays import WorkCalendar
from tests.conftest import REPO
from tests.fakebotapi import FakeBotApi

MEMBER, SECRETARY = 1001, 2002


def write_config(tmp_path: Path, api: FakeBotApi) -> Path:
    config = tmp_path / "tusoi.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "tusoi.sqlite3"}"\n'
        f'[telegram]\ntoken = "123456:E2E-TOKEN"\nbase_url = "{api.base_url}"\n'
        f'base_file_url = "{api.base_file_url}"\nbot_username = "tusoi_test_bot"\npoll_timeout = 1\n'
        # The most talkative level: even then no token and no answer may reach the log.
        '[logging]\nlevel = "DEBUG"\n',
        encoding="utf-8",
    )
    return config


def tusoi(config: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "handlers.cli", "--config", str(config), *args],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def invite_code(output: str) -> str:
    match = re.search(r"start=([A-Z0-9]{8})", output)
    assert match, output
    return match.group(1)


class Bot:
    """The bot as a separate process, started and killed like in production."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log = config, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("TUSOI_TELEGRAM_TOKEN", None)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "handlers.cli", "--config", str(self.config), "telegram"],
                cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env,
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class Member:
    """A person pressing buttons and typing, reading only what the bot sent them."""

    def __init__(self, api: FakeBotApi, user_id: int) -> None:
        self.api, self.user_id = api, user_id

    def messages(self) -> list[dict[str, Any]]:
        return self.api.sent_messages(self.user_id)

    async def send(self, text: str, settle: str | None = None,
                   buttons: bool = True) -> list[dict[str, Any]]:
        before = len(self.messages())
        self.api.user_text(self.user_id, text)
        return await self.replies(before, settle, buttons)

    async def press(self, label: str, settle: str | None = None,
                    buttons: bool = True) -> list[dict[str, Any]]:
        message, data = self.button(label)
        before = len(self.messages())
        self.api.user_press(self.user_id, message["message_id"], data)
        return await self.replies(before, settle, buttons)

    async def replies(self, before: int, settle: str | None,
                      buttons: bool = True) -> list[dict[str, Any]]:
        """New messages since ``before``, once one contains ``settle`` and, unless told
        otherwise, the bot has shown buttons again (its reply is complete)."""
        def ready() -> list[dict[str, Any]] | None:
            new = self.messages()[before:]
            if not new or (buttons and not new[-1].get("reply_markup")):
                return None
            if settle is not None and not any(settle in (m.get("text") or m.get("caption") or "")
                                              for m in new):
                return None
            return new
        result: list[dict[str, Any]] = await self.api.wait_for(ready, timeout=20)
        return result

    def button(self, label: str) -> tuple[dict[str, Any], str]:
        """The newest visible button whose label contains ``label``."""
        for message in reversed(self.messages()):
            markup = message.get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for b in row:
                    if label in b["text"]:
                        return message, b["callback_data"]
        raise AssertionError(f"no button {label!r}; last: {self.messages()[-1:]}")

    def question(self) -> str:
        """The text of the newest message that asks something (has buttons)."""
        for message in reversed(self.messages()):
            if message.get("reply_markup"):
                return str(message["text"])
        raise AssertionError("no question on screen")


def item_position(text: str) -> int:
    match = re.search(r"Tự soi (\d+)/27", text)
    assert match, text
    return int(match.group(1))


async def answer_item(member: Member, admit: bool) -> None:
    if not admit:
        await member.press("Không có biểu hiện")
        return
    await member.press("Có biểu hiện ở mức độ nhẹ", settle="Hỏi thêm")
    for text in ("Có lúc đọc tài liệu qua loa & chưa kỹ <ghi chép>",
                 "Chủ quan, bận việc chuyên môn",
                 "Đọc và ghi chép đầy đủ văn kiện, hoàn thành trước 31/3/2027"):
        await member.send(text, settle="Đã ghi")
        await member.press("Xong", settle="Đã lưu")


def db_answers(db: Path) -> dict[str, str | None]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT qid, value FROM answers").fetchall())


def db_history_count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM answer_history").fetchone()[0])


async def test_member_walks_through_survives_sigkill_and_gets_a_word_draft(tmp_path: Path) -> None:
    async with FakeBotApi() as api:
        config = write_config(tmp_path, api)
        db = tmp_path / "tusoi.sqlite3"

        # The operator stands up a cell with the commands from README.
        assert "Cơ sở dữ liệu sẵn sàng" in tusoi(config, "db", "init")
        tusoi(config, "cell", "add", "--name", "Phòng Hành chính", "--committee", "Sở Thử nghiệm",
              "--place", "Hà Nội")
        tusoi(config, "member", "add", "--cell", "1", "--name", "Nguyễn Thị Hoa",
              "--birth-date", "01/02/1975", "--party-post", "Đảng viên", "--work-unit", "Phòng Hành chính")
        tusoi(config, "member", "add", "--cell", "1", "--name", "Đỗ Văn Sơn", "--secretary")
        member_code = invite_code(tusoi(config, "invite", "--member", "1"))
        secretary_code = invite_code(tusoi(config, "invite", "--member", "2"))
        calendar = WorkCalendar.load(REPO / "data" / "calendar" / "vn.toml")
        meeting = calendar.next_working_day(date.today() + timedelta(days=30))
        opened = tusoi(config, "round", "open", "--cell", "1", "--meeting", meeting.strftime("%d/%m/%Y"))
        assert "Đảng viên nộp bản kiểm điểm chậm nhất" in opened

        bot = Bot(config, tmp_path / "bot.log")
        bot.start()
        try:
            await api.wait_for_call("setMyCommands", timeout=30)
            assert {c["command"] for c in api.commands()} >= {"tieptuc", "quaylai", "nop"}

            secretary = Member(api, SECRETARY)
            await secretary.send(f"/start {secretary_code}", settle="Tự soi 1/27")
            member = Member(api, MEMBER)
            replies = await member.send(f"/start {member_code}", settle="Tự soi 1/27")
            assert "Nguyễn Thị Hoa" in replies[0]["text"]

            # Halfway through the checklist, with a follow-up answer half written ...
            for index in range(13):
                await answer_item(member, admit=index in (2, 9))
            assert item_position(member.question()) == 14
            await member.press("Có biểu hiện rõ", settle="Hỏi thêm")
            await member.send("Phần đầu của câu trả lời dài,", settle="Đã ghi")
            before_kill = db_answers(db)
            history_before = db_history_count(db)

            # ... the member sends more, and the bot is killed while that update is in flight.
            api.user_text(MEMBER, "phần sau của câu trả lời.")
            bot.kill()
            api.expire_callback()  # Telegram forgets old callback queries across restarts

            bot.start()
            await api.wait_for_call("setMyCommands", count=2, timeout=30)
            # The in-flight update is delivered again and handled exactly once. (Updates handled
            # but not yet marked done are shown again first: «Đã ghi …», the question.)
            await member.replies(len(member.messages()), settle="2 đoạn")
            await member.send("/tieptuc", settle="Hỏi thêm về biểu hiện 2.5")
            after = db_answers(db)
            assert after == before_kill  # every committed answer intact, nothing doubled
            assert db_history_count(db) == history_before
            with sqlite3.connect(db) as conn:
                pending = conn.execute("SELECT pending_text FROM reviews WHERE member_id = 1").fetchone()[0]
            assert pending == "Phần đầu của câu trả lời dài,\nphần sau của câu trả lời."
            await member.press("Xong", settle="Đã lưu")
            for text in ("Chủ quan", "Sửa ngay, báo cáo chi bộ trước 15/1/2027"):
                await member.send(text, settle="Đã ghi")
                await member.press("Xong", settle="Đã lưu")

            for _ in range(14, 27):
                await answer_item(member, admit=False)
            # The form sections: text answers, prefilled sections kept, part B scored (the
            # total is computed), the yes/no facts answered, the annex declined, a level chosen.
            for _ in range(40):
                screen = member.question()
                markup = str(member.messages()[-1].get("reply_markup"))
                if "Xem lại bản kiểm điểm" in screen:
                    break
                if "Nội dung gợi ý" in screen:
                    await member.press("Dùng nội dung gợi ý", settle="Bản kiểm điểm")
                elif "Hoàn thành tốt nhiệm vụ" in markup:
                    await member.press("Hoàn thành tốt nhiệm vụ")
                elif "Không lập" in markup:
                    await member.press("Không lập")
                elif "Đã khắc phục hết" in markup:
                    await member.press("Đã khắc phục hết")
                elif "'Có'" in markup:
                    await member.press("Có")
                elif "Gõ một số" in screen:
                    await member.send("25" if "đến 30" in screen else "57", settle="Đã ghi điểm")
                elif "Không có nội dung này" in str(member.messages()[-1].get("reply_markup")):
                    await member.press("Không có nội dung này")
                else:
                    await member.send("Hoàn thành tốt công việc được giao năm 2026 & đúng hạn",
                                      settle="Đã ghi")
                    await member.press("Xong", settle="Đã lưu")
            assert "Xem lại bản kiểm điểm" in member.question()

            await member.press("Nộp bản kiểm điểm", settle="Đã nộp", buttons=False)
            await api.wait_for(lambda: api.documents(SECRETARY) or None, timeout=20)
        finally:
            bot.stop()

        [draft] = api.documents(MEMBER)
        assert draft.filename == f"ban-kiem-diem-{meeting.year}-nguyen-thi-hoa-v1.docx"
        assert api.documents(SECRETARY)[0].content == draft.content
        document = docx.Document(io.BytesIO(draft.content))
        text = "\n".join(p.text for p in document.paragraphs)
        cells = "\n".join(c.text for t in document.tables for row in t.rows for c in row.cells)
        assert "BẢN KIỂM ĐIỂM, TỰ ĐÁNH GIÁ, XẾP LOẠI CÁ NHÂN" in text
        assert "Mẫu 2B-HD KĐ.ĐG 2025" in text
        assert "Nguyễn Thị Hoa" in text and "01/02/1975" in text
        assert "ĐẢNG CỘNG SẢN VIỆT NAM" in cells and "PHÒNG HÀNH CHÍNH" in cells
        assert "Có lúc đọc tài liệu qua loa & chưa kỹ <ghi chép>" in text
        assert "tự nhận có 3 biểu hiện" in text
        assert "- Biểu hiện 2.5: Sửa ngay, báo cáo chi bộ trước 15/1/2027" in text
        assert "Tổng điểm\n100\n82" in cells  # 25 + 57, computed
        assert "☒ Hoàn thành tốt nhiệm vụ" in text
        log = (tmp_path / "bot.log").read_text(encoding="utf-8", errors="replace")
        assert "E2E-TOKEN" not in log, "the bot token leaked into the log"
        assert "qua loa" not in log, "answer text leaked into the log"
        del after
