"""Status badge, icons, relative time and grouping: what every client shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.display import FIELD_ICONS, activity_group, field_icon, field_remix_icon, session_status
from core.i18n import relative_time, session_meta, t


@pytest.mark.parametrize(("count", "expected"), [(0, "刚开始"), (2, "刚开始"), (3, "进行中"), (9, "进行中"),
                                                 (10, "已完成"), (40, "已完成")])
def test_seed_count_rule_without_interview_state(count, expected):
    assert session_status(message_count=count).label() == expected


def test_real_state_refines_the_count_rule():
    assert session_status(message_count=30, is_complete=False, stage="technical").label() == "进行中"
    assert session_status(message_count=4, is_complete=True, stage="completed").label() == "已完成"
    assert session_status(message_count=1, is_complete=False, stage="self_intro").label() == "刚开始"
    assert session_status(message_count=1, is_complete=False, stage="self_intro").label("en") == "Just started"


def test_badge_colours_follow_the_seed():
    assert session_status(message_count=0).streamlit_colour == "yellow"
    assert session_status(message_count=5).background == "#dbeafe"  # bg-blue-100
    assert session_status(message_count=12).background == "#dcfce7"  # bg-green-100


@pytest.mark.parametrize(("field", "position", "material", "remix"), [
    ("前端开发", "", ":material/code:", "ri-code-line"),
    ("后端开发", "", ":material/dns:", "ri-server-line"),
    ("数据分析", "", ":material/bar_chart:", "ri-bar-chart-line"),
    ("产品管理", "", ":material/inventory_2:", "ri-product-hunt-line"),
    ("人工智能", "", ":material/smart_toy:", "ri-robot-line"),
    ("测试开发", "", ":material/bug_report:", "ri-bug-line"),
    ("运维/DevOps", "", ":material/cloud_sync:", "ri-cloud-line"),
    ("其他", "人力资源专员", ":material/work:", "ri-briefcase-line"),
])
def test_field_icons(field, position, material, remix):
    assert field_icon(field, position) == material
    assert field_remix_icon(field, position) == remix


def test_every_icon_is_a_material_name():
    assert all(m.startswith(":material/") and m.endswith(":") for m, _ in FIELD_ICONS.values())


def test_relative_time_and_meta_in_both_languages():
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert relative_time(now - timedelta(minutes=3), now=now) == "3分钟前"
    assert relative_time(now - timedelta(minutes=3), "en", now=now) == "3 minutes ago"
    assert relative_time(now - timedelta(seconds=20), now=now) == t("time.just_now")
    assert relative_time(now - timedelta(days=2), now=now) == "2天前"
    assert session_meta(8, 15) == "8条消息 • 15分钟"
    assert session_meta(1, 1, "en") == "1 message • 1 minute"
    assert session_meta(8, 15, "en") == "8 messages • 15 minutes"


def test_grouping_uses_the_viewers_calendar_day():
    now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert activity_group(now - timedelta(hours=1), now, "Asia/Shanghai") == "today"
    assert activity_group(datetime(2026, 11, 23, 15, 0, tzinfo=UTC), now, "Asia/Shanghai") == "yesterday"  # 23:00 local
    assert activity_group(datetime(2026, 11, 23, 17, 0, tzinfo=UTC), now, "Asia/Shanghai") == "today"  # 01:00 local
    assert activity_group(now - timedelta(days=4), now, "Asia/Shanghai") == "week"
    assert activity_group(now - timedelta(days=30), now, "Europe/Berlin") == "older"
    assert activity_group(now, now, "Not/AZone") == "today"
