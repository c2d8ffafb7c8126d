"""Time reading and understanding a resume: a 2-page and a 50-page PDF (and DOCX), Chinese and English.

    python bench/bench_resume.py [--runs 5]

Timed: core.resume_store.read_upload, what an upload costs a candidate (type check, the worker process with its
limits, pypdf / python-docx, the rules). Baseline in the same run: pypdf's (python-docx's) own text extraction of
the same file in this process, with nothing else. Targets: 2 pages in at most 1 s, 50 pages in at most 5 s.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.resume_store import read_upload  # noqa: E402
from tests import resume_samples as rs  # noqa: E402

TARGETS = {2: 1.0, 50: 5.0}


class _NoModel:  # the rules only: a benchmark never sends a resume anywhere
    INTERVIEWER_MODEL = ""


def _median(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _bare_pdf(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def _bare_docx(data: bytes) -> str:
    import docx

    return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)


def _docx_pages(pages: int, chinese: bool) -> bytes:
    lines = rs.ZH_LINES if chinese else rs.EN_LINES
    return rs.docx(lines * 2 * pages, headings={"教育背景", "工作经历", "项目经历", "专业技能", "Education",
                                                "Experience", "Projects", "Skills"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    read_upload(data=rs.pdf(rs.EN_LINES), settings=_NoModel())  # warm the lexicon (loaded once per process)
    print(f"{'file':<22}{'pages':>6}{'upload s':>10}{'bare s':>9}{'ratio':>7}{'target s':>10}  verdict")
    failed = False
    for pages in (2, 50):
        for chinese in (True, False):
            for kind, data, bare in (("pdf", rs.long_resume_pdf(pages, chinese), _bare_pdf),
                                     ("docx", _docx_pages(pages, chinese), _bare_docx)):
                content, parsed, _ = read_upload(data=data, settings=_NoModel())
                assert parsed.projects, "the benchmark resume was not understood"
                upload = _median(lambda data=data: read_upload(data=data, settings=_NoModel()), args.runs)
                baseline = _median(lambda data=data, bare=bare: bare(data), args.runs)
                target = TARGETS[pages]
                ok = upload <= target
                failed |= not ok
                label = f"{'zh' if chinese else 'en'} {kind} ({len(data) // 1024} KB)"
                print(f"{label:<22}{content.pages if kind == 'pdf' else pages:>6}{upload:>10.3f}{baseline:>9.3f}"
                      f"{upload / baseline:>7.1f}{target:>10.1f}  {'ok' if ok else 'OVER TARGET'}")
    print("upload = type check + worker process (time and memory limits) + extraction + rules; "
          "bare = the library's own extraction in this process")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
