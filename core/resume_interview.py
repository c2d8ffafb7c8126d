"""Interviewing from a resume: the plan names the candidate's own projects, probes the claims with numbers, and the
report says which claims the interview substantiated (简历声明核验).

`adapt_plan` rewrites the self-introduction and project questions of a plan built by the workflow (the technical
questions already lean toward the claimed skills through build_plan's ranking); `check_claims` reads the stored
evaluations of the claim questions. Nothing here decides a transition: the workflow does.
"""

from __future__ import annotations

from core.resume import ResumeParsed, ResumeProject, numbers_in

MAX_PROBED_CLAIMS = 3  # claims asked about in the interview; the report lists every claim with a number

# What an answer to "how did you measure it" should contain, with the words candidates use for each.
_CLAIM_POINTS = {
    "zh-CN": [
        {"point": "怎么测的",
         "synonyms": ["压测", "测出来", "测的", "测试", "监控", "埋点", "统计", "指标", "日志", "jmeter", "wrk",
                      "locust", "grafana", "prometheus", "ab 测试", "a/b", "灰度", "采样", "对照组", "基准测试",
                      "benchmark", "看板", "报表"],
         "ask": "这个数字具体是用什么方法、什么工具测出来的？",
         "model": "我们用 JMeter 在预发环境按线上流量模型压测，改造前后各跑三轮取平均，"
                  "同时对照 Prometheus 的线上监控。"},
        {"point": "对比的基线", "synonyms": ["之前", "原来", "改造前", "优化前", "基线", "对比", "从", "降到", "提升到",
                                         "同样的", "相同条件", "前后"],
         "ask": "提升是和什么比的？改造前的基线是多少，测试条件一样吗？",
         "model": "基线是改造前同一套机器、同样并发下的结果：原来单机大约 2000 QPS，改造后 6000 左右。"},
        {"point": "瓶颈在哪",
         "synonyms": ["瓶颈", "定位", "火焰图", "慢查询", "排查", "卡在", "热点", "锁", "cpu", "io", "连接池", "profil",
                      "分析发现", "耗时主要"],
         "ask": "当时的瓶颈在哪里，你是怎么定位到的？",
         "model": "用火焰图和慢查询日志定位到瓶颈在库存扣减的行锁上，大量请求排队等同一行。"},
        {"point": "你做了什么",
         "synonyms": ["我负责", "我做", "我设计", "我提出", "我改", "引入", "改成", "拆分", "缓存", "异步", "批量",
                      "索引", "重构", "优化"],
         "ask": "这个提升里，具体哪一部分是你做的？",
         "model": "我把库存预扣挪到 Redis 里用 Lua 脚本原子扣减，下单改成写 Kafka 异步落库。"},
    ],
    "en": [
        {"point": "how it was measured", "synonyms": ["load test", "benchmark", "measured", "monitoring", "metrics",
                                                      "dashboard", "jmeter", "wrk", "locust", "k6", "grafana",
                                                      "prometheus", "a/b test", "experiment", "logs", "tracked",
                                                      "control group", "sampled"],
         "ask": "What method and which tools did you use to measure that number?",
         "model": "We load-tested staging with JMeter using a replay of production traffic, three runs before and "
                  "after, and checked it against the Prometheus dashboards in production."},
        {"point": "the baseline", "synonyms": ["before", "baseline", "compared", "previously", "originally",
                                               "same conditions", "from", "went from", "used to"],
         "ask": "What was it compared with? What was the baseline, under the same conditions?",
         "model": "The baseline was the old code on the same hardware at the same concurrency: about 2,000 requests "
                  "per second per node before, about 6,000 after."},
        {"point": "the bottleneck", "synonyms": ["bottleneck", "profil", "flame graph", "slow query", "contention",
                                                 "lock", "cpu", "i/o", "connection pool", "hot spot", "traced",
                                                 "turned out"],
         "ask": "Where was the bottleneck, and how did you find it?",
         "model": "Flame graphs and the slow-query log showed the time went into row locks on the stock table."},
        {"point": "your part", "synonyms": ["i built", "i designed", "i moved", "i changed", "i wrote", "i proposed",
                                            "introduced", "cache", "async", "batch", "index", "rewrote",
                                            "refactored", "optimized"],
         "ask": "Which part of that improvement was your own work?",
         "model": "I moved the stock reservation into Redis with an atomic Lua script and made order writes "
                  "asynchronous through Kafka."},
    ],
}

