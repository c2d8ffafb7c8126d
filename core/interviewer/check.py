"""Check the interviewer content: `python -m core.interviewer.check [name ...]` prints every problem of the
question banks, the probe bank and the role profiles (only files whose name contains a given name); exit 1 if any."""

from __future__ import annotations

import sys

from core.interviewer import content
from core.interviewer.bank import DEFAULT_BANK_DIR, BankError, _read_bank, content_problems


def problems(names: list[str]) -> list[str]:
    found: list[str] = []
    for path in sorted(DEFAULT_BANK_DIR.glob("*.yaml")):
        if names and not any(name in path.name for name in names):
            continue
        try:
            bank = _read_bank(path, complete=False)
        except BankError as exc:
            found.append(str(exc))
            continue
        found += [f"{path.name}: {problem}" for problem in content_problems(bank)]
    for path in sorted([*content.PROBE_DIR.glob("*.yaml"), *content.PROFILE_DIR.glob("*.yaml")]):
        if names and not any(name in f"{path.parent.name}/{path.name}" for name in names):
            continue
        model = (content.ProbeBank if path.parent == content.PROBE_DIR
                 else content.TopicBank if path.name.startswith("topics.") else content.RoleProfile)
        try:
            content._read(path, model)
        except BankError as exc:
            found.append(str(exc))
    return found


def main(argv: list[str]) -> int:
    found = problems(argv)
    for line in found:
        print(line)
    print(f"{len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
