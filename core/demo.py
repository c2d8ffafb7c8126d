"""Demo data: realistic practice interviews played through the real interview service and offline interviewer.

    python -m core.demo seed [--force] [--sessions N] [--seed S]

Every session is started with `start_interview`, answered turn by turn with `run_turn` and, for some, ended with
`end_interview`, exactly as a candidate would. Only the timestamps are changed afterwards (see `backdate`).
"""

from __future__ import annotations

import argparse
import random
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from core import sessions
from core.config import Settings, get_settings
from core.db import session_scope
from core.i18n import t
from core.models import Evaluation, InterviewSession, Message, Report

# The demo account plus pseudo-candidates that exist only as session owners (no login).
DEMO_OWNERS: dict[str, str] = {
    "candidate": "李小明", "demo_li": "李华", "demo_wang": "王芳", "demo_zhang": "张伟", "demo_chen": "陈静",
    "demo_liu": "刘洋",
}
# Sessions of these owners mark the demo data as present (the "candidate" account may have real sessions too).
MARKER_OWNERS = tuple(owner for owner in DEMO_OWNERS if owner.startswith("demo_"))
# How good each candidate tends to be (0 weak … 1 strong); every session adds its own noise.
SKILL = {"candidate": 0.6, "demo_li": 0.85, "demo_wang": 0.7, "demo_zhang": 0.35, "demo_chen": 0.55, "demo_liu": 0.2}
POSITIONS: dict[str, tuple[str, ...]] = {
    "前端开发": ("React前端开发工程师", "Vue前端工程师", "前端开发实习生"),
    "后端开发": ("Java后端开发工程师", "Go后端工程师", "Python后端开发工程师"),
    "数据分析": ("数据分析师", "商业数据分析师", "数据分析实习生"),
    "产品管理": ("产品经理", "B端产品经理", "产品助理"),
    "人工智能": ("算法工程师", "机器学习工程师", "NLP算法工程师"),
    "测试开发": ("测试开发工程师", "自动化测试工程师"),
    "运维/DevOps": ("运维开发工程师", "SRE工程师"),
    "通用": ("管理培训生", "项目助理"),
}
FIELD_WEIGHTS = {"前端开发": 5, "后端开发": 4, "数据分析": 4, "产品管理": 2, "人工智能": 3, "测试开发": 1,
                 "运维/DevOps": 1, "通用": 1}
OUTCOMES = {"complete": 0.55, "abandon": 0.25, "end_early": 0.2}
DAYS_BACK = 29  # inside the analytics page's default range (the last 30 days)
MAX_TURNS = 40


class DemoRefused(RuntimeError):
    """DEMO_MODE is off and --force was not given."""


# What a seeding run did.
@dataclass(frozen=True)
class SeedResult:
    created: int
    existing: int

    @property
    def skipped(self) -> bool:
        return self.created == 0 and self.existing > 0


# One planned demo interview: who, for what, how well, and how it ends.
@dataclass(frozen=True)
class Scenario:
    owner: str
    info: dict
    skill: float
    outcome: str
    stop_after: int  # candidate turns before abandoning or ending early
    start: datetime


def count_demo_sessions(*, engine: Engine) -> int:
    with session_scope(engine) as db:
        return db.execute(
            select(func.count()).select_from(InterviewSession).where(InterviewSession.owner.in_(list(DEMO_OWNERS)))
        ).scalar_one()


def demo_present(*, engine: Engine) -> bool:
    with session_scope(engine) as db:
        return db.execute(
            select(InterviewSession.id).where(InterviewSession.owner.in_(MARKER_OWNERS)).limit(1)
        ).first() is not None


