"""Reading and understanding resumes: real PDF and DOCX files made here, in both languages, and the bad files a
candidate may upload, each refused with a message that says what to do."""

from __future__ import annotations

import json

import pytest

from core import resume_files
from core.resume import ResumeParsed, parse_rules, understand
from core.resume_files import MAX_BYTES, ResumeFileError, read_resume_file, sniff
from tests import resume_samples as rs

ZH_HEADINGS = {"教育背景", "工作经历", "项目经历", "专业技能"}
EN_HEADINGS = {"Education", "Experience", "Projects", "Skills"}


def _check_zh(parsed: ResumeParsed) -> None:
    assert parsed.language == "zh-CN"
    assert set(parsed.sections) >= {"education", "experience", "projects", "skills"}
    assert "浙江大学" in parsed.sections["education"][0]
    names = [p.name for p in parsed.projects]
    assert names == ["秒杀系统", "智能推荐平台"]
    flash = parsed.projects[0]
    assert flash.role == "后端负责人"
    assert {"Java", "Redis", "Kafka", "MySQL"} <= set(flash.stack)
    assert any("QPS 提升 3 倍" in n for n in flash.numbers)
    assert any("800ms 降到 120ms" in n for n in flash.numbers)
    assert any("预扣库存" in c for c in flash.claims)
    assert {"MySQL", "Redis", "Kafka", "Kubernetes"} <= set(parsed.skills)
    assert "JVM 调优" in parsed.skills
    # the contact line is not a project, a claim or a number
    dumped = json.dumps(parsed.model_dump(), ensure_ascii=False)
    assert "13800138000" not in dumped


def _check_en(parsed: ResumeParsed) -> None:
    assert parsed.language == "en"
    assert [p.name for p in parsed.projects][:2] == ["Flash-sale system", "Search relevance platform"]
    flash = parsed.projects[0]
    assert flash.role == "Backend lead"
    assert {"Go", "Redis", "Kafka", "PostgreSQL"} <= set(flash.stack)
    assert any("3x" in n for n in flash.numbers) and any("800 ms to 120 ms" in n for n in flash.numbers)
    assert {"Go", "Python", "Kubernetes", "Docker"} <= set(parsed.skills)


@pytest.mark.parametrize("make", [
    lambda: rs.pdf(rs.ZH_LINES),
    lambda: rs.docx(rs.ZH_LINES, headings=ZH_HEADINGS),
    lambda: "\n".join(rs.ZH_LINES).encode("utf-8"),
    lambda: "\n".join(rs.ZH_LINES).encode("gb18030"),
], ids=["pdf", "docx", "txt-utf8", "txt-gb18030"])
def test_a_chinese_resume_is_understood_from_every_format(make):
    content = read_resume_file(make())
    _check_zh(parse_rules(content.text))


@pytest.mark.parametrize("make", [
    lambda: rs.pdf(rs.EN_LINES),
    lambda: rs.docx(rs.EN_LINES, headings=EN_HEADINGS),
    lambda: "\n".join(rs.EN_LINES).encode("utf-8"),
], ids=["pdf", "docx", "txt"])
def test_an_english_resume_is_understood_from_every_format(make):
    content = read_resume_file(make())
    _check_en(parse_rules(content.text))


def test_markdown_headings_bold_names_and_a_role_in_brackets():
    content = read_resume_file(rs.EN_MARKDOWN.encode())
    assert content.kind == "md"
    parsed = parse_rules(content.text)
    flash = parsed.projects[0]
    assert (flash.name, flash.role) == ("Flash-sale system", "Backend lead")
    assert flash.claims[1] == "Cut p99 latency from 800 ms to 120 ms"


