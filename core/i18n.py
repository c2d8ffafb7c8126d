"""The one catalogue of user-facing strings (zh-CN first, English) plus Babel-backed time formatting."""

from __future__ import annotations

from datetime import datetime, timedelta

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
    "app.language": {"zh-CN": "语言", "en": "Language"},
    "app.session_rejected": {
        "zh-CN": "链接中的会话不存在、已被删除或不属于当前账号，已为你打开其他会话。",
        "en": "The session in the link does not exist, was deleted or is not yours; another one was opened instead.",
    },
    "nav.chat": {"zh-CN": "面试对话", "en": "Interview"},
    "nav.new": {"zh-CN": "新建面试", "en": "New interview"},
    "nav.report": {"zh-CN": "面试报告", "en": "Report"},
    "nav.analytics": {"zh-CN": "数据分析", "en": "Analytics"},
    "role.candidate": {"zh-CN": "求职者", "en": "Candidate"},
    "role.staff": {"zh-CN": "就业指导老师", "en": "Career staff"},
    "role.analyst": {"zh-CN": "数据分析员", "en": "Analyst"},
    "login.page_title": {"zh-CN": "登录", "en": "Sign in"},
    "login.tab_login": {"zh-CN": "登录", "en": "Sign in"},
    "login.tab_register": {"zh-CN": "注册", "en": "Register"},
    "login.form_title": {"zh-CN": "登录账号", "en": "Sign in to your account"},
    "login.username": {"zh-CN": "用户名", "en": "Username"},
    "login.password": {"zh-CN": "密码", "en": "Password"},
    "login.role": {"zh-CN": "角色", "en": "Role"},
    "login.submit": {"zh-CN": "登录", "en": "Sign in"},
    "login.demo_title": {"zh-CN": "演示模式", "en": "Demo mode"},
    "login.demo_body": {
        "zh-CN": "当前运行在演示模式下，可用以下演示账号登录。演示数据仅供体验，请勿输入真实的个人信息。",
        "en": "This app runs in demo mode: sign in with one of these demo accounts. Do not enter real personal data.",
    },
    "login.err_empty": {"zh-CN": "请输入用户名和密码。", "en": "Enter your username and password."},
    "login.err_wrong": {"zh-CN": "用户名或密码错误。", "en": "Incorrect username or password."},
    "login.err_locked": {
        "zh-CN": "该账号登录失败次数过多，请 15 分钟后再试。",
        "en": "Too many failed sign-ins for this account. Try again in 15 minutes.",
    },
    "login.register_title": {"zh-CN": "注册求职者账号", "en": "Create a candidate account"},
    "login.first_name": {"zh-CN": "名", "en": "First name"},
    "login.last_name": {"zh-CN": "姓", "en": "Last name"},
    "login.email": {"zh-CN": "邮箱", "en": "Email"},
    "login.repeat_password": {"zh-CN": "确认密码", "en": "Repeat password"},
    "login.register_submit": {"zh-CN": "注册", "en": "Register"},
    "login.registered": {
        "zh-CN": "注册成功！现在可以用 {username} 登录。", "en": "Registered! You can now sign in as {username}.",
    },
    "login.password_rules": {
        "zh-CN": "密码需为 8–20 位，并包含大写字母、小写字母、数字和特殊字符（如 !@#$%）。",
        "en": "8–20 characters with an upper-case letter, a lower-case letter, a digit and a symbol "
              "(e.g. !@#$%).",
    },
    "login.err_first_name": {"zh-CN": "请填写名（最多 60 个字符）。",
                             "en": "Enter a first name (up to 60 characters)."},
    "login.err_last_name": {"zh-CN": "请填写姓（最多 60 个字符）。", "en": "Enter a last name (up to 60 characters)."},
    "login.err_email": {"zh-CN": "邮箱格式不正确。", "en": "That email address is not valid."},
    "login.err_username": {
        "zh-CN": "用户名只能包含字母、数字、下划线和连字符（1–20 位）。",
        "en": "Usernames use letters, digits, _ and - (1–20 characters).",
    },
    "login.err_taken": {"zh-CN": "该用户名或邮箱已被注册。", "en": "That username or email is already registered."},
    "login.err_password_mismatch": {"zh-CN": "两次输入的密码不一致。", "en": "The passwords do not match."},
    "login.err_password_empty": {"zh-CN": "请输入并确认密码。", "en": "Enter and repeat a password."},
    "login.err_password_weak": {
        "zh-CN": "密码强度不足：需为 8–20 位，并包含大写字母、小写字母、数字和特殊字符。",
        "en": "Password too weak: 8–20 characters with upper- and lower-case letters, a digit and a symbol.",
    },
    "sidebar.new": {"zh-CN": "新建面试", "en": "New interview"},
    "sidebar.empty": {
        "zh-CN": "还没有面试记录，点击“新建面试”开始练习。", "en": "No interviews yet: start one with “New interview”.",
    },
    "sidebar.search": {"zh-CN": "搜索会话", "en": "Search sessions"},
    "sidebar.search_placeholder": {"zh-CN": "按标题搜索…", "en": "Search by title…"},
    "sidebar.no_match": {"zh-CN": "没有匹配的会话。", "en": "No matching sessions."},
    "sidebar.more": {"zh-CN": "显示更多（还有 {n} 个）", "en": "Show more ({n} left)"},
    "sidebar.open_help": {"zh-CN": "打开此会话", "en": "Open this session"},
    "sidebar.delete": {"zh-CN": "删除会话", "en": "Delete session"},
    "sidebar.delete_title": {"zh-CN": "删除会话", "en": "Delete session"},
    "sidebar.delete_body": {
        "zh-CN": "确定删除「{title}」吗？对话记录和报告将一并删除，且无法恢复。",
        "en": "Delete “{title}”? Its messages and report are deleted too. This cannot be undone.",
    },
    "sidebar.delete_confirm": {"zh-CN": "删除", "en": "Delete"},
    "sidebar.cancel": {"zh-CN": "取消", "en": "Cancel"},
    "sidebar.deleted": {"zh-CN": "会话已删除", "en": "Session deleted"},
    "sidebar.signed_in_as": {"zh-CN": "{name}（{roles}）", "en": "{name} ({roles})"},
    "sidebar.logout": {"zh-CN": "退出登录", "en": "Sign out"},
    "sidebar.role_separator": {"zh-CN": "、", "en": ", "},
    "field.frontend": {"zh-CN": "前端开发", "en": "Front-end"},
    "field.backend": {"zh-CN": "后端开发", "en": "Back-end"},
    "field.data": {"zh-CN": "数据分析", "en": "Data analysis"},
    "field.product": {"zh-CN": "产品管理", "en": "Product management"},
    "field.ai": {"zh-CN": "人工智能", "en": "AI"},
    "field.qa": {"zh-CN": "测试开发", "en": "QA / testing"},
    "field.devops": {"zh-CN": "运维/DevOps", "en": "Ops / DevOps"},
    "field.general": {"zh-CN": "通用", "en": "General"},
    "field.other": {"zh-CN": "其他（在右侧填写）", "en": "Other (type it on the right)"},
    "new.title": {"zh-CN": "新建模拟面试", "en": "New mock interview"},
    "new.subtitle": {
        "zh-CN": "AI 面试官会按 开场 → 自我介绍 → 专业技术 → 项目经历 → 行为情景 → 反问 → 总结 的流程与你面试。",
        "en": "The AI interviewer goes through welcome → self-introduction → technical → projects → "
              "behavioural → your questions → wrap-up.",
    },
    "new.name": {"zh-CN": "姓名", "en": "Name"},
    "new.position": {"zh-CN": "目标岗位", "en": "Target position"},
    "new.position_placeholder": {"zh-CN": "例如：React前端开发工程师", "en": "e.g. React front-end engineer"},
    "new.field": {"zh-CN": "领域", "en": "Field"},
    "new.field_other": {"zh-CN": "其他领域（选择“其他”时填写）", "en": "Other field (when “Other” is chosen)"},
    "new.field_auto": {"zh-CN": "按目标岗位自动判断", "en": "Inferred from the target position"},
    "new.field_other_placeholder": {"zh-CN": "例如：嵌入式开发", "en": "e.g. Embedded systems"},
    "new.level": {"zh-CN": "级别", "en": "Level"},
    "new.language": {"zh-CN": "面试语言", "en": "Interview language"},
    "new.jd": {"zh-CN": "职位描述（可选）", "en": "Job description (optional)"},
    "new.jd_placeholder": {
        "zh-CN": "粘贴职位描述，面试官会参考它提问。", "en": "Paste the job description; the interviewer will use it.",
    },
    "new.submit": {"zh-CN": "开始面试", "en": "Start the interview"},
    "new.creating": {"zh-CN": "正在准备面试…", "en": "Preparing your interview…"},
    "new.err_limit": {"zh-CN": "面试会话数量已达上限。", "en": "You have reached the maximum number of sessions."},
    "new.err_invalid": {"zh-CN": "请检查填写的内容：", "en": "Please check what you entered:"},
    "new.err_position": {"zh-CN": "请填写目标岗位。", "en": "Enter the target position."},
    "chat.loading_history": {"zh-CN": "加载会话历史...", "en": "Loading the conversation..."},
    "chat.placeholder": {"zh-CN": "输入你的回答…", "en": "Type your answer…"},
    "chat.interrupted": {"zh-CN": "已中断", "en": "interrupted"},
    "chat.interrupted_note": {
        "zh-CN": "这条回复在生成过程中中断，内容不完整。", "en": "This reply was interrupted and is incomplete.",
    },
    "chat.retry": {"zh-CN": "重试", "en": "Retry"},
    "chat.err_llm": {"zh-CN": "AI 面试官暂时无法回复。", "en": "The AI interviewer could not reply."},
    "chat.err_code": {"zh-CN": "错误类型：{code}", "en": "Error type: {code}"},
    "chat.err_busy": {
        "zh-CN": "上一条回答仍在处理中，请稍候再试。",
        "en": "Your previous answer is still being processed; try again shortly.",
    },
    "chat.err_completed": {"zh-CN": "本场面试已结束，无法继续作答。", "en": "This interview has ended."},
    "chat.err_rate_limited": {
        "zh-CN": {"other": "回答发送得太频繁了，请 {n} 秒后再发送。"},
        "en": {"one": "You are answering faster than the interview allows: send it again in {n} second.",
               "other": "You are answering faster than the interview allows: send it again in {n} seconds."},
    },
    "chat.err_invalid": {"zh-CN": "无法发送：", "en": "Could not send:"},
    "chat.pending": {
        "zh-CN": "你的上一条回答还没有收到回复，点击“重试”让面试官回复。",
        "en": "Your last answer has no reply yet: press “Retry” to ask the interviewer again.",
    },
    "chat.end": {"zh-CN": "结束面试", "en": "End interview"},
    "chat.end_title": {"zh-CN": "结束面试", "en": "End the interview"},
    "chat.end_body": {
        "zh-CN": "确定现在结束面试吗？结束后不能继续作答，将根据已有回答生成报告。",
        "en": "End the interview now? You cannot answer any more; the report uses the answers so far.",
    },
    "chat.end_confirm": {"zh-CN": "结束面试", "en": "End interview"},
    "chat.ended": {"zh-CN": "面试已结束", "en": "Interview ended"},
    "chat.completed": {"zh-CN": "本场面试已结束。", "en": "This interview is over."},
    "chat.view_report": {"zh-CN": "查看面试报告", "en": "View the report"},
    "chat.no_session": {"zh-CN": "还没有面试，先新建一场吧。", "en": "No interview yet: start one below."},
    "chat.progress": {"zh-CN": "{stage} · {i}/{n}", "en": "{stage} · {i}/{n}"},
    "chat.details": {"zh-CN": "{field} · {level}", "en": "{field} · {level}"},
    "report.title": {"zh-CN": "面试报告", "en": "Interview report"},
    "report.overall": {"zh-CN": "综合得分", "en": "Overall score"},
    "report.dimensions": {"zh-CN": "各维度得分", "en": "Scores by dimension"},
    "report.dimension": {"zh-CN": "维度", "en": "Dimension"},
    "report.score": {"zh-CN": "得分", "en": "Score"},
    "report.summary": {"zh-CN": "总结", "en": "Summary"},
    "report.strengths": {"zh-CN": "优势", "en": "Strengths"},
    "report.improvements": {"zh-CN": "改进建议", "en": "To improve"},
    "report.per_question": {"zh-CN": "逐题反馈", "en": "Question by question"},
    "report.question_label": {"zh-CN": "第 {n} 题 · {stage} · {score}/5", "en": "Q{n} · {stage} · {score}/5"},
    "report.stage": {"zh-CN": "阶段", "en": "Stage"},
    "report.question": {"zh-CN": "问题", "en": "Question"},
    "report.your_answer": {"zh-CN": "你的回答", "en": "Your answer"},
    "report.evidence": {"zh-CN": "回答原文引用", "en": "Quoted from your answer"},
    "report.missed": {"zh-CN": "遗漏要点", "en": "Missed points"},
    "report.covered": {"zh-CN": "讲到的要点", "en": "Points you made"},
    "report.unclear": {"zh-CN": "没讲清楚的要点", "en": "Not clearly covered"},
    "report.misconception": {"zh-CN": "需要纠正的说法", "en": "A claim to correct"},
    "report.correction": {"zh-CN": "正确的理解", "en": "What is actually true"},
    "report.feedback": {"zh-CN": "点评", "en": "Feedback"},
    "report.better_answer": {"zh-CN": "参考回答", "en": "A stronger answer"},
    "report.regenerate": {"zh-CN": "重新生成", "en": "Regenerate"},
    "report.generate": {"zh-CN": "生成报告", "en": "Generate the report"},
    "report.generating": {"zh-CN": "正在生成报告…", "en": "Writing the report…"},
    "report.not_complete": {
        "zh-CN": "面试尚未结束，完成面试后即可查看报告。",
        "en": "The interview is not finished yet; the report comes after.",
    },
    "report.missing": {"zh-CN": "报告尚未生成。", "en": "The report has not been written yet."},
    "report.back_to_chat": {"zh-CN": "返回面试", "en": "Back to the interview"},
    "report.no_session": {"zh-CN": "请先打开或新建一场面试。", "en": "Open or start an interview first."},
    "report.download_md": {"zh-CN": "下载 Markdown", "en": "Download Markdown"},
    "report.download_json": {"zh-CN": "下载 JSON", "en": "Download JSON"},
    "report.downloads": {"zh-CN": "导出对话与报告", "en": "Export transcript and report"},
    "transcript.heading": {"zh-CN": "面试记录", "en": "Interview transcript"},
    "transcript.conversation": {"zh-CN": "对话", "en": "Conversation"},
    "transcript.interviewer": {"zh-CN": "面试官", "en": "Interviewer"},
    "transcript.candidate": {"zh-CN": "候选人", "en": "Candidate"},
    "transcript.started": {"zh-CN": "开始时间 (UTC)", "en": "Started (UTC)"},
    "transcript.stage": {"zh-CN": "当前阶段", "en": "Stage"},
    # --- end app pages ---
    # --- analytics page (keys "analytics.*") ---
    "analytics.title": {"zh-CN": "练习数据分析", "en": "Practice analytics"},
    "analytics.subtitle": {
        "zh-CN": "候选人以匿名编号显示；日期与时间按 {tz} 时区计。",
        "en": "Candidates appear under pseudonyms; dates and times are in the {tz} time zone.",
    },
    "analytics.forbidden": {
        "zh-CN": "此页面仅对就业指导老师和数据分析员开放。", "en": "This page is only for staff and analysts.",
    },
    "analytics.loading": {"zh-CN": "正在统计…", "en": "Counting…"},
    "analytics.empty": {"zh-CN": "所选范围内没有面试记录。", "en": "No interviews match these filters."},
    "analytics.filter_dates": {"zh-CN": "创建日期", "en": "Created between"},
    "analytics.filter_field": {"zh-CN": "领域", "en": "Field"},
    "analytics.filter_level": {"zh-CN": "级别", "en": "Level"},
    "analytics.filter_completed": {"zh-CN": "完成情况", "en": "Completion"},
    "analytics.all": {"zh-CN": "全部", "en": "All"},
    "analytics.completed_yes": {"zh-CN": "已完成", "en": "Completed"},
    "analytics.completed_no": {"zh-CN": "未完成", "en": "Not completed"},
    "analytics.metric_sessions": {"zh-CN": "面试场次", "en": "Interviews"},
    "analytics.metric_candidates": {"zh-CN": "候选人数", "en": "Candidates"},
    "analytics.metric_completion": {"zh-CN": "完成率", "en": "Completion rate"},
    "analytics.completion_help": {
        "zh-CN": "已结束的面试占比，含候选人提前结束的 {n} 场。",
        "en": "Share of interviews that ended, including {n} the candidate ended early.",
    },
    "analytics.metric_score": {"zh-CN": "平均得分", "en": "Mean score"},
    "analytics.metric_tokens": {"zh-CN": "Token 用量", "en": "Tokens"},
    "analytics.metric_cost": {"zh-CN": "模型费用 (USD)", "en": "LLM cost (USD)"},
    "analytics.chart_daily": {"zh-CN": "每日面试", "en": "Interviews per day"},
    "analytics.chart_fields": {"zh-CN": "各领域面试", "en": "Interviews by field"},
    "analytics.chart_funnel": {"zh-CN": "阶段漏斗", "en": "Stage funnel"},
    "analytics.chart_scores": {"zh-CN": "总分分布", "en": "Overall score distribution"},
    "analytics.chart_dimensions": {"zh-CN": "各维度平均分", "en": "Mean score per dimension"},
    "analytics.table_fields": {"zh-CN": "领域概览", "en": "Fields at a glance"},
    "analytics.table_sessions": {"zh-CN": "面试明细", "en": "Interviews"},
    "analytics.mean_duration": {"zh-CN": "平均时长（分钟）", "en": "Mean duration (min)"},
    "analytics.score": {"zh-CN": "得分", "en": "Score"},
    "analytics.export_hint": {
        "zh-CN": "导出当前筛选结果（CSV 可直接用 Excel 打开）。"
                 "时间戳为 UTC；created_date_local 为 {tz} 日期，与图表一致。",
        "en": "Export the filtered interviews (the CSV opens in Excel as is). Timestamps are UTC; "
              "created_date_local is the {tz} date the charts use.",
    },
    "analytics.download": {"zh-CN": "下载 {fmt}", "en": "Download {fmt}"},
    "analytics.cli_written": {"zh-CN": "已导出 {n} 场面试到 {path}", "en": "Exported {n} interviews to {path}"},
    "analytics.demo_refused": {
        "zh-CN": "DEMO_MODE 未开启：拒绝写入演示数据（确需写入请加 --force）。",
        "en": "DEMO_MODE is off: refusing to add demo data (use --force to add it anyway).",
    },
    "analytics.demo_exists": {
        "zh-CN": "演示数据已存在（{n} 场演示面试），未做任何改动。",
        "en": "Demo data already present ({n} demo interviews); nothing changed.",
    },
    "analytics.demo_done": {"zh-CN": "已创建 {n} 场演示面试。", "en": "Created {n} demo interviews."},
    # --- end analytics page ---
    # --- interviewer errors and thinking indicator (LLM area: core/interviewer/errors.py, ui/thinking.py) ---
    "interviewer_error.timeout": {
        "zh-CN": "模型服务响应超时。你的回答已保存，点击重试即可继续。",
        "en": "The AI interviewer took too long to answer. Your answer is saved: press Retry to carry on.",
    },
    "interviewer_error.rate_limited": {
        "zh-CN": "模型服务当前请求过多。你的回答已保存，请稍等几秒后点击重试。",
        "en": "The AI service is busy right now. Your answer is saved: wait a few seconds, then press Retry.",
    },
    "interviewer_error.upstream_error": {
        "zh-CN": "模型服务暂时不可用。你的回答已保存，点击重试即可继续。",
        "en": "The AI service is unavailable at the moment. Your answer is saved: press Retry to carry on.",
    },
    "interviewer_error.stream_interrupted": {
        "zh-CN": "面试官的回复中途断开了。你的回答已保存，点击重试会重新生成这条回复。",
        "en": "The interviewer's reply was cut off. Your answer is saved: press Retry for a fresh reply.",
    },
    "interviewer_error.invalid_output": {
        "zh-CN": "模型这次给出的内容无法使用。你的回答已保存，点击重试即可。",
        "en": "The model's answer could not be used this time. Your answer is saved: press Retry.",
    },
    "interviewer_error.auth": {
        "zh-CN": "AI 面试官的模型配置有误，暂时无法使用。请联系就业指导老师或管理员。",
        "en": "The AI interviewer is not set up correctly. Please tell your career adviser or an administrator.",
    },
    "interviewer_error.bad_request": {
        "zh-CN": "AI 面试官的模型配置有误，暂时无法使用。请联系就业指导老师或管理员。",
        "en": "The AI interviewer is not set up correctly. Please tell your career adviser or an administrator.",
    },
    "interviewer_error.busy": {
        "zh-CN": "这条回复等待过久，已由另一个窗口接手。请刷新页面查看最新对话。",
        "en": "This reply took too long and another window took over. Reload the page to see the conversation.",
    },
    "interviewer_error.superseded": {
        "zh-CN": "这条回答已经在后面的对话里处理过了，无需重发。",
        "en": "This answer was already taken into account later in the conversation; no need to send it again.",
    },
    "interviewer_error.budget_exhausted": {
        "zh-CN": "你今天的 AI 面试用量已经用完，明天会自动恢复。已保存的面试和报告都还在。",
        "en": "You have used today's AI interview allowance; it renews tomorrow. Your saved interviews and "
              "reports are all still here.",
    },
    "thinking.label": {"zh-CN": "面试官正在思考… {n} 秒", "en": "The interviewer is thinking… {n} s"},
    "usage.caption": {
        "zh-CN": "模型用量：{calls} 次调用 · {tokens} tokens · 耗时 {seconds} 秒 · 费用 {cost}",
        "en": "Model use: {calls} calls · {tokens} tokens · {seconds} s · cost {cost}",
    },
    "usage.cost_unknown": {"zh-CN": "未知", "en": "unknown"},
    "usage.report_rate_limited": {
        "zh-CN": {"other": "报告重新生成得太频繁了，请 {n} 秒后再试。"},
        "en": {"one": "Reports were regenerated too often: try again in {n} second.",
               "other": "Reports were regenerated too often: try again in {n} seconds."},
    },
    # --- end interviewer errors ---
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
    """'3分钟前' / '3 minutes ago' for an aware moment."""
    delta = (now or utcnow()) - moment
    if delta < timedelta(minutes=1):
        return t("time.just_now", lang)
    return format_timedelta(-delta, add_direction=True, threshold=1.0, locale=_BABEL_LOCALES.get(lang, "zh_Hans_CN"))


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
