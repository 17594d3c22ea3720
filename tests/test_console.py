"""The console channel: the newcomer's first run, offline, ends with a Word draft."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import docx

from tests.conftest import REPO


def console(tmp_path: Path, lines: list[str]) -> str:
    env_free = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "handlers.cli", "console"], cwd=tmp_path,
        input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120, check=False,
        env={**env_free, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_console_demo_walks_to_a_word_draft_and_resumes(tmp_path: Path) -> None:
    first = console(tmp_path, ["1", "2", "Có lúc ngại đọc & chưa kỹ", "", "Bận", "",
                               "Đọc lại văn kiện, hoàn thành trước 31/3/2027", ""])
    assert "Nguyễn Văn Mẫu" in first and "Tự soi 1/27" in first
    assert "Tự soi 3/27" in first
    # A second run resumes where the first stopped, with nothing lost.
    second = console(tmp_path, ["/tieptuc"])
    assert "Tự soi 3/27" in second and "Còn " in second

    answers = ["1"] * 25 + ["Ưu điểm năm nay"] + [""]
    form = []
    for _ in range(14):  # text answers and choices, whatever the form asks
        form += ["2", "Nội dung trả lời, hoàn thành trước 30/6/2027", "", "giữ nguyên"]
    third = console(tmp_path, answers + form + ["nộp"])
    assert "Đã lưu tệp Word:" in third, third[-3000:]
    path = Path(third.split("Đã lưu tệp Word: ")[1].splitlines()[0])
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(path.read_bytes())).paragraphs)
    assert "Có lúc ngại đọc & chưa kỹ" in text and "Nguyễn Văn Mẫu" in text
