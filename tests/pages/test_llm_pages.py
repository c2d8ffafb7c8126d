"""The Streamlit pages with a model configured (FakeLLMServer over HTTP): the thinking indicator, staff usage."""

from __future__ import annotations

from core.config import reset_settings
from core.interviewer import turns
from tests.pages.helpers import login, ok, texts
from ui.thinking import reply_pieces

INFO = {"candidate_name": "李小明", "target_position": "React前端开发工程师", "field": "前端开发", "level": "mid",
        "language": "zh-CN"}
ANSWER = "我负责过公司的 React 组件库，用 memo 和虚拟列表把首屏时间从 3 秒降到 1.2 秒。"


def test_the_chat_shows_thinking_with_seconds_until_the_first_piece(app_env, llm_env):
    reset_settings()
    llm_env.latency_s = 1.3  # grading and reply each wait: about 2.6 s before the first piece
    sid = turns.start_interview(owner="candidate", info=INFO).session.id
    shown: list[tuple[str, str]] = []
    finished: list = []
    pieces = reply_pieces(turns.run_turn(owner="candidate", session_id=sid, content=ANSWER),
                          show=lambda text: shown.append(("show", text)), clear=lambda: shown.append(("clear", "")),
                          label=lambda n: f"面试官正在思考… {n} 秒", finished=finished)
    for piece in pieces:
        shown.append(("piece", piece))
    kinds = [kind for kind, _ in shown]
    first_piece = kinds.index("piece")
    assert kinds[0] == "show" and "clear" in kinds[:first_piece] and "show" not in kinds[first_piece:]
    seconds = [int(text.split()[-2]) for kind, text in shown if kind == "show"]
    assert seconds == sorted(seconds) and seconds[-1] >= 2  # counts up while the model works
    assert isinstance(finished[-1], turns.TurnResult)
    assert "".join(text for kind, text in shown if kind == "piece") == finished[-1].reply.content


def test_staff_see_what_the_model_cost_an_interview_on_the_report_page(app_env, llm_env):
    reset_settings()
    for owner in ("staff", "candidate"):
        sid = turns.start_interview(owner=owner, info=INFO).session.id
        for _ in turns.run_turn(owner=owner, session_id=sid, content=ANSWER):
            pass
        turns.end_interview(owner=owner, session_id=sid)
        used = turns.interview_usage(owner=owner, session_id=sid)
        assert used.calls >= 3 and used.tokens > 0 and used.cost_usd is None  # the fake model has no price

    at = login("staff", "staff123")
    at.switch_page("app_pages/report.py").run()
    ok(at)
    assert "模型用量" in texts(at) and "费用 未知" in texts(at)

    at = login()
    at.switch_page("app_pages/report.py").run()
    ok(at)
    assert "模型用量" not in texts(at)  # candidates do not see it