_PROJECT_POINTS = {
    "zh-CN": [
        {"point": "项目背景", "synonyms": ["背景", "目标", "业务", "场景", "为了", "用户", "需求"],
         "ask": "这个项目当时要解决什么业务问题？", "model": "项目是为了解决大促时下单接口被打垮的问题。"},
        {"point": "个人职责", "synonyms": ["负责", "主导", "我做", "我设计", "我写", "我的角色", "牵头"],
         "ask": "这个项目里你自己具体负责哪一块？", "model": "我负责下单链路的设计和核心代码。"},
        {"point": "技术方案", "synonyms": ["方案", "架构", "选型", "设计", "为什么用", "引入", "实现"],
         "ask": "技术方案是怎么设计的，为什么这样选？", "model": "我们选了 Redis 做库存预扣，因为它的原子操作够快。"},
        {"point": "难点与结果", "synonyms": ["难点", "挑战", "问题", "解决", "结果", "提升", "上线", "效果"],
         "ask": "做下来最难的地方是什么，最后效果怎么样？", "model": "最难的是超卖问题，最后大促零超卖。"},
    ],
    "en": [
        {"point": "context", "synonyms": ["background", "goal", "business", "users", "needed", "problem", "because"],
         "ask": "What business problem was the project meant to solve?",
         "model": "The project existed because the order API fell over during big sales."},
        {"point": "your role", "synonyms": ["responsible", "i led", "i built", "i designed", "i wrote", "owned",
                                           "my part", "my role"],
         "ask": "Which part of the project was yours?", "model": "I owned the design and the core of the order path."},
        {"point": "technical approach", "synonyms": ["architecture", "design", "chose", "approach", "implemented",
                                                     "trade-off", "why we"],
         "ask": "How was it designed, and why that way?",
         "model": "We chose Redis for stock reservation because its atomic operations are fast enough."},
        {"point": "challenge and outcome", "synonyms": ["challenge", "difficult", "hardest", "solved", "result",
                                                        "improved", "launched", "impact"],
         "ask": "What was the hardest part, and how did it turn out?",
         "model": "The hardest part was overselling; after the launch we had none during the sale."},
    ],
}


def _item(item_id: str, stage: str, question: str, key_points: list[dict], follow_ups: list[str],
          simpler: str | None, tags: list[str]) -> dict:
    return {"id": item_id, "stage": stage, "level": "any", "question": question,
            "key_points": [{**p, "synonyms": list(p["synonyms"])} for p in key_points], "tags": tags,
            "follow_ups": follow_ups, "simpler": simpler, "misconceptions": []}


def _claim_phrase(claim: str, language: str) -> str:
    """The part of a claim to quote back: in Chinese its clause with the number ("QPS 提升 3 倍"), in English the
    whole statement (its clauses rarely stand alone)."""
    numbers = numbers_in(claim)
    phrase = numbers[0] if numbers and language == "zh-CN" else claim
    return phrase.strip(" 。.，,")[:160]


def claim_question(project: ResumeProject, claim: str, language: str) -> str:
    """"你在简历里写了秒杀系统 QPS 提升 3 倍，这个数是怎么测出来的？" — one question, naturally phrased."""
    phrase = _claim_phrase(claim, language)
    if language == "zh-CN":
        subject = "" if project.name in phrase else project.name
        gap = " " if subject and phrase[:1].isascii() else ""
        return (f"你在简历里写了{subject}{gap}{phrase}，这个数是怎么测出来的？"
                "和什么做的对比，当时的瓶颈又在哪里？")
    return (f'On {project.name}, your resume says: "{phrase}". How did you measure that, what was it compared '
            "with, and where was the bottleneck?")


