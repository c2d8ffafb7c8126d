"""The shipped question banks and the loader that validates them."""

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from core.interviewer.bank import (
    DEFAULT_BANK_DIR,
    FIELD_NAMES,
    LANGUAGES,
    LEVELS,
    BankError,
    Question,
    QuestionBanks,
    load_banks,
)

FIELD_KEYS = list(FIELD_NAMES)
GENERAL_MINIMUMS = {"self_intro": 3, "project": 6, "behavioral": 8, "candidate_questions": 2, "wrap_up": 2}


@pytest.fixture(scope="module")
def banks() -> QuestionBanks:
    return load_banks()


def all_questions(banks: QuestionBanks, language: str | None = None) -> list[Question]:
    languages = [language] if language else LANGUAGES
    return [q for key, _ in banks.fields() for lang in languages for q in banks.bank(key, lang).questions]


# -- shipped content -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("key", FIELD_KEYS)
def test_field_bank_has_enough_technical_questions_at_every_level(banks, key, language):
    assert (DEFAULT_BANK_DIR / f"{key}.{language}.yaml").is_file()
    bank = banks.bank(key, language)
    assert (bank.key, bank.field, bank.language) == (key, FIELD_NAMES[key], language)
    technical = [q for q in bank.questions if q.stage == "technical"]
    assert len(technical) >= 40  # issue 10: at least 40 per field and language across the three levels
    per_level = Counter(q.level for q in technical)
    assert all(per_level[level] >= 10 for level in LEVELS), per_level


@pytest.mark.parametrize("path", sorted(DEFAULT_BANK_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_bank_is_interview_ready(path):
    """Complete content, and every key point's model sentence recognised by the evaluator as covering it."""
    from core.interviewer.bank import _read_bank, content_problems

    assert content_problems(_read_bank(path)) == []


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("key", FIELD_KEYS)
def test_technical_questions_are_complete(banks, key, language):
    for q in banks.questions(key, language, "technical"):
        assert 3 <= len(q.key_points) <= 5, q.id
        assert 1 <= len(q.follow_ups) <= 3, q.id
        assert q.tags and all(tag == tag.lower() for tag in q.tags), q.id
        assert q.level in LEVELS, q.id


@pytest.mark.parametrize("language", LANGUAGES)
def test_general_bank_covers_every_non_technical_stage(banks, language):
    bank = banks.bank("general", language)
    assert (bank.field, bank.key) == ("通用", "general")
    counts = Counter(q.stage for q in bank.questions)
    for stage, minimum in GENERAL_MINIMUMS.items():
        assert counts[stage] >= minimum, (stage, counts[stage])


def test_every_question_has_key_points_with_synonyms_and_follow_ups(banks):
    for q in all_questions(banks):
        assert q.key_points, q.id
        assert all(point.synonyms for point in q.key_points), q.id
        assert q.follow_ups, q.id


def test_question_ids_are_unique_across_all_files(banks):
    ids = Counter(q.id for q in all_questions(banks))
    assert [qid for qid, n in ids.items() if n > 1] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_question_text_repeats_within_a_language(banks, language):
    texts = Counter(q.question.strip().lower() for q in all_questions(banks, language))
    assert [text for text, n in texts.items() if n > 1] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_question_and_follow_up_asks_one_thing_in_its_language(banks, language):
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for q in all_questions(banks, language):
        for text in (q.question, *q.follow_ups):
            assert text.count("?") + text.count("？") <= 1, (q.id, text)
            assert bool(cjk.search(text)) == (language == "zh-CN"), (q.id, text)


# -- look-ups --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "position", "expected"), [
    ("React前端开发工程师", "", "frontend"),
    ("前端开发", "", "frontend"),
    ("Java后端", "", "backend"),
    ("Senior Backend Developer", "", "backend"),
    ("数据分析师", "", "data"),
    ("Python数据分析", "", "data"),
    ("Data Analyst", "", "data"),
    ("算法工程师", "", "ai"),
    ("机器学习", "", "ai"),
    ("Machine Learning Engineer", "", "ai"),
    ("测试工程师", "", "qa"),
    ("QA", "", "qa"),
    ("ＱＡ", "", "qa"),
    ("Java测试开发", "", "qa"),
    ("SRE", "", "devops"),
    ("运维", "", "devops"),
    ("运维/DevOps", "", "devops"),
    ("产品经理", "", "product"),
    ("AI产品经理", "", "product"),
    ("Product Manager", "", "product"),
    ("其他", "前端开发实习生", "frontend"),
    ("通用", "SRE 工程师", "devops"),
    ("", "Golang 后端工程师", "backend"),
    ("会计", "", "general"),
    ("Retail Sales", "", "general"),
    ("email marketing", "", "general"),
    ("", "", "general"),
])
def test_field_key_maps_free_text(banks, field, position, expected):
    assert banks.field_key(field, position) == expected


