"""The coach panel: hand-labelled answers to bank questions, and how the built-in interviewer handles them.

    python bench/coach_panel.py [--panel bench/coach_panel/panel.yaml] [--show]

Each panel question has four answers written as real candidates would (bench/coach_panel/README.md says how they
were written and labelled): a good answer that paraphrases some key points (labelled with the points it covers), a
keyword-stuffed answer, a wrong answer that asserts a common misconception, and a vague answer. Printed, for the
panel's dev half and its held-out half (never looked at while the evaluator was tuned) and in all:
- recall: labelled covered points the evaluator calls covered (target >= 0.85)
- false missed: labelled covered points it calls missed (target <= 5 %)
- gap: mean score of good answers minus keyword-stuffed ones (target >= 2.0 points of 5)
- challenged: wrong answers the interviewer challenges (target >= 0.7)
- picked up: follow-ups (and challenges) whose wording picks up a term the candidate used (target >= 0.7)
- false covered (no target, shown for honesty): key points a good answer leaves out, or a vague answer, that the
  evaluator calls covered
- false challenged (no target, shown for honesty): good and vague answers the interviewer challenges as if they
  asserted a misconception
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from core.interviewer import engine, offline  # noqa: E402
from core.interviewer import text as tx  # noqa: E402
from core.interviewer.bank import load_banks  # noqa: E402
from core.interviewer.engine import TurnContext  # noqa: E402
from core.interviewer.workflow import initial_state, question_item, session_rng  # noqa: E402

PANEL = Path(__file__).resolve().parent / "coach_panel" / "panel.yaml"
TARGETS = {"recall": 0.85, "false_missed": 0.05, "gap": 2.0, "challenged": 0.7, "picked_up": 0.7}
FOLLOW_UPS = ("follow_up", "challenge")
_STOP = frozenset("the a an and or but of to in on at for with by from as is are was were be it this that you your "
                  "we our they their i my me what how why when which who do does did can could would should will "
                  "have has had not no so if then than there here about into also very more most".split())


# One panel answer as the interviewer saw it.
@dataclass
class Seen:
    kind: str
    score: float
    statuses: dict[str, str]
    action: str
    message: str | None
    picked: bool | None = None


@dataclass
class Tally:
    labelled: int = 0
    recalled: int = 0
    false_missed: int = 0
    unlabelled: int = 0  # key points a good or vague answer does not cover, by the labels
    over_credited: int = 0  # ... that the evaluator calls covered
    good: list[float] = field(default_factory=list)
    stuffed: list[float] = field(default_factory=list)
    wrong: int = 0
    challenged: int = 0
    follow_ups: int = 0
    picked: int = 0
    sound: int = 0  # good and vague answers: nothing in them to challenge
    false_challenged: int = 0

    def figures(self) -> dict[str, float]:
        mean = lambda xs: sum(xs) / len(xs) if xs else 0.0  # noqa: E731
        return {
            "recall": self.recalled / self.labelled if self.labelled else 0.0,
            "false_missed": self.false_missed / self.labelled if self.labelled else 0.0,
            "gap": mean(self.good) - mean(self.stuffed),
            "challenged": self.challenged / self.wrong if self.wrong else 0.0,
            "picked_up": self.picked / self.follow_ups if self.follow_ups else 0.0,
            "false_covered": self.over_credited / self.unlabelled if self.unlabelled else 0.0,
            "false_challenged": self.false_challenged / self.sound if self.sound else 0.0,
        }


def interview_once(question_id: str, answer: str) -> tuple[object, object, str | None]:
    """The evaluation, the decision and the interviewer's next message for one answer, as in an interview."""
    banks = load_banks()
    question = banks.get(question_id)
    item = question_item(question)
    language = "en" if "-en-" in question_id else "zh-CN"
    key = question_id.split("-", 1)[0]
    level = question.level if question.level != "any" else "mid"
    ctx = TurnContext(session_id=f"panel-{question_id}", language=language, level=level, field=key,
                      target_position="", candidate_name="", plan={"items": [item], "field_key": key},
                      state=initial_state(), stage=question.stage, item=item, answers=[answer])
    evaluation = engine.offline_evaluation(ctx)
    decision = engine.next_decision(ctx, evaluation)
    message = None
    if decision.action in (*FOLLOW_UPS, "simpler", "steer", "reask"):
        seed = hashlib.sha256(answer.encode()).hexdigest()[:8]
        message = offline.compose_reply(decision=decision, language=language, used=set(),
                                        rng=session_rng(ctx.session_id, seed))
    return evaluation, decision, message


def picks_up(message: str, answer: str, own_text: str, said: str = "") -> bool:
    """Whether a message repeats words the candidate used: the piece of the answer it quotes, or a run of 2+ Chinese
    characters or a word of 3+ letters from the answer that is not in the question's own text (its question,
    follow-up, ask or probe)."""
    if said and said in answer and said in message and len(said.strip()) >= 2:
        return True
    own = tx.fold(own_text)
    folded_answer = tx.fold(answer)
    folded = tx.fold(message)
    for run in re.findall(f"[{tx.CJK_RANGE}]{{2,}}", folded):
        for size in range(len(run), 1, -1):
            for start in range(len(run) - size + 1):
                piece = run[start:start + size]
                if piece in folded_answer and piece not in own:
                    return True
    for word in (w.rstrip(".-") for w in re.findall(r"[a-z][a-z0-9+#.\-]{2,}", folded)):
        if word not in _STOP and re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", folded_answer) \
                and not re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", own):
            return True
    return False


