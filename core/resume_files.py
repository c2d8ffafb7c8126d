"""Reading an uploaded resume: the type from its bytes (never its name), the text from PDF (pypdf), DOCX
(python-docx), plain text or Markdown, in a separate worker process (a fresh interpreter) with a time and memory limit.

A parser library fed a hostile file can spin or allocate without end; the worker is killed when it overruns, so
one upload never hangs a Streamlit or API worker. Every refusal is a ResumeFileError with a message a candidate
can act on, in both languages.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 5 * 1024 * 1024
MAX_PAGES = 50  # a resume longer than this is not a resume (and the parse must stay within seconds)
MAX_CHARS = 300_000
MIN_TEXT_CHARS = 40  # less text than this is no resume (from a PDF with pages: a scan, images only)
PARSE_TIMEOUT_S = 20.0
WORKER_MEMORY_BYTES = 1024 * 1024 * 1024
# A DOCX is a zip: refuse archives that expand to far more than any resume (a zip bomb) before unpacking them.
DOCX_MAX_UNPACKED = 40 * 1024 * 1024
DOCX_MAX_RATIO = 200
DOCX_MAX_ENTRIES = 2000

KINDS = ("pdf", "docx", "txt", "md")

MESSAGES = {
    "empty": ("文件是空的，请重新选择简历文件。", "The file is empty. Please choose your resume file again."),
    "too_large": (f"文件超过 {MAX_BYTES // (1024 * 1024)} MB，请上传更小的简历（通常一两页即可）。",
                  f"The file is over {MAX_BYTES // (1024 * 1024)} MB. Please upload a smaller resume "
                  "(one or two pages is usual)."),
    "unsupported": ("无法识别的文件类型。支持 PDF、Word（.docx）、纯文本和 Markdown。旧版 .doc 请另存为 .docx。",
                    "This file type is not supported. Upload a PDF, a Word .docx, plain text or Markdown "
                    "(save an old .doc as .docx first)."),
    "encrypted": ("PDF 设有密码保护，无法读取。请导出一份不加密的 PDF 再上传。",
                  "The PDF is password-protected and cannot be read. Export an unprotected copy and upload that."),
    "broken": ("文件已损坏或格式不完整，无法读取。请重新导出后再上传。",
               "The file is damaged or incomplete and cannot be read. Export it again and upload the new copy."),
    "scanned": ("这份 PDF 里没有可读取的文字（可能是扫描件或图片）。请上传由 Word 等软件导出的 PDF，或直接粘贴文字版。",
                "This PDF has no readable text (it looks like a scan or an image). Upload a PDF exported from a "
                "word processor, or a text version."),
    "too_many_pages": (f"文件超过 {MAX_PAGES} 页，不像是一份简历。请上传简历本身（通常一两页）。",
                       f"The file has more than {MAX_PAGES} pages, which is not a resume. Upload just your resume "
                       "(one or two pages is usual)."),
    "too_long": ("文件文字过多，不像是一份简历。请上传简历本身。",
                 "The file holds far more text than a resume. Upload just your resume."),
    "bomb": ("这个 Word 文件解压后异常巨大，已拒绝处理。请重新保存后再上传。",
             "This Word file expands to an abnormal size when unpacked and was refused. Save it again and upload "
             "the new copy."),
    "timeout": ("文件处理超时，可能格式异常。请重新导出后再上传，或上传文字版。",
                "Reading the file took too long; its format may be unusual. Export it again, or upload a text "
                "version."),
    "no_text": ("文件里几乎没有文字，不像是一份简历。请上传完整的简历。",
                "The file holds almost no text, so it is not a resume. Upload your full resume."),
}


class ResumeFileError(ValueError):
    """An upload that cannot be read as a resume; `code` says why, the message says what to do (both languages)."""

    def __init__(self, code: str):
        zh, en = MESSAGES[code]
        super().__init__(f"{zh} / {en}")
        self.code = code

    def text(self, language: str) -> str:
        zh, en = MESSAGES[self.code]
        return zh if language == "zh-CN" else en


# The text of an upload and what it was.
@dataclass(frozen=True)
class ResumeText:
    kind: str
    text: str
    pages: int = 1


def sniff(data: bytes) -> str:
    """The file type from its bytes: pdf, docx, txt or md; ResumeFileError otherwise."""
    if not data.strip():
        raise ResumeFileError("empty")
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data[:4] == b"PK\x03\x04":
        return "docx" if _is_docx(data) else _raise("unsupported")
    text = decode_text(data)
    if text is None:
        raise ResumeFileError("unsupported")
    return "md" if _looks_like_markdown(text) else "txt"


def _raise(code: str):
    raise ResumeFileError(code)


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ResumeFileError("broken") from None
    return "word/document.xml" in names and "[Content_Types].xml" in names


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_UNWANTED = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def decode_text(data: bytes) -> str | None:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, or GB18030 (older Chinese editors); None for binary."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        candidates = ("utf-16",)
    else:
        candidates = ("utf-8-sig", "gb18030")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if len(_CONTROL.findall(text[:20000])) <= 2:  # binary decoded by luck is full of control characters
            return text
    return None


_MARKDOWN_MARKUP = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__|\[[^\]\n]+\]\([^)\n]+\)|^```", re.MULTILINE)


def _looks_like_markdown(text: str) -> bool:
    """Headings, bold or links (bullets alone are plain text too)."""
    sample = text[:20000]
    return bool(re.search(r"^#{1,6}\s+\S", sample, re.MULTILINE)) or len(_MARKDOWN_MARKUP.findall(sample)) >= 2


def check_docx_archive(data: bytes) -> None:
    """Refuse a DOCX whose archive expands far beyond any resume, before anything unpacks it."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        if len(infos) > DOCX_MAX_ENTRIES:
            raise ResumeFileError("bomb")
        unpacked = sum(info.file_size for info in infos)
        packed = sum(info.compress_size for info in infos) or 1
        if unpacked > DOCX_MAX_UNPACKED or unpacked / packed > DOCX_MAX_RATIO:
            raise ResumeFileError("bomb")