def seed_demo(*, engine: Engine, count: int = 48, force: bool = False, seed: int = 2024,
              settings: Settings | None = None, now: datetime | None = None) -> SeedResult:
    """Add `count` demo interviews unless demo data is already there; refuses outside demo mode unless forced."""
    settings = settings or get_settings()
    if not settings.DEMO_MODE and not force:
        raise DemoRefused(t("analytics.demo_refused", "zh-CN"))
    if demo_present(engine=engine):
        return SeedResult(created=0, existing=count_demo_sessions(engine=engine))
    # Always the offline interviewer: seeding must not call (or pay for) a model.
    offline = settings.model_copy(
        update={"INTERVIEWER_MODEL": "", "MAX_SESSIONS_PER_USER": max(settings.MAX_SESSIONS_PER_USER, count)})
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    for scenario in plan_scenarios(count, rng, now):
        play(scenario, engine=engine, settings=offline, rng=rng, now=now)
    return SeedResult(created=count, existing=0)


def plan_scenarios(count: int, rng: random.Random, now: datetime) -> list[Scenario]:
    owners = list(DEMO_OWNERS)
    fields, weights = list(FIELD_WEIGHTS), list(FIELD_WEIGHTS.values())
    scenarios = []
    for i in range(count):
        # Every owner (and so the idempotency marker) appears within the first len(owners) sessions.
        owner = owners[i] if i < len(owners) else rng.choice(owners)
        field = rng.choices(fields, weights)[0]
        language = "en" if rng.random() < 0.15 else "zh-CN"
        outcome = rng.choices(list(OUTCOMES), list(OUTCOMES.values()))[0]
        day = now - timedelta(days=rng.uniform(0, DAYS_BACK))
        # Practice happens 09:00–23:00 Beijing time (01:00–15:00 UTC).
        start = day.replace(hour=rng.randint(1, 14), minute=rng.randint(0, 59), second=rng.randint(0, 59))
        scenarios.append(Scenario(
            owner=owner,
            info={"candidate_name": DEMO_OWNERS[owner], "target_position": rng.choice(POSITIONS[field]),
                  "field": field, "level": rng.choices(("junior", "mid", "senior"), (5, 4, 2))[0],
                  "language": language},
            skill=min(1.0, max(0.0, SKILL[owner] + rng.uniform(-0.2, 0.2))),
            outcome=outcome,
            stop_after=rng.randint(0, 4) if outcome == "abandon" else rng.randint(2, 7),
            start=start,
        ))
    return scenarios


def play(scenario: Scenario, *, engine: Engine, settings: Settings, rng: random.Random, now: datetime) -> str:
    """One interview through the real service; returns its session id."""
    from core.interviewer.turns import end_interview, run_turn, start_interview
    from core.interviewer.workflow import current_item

    started = start_interview(owner=scenario.owner, info=scenario.info, engine=engine, settings=settings)
    session_id, language = started.session.id, scenario.info["language"]
    for turn in range(MAX_TURNS):
        if scenario.outcome != "complete" and turn >= scenario.stop_after:
            break
        with session_scope(engine) as db:
            session = sessions.get_session(db=db, owner=scenario.owner, session_id=session_id)
            stage, item = session.interview_stage, current_item(session.plan or {}, session.state or {})
        answer = compose_answer(item or {}, stage, language, scenario.skill, rng, scenario.info["candidate_name"])
        result = None
        for event in run_turn(owner=scenario.owner, session_id=session_id, content=answer,
                              client_message_id=f"demo-{uuid.uuid4().hex[:12]}", engine=engine, settings=settings,
                              rate_limit=False):
            result = event  # TokenDelta pieces, then the TurnResult
        if result.is_complete:
            break
    if scenario.outcome == "end_early":
        end_interview(owner=scenario.owner, session_id=session_id, engine=engine, settings=settings)
    backdate(engine=engine, session_id=session_id, start=scenario.start, skill=scenario.skill, rng=rng, now=now)
    return session_id