def self_intro_question(parsed: ResumeParsed, language: str) -> str:
    names = [p.name for p in parsed.projects[:2]]
    if language == "zh-CN":
        listed = "和".join(f"“{n}”" for n in names)
        which = "这两个项目" if len(names) > 1 else "这个项目"
        return (f"请先做个简单的自我介绍。我看了你的简历，里面有{listed}{which}，"
                "介绍时可以重点讲讲其中一个你最有把握的。")
    listed = " and ".join(f'"{n}"' for n in names)
    return (f"Please start with a short introduction. I've read your resume: it mentions {listed}. As you "
            "introduce yourself, pick the one you know best and tell me a bit about it.")


def _self_intro_item(parsed: ResumeParsed, language: str) -> dict:
    """The built-in self-introduction's key points (education, work, strengths) plus the resume's projects."""
    from core.interviewer.workflow import builtin_item

    base = builtin_item("self_intro", language)
    names = [p.name for p in parsed.projects[:4]]
    project_point = {"point": "代表项目" if language == "zh-CN" else "a project of their own",
                     "synonyms": [*names, *(["项目", "负责", "做过"] if language == "zh-CN" else
                                           ["project", "built", "worked on"])],
                     "ask": (f"能具体讲讲“{names[0]}”吗？" if language == "zh-CN"
                             else f'Could you tell me a little more about "{names[0]}"?'),
                     "model": None}
    simpler = ("简单说说你现在在做什么、最拿手的是哪一块就好。" if language == "zh-CN"
               else "Just tell me what you work on now and what you are best at.")
    return _item("resume-intro-1", "self_intro", self_intro_question(parsed, language),
                 [*base["key_points"], project_point], [], simpler, [])


def project_question(project: ResumeProject, language: str) -> str:
    role = project.role
    if language == "zh-CN":
        as_role = f"你在里面是{role}，" if role else ""
        return (f"我们聊聊你简历里的“{project.name}”。{as_role}先讲讲这个项目要解决什么问题、你具体负责哪部分，"
                "以及做下来最难的地方。")
    as_role = f"You were {role} there. " if role else ""
    return (f'Let\'s talk about "{project.name}" from your resume. {as_role}What problem did it solve, which part '
            "was yours, and what was the hardest part?")


def _stack_point(project: ResumeProject, language: str) -> list[dict]:
    if not project.stack:
        return []
    if language == "zh-CN":
        return [{"point": "用到的技术", "synonyms": project.stack[:12],
                 "ask": f"你简历里写了{'、'.join(project.stack[:3])}，为什么选它们？", "model": None}]
    return [{"point": "the stack", "synonyms": project.stack[:12],
             "ask": f"Your resume lists {', '.join(project.stack[:3])}. Why those?", "model": None}]