# -- inside the worker ---------------------------------------------------------------------------------------------


def extract(data: bytes, kind: str) -> ResumeText:
    """The text of a file of a known kind (runs in the worker; callers use read_resume_file)."""
    if kind == "pdf":
        return _pdf_text(data)
    if kind == "docx":
        return _docx_text(data)
    text = decode_text(data)
    if text is None:
        raise ResumeFileError("unsupported")
    return ResumeText(kind, _checked(text))


def _checked(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # No control character but the newline, no lone surrogate: what every database, field and client accepts.
    text = _UNWANTED.sub("", text.replace("\t", " ")).encode("utf-8", "replace").decode("utf-8")
    if len(text) > MAX_CHARS:
        raise ResumeFileError("too_long")
    if len(re.sub(r"\s", "", text)) < MIN_TEXT_CHARS:
        raise ResumeFileError("no_text")
    return text


def _pdf_text(data: bytes) -> ResumeText:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):  # an owner password only still opens without one
            raise ResumeFileError("encrypted")
        pages = len(reader.pages)
        if pages > MAX_PAGES:
            raise ResumeFileError("too_many_pages")
        parts: list[str] = []
        total = 0
        for page in reader.pages:
            piece = page.extract_text() or ""
            total += len(piece)
            if total > MAX_CHARS:
                raise ResumeFileError("too_long")
            parts.append(piece)
    except ResumeFileError:
        raise
    except FileNotDecryptedError:
        raise ResumeFileError("encrypted") from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError, RecursionError,
            NotImplementedError, AssertionError, ZeroDivisionError):
        raise ResumeFileError("broken") from None
    text = "\n".join(parts)
    if pages == 0:
        raise ResumeFileError("broken")
    if len(re.sub(r"\s", "", text)) < MIN_TEXT_CHARS:
        raise ResumeFileError("scanned")
    return ResumeText("pdf", _checked(text), pages)


def _docx_text(data: bytes) -> ResumeText:
    check_docx_archive(data)
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, OSError) as exc:
        raise ResumeFileError("broken") from exc
    except Exception as exc:  # lxml's XMLSyntaxError and friends: a damaged part
        raise ResumeFileError("broken") from exc
    lines: list[str] = []
    for block in _docx_blocks(document):
        lines.append(block)
    return ResumeText("docx", _checked("\n".join(lines)))


def _docx_blocks(document) -> list[str]:
    """Paragraphs and table rows in document order; a list paragraph keeps a bullet so the parser sees it."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out: list[str] = []
    # Style names by id, read once (python-docx's paragraph.style looks each one up in the styles part).
    names = {style.style_id: style.name or "" for style in document.styles}
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = block.text.strip()
            if not text:
                continue
            p_pr = block._p.pPr
            style = names.get(block._p.style or "", "")
            numbered = p_pr is not None and p_pr.numPr is not None
            if ("List" in style or numbered) and not re.match(r"^[-•*·●▪]", text):
                text = "- " + text
            elif style.lower().startswith("heading") or style == "Title":
                text = "## " + text
            out.append(text)
        elif isinstance(block, Table):
            for row in block.rows:
                cells = list(dict.fromkeys(cell.text.strip() for cell in row.cells if cell.text.strip()))
                if cells:
                    out.append(" | ".join(cells))
    return out


def _limit_memory() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    except (ImportError, ValueError, OSError):
        pass


def worker_main() -> int:
    """`python -m core.resume_files KIND`: the file on stdin, one JSON line on stdout (the text or an error code).
    A separate interpreter, not a fork: safe from the threads of a Streamlit or uvicorn parent."""
    _limit_memory()
    kind = sys.argv[1] if len(sys.argv) > 1 else ""
    data = sys.stdin.buffer.read()
    try:
        result = extract(data, kind)
        reply = {"ok": True, "kind": result.kind, "text": result.text, "pages": result.pages}
    except ResumeFileError as exc:
        reply = {"ok": False, "code": exc.code}
    except MemoryError:
        reply = {"ok": False, "code": "bomb" if kind == "docx" else "broken"}
    except Exception:
        reply = {"ok": False, "code": "broken"}
    sys.stdout.write(json.dumps(reply, ensure_ascii=False))
    return 0


_ROOT = Path(__file__).resolve().parent.parent


def read_resume_file(data: bytes, *, timeout: float = PARSE_TIMEOUT_S) -> ResumeText:
    """The text of an upload: size and type checked here, the parse in a worker process killed after `timeout`
    seconds or at WORKER_MEMORY_BYTES."""
    if len(data) > MAX_BYTES:
        raise ResumeFileError("too_large")
    kind = sniff(data)
    if kind == "docx":
        check_docx_archive(data)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))}
    try:
        done = subprocess.run([sys.executable, "-m", "core.resume_files", kind], input=data, capture_output=True,
                              timeout=timeout, cwd=_ROOT, env=env, check=False)
    except subprocess.TimeoutExpired:  # run() kills the worker before raising
        raise ResumeFileError("timeout") from None
    try:
        reply = json.loads(done.stdout.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):  # the worker died: the memory limit, a crash in C code
        raise ResumeFileError("bomb" if kind == "docx" else "broken") from None
    if not reply.get("ok"):
        raise ResumeFileError(reply.get("code") if reply.get("code") in MESSAGES else "broken")
    return ResumeText(reply["kind"], reply["text"], int(reply["pages"]))


if __name__ == "__main__":
    sys.exit(worker_main())
