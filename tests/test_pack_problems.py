"""A pack's problems reach the operator in Vietnamese: every code the loader can report has one
sentence in templates/pack_problems.toml, filled only with facts the code is given, and
«tusoi checklist check» on a broken pack prints no English."""

from __future__ import annotations

import ast
import re
import string
import subprocess
import sys
from pathlib import Path

from bot.checklist import PROBLEM_CODES, WHY_CODES
from handlers.render import load_pack_words
from tests.conftest import REPO

WORDS = load_pack_words()
# Where problems are made: the loader, and the form families of bot.state.Forms.
SOURCES = (REPO / "bot" / "checklist.py", REPO / "bot" / "state.py")
# Words of the English messages these sentences replaced; none may reach the operator.
ENGLISH = re.compile(r"\b(missing|unknown|expected|duplicate|must|needs?|allowed|did you mean|"
                     r"use one of|got|the string|belongs|empty|only|already)\b", re.IGNORECASE)


def raised_problems() -> list[tuple[str, str, set[str]]]:
    """Every problem the code can make, read from the source: (where, code, fact names).
    ``ctx.add(key, "code", name=…)``, ``_check_id(…, "code")`` (the facts: value) and
    ``Problem(file, key, "code", {"name": …})``; ``**_got(value)`` gives got and value."""
    found: list[tuple[str, str, set[str]]] = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            where = f"{path.name}:{node.lineno}"
            if name == "add" and len(node.args) == 2:
                facts = {k.arg for k in node.keywords if k.arg is not None}
                if any(k.arg is None for k in node.keywords):  # **_got(value)
                    facts |= {"got", "value"}
                found += [(where, code, facts) for code in constants(node.args[1])]
            elif name == "_check_id" and len(node.args) == 5:
                found += [(where, code, {"value"}) for code in constants(node.args[4])]
            elif name == "Problem" and len(node.args) >= 3 and constants(node.args[2]):
                given = node.args[3] if len(node.args) > 3 else ast.Dict(keys=[], values=[])
                assert isinstance(given, ast.Dict), where
                facts = {k.value for k in given.keys if isinstance(k, ast.Constant)}
                found += [(where, code, facts) for code in constants(node.args[2])]
    return found


def constants(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return constants(node.body) + constants(node.orelse)
    return []  # a parameter (``code`` in _Ctx.add, _check_id): their callers are read instead


def placeholders(sentence: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(sentence) if name}


def test_every_problem_code_has_a_vietnamese_sentence_and_every_sentence_a_code() -> None:
    assert len(PROBLEM_CODES) == len(set(PROBLEM_CODES))
    assert set(WORDS["problems"]) == set(PROBLEM_CODES)
    assert set(WORDS["why"]) == WHY_CODES
    for table in ("problems", "types", "values", "why"):
        for code, sentence in WORDS[table].items():
            if placeholders(sentence) != {"value"}:  # [values] bool/other are the value alone
                assert not sentence.isascii(), (table, code, sentence)
            assert not ENGLISH.search(re.sub(r"\{\w+\}", "", sentence)), (table, code, sentence)


def test_every_problem_raised_is_a_known_code_given_the_facts_its_sentence_needs() -> None:
    raised = raised_problems()
    assert {code for _, code, _ in raised} == set(PROBLEM_CODES)  # none unused, none unknown
    for where, code, facts in raised:
        assert placeholders(WORDS["problems"][code]) <= facts, (where, code, facts)


def test_checklist_check_of_a_broken_pack_prints_vietnamese_through_the_entry_point(
    tmp_path: Path,
) -> None:
    pack = tmp_path / "hỏng.toml"
    pack.write_text("""
[pack]
id = "câu hỏi"
kind = "survey"
title = ""
colour = "red"

[option_sets.yn]
options = [{ id = "yes", label = "Có", severe = true }]

[[sections]]
id = "s1"
title = "Mục một"

[[sections.questions]]
id = "q1"
kind = "choice"
prompt = "Co khong?"
feeds = "I.1"
option_set = "ny"
required = "no"
promt = "x"

[[sections.questions]]
id = "q1"
kind = "score"
prompt = "Mấy điểm?"
feeds = "I.2"
min = 100
max = 0
""".replace("Co khong?", "Có không?"), encoding="utf-8")
    tusoi = Path(sys.executable).with_name("tusoi")
    assert tusoi.is_file()  # the console script pyproject.toml installs
    result = subprocess.run([str(tusoi), "checklist", "check", str(pack)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1 and result.stderr == ""
    heading, *lines = result.stdout.splitlines()
    assert heading == f"{pack}: {len(lines)} lỗi" and len(lines) >= 10
    said = {}
    for line in lines:
        assert line.startswith(f"  {pack}: "), line
        key, sep, sentence = line.removeprefix(f"  {pack}: ").partition(": ")
        assert sep and not sentence.isascii() and not ENGLISH.search(sentence), line
        said[key] = sentence
    assert said["pack.kind"] == "kind «survey» không hợp lệ; chọn một trong: checklist, form"
    assert said["pack.colour"].startswith("không có khóa «colour»; các khóa được dùng: id, kind")
    assert said["pack.title"] == "khóa «title» để trống"
    assert said["pack.version"] == "thiếu khóa bắt buộc «version»"
    assert said["sections[0].questions[0].promt"] == "không có khóa «promt»; có phải là «prompt»?"
    assert said["sections[0].questions[0].required"] == (
        "cần true hoặc false, nhưng đang là chuỗi «no»")
    assert said["sections[0].questions[0].option_set"] == (
        "không có bộ lựa chọn «ny» (các bộ đang có: yn)")
    assert said["sections[0].questions[1].id"] == (
        "mã câu hỏi «q1» bị trùng (đã dùng ở sections[0].questions[0].id)")
    assert said["sections[0].questions[1].max"] == "max (0) phải lớn hơn min (100)"
    assert said["option_sets.yn.options"] == "bộ lựa chọn cần ít nhất hai lựa chọn"
    assert said["option_sets.yn.options[0].severe"] == (
        "lựa chọn severe cũng phải có admits = true")
