"""The offline interviewer never imports litellm (its import alone costs ~6 s)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_offline_interview_does_not_import_litellm(tmp_path):
    script = textwrap.dedent(f"""
        import os, sys
        for name in ("INTERVIEWER_MODEL", "INTERVIEWER_API_BASE", "INTERVIEWER_API_KEY", "INTERVIEWER_FALLBACK"):
            os.environ.pop(name, None)
        os.environ["DATABASE_URL"] = "sqlite:///{tmp_path / 'offline.db'}"
        os.environ["DEMO_MODE"] = "true"
        import core
        from core.interviewer.simulate import run_persona
        from core.db import get_engine
        from core.config import get_settings
        result = run_persona("weak", engine=get_engine(), settings=get_settings())
        assert result.is_complete and result.report is not None, result.problems
        assert "litellm" not in sys.modules, "litellm was imported"
        print("OK", result.overall)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK")