def test_the_type_comes_from_the_content_not_the_name():
    assert sniff(rs.pdf(rs.EN_LINES)) == "pdf"
    assert sniff(rs.docx(rs.EN_LINES)) == "docx"
    assert sniff(rs.EN_MARKDOWN.encode()) == "md"
    assert sniff("\n".join(rs.EN_LINES).encode()) == "txt"
    with pytest.raises(ResumeFileError) as err:
        sniff(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    assert err.value.code == "unsupported"
    with pytest.raises(ResumeFileError) as err:  # an old binary .doc
        sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    assert err.value.code == "unsupported"


@pytest.mark.parametrize(("make", "code", "words"), [
    (rs.scanned_pdf, "scanned", "扫描件"),
    (lambda: rs.pdf(rs.EN_LINES, encrypt="secret"), "encrypted", "密码"),
    (rs.broken_pdf, "broken", "损坏"),
    (rs.docx_bomb, "bomb", "解压"),
    (lambda: rs.long_resume_pdf(200), "too_many_pages", "50 页"),
    (lambda: b"x" * (MAX_BYTES + 1), "too_large", "5 MB"),
    (lambda: b"   \n  ", "empty", "空"),
    (lambda: "张三 13800138000".encode(), "no_text", "几乎没有文字"),
    (lambda: b"PK\x03\x04" + b"\x00" * 100, "broken", "损坏"),
], ids=["scanned", "encrypted", "broken", "zip-bomb", "200-pages", "too-large", "empty", "almost-no-text",
                                                                     "broken-zip"])
def test_bad_files_get_a_clear_message_in_both_languages(make, code, words):
    with pytest.raises(ResumeFileError) as err:
        read_resume_file(make())
    assert err.value.code == code
    assert words in err.value.text("zh-CN")
    english = err.value.text("en")
    assert english and english.isascii() and english != err.value.text("zh-CN")


def test_a_worker_past_its_time_limit_is_stopped_with_a_clear_message(monkeypatch):
    killed = []
    real_run = resume_files.subprocess.run

    def watched(*args, **kwargs):
        try:
            return real_run(*args, **kwargs)
        except resume_files.subprocess.TimeoutExpired as exc:
            killed.append(exc)
            raise

    monkeypatch.setattr(resume_files.subprocess, "run", watched)
    with pytest.raises(ResumeFileError) as err:
        read_resume_file(rs.long_resume_pdf(50), timeout=0.05)
    assert err.value.code == "timeout" and killed
    assert "超时" in err.value.text("zh-CN")


def test_an_unencrypted_read_with_an_owner_password_only_opens():
    # "Permissions" passwords: anyone may open the file, so its text is read.
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(__import__("io").BytesIO(rs.pdf(rs.EN_LINES))))
    writer.encrypt(user_password="", owner_password="owner-secret")
    buffer = __import__("io").BytesIO()
    writer.write(buffer)
    _check_en(parse_rules(read_resume_file(buffer.getvalue()).text))


def test_a_resume_without_headings_still_yields_skills_from_the_lexicon():
    parsed = parse_rules("我做过三年后端，主要用 Go 和 PostgreSQL，也用 Kafka 做过消息队列。")
    assert {"Go", "PostgreSQL", "Kafka"} <= set(parsed.skills)
    assert parsed.projects == []


def test_without_a_model_the_resume_never_leaves_the_rules(app_env, fake_llm):
    parsed, source = understand("\n".join(rs.ZH_LINES))
    assert source == "rules" and parsed.projects[0].name == "秒杀系统"
    assert fake_llm.requests == []


@pytest.fixture
def model_settings(app_env, llm_env, monkeypatch):
    from core.config import get_settings, reset_settings

    monkeypatch.setenv("INTERVIEWER_MODEL", "openai/fake-interviewer")
    monkeypatch.setenv("INTERVIEWER_API_BASE", llm_env.base_url)
    reset_settings()
    yield get_settings()
    reset_settings()


def _extraction(projects: list[dict]):
    def respond(body: dict) -> str:
        assert "<resume>" in body["messages"][-1]["content"]
        return json.dumps({"projects": projects, "skills": ["Java", "Redis"], "education": ["浙江大学 本科"]},
                          ensure_ascii=False)
    return respond


def test_with_a_model_its_grounded_extraction_is_used(model_settings, llm_env):
    llm_env.responder = _extraction([{"name": "秒杀系统", "role": "后端负责人", "stack": ["Redis"],
                                      "numbers": ["QPS 提升 3 倍"], "claims": ["接口 P99 延迟从 800ms 降到 120ms"]}])
    parsed, source = understand("\n".join(rs.ZH_LINES), model_settings)
    assert source == "llm"
    assert [p.name for p in parsed.projects] == ["秒杀系统"]
    assert parsed.skills == ["Java", "Redis"] and parsed.sections["education"] == ["浙江大学 本科"]
    assert len(llm_env.requests) == 1


def test_a_model_that_invents_a_project_falls_back_to_the_rules(model_settings, llm_env):
    llm_env.responder = _extraction([{"name": "火星探测器", "claims": ["QPS 提升 100 倍"]}])
    parsed, source = understand("\n".join(rs.ZH_LINES), model_settings)
    assert source == "rules"
    assert [p.name for p in parsed.projects] == ["秒杀系统", "智能推荐平台"]


def test_a_model_that_is_down_falls_back_to_the_rules(model_settings, llm_env):
    llm_env.fail_next("500", times=20)
    parsed, source = understand("\n".join(rs.EN_LINES), model_settings)
    assert source == "rules" and parsed.projects[0].name == "Flash-sale system"
