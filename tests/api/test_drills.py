"""The question drill over REST: the list, an answer judged at once with the candidate's own words, the history."""

from __future__ import annotations

import pytest

from tests.api.helpers import login

GOOD_ACID = ("原子性是说一个事务里的操作要么全做完要么全不做，失败了会用 undo log 回滚。"
             "隔离性是并发事务之间互相看不到对方没提交的修改，InnoDB 靠锁和 MVCC 做到。"
             "持久性就是提交之后哪怕机器宕机数据也还在，因为 redo log 已经刷盘了。")


def test_the_list_holds_questions_without_their_answers(client):
    headers = login(client)
    body = client.get("/api/v1/questions", params={"field": "backend", "language": "zh-CN", "stage": "technical",
                                                   "level": "junior"}, headers=headers).json()
    questions = body["questions"]
    assert len(questions) >= 10
    assert set(questions[0]) == {"id", "field", "language", "stage", "level", "question"}
    assert all(q["field"] == "backend" and q["level"] in ("junior", "any") and q["language"] == "zh-CN"
               for q in questions)
    assert client.get("/api/v1/questions", params={"stage": "wrap_up"}, headers=headers).status_code == 422
    assert client.get("/api/v1/questions").status_code == 401


def test_an_answer_is_judged_with_the_candidates_own_words(client):
    headers = login(client)
    response = client.post("/api/v1/questions/backend-zh-003/evaluate", json={"answer": GOOD_ACID}, headers=headers)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["question_id"] == "backend-zh-003" and 3.0 <= result["score"] <= 5
    covered = {c["point"]: c["evidence"] for c in result["covered"]}
    assert {"原子性", "隔离性", "持久性"} <= set(covered)
    assert all(evidence in GOOD_ACID for evidence in covered.values())  # verbatim substrings of the answer
    assert "一致性" in result["missed"] + result["unclear"] and "一致性" not in covered
    assert result["follow_up"] and result["follow_up"].endswith("？")
    assert result["feedback"] and "一致性" in result["better_answer"]


def test_a_wrong_claim_is_challenged_and_a_keyword_list_scores_low(client):
    headers = login(client)
    wrong = client.post("/api/v1/questions/backend-zh-006/evaluate", headers=headers,
                        json={"answer": "防注入的话前端校验一下参数，把单引号过滤掉就行了。"}).json()
    assert "misconception" in wrong["flags"] and wrong["score"] <= 1.5
    assert "绕过前端" in wrong["follow_up"] or "前端" in wrong["follow_up"]
    keywords = "ACID：原子性、一致性、隔离性、持久性，undo log、redo log、MVCC、锁、隔离级别。"
    stuffed = client.post("/api/v1/questions/backend-zh-003/evaluate", headers=headers,
                          json={"answer": keywords}).json()
    good = client.post("/api/v1/questions/backend-zh-003/evaluate", headers=headers, json={"answer": GOOD_ACID}).json()
    assert good["score"] - stuffed["score"] >= 2.0 and stuffed["covered"] == []


@pytest.mark.parametrize(("answer", "status"), [("", 422), ("   ", 422), ("x" * 4001, 422), (None, 422)])
def test_bad_answers_get_a_clear_422(client, answer, status):
    response = client.post("/api/v1/questions/backend-zh-003/evaluate", json={"answer": answer},
                           headers=login(client))
    assert response.status_code == status and response.json()["detail"]


def test_an_unknown_question_is_404(client):
    response = client.post("/api/v1/questions/nope-zh-999/evaluate", json={"answer": "一个回答"}, headers=login(client))
    assert response.status_code == 404


def test_the_history_is_the_users_own_and_can_be_deleted(any_db_client):
    client = any_db_client
    alice, bob = login(client), login(client, "staff")
    for _ in range(2):
        client.post("/api/v1/questions/backend-zh-003/evaluate", json={"answer": GOOD_ACID}, headers=alice)
    attempts = client.get("/api/v1/drills", headers=alice).json()["attempts"]
    assert len(attempts) == 2 and attempts[0]["question"].startswith("数据库事务")
    assert attempts[0]["answer"] == GOOD_ACID and attempts[0]["covered"]
    assert client.get("/api/v1/drills", headers=bob).json()["attempts"] == []
    first = attempts[0]["id"]
    assert client.delete(f"/api/v1/drills/{first}", headers=bob).status_code == 404  # not bob's
    assert client.delete(f"/api/v1/drills/{first}", headers=alice).json() == {"deleted": 1}
    assert client.delete(f"/api/v1/drills/{first}", headers=alice).status_code == 404
    for impossible in (0, -1, 2**31, 2**63, 10**30):  # ids outside the column's range: a clear 422, never a 500
        assert client.delete(f"/api/v1/drills/{impossible}", headers=alice).status_code == 422
    assert client.delete("/api/v1/drills", headers=alice).json() == {"deleted": 1}
    assert client.get("/api/v1/drills", headers=alice).json()["attempts"] == []


def test_drill_answers_count_against_the_turn_limit(client, monkeypatch):
    from core.config import reset_settings

    monkeypatch.setenv("TURN_RATE_LIMIT", "2/minute")
    reset_settings()
    headers = login(client)
    codes = [client.post("/api/v1/questions/backend-zh-003/evaluate", json={"answer": GOOD_ACID},
                         headers=headers).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
