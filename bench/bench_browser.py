"""Where users wait, in Chromium against `streamlit run app.py`: login, starting an interview, one turn.

Usage: python bench/bench_browser.py [--runs 5] [--quiet 2.5] [--verbose]

Each run is a fresh browser context (no cookies) and a fresh account. A wait is timed in the page, from the first
WebSocket message the browser sends after the action (the click or Enter reaching Streamlit) to the last message it
receives before the app goes quiet for `--quiet` seconds with the expected screen shown: every rerun the action
causes (cookie components reporting back, page switches, st.rerun) is inside the figure. Prints the median of each
wait against its target, the median length of each script run inside it (where the time goes) and, with --verbose,
every sample with the script runs it took.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.server import app_env, launch_chromium, streamlit_server

PASSWORD = "Bench#2024-pass"
TARGETS_S = {"login": 1.0, "start (empty chat)": 1.0, "start (new page)": 1.0, "turn": 0.5}
SHOWN_S = {"first load": None} | TARGETS_S  # the first load has no target: shown for its script runs
MILESTONES = ("in:new_session", "in:script_finished", "in:page_info_changed")
ANSWER = "我叫李小明，有三年 React 前端开发经验，负责过电商后台和数据看板。"
# Records every WebSocket frame with its time (performance.now(), ms) and payload, before the app's code runs.
RECORD_FRAMES = """(() => {
  const Native = window.WebSocket;
  const b64 = (data) => {
    if (typeof data === 'string') return btoa(unescape(encodeURIComponent(data)));
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  };
  window.__frames = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => window.__frames.push(['in', performance.now(), b64(e.data)]));
    }
    send(data) { window.__frames.push(['out', performance.now(), b64(data)]); return super.send(data); }
  };
})();"""


@dataclass
class Sample:
    seconds: float
    runs: int  # script runs (ForwardMsg new_session) between the action and quiet
    kinds: Counter = field(default_factory=Counter)
    timeline: list[tuple[float, str]] = field(default_factory=list)  # (seconds after the action, frame kind)
    run_seconds: list[float] = field(default_factory=list)  # each script run: new_session to script_finished


def script_runs(timeline: list[tuple[float, str]]) -> list[float]:
    """Seconds of each script run in a timeline: from its new_session to the next script_finished."""
    runs, started = [], None
    for t, kind in timeline:
        if kind == "in:new_session":
            started = t
        elif kind == "in:script_finished" and started is not None:
            runs.append(t - started)
            started = None
    return runs


def prepare_accounts(data: Path, count: int) -> list[str]:
    """bench0..benchN registered in the accounts file the server will read (demo accounts too)."""
    import os

    os.environ.update(app_env(data))
    from core import auth, ratelimit

    names = [f"bench{i}" for i in range(count)]
    for name in names:
        ratelimit.reset_limits()  # the sign-up throttle is for people, not for preparing the benchmark's accounts
        auth.register_account(first_name="小明", last_name="李", email=f"{name}@example.com", username=name,
                              password=PASSWORD, repeat_password=PASSWORD)
    return names


def frame_kind(direction: str, payload: str) -> str:
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    raw = base64.b64decode(payload)
    try:
        message = ForwardMsg.FromString(raw) if direction == "in" else BackMsg.FromString(raw)
        return f"{direction}:{message.WhichOneof('type')}"
    except Exception:  # noqa: BLE001 - a frame that is not a protobuf message still counts as traffic
        return f"{direction}:?"


def timed(page, action, ready: str, quiet_s: float) -> Sample:
    """Do `action`, wait until the JS condition `ready` holds and no frame arrived for `quiet_s`; time it."""
    start = page.evaluate("window.__frames.length")
    action()
    return wait_settled(page, start, ready, quiet_s)


def wait_settled(page, start: int, ready: str, quiet_s: float, timeout_s: float = 30.0) -> Sample:
    """The time from the first frame sent after `start` to the last one received before quiet."""
    deadline = time.monotonic() + timeout_s
    while True:
        now, frames, is_ready = page.evaluate(
            f"[performance.now(), window.__frames.slice({start}).map(f => [f[0], f[1]]), Boolean({ready})]"
        )
        incoming = [t for d, t in frames if d == "in"]
        if is_ready and incoming and now - incoming[-1] >= quiet_s * 1000:
            break
        if time.monotonic() > deadline:
            kinds = [frame_kind(d, p) for d, _, p in page.evaluate(f"window.__frames.slice({start})")]
            raise AssertionError(f"not settled after {timeout_s}s: ready={is_ready}, frames {kinds}, page:\n"
                                 + page.locator("body").inner_text()[:1500])
        page.wait_for_timeout(100)
    sent = [t for d, t in frames if d == "out"]
    payloads = page.evaluate(f"window.__frames.slice({start}).map(f => [f[0], f[1], f[2]])")
    timeline = [((t - sent[0]) / 1000, frame_kind(d, p)) for d, t, p in payloads]
    kinds = Counter(kind for _, kind in timeline)
    return Sample(seconds=(incoming[-1] - sent[0]) / 1000, runs=kinds["in:new_session"], kinds=kinds,
                  timeline=[(t, k) for t, k in timeline if k.startswith("out") or k in MILESTONES],
                  run_seconds=script_runs(timeline))


def one_run(browser, url: str, username: str, quiet_s: float) -> dict[str, list[Sample]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    context.add_init_script(RECORD_FRAMES)
    page = context.new_page()
    page.set_default_timeout(30_000)
    samples: dict[str, list[Sample]] = {}
    try:
        page.goto(url)  # frames are recorded per document, so this load's start at 0
        samples["first load"] = [wait_settled(page, 0, "document.querySelector('.st-key-zm_login_username input')",
                                              quiet_s)]
        page.locator(".st-key-zm_login_username input").fill(username)
        page.locator(".st-key-zm_login_password input").fill(PASSWORD)
        samples["login"] = [timed(page, lambda: page.locator(".st-key-zm_login_password input").press("Enter"),
                                  "document.querySelector('.st-key-zm_new_position input')", quiet_s)]

        page.locator(".st-key-zm_new_position input").fill("React前端开发工程师")
        samples["start (empty chat)"] = [timed(page, lambda: page.get_by_role("button", name="开始面试").click(),
                                               "document.querySelector('[data-testid=stChatInput] textarea')", quiet_s)]
        samples["turn"] = []
        for number in (1, 2):
            box = page.get_by_test_id("stChatInput").locator("textarea")
            box.fill(f"{ANSWER}（{number}）")
            count = page.get_by_test_id("stChatMessageContent").count()
            samples["turn"].append(timed(
                page, lambda box=box: box.press("Enter"),
                f"document.querySelectorAll('[data-testid=stChatMessageContent]').length === {count + 2} && "
                "!document.querySelector('[data-testid=stChatInput] textarea').disabled",
                quiet_s,
            ))

        timed(page, lambda: page.locator(".st-key-zm_new_interview button").first.click(),
              "document.querySelector('.st-key-zm_new_position input')", quiet_s)
        page.locator(".st-key-zm_new_position input").fill("Python后端开发工程师")
        samples["start (new page)"] = [timed(
            page, lambda: page.get_by_role("button", name="开始面试").click(),
            "[...document.querySelectorAll('[data-testid=stChatMessageContent]')].some("
            "m => m.innerText.includes('Python后端开发工程师'))", quiet_s,
        )]
    finally:
        context.close()
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quiet", type=float, default=2.5, help="seconds without a frame that count as settled")
    parser.add_argument("--verbose", action="store_true", help="print every sample with its frames")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results: dict[str, list[Sample]] = {name: [] for name in SHOWN_S}
    with tempfile.TemporaryDirectory(prefix="zhimian-bench-browser-") as tmp:
        data = Path(tmp)
        users = prepare_accounts(data, args.runs + 1)
        with streamlit_server(data) as url, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            cold = one_run(browser, url, users[-1], args.quiet)  # the first after start: imports, caches
            print("first run after the server started (not in the medians): " + ", ".join(
                f"{name} {samples[0].seconds:.3f} s" for name, samples in cold.items()))
            for run in range(args.runs):
                for name, samples in one_run(browser, url, users[run], args.quiet).items():
                    results[name] += samples
                    if args.verbose:
                        for s in samples:
                            steps = "  ".join(f"{t:.3f} {k}" for t, k in s.timeline)
                            print(f"  run {run} {name:20} {s.seconds:6.3f} s  {s.runs} script runs: {steps}")
            browser.close()
    print(f"median of {args.runs} runs (settled = {args.quiet:.1f} s without a frame):")
    for name, target in SHOWN_S.items():
        samples = results[name]
        median = statistics.median(s.seconds for s in samples)
        runs = statistics.median(s.runs for s in samples)
        verdict = "" if target is None else f"target <= {target:.1f} s: {'met' if median <= target else 'MISSED'}"
        print(f"  {name:20} {median:6.3f} s   {verdict:25}  "
              f"(script runs {runs:g}, samples {len(samples)}, min {min(s.seconds for s in samples):.3f} s, "
              f"max {max(s.seconds for s in samples):.3f} s)")
    print("where the time goes: median seconds of each script run the action caused (the rest is the browser, the"
          " network and Streamlit between runs):")
    for name in SHOWN_S:
        per_run = [[s.run_seconds[k] for s in results[name] if len(s.run_seconds) > k]
                   for k in range(max(len(s.run_seconds) for s in results[name]))]
        print(f"  {name:20} " + "  ".join(f"run {k + 1}: {statistics.median(v):.3f} s" for k, v in enumerate(per_run)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
