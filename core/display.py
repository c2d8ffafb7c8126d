"""How a session is shown to every client: status badge, field icon, sidebar grouping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.i18n import t

DEFAULT_TIMEZONE = "Asia/Shanghai"  # our users are Chinese career centres

# (Material icon for Streamlit, the seed's Remix icon name for API clients)
FIELD_ICONS: dict[str, tuple[str, str]] = {
    "frontend": (":material/code:", "ri-code-line"),
    "backend": (":material/dns:", "ri-server-line"),
    "data": (":material/bar_chart:", "ri-bar-chart-line"),
    "product": (":material/inventory_2:", "ri-product-hunt-line"),
    "ai": (":material/smart_toy:", "ri-robot-line"),
    "qa": (":material/bug_report:", "ri-bug-line"),
    "devops": (":material/cloud_sync:", "ri-cloud-line"),
    "general": (":material/work:", "ri-briefcase-line"),
}

# Badge colours as in the seed: yellow / blue / green (hex for HTML, Streamlit colour names for st.badge).
STATUS_COLOURS = {
    "started": ("#854d0e", "#fef9c3", "yellow"),
    "in_progress": ("#1e40af", "#dbeafe", "blue"),
    "completed": ("#166534", "#dcfce7", "green"),
}


# A session's badge: a stable key, its label in a language, and its colours.
@dataclass(frozen=True)
class Status:
    key: str
    text_colour: str
    background: str
    streamlit_colour: str

    def label(self, lang: str = "zh-CN") -> str:
        return t(f"status.{self.key}", lang)


def session_status(*, message_count: int, is_complete: bool | None = None, stage: str | None = None) -> Status:
    """刚开始 / 进行中 / 已完成: from the interview state when there is one, else the seed's count rule."""
    return _STATUSES[status_key(message_count=message_count, is_complete=is_complete, stage=stage)]


def status_key(*, message_count: int, is_complete: bool | None = None, stage: str | None = None) -> str:
    """The key of session_status, without building the badge (a session list computes it for every row)."""
    if is_complete:
        return "completed"
    if stage:
        return "started" if message_count <= 2 else "in_progress"
    if message_count <= 2:
        return "started"
    return "in_progress" if message_count < 10 else "completed"


_STATUSES = {key: Status(key, *colours) for key, colours in STATUS_COLOURS.items()}


def field_key(field: str, target_position: str = "") -> str:
    """The question-bank key for a free-text field ('React前端' -> 'frontend'; unknown -> 'general')."""
    from core.interviewer.bank import load_banks

    return load_banks().field_key(field, target_position)


def field_icon(field: str, target_position: str = "") -> str:
    """Material icon name usable by Streamlit, e.g. ':material/code:'."""
    return FIELD_ICONS[field_key(field, target_position)][0]


def field_remix_icon(field: str, target_position: str = "") -> str:
    """The seed's Remix icon name, e.g. 'ri-code-line'."""
    return FIELD_ICONS[field_key(field, target_position)][1]


def activity_group(moment: datetime, now: datetime, tz: str | None = None) -> str:
    """Sidebar group key: today / yesterday / week / older, by calendar day in the viewer's time zone."""
    zone = time_zone(tz)
    days = (now.astimezone(zone).date() - moment.astimezone(zone).date()).days
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 7:
        return "week"
    return "older"


def time_zone(tz: str | None = None) -> ZoneInfo:
    """The IANA zone named `tz`; DEFAULT_TIMEZONE when it is missing or not a known zone."""
    try:
        return ZoneInfo(tz or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def duration_minutes(created_at: datetime, last_activity: datetime) -> int:
    return max(0, int((last_activity - created_at).total_seconds() // 60))