def adapt_plan(plan: dict, parsed: ResumeParsed, language: str) -> dict:
    """The plan with its self-introduction naming the candidate's projects, its project questions about their own
    projects, and a question on the claim with a number (the first one; more become follow-ups). A resume without
    projects changes nothing."""
    if not parsed.projects:
        return plan
    lang = "zh-CN" if language == "zh-CN" else "en"
    items = [dict(item) for item in plan.get("items") or []]
    claims = parsed.claims_with_numbers()[:MAX_PROBED_CLAIMS]
    replacements: list[dict] = []
    first = parsed.projects[0] if not claims else claims[0][0]
    replacements.append(_item("resume-project-1", "project", project_question(first, lang),
                              _PROJECT_POINTS[lang] + _stack_point(first, lang),
                              [claim_question(p, c, lang) for p, c in claims[1:]], None, first.stack[:8]))
    if claims:
        project, claim = claims[0]
        replacements.append(_item("resume-claim-1", "project", claim_question(project, claim, lang),
                                  _CLAIM_POINTS[lang], [], None, project.stack[:8]))
    elif len(parsed.projects) > 1:
        other = parsed.projects[1]
        replacements.append(_item("resume-project-2", "project", project_question(other, lang),
                                  _PROJECT_POINTS[lang] + _stack_point(other, lang), [], None, other.stack[:8]))
    project_slots = [i for i, item in enumerate(items) if item["stage"] == "project"]
    for slot, replacement in zip(project_slots, replacements, strict=False):
        items[slot] = replacement
    for i, item in enumerate(items):
        if item["stage"] == "self_intro":
            items[i] = _self_intro_item(parsed, lang)
            break
    probed = {c for _, c in claims}
    resume_info = {
        "projects": [p.name for p in parsed.projects],
        "skills": parsed.skills[:20],
        "claims": [{"project": p.name, "claim": c, "numbers": numbers_in(c),
                    "question_id": "resume-claim-1" if claims and c == claims[0][1] else
                    ("resume-project-1" if c in probed else None)}
                   for p, c in parsed.claims_with_numbers()],
    }
    return {**plan, "items": items, "resume": resume_info}


# -- the report's 简历声明核验 --------------------------------------------------------------------------------------


def _point_status(points: list[dict], names: tuple[str, ...]) -> bool:
    return any(p.get("point") in names and p.get("status") == "covered" for p in points)


def check_claims(plan: dict, answers: dict[str, list[str]], evaluations: dict[str, list[dict]],
                 language: str) -> list[dict]:
    """Each claim with a number: substantiated when the candidate explained how it was measured and against what
    (or where the bottleneck was), with their own words as evidence; otherwise not, with the reason."""
    info = plan.get("resume") or {}
    zh = language == "zh-CN"
    method = ("怎么测的", "how it was measured")
    support = ("对比的基线", "瓶颈在哪", "the baseline", "the bottleneck")
    results = []
    for claim in info.get("claims") or []:
        qid = claim.get("question_id")
        said = answers.get(qid or "", [])
        rows = evaluations.get(qid or "", [])
        points = (rows[-1].get("points") or []) if rows else []
        if qid == "resume-claim-1" and said:
            ok = _point_status(points, method) and _point_status(points, support)
            evidence = [q for p in points if p.get("status") == "covered" and p.get("point") in method + support
                        for q in (p.get("evidence") or [])][:2]
            reason = "" if ok else ("回答没有说清这个数是怎么测的、和什么比" if zh else
                                    "the answer did not say how the number was measured or against what")
        else:
            ok, evidence = _mentioned_with_method(claim, answers)
            reason = "" if ok else ("面试中没有谈到这条声明的测量方法" if zh else
                                    "the interview did not get to how this claim was measured")
        results.append({"project": claim.get("project", ""), "claim": claim.get("claim", ""),
                        "status": "substantiated" if ok else "not_substantiated", "reason": reason,
                        "evidence": evidence})
    return results


_METHOD_WORDS = ("压测", "测出来", "监控", "埋点", "基线", "对比", "benchmark", "load test", "measured", "baseline",
                 "compared", "a/b", "dashboard")


def _mentioned_with_method(claim: dict, answers: dict[str, list[str]]) -> tuple[bool, list[str]]:
    """A claim not asked about directly counts as substantiated when an answer states its number together with a
    way of measuring it, in the same sentence."""
    import re

    digits = [d for n in claim.get("numbers") or [] for d in re.findall(r"\d+(?:\.\d+)?", n)]
    for texts in answers.values():
        for text in texts:
            for sentence in re.split(r"(?<=[。！？.!?])\s*", text):
                lower = sentence.lower()
                if digits and any(d in sentence for d in digits) and any(w in lower for w in _METHOD_WORDS):
                    return True, [sentence.strip()]
    return False, []

