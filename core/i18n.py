"""The one catalogue of user-facing strings (zh-CN first, English) plus Babel-backed time formatting."""

from __future__ import annotations

from datetime import datetime, timedelta

from babel import Locale
from babel.dates import format_timedelta

from core.models import utcnow

LANGUAGES = {"zh-CN": "中文", "en": "English"}
_BABEL_LOCALES = {"zh-CN": "zh_Hans_CN", "en": "en"}
BABEL_LOCALES = _BABEL_LOCALES  # for pages that format dates with Babel themselves

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
    # --- security hardening (issue 11): login and registration limits ---
    "login.err_too_fast": {
        "zh-CN": "这台设备登录得太频繁了，请一分钟后再试。",
        "en": "Too many sign-ins from this device. Please try again in a minute.",
    },
    "login.err_busy": {
        "zh-CN": "当前登录的人比较多，请稍等几秒再试。",
        "en": "A lot of people are signing in right now. Please try again in a few seconds.",
    },
    "login.err_throttled": {
        "zh-CN": "这台设备近期注册的账号过多，请一小时后再试。",
        "en": "Too many accounts have been created from here recently. Please try again in an hour.",
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
    # --- question drill page (keys "drill.*") ---
    "nav.drill": {"zh-CN": "题目练习", "en": "Question drill"},
    "drill.title": {"zh-CN": "题目练习", "en": "Question drill"},
    "drill.subtitle": {
        "zh-CN": "一次只练一道题：作答后马上看到你讲到了哪些要点（附上你的原话）、还可以补充什么，"
                 "以及面试官接下来会怎么追问。",
        "en": "One question at a time: answer it and see at once which points you made (in your own words), what "
              "you could add, and what an interviewer would ask next.",
    },
    "drill.field": {"zh-CN": "方向", "en": "Field"},
    "drill.stage": {"zh-CN": "题型", "en": "Question type"},
    "drill.level": {"zh-CN": "难度", "en": "Level"},
    "drill.any_level": {"zh-CN": "全部难度", "en": "Any level"},
    "drill.question": {"zh-CN": "题目", "en": "Question"},
    "drill.another": {"zh-CN": "换一题", "en": "Another question"},
    "drill.no_questions": {
        "zh-CN": "这个组合下暂时没有题目，换个题型或难度试试。",
        "en": "No questions for this combination yet; try another type or level.",
    },
    "drill.answer": {"zh-CN": "你的回答", "en": "Your answer"},
    "drill.answer_placeholder": {
        "zh-CN": "像在面试里一样作答：先给结论，再讲原理、例子或你做过的事。",
        "en": "Answer as you would in the interview: the point first, then the why, an example or what you did.",
    },
    "drill.submit": {"zh-CN": "提交并查看点评", "en": "Submit and see feedback"},
    "drill.judging": {"zh-CN": "正在点评…", "en": "Reading your answer…"},
    "drill.score": {"zh-CN": "得分", "en": "Score"},
    "drill.covered": {"zh-CN": "你讲到的要点", "en": "Points you made"},
    "drill.unclear": {"zh-CN": "提到了但没讲清楚", "en": "Mentioned but not explained"},
    "drill.missed": {"zh-CN": "还可以补充", "en": "You could add"},
    "drill.none_covered": {
        "zh-CN": "这次还没有讲到要点，看看下面的参考思路再试一次。",
        "en": "None of the key points came through this time; read the outline below and try again.",
    },
    "drill.misconception": {"zh-CN": "这个说法需要纠正", "en": "This claim needs correcting"},
    "drill.feedback": {"zh-CN": "点评", "en": "Feedback"},
    "drill.follow_up": {"zh-CN": "面试官可能会接着问", "en": "What the interviewer might ask next"},
    "drill.better_answer": {"zh-CN": "参考思路", "en": "A stronger answer"},
    "drill.try_again": {"zh-CN": "再答一次", "en": "Answer again"},
    "drill.err_invalid": {"zh-CN": "无法提交：", "en": "Could not submit:"},
    "drill.err_rate_limited": {
        "zh-CN": {"other": "提交得太频繁了，请 {n} 秒后再试。你的回答还在输入框里。"},
        "en": {"one": "You are submitting too fast: try again in {n} second. Your answer is still in the box.",
               "other": "You are submitting too fast: try again in {n} seconds. Your answer is still in the box."},
    },
    "drill.err_unknown_question": {
        "zh-CN": "链接里的题目不存在，已为你换了一道。",
        "en": "The question in the link does not exist; here is another one.",
    },
    "drill.history": {"zh-CN": "练习记录（{n}）", "en": "Your drill history ({n})"},
    "drill.history_empty": {"zh-CN": "还没有练习记录。", "en": "No drills yet."},
    "drill.delete": {"zh-CN": "删除这条记录", "en": "Delete this attempt"},
    "drill.deleted": {"zh-CN": "已删除", "en": "Deleted"},
    "drill.clear": {"zh-CN": "清空练习记录", "en": "Clear the history"},
    "drill.clear_confirm": {
        "zh-CN": "确定删除全部 {n} 条练习记录吗？删除后无法恢复。",
        "en": "Delete all {n} drill attempts? This cannot be undone.",
    },
    "drill.clear_yes": {"zh-CN": "全部删除", "en": "Delete all"},
    "drill.cancel": {"zh-CN": "取消", "en": "Cancel"},
    "drill.cleared": {"zh-CN": "练习记录已清空", "en": "History cleared"},
    "drill.practise_again": {"zh-CN": "再练这道题", "en": "Practise this one again"},
    # --- end question drill page ---
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
    "analytics.col.model_seconds": {"zh-CN": "模型耗时（秒）", "en": "Model time (s)"},
    "usage.report_rate_limited": {
        "zh-CN": {"other": "报告重新生成得太频繁了，请 {n} 秒后再试。"},
        "en": {"one": "Reports were regenerated too often: try again in {n} second.",
               "other": "Reports were regenerated too often: try again in {n} seconds."},
    },
    # --- end interviewer errors ---
    # --- resume upload and the report's resume claims (issue 14, resume) ---
    "resume.title": {"zh-CN": "简历（可选）", "en": "Resume (optional)"},
    "resume.upload": {"zh-CN": "上传简历，面试官会围绕你自己的项目提问",
                      "en": "Upload your resume and the interviewer will ask about your own projects"},
    "resume.upload_help": {"zh-CN": "支持 PDF、Word（.docx）、纯文本和 Markdown，最大 5 MB。",
                           "en": "PDF, Word (.docx), plain text or Markdown, up to 5 MB."},
    "resume.privacy_offline": {
        "zh-CN": "🔒 简历只有你自己能看到，删除这场面试时会一并删除。本站没有配置 AI 模型，简历只在服务器上按规则解析，"
                 "不会发送给任何模型，也不会出现在数据统计导出中。",
        "en": "🔒 Only you can see your resume, and it is deleted with this interview. No AI model is configured "
              "here, so the resume is read by rules on this server, sent to no model, and never included in "
              "statistics exports.",
    },
    "resume.privacy_model": {
        "zh-CN": "🔒 简历只有你自己能看到，删除这场面试时会一并删除，也不会出现在数据统计导出中。"
                 "注意：本站配置了 AI 模型（{model}），简历文字会发送给该模型来理解和出题。",
        "en": "🔒 Only you can see your resume; it is deleted with this interview and never included in statistics "
              "exports. Note: this site uses an AI model ({model}), so the resume text is sent to that model to "
              "understand it and ask questions.",
    },
    "resume.reading": {"zh-CN": "正在读取简历…", "en": "Reading your resume…"},
    "resume.rejected": {"zh-CN": "这份简历无法使用：", "en": "This resume cannot be used:"},
    "resume.understood": {"zh-CN": "我们从简历里读到的内容", "en": "What we understood from your resume"},
    "resume.correct_hint": {
        "zh-CN": "有读错或漏掉的地方可以直接改，开始面试时以这里为准。"
                 "清空项目名称即可去掉这个项目；每行一条经历或成果。",
        "en": "Fix anything we got wrong or missed: the interview uses what is here. Clear a project's name to "
              "leave it out; one achievement per line.",
    },
    "resume.no_projects": {
        "zh-CN": "没有识别出项目经历。面试仍会参考你的技能；也可以上传带“项目经历”标题的版本。",
        "en": "No projects were recognised. The interview still uses your skills; a version with a "
              "“Projects” heading helps.",
    },
    "resume.project": {"zh-CN": "项目 {n}", "en": "Project {n}"},
    "resume.name": {"zh-CN": "项目名称", "en": "Project name"},
    "resume.role": {"zh-CN": "你的角色", "en": "Your role"},
    "resume.stack": {"zh-CN": "技术栈（用逗号分隔）", "en": "Stack (comma-separated)"},
    "resume.claims": {"zh-CN": "做了什么、取得了什么结果（每行一条）",
                      "en": "What you did and achieved (one per line)"},
    "resume.skills": {"zh-CN": "技能（用逗号分隔）", "en": "Skills (comma-separated)"},
    "resume.delete": {"zh-CN": "删除这份简历", "en": "Delete this resume"},
    "resume.not_this_time": {"zh-CN": "这次不用简历", "en": "Don't use a resume this time"},
    "resume.previous": {"zh-CN": "或者用之前上传过的简历", "en": "Or use a resume you uploaded before"},
    "resume.previous_placeholder": {"zh-CN": "选择一份简历", "en": "Choose a resume"},
    "report.resume_claims": {"zh-CN": "简历声明核验", "en": "Resume claims"},
    "report.resume_claims_hint": {
        "zh-CN": "简历里带数字的成果，面试中有没有讲清楚是怎么测的、和什么比的。真实面试官一定会追问这些。",
        "en": "The results on your resume that carry a number, and whether the interview showed how they were "
              "measured and against what. Real interviewers will ask.",
    },
    "report.claim_ok": {"zh-CN": "已核实", "en": "Substantiated"},
    "report.claim_not_ok": {"zh-CN": "未能核实", "en": "Not substantiated"},
    # --- end resume ---
    # --- my progress page and the printable report (keys "progress.*", "pdf.*") ---
    "nav.progress": {"zh-CN": "我的进步", "en": "My progress"},
    "progress.title": {"zh-CN": "我的进步", "en": "My progress"},
    "progress.caption": {
        "zh-CN": "只有你自己能看到这里的数据：历次面试得分、每周练习量，以及最常漏掉的要点。",
        "en": "Only you can see this: your interview scores over time, practice per week and the points you miss most.",
    },
    "progress.empty": {
        "zh-CN": "还没有练习记录。完成一场模拟面试或做几道单题练习，这里就会显示你的得分变化和需要加强的要点。",
        "en": "Nothing here yet. Finish a mock interview or answer a few drill questions, and this page will show "
              "how your scores move and which points to work on.",
    },
    "progress.start_interview": {"zh-CN": "开始一场模拟面试", "en": "Start a mock interview"},
    "progress.open_drills": {"zh-CN": "去做单题练习", "en": "Practise single questions"},
    "progress.completed": {"zh-CN": "完成面试", "en": "Interviews finished"},
    "progress.drills": {"zh-CN": "单题练习", "en": "Drill answers"},
    "progress.latest": {"zh-CN": "最近一次得分", "en": "Latest score"},
    "progress.best": {"zh-CN": "最高得分", "en": "Best score"},
    "progress.change_help": {"zh-CN": "与第一场面试相比", "en": "Compared with your first interview"},
    "progress.scores_title": {"zh-CN": "得分变化", "en": "Scores over time"},
    "progress.scores_none": {
        "zh-CN": "完成第一场面试后，这里会画出综合得分和五个维度的变化。",
        "en": "Finish your first interview to see your overall and dimension scores here.",
    },
    "progress.series": {"zh-CN": "指标", "en": "Measure"},
    "progress.dimension_averages": {
        "zh-CN": "最近 {n} 场各维度平均：{scores}。最需要加强的是**{weakest}**。",
        "en": "Average over your last {n} interviews: {scores}. The one to work on most: **{weakest}**.",
    },
    "progress.date": {"zh-CN": "日期", "en": "Date"},
    "progress.interview": {"zh-CN": "面试", "en": "Interview"},
    "progress.weekly_title": {"zh-CN": "每周练习", "en": "Practice per week"},
    "progress.week": {"zh-CN": "周（从周一起）", "en": "Week (from Monday)"},
    "progress.count": {"zh-CN": "次数", "en": "Count"},
    "progress.kind": {"zh-CN": "类型", "en": "Kind"},
    "progress.kind_interviews": {"zh-CN": "模拟面试", "en": "Interviews"},
    "progress.kind_drills": {"zh-CN": "单题练习", "en": "Drill answers"},
    "progress.weak_title": {"zh-CN": "最常漏掉的要点", "en": "Points you miss most"},
    "progress.weak_caption": {
        "zh-CN": "来自面试报告和单题练习的逐条判断；某个要点在最近一次回答里讲清楚了，就会移到“已经补上”。",
        "en": "From the point-by-point decisions in your reports and drills; once your latest answer covers a point, "
              "it moves to \u201cnow covered\u201d.",
    },
    "progress.weak_none": {
        "zh-CN": "目前没有待补的要点，继续保持！",
        "en": "No open gaps right now. Keep it up!",
    },
    "progress.missed_times": {"zh-CN": {"other": "漏掉 {n} 次"},
                              "en": {"one": "missed once", "other": "missed {n} times"}},
    "progress.covered_times": {"zh-CN": {"other": "讲到 {n} 次"},
                              "en": {"one": "covered once", "other": "covered {n} times"}},
    "progress.last_missed": {"zh-CN": "最近一次：没有谈到", "en": "Latest answer: not mentioned"},
    "progress.last_unclear": {"zh-CN": "最近一次：提到但没讲清", "en": "Latest answer: mentioned, not explained"},
    "progress.improved_title": {"zh-CN": "已经补上的要点", "en": "Now covered"},
    "progress.topics_title": {"zh-CN": "得分最低的题目", "en": "Your weakest questions"},
    "progress.topic_line": {
        "zh-CN": "平均 {avg}/5 · 最近 {last}/5 · 答过 {n} 次",
        "en": "average {avg}/5 · latest {last}/5 · answered {n}×",
    },
    "progress.drill": {"zh-CN": "练这道题", "en": "Drill this question"},
    "progress.drill_unavailable": {
        "zh-CN": "单题练习页面暂未开放，可通过 API 练习这道题：{id}",
        "en": "The drill page is not available yet; this question can be drilled through the API: {id}",
    },
    "progress.in_question": {"zh-CN": "所在题目：{question}", "en": "In: {question}"},
    "report.download_pdf": {"zh-CN": "下载 PDF 报告", "en": "Download PDF report"},
    "pdf.date": {"zh-CN": "面试时间", "en": "Date"},
    "pdf.footer": {"zh-CN": "{app} · 模拟面试报告 · 第 {page} 页", "en": "{app} · mock-interview report · page {page}"},
    # --- end my progress page and the printable report ---
    # --- UX polish (issue 15: finished chat, sidebar cards, analytics headers, welcome) ---
    "chat.report_ready": {
        "zh-CN": "面试已结束，报告已生成：总分、各维度得分和逐题点评。",
        "en": "The interview is over: your report is ready, with scores and feedback on every answer.",
    },
    "chat.report_cta": {"zh-CN": "查看报告", "en": "View report"},
    "sidebar.started_at": {"zh-CN": "{time} 开始", "en": "started {time}"},
    "analytics.one_day": {
        "zh-CN": "所选范围内只有 {day} 一天的数据，放宽日期范围即可看到每日趋势。",
        "en": "Only one day in range ({day}); widen the dates to see a trend.",
    },
    "analytics.day": {"zh-CN": "日期", "en": "Day"},
    "analytics.no_scores": {
        "zh-CN": "所选范围内还没有已出报告的面试。", "en": "No interview in range has a report yet.",
    },
    "analytics.column_help": {"zh-CN": "导出文件中的列名：{name}", "en": "Column name in exports: {name}"},
    "analytics.col.session_id": {"zh-CN": "会话编号", "en": "Session ID"},
    "analytics.col.candidate": {"zh-CN": "候选人（匿名编号）", "en": "Candidate (pseudonym)"},
    "analytics.col.candidate_name": {"zh-CN": "候选人姓名", "en": "Candidate name"},
    "analytics.col.username": {"zh-CN": "账号", "en": "Username"},
    "analytics.col.field": {"zh-CN": "领域", "en": "Field"},
    "analytics.col.target_position": {"zh-CN": "目标岗位", "en": "Target position"},
    "analytics.col.level": {"zh-CN": "级别", "en": "Level"},
    "analytics.col.language": {"zh-CN": "面试语言", "en": "Interview language"},
    "analytics.col.created_at": {"zh-CN": "开始时间", "en": "Started"},
    "analytics.col.created_date_local": {"zh-CN": "开始日期", "en": "Start date"},
    "analytics.col.last_activity": {"zh-CN": "最近活动", "en": "Last activity"},
    "analytics.col.duration_minutes": {"zh-CN": "时长（分钟）", "en": "Duration (min)"},
    "analytics.col.message_count": {"zh-CN": "消息数", "en": "Messages"},
    "analytics.col.status": {"zh-CN": "状态代码", "en": "Status"},
    "analytics.col.status_label": {"zh-CN": "状态", "en": "Status (Chinese label)"},
    "analytics.col.interview_stage": {"zh-CN": "当前阶段", "en": "Current stage"},
    "analytics.col.reached_stage": {"zh-CN": "到达的阶段", "en": "Furthest stage"},
    "analytics.col.is_complete": {"zh-CN": "已完成", "en": "Completed"},
    "analytics.col.ended_early": {"zh-CN": "提前结束", "en": "Ended early"},
    "analytics.col.score_overall": {"zh-CN": "总分", "en": "Overall score"},
    "analytics.col.score_dimension": {"zh-CN": "{dimension}得分", "en": "{dimension} score"},
    "analytics.col.tokens": {"zh-CN": "Token 用量", "en": "Tokens"},
    "analytics.col.cost_usd": {"zh-CN": "模型费用 (USD)", "en": "LLM cost (USD)"},
    "analytics.col.model": {"zh-CN": "模型", "en": "Model"},
    "welcome.title": {"zh-CN": "欢迎来到职面星火", "en": "Welcome to Zhimian Xinghuo"},
    "welcome.intro": {
        "zh-CN": "在这里，你可以和 AI 面试官完整地练一场模拟面试。",
        "en": "Practise a whole job interview with an AI interviewer, at your own pace.",
    },
    "welcome.like": {
        "zh-CN": "**和真实面试一样**：面试官从开场、自我介绍问到专业技术、项目经历和行为情景，最后留时间给你反问，"
                 "还会顺着你的回答追问。你只需要打字作答。",
        "en": "**Like the real thing**: the interviewer starts with a welcome and your self-introduction, moves on to "
              "technical questions, your projects and behavioural scenarios, leaves time for your own questions, and "
              "follows up on what you say. You answer by typing.",
    },
    "welcome.time": {
        "zh-CN": "**大约 15–30 分钟**：共 {n} 道主问题；可以随时提前结束，已回答的部分照样生成报告。",
        "en": "**About 15–30 minutes**: {n} main questions. You can end early and still get a report on what you "
              "answered.",
    },
    "welcome.saved": {
        "zh-CN": "**自动保存**：每条回答都会保存，关掉页面也不会丢。左侧列表随时可以回到任何一场面试，"
                 "结束后查看带评分、并引用你原话的报告。",
        "en": "**Saved as you go**: every answer is kept, even if you close the tab. Pick any interview up again "
              "from the sidebar, and once it ends, read a scored report that quotes your own answers.",
    },
    "welcome.start": {
        "zh-CN": "在下面填好目标岗位，就可以开始第一场面试。",
        "en": "Fill in the position you are aiming for below to start your first interview.",
    },
    # --- end UX polish ---
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