def backdate(*, engine: Engine, session_id: str, start: datetime, skill: float, rng: random.Random,
             now: datetime) -> None:
    """Move a freshly played session back to `start`, with human-paced gaps between messages.

    This is the only direct write: the interview was played just now through the service, and an UPDATE of its
    timestamps (session, messages, evaluations, report) spreads the demo over the last weeks.
    """
    with session_scope(engine) as db:
        messages = db.execute(
            select(Message.id, Message.role).where(Message.session_id == session_id).order_by(Message.id)
        ).all()
        moments, moment = {}, start
        for message_id, role in messages:
            # Candidates take 40 s – 4 min to answer (stronger ones write more); the interviewer replies in seconds.
            gap = rng.uniform(40, 120 + 120 * skill) if role == "user" else rng.uniform(3, 15)
            moment = moment + timedelta(seconds=gap if moments else 0)
            moments[message_id] = moment
        shift = min(timedelta(0), now - timedelta(minutes=5) - moment)  # today's sessions must not end in the future
        moments = {mid: when + shift for mid, when in moments.items()}
        first, last = start + shift, max(moments.values(), default=start + shift)
        if moments:
            db.execute(update(Message), [{"id": mid, "created_at": when} for mid, when in moments.items()])
        evaluations = db.execute(
            select(Evaluation.id, Evaluation.message_id).where(Evaluation.session_id == session_id)
        ).all()
        if evaluations:
            db.execute(update(Evaluation), [
                {"id": eid, "created_at": moments.get(mid, last) + timedelta(seconds=2)} for eid, mid in evaluations
            ])
        db.execute(update(Report).where(Report.session_id == session_id)
                   .values(created_at=last + timedelta(seconds=5), updated_at=last + timedelta(seconds=5)))
        db.execute(update(InterviewSession).where(InterviewSession.id == session_id)
                   .values(created_at=first, last_activity=last))
        db.commit()


# --- the candidate's side: varied, plausible answers --------------------------------------------------------------

ZH = {
    "open_strong": ("我结合之前的项目经验来回答。", "这个问题我分几个方面说。", "好的，我先说结论，再展开讲细节。"),
    "open_mid": ("嗯，我理解的是这样的。", "我简单说一下我的理解。", "这个我在工作中接触过一些。"),
    "open_weak": ("这个我不是特别确定。", "嗯……我想一下。", "这部分我接触得比较少。"),
    "hello": ("面试官您好，我叫{name}。", "您好，我是{name}，很高兴参加这次面试。"),
    "first_point": ("首先是{point}，主要涉及{terms}。", "先说{point}，关键在于{terms}。"),
    "point": ("其次，{point}方面要注意{terms}。", "{point}这块，我会重点关注{terms}。",
              "另外，{point}也很重要，比如{terms}。"),
    "example": ("比如上一个项目里，我们把相关接口的耗时从 {a}ms 降到了 {b}ms。",
                "之前实习时我负责过类似的模块，上线后相关问题减少了大约 {p}%。",
                "我们团队当时有 {n} 个人，我主要负责其中核心的部分，最后按期上线。"),
    "star": ("当时的情况是项目临近上线、时间很紧，我的任务是协调前后端联调；我先拉了一个短会对齐优先级，"
             "再把问题拆成清单逐个跟进，最后提前一天完成上线，结果也得到了负责人的认可。",),
    "close_strong": ("总结一下，我会先定位问题，再结合数据验证方案。", "以上是我的理解，实际中还要结合业务场景权衡。"),
    "weak_tail": ("具体细节记不太清了。", "平时用得不多，只是大概了解。", "可能回答得不太完整。"),
    "empty": ("不知道", "这个不太会", "嗯"),
    "ask": ("请问这个岗位所在团队目前主要负责哪些业务？", "想了解一下新人入职后会有怎样的培养和带教机制？",
            "请问团队现在的技术栈和研发流程是怎样的？"),
    "no_question": ("没有问题了，谢谢。", "暂时没有了，谢谢面试官。"),
    "wrap": ("谢谢面试官，今天的交流让我收获很多，期待后续消息。", "好的，谢谢您的时间，我会继续补强薄弱的地方。"),
}
EN = {
    "open_strong": ("Let me answer from a recent project.", "I'll give the short answer first, then the details."),
    "open_mid": ("Sure, here is how I understand it.", "I have used this a bit at work."),
    "open_weak": ("I'm not completely sure.", "Hmm, let me think."),
    "hello": ("Hello, my name is {name}.", "Hi, I'm {name}, thanks for having me."),
    "first_point": ("First, {point}: it mostly comes down to {terms}.",
                    "Let me start with {point}: the key is {terms}."),
    "point": ("On {point}, the key is {terms}.", "Another thing is {point}, for example {terms}."),
    "example": ("In my last project we cut the API latency from {a} ms to {b} ms.",
                "During my internship I owned a similar module and incidents dropped by about {p}%.",
                "Our team had {n} people and I owned the core part; we shipped on time."),
    "star": ("The situation was a tight release; my task was to coordinate the integration. I set up a short daily "
             "sync, split the blockers into a checklist and followed each one, and as a result we shipped a day "
             "early.",),
    "close_strong": ("In short, I find the cause first and then validate the fix with data.",),
    "weak_tail": ("I don't remember the details.", "I haven't used it much."),
    "empty": ("no idea", "not sure", "pass"),
    "ask": ("Could you tell me what the team is working on right now?", "How do new joiners get onboarded?"),
    "no_question": ("No more questions, thank you.",),
    "wrap": ("Thank you for your time, I learned a lot today.",),
}