def test_field_key_prefers_the_field_over_the_position(banks):
    assert banks.field_key("数据分析", "Java 后端工程师") == "data"


def test_field_key_accepts_keys_and_canonical_names(banks):
    for key, name in banks.fields()[:-1]:
        assert banks.field_key(key) == key
        assert banks.field_key(name) == key


def test_level_filter_keeps_that_level_and_any(banks):
    junior = banks.questions("backend", "zh-CN", "technical", level="junior")
    assert junior and {q.level for q in junior} <= {"junior", "any"}
    everything = banks.questions("backend", "zh-CN", "technical")
    assert len(everything) > len(junior)


def test_non_technical_stages_include_the_general_bank(banks):
    own = [q.id for q in banks.questions("frontend", "en", "project")]
    general = [q.id for q in banks.questions("general", "en", "project")]
    assert own[: -len(general)] and own[-len(general):] == general
    assert banks.questions("frontend", "en", "behavioral") == banks.questions("general", "en", "behavioral")


def test_language_falls_back_to_chinese(banks):
    chinese = banks.questions("qa", "zh-CN", "technical")
    assert banks.questions("qa", "fr", "technical") == chinese
    assert banks.questions("qa", "zh", "technical") == chinese
    assert banks.questions("qa", "en-US", "technical") == banks.questions("qa", "en", "technical")


def test_bad_look_up_arguments_raise(banks):
    with pytest.raises(KeyError):
        banks.questions("law", "zh-CN", "technical")
    with pytest.raises(ValueError, match="stage"):
        banks.questions("ai", "zh-CN", "coding")
    with pytest.raises(ValueError, match="level"):
        banks.questions("ai", "zh-CN", "technical", level="expert")
    with pytest.raises(KeyError, match="nope"):
        banks.get("nope")


def test_get_returns_the_question_by_id(banks):
    question = banks.questions("devops", "en", "technical")[0]
    assert banks.get(question.id) is question


def test_fields_lists_seven_fields_then_general(banks):
    assert banks.fields() == [*FIELD_NAMES.items(), ("general", "通用")]


def test_key_point_terms_are_lower_case_for_matching(banks):
    point = banks.questions("frontend", "en", "technical")[0].key_points[0]
    assert point.terms[0] == point.point.lower()
    assert all(term == term.lower() for term in point.terms)


def test_load_banks_is_cached_per_resolved_directory(banks):
    assert load_banks() is banks
    assert load_banks(DEFAULT_BANK_DIR / ".." / DEFAULT_BANK_DIR.name) is banks


# -- validation ------------------------------------------------------------------------------------------------


def bank_data(key: str = "frontend", language: str = "zh-CN", technical: int = 15, prefix: str = "t") -> dict:
    """A minimal valid bank, to break one thing at a time."""
    questions = [{
        "id": f"{prefix}-{n:03d}", "stage": "technical", "level": LEVELS[n % 3], "question": f"问题 {prefix} {n}？",
        "key_points": [{"point": "要点", "synonyms": ["要点"]}], "tags": ["tag"], "follow_ups": ["追问？"],
    } for n in range(technical)]
    return {"field": FIELD_NAMES.get(key, "通用"), "key": key, "language": language, "aliases": [key],
            "questions": questions}


