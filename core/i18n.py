"""The one catalogue of user-facing strings (zh-CN first, English) plus Babel-backed time formatting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from babel import Locale
from babel.dates import format_timedelta

from core.models import utcnow

LANGUAGES = {"zh-CN": "中文", "en": "English"}
_BABEL_LOCALES = {"zh-CN": "zh_Hans_CN", "en": "en"}

# key -> {language: text}. Plural entries are dicts keyed by Babel's plural category ("one", "other").
CATALOGUE: dict[str, dict[str, str | dict[str, str]]] = {
    "app.title": {"zh-CN": "职面星火", "en": "Zhimian Xinghuo"},
    "app.tagline": {"zh-CN": "AI 模拟面试练习", "en": "AI mock-interview practice"},
    "time.just_now": {"zh-CN": "刚刚", "en": "just now"},
    "count.messages": {"zh-CN": {"other": "{n}条消息"}, "en": {"one": "{n} message", "other": "{n} messages"}},
    "meta.separator": {"zh-CN": " • ", "en": " • "},
    "status.started": {"zh-CN": "刚开始", "en": "Just started"},
    "status.in_progress": {"zh-CN": "进行中", "en": "In progress"},
    "status.completed": {"zh-CN": "已完成", "en": "Completed"},
    "stage.welcome": {"zh-CN": "开场", "en": "Welcome"},
    "stage.self_intro": {"zh-CN": "自我介绍", "en": "Self-introduction"},
    "stage.technical": {"zh-CN": "专业技术", "en": "Technical"},
    "stage.project": {"zh-CN": "项目经历", "en": "Projects"},
    "stage.behavioral": {"zh-CN": "行为情景", "en": "Behavioural"},
    "stage.candidate_questions": {"zh-CN": "反问", "en": "Your questions"},
    "stage.wrap_up": {"zh-CN": "总结", "en": "Wrap-up"},
    "stage.completed": {"zh-CN": "已结束", "en": "Finished"},
    "level.junior": {"zh-CN": "初级", "en": "Junior"},
    "level.mid": {"zh-CN": "中级", "en": "Mid-level"},
    "level.senior": {"zh-CN": "高级", "en": "Senior"},
    "group.today": {"zh-CN": "今天", "en": "Today"},
    "group.yesterday": {"zh-CN": "昨天", "en": "Yesterday"},
    "group.week": {"zh-CN": "近7天", "en": "Last 7 days"},
    "group.older": {"zh-CN": "更早", "en": "Older"},
    "dimension.knowledge": {"zh-CN": "专业知识", "en": "Expertise"},
    "dimension.communication": {"zh-CN": "表达沟通", "en": "Communication"},
    "dimension.logic": {"zh-CN": "逻辑思维", "en": "Logical thinking"},
    "dimension.project": {"zh-CN": "项目经验", "en": "Project experience"},
    "dimension.fit": {"zh-CN": "岗位匹配", "en": "Role fit"},
    "error.session_not_found": {"zh-CN": "会话不存在或已被删除", "en": "Session not found or deleted"},
    # --- app pages (keys "app.*", "login.*", "sidebar.*", "chat.*", "new.*", "report.*") ---
    # --- end app pages ---
    # --- analytics page (keys "analytics.*") ---
    # --- end analytics page ---
}


def t(key: str, lang: str = "zh-CN", **values) -> str:
    """The text for `key` in `lang` (English falls back to Chinese, unknown keys show the key)."""
    entry = CATALOGUE.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry["zh-CN"]
    if isinstance(text, dict):
        category = Locale.parse(_BABEL_LOCALES.get(lang, "zh_Hans_CN")).plural_form(values.get("n", 0))
        text = text.get(category) or text["other"]
    return text.format(**values) if values else text


def relative_time(moment: datetime, lang: str = "zh-CN", now: datetime | None = None) -> str:
    """'3分钟前' / '3 minutes ago' for a UTC moment (aware, or naive meaning UTC)."""
    moment, now = _aware(moment), _aware(now or utcnow())
    delta = now - moment
    if delta < timedelta(minutes=1):
        return t("time.just_now", lang)
    return format_timedelta(-delta, add_direction=True, threshold=1.0, locale=_BABEL_LOCALES.get(lang, "zh_Hans_CN"))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_duration(minutes: int, lang: str = "zh-CN") -> str:
    """'15分钟' / '15 minutes', rounded by Babel to the largest sensible unit."""
    return format_timedelta(
        timedelta(minutes=max(0, minutes)), threshold=1.0, granularity="minute",
        locale=_BABEL_LOCALES.get(lang, "zh_Hans_CN"),
    )


def session_meta(message_count: int, duration_minutes: int, lang: str = "zh-CN") -> str:
    """The card's second line: '8条消息 • 15分钟'."""
    count = t("count.messages", lang, n=message_count)
    return count + t("meta.separator", lang) + format_duration(duration_minutes, lang)
