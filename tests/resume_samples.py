"""Real resume files made in the tests: PDFs with reportlab (its built-in CJK font for Chinese), DOCX with
python-docx, plain text and Markdown, in both languages, plus the bad ones (scanned, encrypted, broken, zip bomb,
too many pages)."""

from __future__ import annotations

import io
import zipfile

ZH_LINES = [
    "张三", "电话：13800138000 | 邮箱：zhangsan@example.com",
    "教育背景", "2016.09-2020.06  浙江大学  计算机科学与技术 本科",
    "工作经历", "2020.07-至今  某电商公司  后端开发工程师", "- 负责交易链路的开发与维护",
    "项目经历",
    "秒杀系统 | 后端负责人 | 2022.03-2022.09",
    "- 使用 Redis 预扣库存、Kafka 异步下单，QPS 提升 3 倍",
    "- 接口 P99 延迟从 800ms 降到 120ms",
    "- 技术栈：Java、Spring Boot、Redis、Kafka、MySQL",
    "智能推荐平台 | 核心开发 | 2021.01-2021.12",
    "- 搭建实时特征管道，点击率提升 12%",
    "- 负责召回服务的设计与实现",
    "专业技能", "- 熟悉 Java 并发编程、JVM 调优", "- 熟练使用 MySQL、Redis、Kafka，了解 Kubernetes",
]

EN_LINES = [
    "Jane Doe", "jane@example.com",
    "Education", "B.Sc. Computer Science, University of Edinburgh, 2015-2019",
    "Experience", "Acme Corp | Backend Engineer | 2019-present", "- Maintained the payments API",
    "Projects",
    "Flash-sale system | Backend lead | 2022",
    "- Rebuilt the order path with Redis stock reservation and Kafka, increasing throughput 3x",
    "- Cut p99 latency from 800 ms to 120 ms",
    "- Tech stack: Go, Redis, Kafka, PostgreSQL",
    "Search relevance platform | Developer | 2021",
    "- Raised click-through rate by 12% with a learning-to-rank model",
    "Skills", "Go, Python, PostgreSQL, Redis, Kafka, Kubernetes, Docker",
]

EN_MARKDOWN = """# Jane Doe
jane@example.com

## Education
B.Sc. Computer Science, University of Edinburgh, 2015–2019

## Projects
**Flash-sale system** — Backend lead (2022)
- Rebuilt the order path with Redis stock reservation and Kafka, increasing throughput 3x
- Cut p99 latency from 800 ms to 120 ms

## Skills
Go, Python, PostgreSQL, Redis, Kafka
"""


def pdf(lines: list[str], *, pages: int = 1, chinese: bool | None = None, encrypt: str | None = None) -> bytes:
    """A text PDF of `lines` (repeated on every page), Chinese in reportlab's built-in STSong-Light."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if chinese is None:
        chinese = any("\u4e00" <= ch <= "\u9fff" for line in lines for ch in line)
    font = "Helvetica"
    if chinese:
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        font = "STSong-Light"
    buffer = io.BytesIO()
    doc = canvas.Canvas(buffer, pagesize=A4, encrypt=encrypt)
    for _ in range(pages):
        doc.setFont(font, 10)
        y = 800
        for line in lines:
            if y < 40:
                doc.showPage()
                doc.setFont(font, 10)
                y = 800
            doc.drawString(40, y, line)
            y -= 15
        doc.showPage()
    doc.save()
    return buffer.getvalue()


def scanned_pdf() -> bytes:
    """A page with only shapes: what a scan looks like to a text extractor."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    doc = canvas.Canvas(buffer)
    for i in range(30):
        doc.rect(40 + i * 3, 700 - i * 10, 200, 6, fill=1)
    doc.showPage()
    doc.save()
    return buffer.getvalue()


def broken_pdf() -> bytes:
    good = pdf(EN_LINES)
    return good[: len(good) // 3] + b"\x00garbage" * 50


def docx(lines: list[str], *, headings: set[str] = frozenset()) -> bytes:
    """A Word document: heading lines in a Heading style, "- " lines as List Bullet paragraphs."""
    import docx as python_docx

    document = python_docx.Document()
    for line in lines:
        if line in headings:
            document.add_heading(line, level=2)
        elif line.startswith("- "):
            document.add_paragraph(line[2:], style="List Bullet")
        else:
            document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def docx_bomb() -> bytes:
    """A DOCX-shaped zip whose document.xml expands about a thousand-fold."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", "<w:t>" + " " * (8 * 1024 * 1024) + "</w:t>")
    return buffer.getvalue()


def long_resume_pdf(pages: int, chinese: bool = True) -> bytes:
    """A resume of exactly `pages` full pages (its text repeated), for the page limit and the benchmark."""
    return pdf((ZH_LINES if chinese else EN_LINES) * 2, pages=pages, chinese=chinese)