def write_bank(directory: Path, data: dict, name: str | None = None) -> Path:
    path = directory / (name or f"{data['key']}.{data['language']}.yaml")
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_a_valid_minimal_directory_loads(tmp_path):
    write_bank(tmp_path, bank_data())
    banks = load_banks(tmp_path, complete=False)
    assert len(banks.questions("frontend", "en", "technical")) == 15  # falls back to zh-CN


def test_broken_yaml_names_the_file(tmp_path):
    (tmp_path / "frontend.zh-CN.yaml").write_text("field: 前端开发\nquestions: [unclosed\n", encoding="utf-8")
    with pytest.raises(BankError, match=r"frontend\.zh-CN\.yaml.*invalid YAML"):
        load_banks(tmp_path, complete=False)


def test_duplicate_yaml_keys_are_refused(tmp_path):
    (tmp_path / "frontend.zh-CN.yaml").write_text("key: frontend\nkey: backend\n", encoding="utf-8")
    with pytest.raises(BankError, match="duplicate key 'key'"):
        load_banks(tmp_path, complete=False)


def test_unknown_level_names_the_file_question_and_value(tmp_path):
    data = bank_data()
    data["questions"][3]["level"] = "expert"
    write_bank(tmp_path, data)
    with pytest.raises(BankError) as raised:
        load_banks(tmp_path, complete=False)
    message = str(raised.value)
    assert "frontend.zh-CN.yaml" in message and "schema error" in message
    assert "questions[3] (id t-003).level" in message and "'expert'" in message


@pytest.mark.parametrize(("change", "problem"), [
    (lambda d: d["questions"][0].update(stage="coding"), r"questions\[0\].*stage"),
    (lambda d: d["questions"][0].update(question="  "), r"questions\[0\].*question"),
    (lambda d: d["questions"][0].update(key_points=[]), r"questions\[0\].*key_points"),
    (lambda d: d["questions"][0].update(follow_ups=["a？", "b？", "c？", "d？"]), r"questions\[0\].*follow_ups"),
    (lambda d: d["questions"][0].update(misconceptions=[
        {"claim": "x", "cues": ["a&"], "challenge": "y？", "correction": "z"}]), r"cue .a&. has an empty"),
    (lambda d: d["questions"][0].update(answer="x"), r"questions\[0\].*answer"),
    (lambda d: d.update(language="fr"), r"language"),
    (lambda d: d.update(field="前端"), r"field for key 'frontend' must be '前端开发'"),
    (lambda d: d.update(key="law"), r"unknown key 'law'"),
])
def test_schema_errors_say_what_is_wrong(tmp_path, change, problem):
    data = bank_data()
    change(data)
    write_bank(tmp_path, data, name="frontend.zh-CN.yaml")
    with pytest.raises(BankError, match=rf"frontend\.zh-CN\.yaml: schema error: .*{problem}"):
        load_banks(tmp_path, complete=False)


def test_too_few_technical_questions_in_a_field_bank(tmp_path):
    write_bank(tmp_path, bank_data(technical=14))
    with pytest.raises(BankError, match=r"frontend\.zh-CN\.yaml: only 14 technical questions"):
        load_banks(tmp_path, complete=False)


def test_general_bank_needs_no_technical_questions(tmp_path):
    data = bank_data(key="general", technical=1)
    data["questions"][0]["stage"] = "behavioral"
    write_bank(tmp_path, data)
    assert load_banks(tmp_path, complete=False).questions("general", "zh-CN", "behavioral")


def test_duplicate_id_across_files(tmp_path):
    write_bank(tmp_path, bank_data())
    write_bank(tmp_path, bank_data(key="backend"))  # same ids (and texts): the id clash is reported first
    with pytest.raises(BankError, match=r"frontend\.zh-CN\.yaml: duplicate question id 't-000' \(also in backend"):
        load_banks(tmp_path, complete=False)