def compose_answer(item: dict, stage: str, language: str, skill: float, rng: random.Random, name: str = "") -> str:
    """A candidate's message for the current question: covers more key points, with examples, the stronger they are."""
    words = EN if language == "en" else ZH
    if stage == "candidate_questions":
        return rng.choice(words["ask"] if rng.random() < 0.4 + 0.5 * skill else words["no_question"])
    if stage == "wrap_up":
        return rng.choice(words["wrap"])
    quality = skill + rng.uniform(-0.25, 0.25)
    if quality < 0.12:
        return rng.choice(words["empty"])
    points = list(item.get("key_points") or [])
    rng.shuffle(points)
    covered = points[: max(0, round(len(points) * min(1.0, quality + 0.1)))]
    tone = "open_strong" if quality > 0.7 else "open_mid" if quality > 0.4 else "open_weak"
    parts = [rng.choice(words["hello"]).format(name=name) if stage == "self_intro" else rng.choice(words[tone])]
    for i, point in enumerate(covered):
        terms = list(point.get("synonyms") or [])[:4]
        chosen = rng.sample(terms, k=min(len(terms), 2 if quality > 0.5 else 1)) or [point.get("point", "")]
        joiner = " and " if language == "en" else "和"
        template = rng.choice(words["first_point" if i == 0 else "point"])
        parts.append(template.format(point=point.get("point", ""), terms=joiner.join(chosen)))
    if stage in ("project", "behavioral") and quality > 0.5:
        parts.append(words["star"][0])
    if quality > 0.45:
        parts.append(rng.choice(words["example"]).format(a=rng.randint(600, 1500), b=rng.randint(80, 400),
                                                         p=rng.randint(20, 60), n=rng.randint(3, 12)))
    parts.append(rng.choice(words["close_strong"] if quality > 0.7 else words["weak_tail"]))
    return (" " if language == "en" else "").join(parts)


# --- command line ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core.demo", description="Fill the database with demo interviews.")
    commands = parser.add_subparsers(dest="command", required=True)
    seed = commands.add_parser("seed", help="add demo interviews (once; does nothing when they already exist)")
    seed.add_argument("--force", action="store_true", help="seed even when DEMO_MODE is off")
    seed.add_argument("--sessions", type=int, default=48, help="how many interviews (default 48)")
    seed.add_argument("--seed", type=int, default=2024, help="random seed (default 2024)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from core.db import get_engine

    args = build_parser().parse_args(argv)
    if args.sessions < 1:
        print("--sessions must be at least 1", file=sys.stderr)
        return 2
    try:
        result = seed_demo(engine=get_engine(), count=args.sessions, force=args.force, seed=args.seed)
    except DemoRefused as exc:
        print(exc, file=sys.stderr)
        return 1
    key = "analytics.demo_exists" if result.skipped else "analytics.demo_done"
    print(t(key, "zh-CN", n=result.existing if result.skipped else result.created))
    return 0


if __name__ == "__main__":
    sys.exit(main())