def _own_text(question_id: str, decision) -> str:
    """Everything the interviewer would say without having listened: the question and the offered follow-up's text
    (plus the fixed phrasing of the message templates, which never come from the answer)."""
    question = load_banks().get(question_id)
    parts = [question.question, *(decision.offer.question if decision.offer else "",)]
    for key in ("number", "probe_lead", "missed_lead", "missed_prefix", "deep_prefix", "challenge_quoted",
                "challenge", "simpler", "denial", "steer", "reask"):
        for language in ("zh-CN", "en"):
            parts += [t.replace("{said}", " ").replace("{question}", " ") for t in offline.templates(key, language)]
    return " ".join(parts)


def run(panel: list[dict], show: bool) -> dict[str, Tally]:
    tallies = {"dev": Tally(), "held_out": Tally(), "all": Tally()}
    for entry in panel:
        qid = entry["question_id"]
        split = "held_out" if entry.get("held_out") else "dev"
        for kind in ("good", "stuffed", "wrong", "vague"):
            answer = entry[kind]["answer"]
            evaluation, decision, message = interview_once(qid, answer)
            statuses = {d.point: d.status for d in evaluation.points}
            seen = Seen(kind, evaluation.score, statuses, decision.action, message)
            for tally in (tallies[split], tallies["all"]):
                if kind == "good":
                    for point in entry["good"]["covered"]:
                        if point not in statuses:
                            raise SystemExit(f"{qid}: labelled point {point!r} is not a key point of the question")
                        tally.labelled += 1
                        tally.recalled += statuses[point] == "covered"
                        tally.false_missed += statuses[point] == "missed"
                    tally.good.append(evaluation.score)
                if kind in ("good", "vague"):
                    labels = set(entry["good"]["covered"]) if kind == "good" else set()
                    others = [p for p in statuses if p not in labels]
                    tally.unlabelled += len(others)
                    tally.over_credited += sum(statuses[p] == "covered" for p in others)
                    tally.sound += 1
                    tally.false_challenged += decision.action == "challenge"
                if kind == "stuffed":
                    tally.stuffed.append(evaluation.score)
                if kind == "wrong":
                    tally.wrong += 1
                    tally.challenged += decision.action == "challenge"
                if decision.action in FOLLOW_UPS and message:
                    seen.picked = picks_up(message, answer, _own_text(qid, decision),
                                           decision.offer.said if decision.offer else "")
                    tally.follow_ups += 1
                    tally.picked += seen.picked
            if show:
                _show(qid, seen, entry)
    return tallies


def _show(qid: str, seen: Seen, entry: dict) -> None:
    labels = entry["good"]["covered"] if seen.kind == "good" else []
    wrong = [f"{p}={s}" for p, s in seen.statuses.items() if p in labels and s != "covered"]
    picked = "" if seen.picked is None else (" picked-up" if seen.picked else " NOT-picked-up")
    print(f"{qid:18} {seen.kind:8} {seen.score:3.1f} {seen.action:15}{picked} {' '.join(wrong)}")
    if seen.message:
        print(f"{'':28}» {seen.message}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--panel", type=Path, default=PANEL)
    parser.add_argument("--show", action="store_true", help="print every answer's score, decision and message")
    parser.add_argument("--banks", type=Path, help="question-bank folder (default: the shipped banks)")
    args = parser.parse_args()
    if args.banks:
        from core.interviewer import bank

        bank.DEFAULT_BANK_DIR = args.banks
    panel = yaml.safe_load(args.panel.read_text(encoding="utf-8"))
    tallies = run(panel, args.show)
    print(f"\ncoach panel: {len(panel)} questions x 4 answers ({sum(1 for e in panel if e.get('held_out'))} held out)")
    print(f"{'':14}{'recall':>8}{'false missed':>14}{'gap':>7}{'challenged':>12}{'picked up':>11}"
          f"{'false covered':>15}{'false challenged':>18}")
    for name, tally in tallies.items():
        f = tally.figures()
        print(f"{name:14}{f['recall']:8.2f}{f['false_missed']:13.1%}{f['gap']:7.2f}{f['challenged']:12.2f}"
              f"{f['picked_up']:11.2f}{f['false_covered']:14.1%}{f['false_challenged']:17.1%}")
    print(f"{'target':14}{'>=0.85':>8}{'<=5%':>14}{'>=2.0':>7}{'>=0.7':>12}{'>=0.7':>11}{'-':>15}{'-':>18}")
    figures = tallies["all"].figures()
    met = (figures["recall"] >= TARGETS["recall"] and figures["false_missed"] <= TARGETS["false_missed"]
           and figures["gap"] >= TARGETS["gap"] and figures["challenged"] >= TARGETS["challenged"]
           and figures["picked_up"] >= TARGETS["picked_up"])
    print("all targets met" if met else "some targets missed")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