def test_duplicate_question_text_within_a_language(tmp_path):
    write_bank(tmp_path, bank_data())
    other = bank_data(key="backend", prefix="b")
    other["questions"][5]["question"] = "问题  T 0？"  # same text once case and spacing are normalised
    write_bank(tmp_path, other)
    with pytest.raises(BankError, match=r"frontend\.zh-CN\.yaml: duplicate question text in 't-000' \(same as 'b-005'"):
        load_banks(tmp_path, complete=False)


def test_same_text_in_another_language_is_allowed(tmp_path):
    chinese, english = bank_data(), bank_data(language="en", prefix="e")
    for zh_question, en_question in zip(chinese["questions"], english["questions"], strict=True):
        en_question["question"] = zh_question["question"]
    write_bank(tmp_path, chinese)
    write_bank(tmp_path, english)
    assert load_banks(tmp_path, complete=False).bank("frontend", "en")


def test_file_name_must_match_key_and_language(tmp_path):
    write_bank(tmp_path, bank_data(), name="frontend.en.yaml")
    with pytest.raises(BankError, match=r"frontend\.en\.yaml: file name must be frontend\.zh-CN\.yaml"):
        load_banks(tmp_path, complete=False)


def test_an_alias_belongs_to_one_field(tmp_path):
    write_bank(tmp_path, bank_data())
    write_bank(tmp_path, bank_data(key="backend", prefix="b") | {"aliases": ["backend", "frontend"]})
    with pytest.raises(BankError, match=r"frontend\.zh-CN\.yaml: alias 'frontend' also belongs to 'backend'"):
        load_banks(tmp_path, complete=False)


def test_empty_directory(tmp_path):
    with pytest.raises(BankError, match="no question-bank files"):
        load_banks(tmp_path, complete=False)


def test_an_incomplete_bank_is_refused_at_load_unless_drafts_are_allowed(tmp_path):
    write_bank(tmp_path, bank_data())  # the minimal test bank: no asks, model sentences or misconceptions
    with pytest.raises(BankError, match=r"frontend\.zh-CN\.yaml: .*(no simpler|no ask|technical questions)"):
        load_banks(tmp_path)
    assert load_banks(tmp_path, complete=False).bank("frontend", "zh-CN")


def test_parsed_banks_are_cached_by_content(tmp_path, monkeypatch):
    from core.interviewer import bank as bank_module

    monkeypatch.setattr(bank_module, "CACHE_DIR", tmp_path / "cache")
    path = write_bank(tmp_path, bank_data())
    first = bank_module._read_yaml(path)
    cached = list((tmp_path / "cache").glob("frontend.zh-CN.*.json"))
    assert len(cached) == 1 and bank_module._read_yaml(path) == first
    data = bank_data()
    data["questions"][0]["question"] = "一个改过的问题？"
    write_bank(tmp_path, data)
    assert bank_module._read_yaml(path)["questions"][0]["question"] == "一个改过的问题？"  # an edit is re-parsed
    assert len(list((tmp_path / "cache").glob("frontend.zh-CN.*.json"))) == 1


def test_no_banks_own_model_answer_is_challenged_as_a_misconception():
    """Every question's model answer (its key points' model sentences, as a strong candidate would say them) is
    correct: the interviewer must never challenge it as asserting one of the question's common mistakes."""
    from core import drills
    from core.interviewer.workflow import question_item

    banks = load_banks()
    challenged, checked = [], 0
    for key, _ in banks.fields():
        for language in ("zh-CN", "en"):
            for stage in drills.DRILL_STAGES:
                for question in banks.questions(key, language, stage):
                    if not question.misconceptions:
                        continue
                    item = question_item(question)
                    answer = ("" if language == "zh-CN" else " ").join(p["model"] for p in item["key_points"])
                    checked += 1
                    result = drills.judge_answer(question_id=question.id, answer=answer, item=item)
                    if "misconception" in result.flags:
                        challenged.append((question.id, result.follow_up))
    assert checked > 1000
    assert challenged == []
