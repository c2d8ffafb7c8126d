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


def _api_startup_script(tmp_path, model: str | None) -> str:
    return textwrap.dedent(f"""
        import os, sys, time
        for name in ("INTERVIEWER_MODEL", "INTERVIEWER_API_BASE", "INTERVIEWER_API_KEY", "INTERVIEWER_FALLBACK"):
            os.environ.pop(name, None)
        if {model!r}:
            os.environ["INTERVIEWER_MODEL"] = {model!r}
        os.environ["DATABASE_URL"] = "sqlite:///{tmp_path / 'api.db'}"
        os.environ["AUTH_CONFIG"] = "{tmp_path / 'auth.yaml'}"
        os.environ["DEMO_MODE"] = "true"
        from fastapi.testclient import TestClient
        import api
        with TestClient(api.create_app()) as client:
            assert client.get("/api/v1/health").status_code == 200
            from core.interviewer import llm
            deadline = time.monotonic() + 60
            while {bool(model)!r} and llm._litellm is None and time.monotonic() < deadline:
                time.sleep(0.05)
        print("LOADED" if llm._litellm is not None else "NOT LOADED", "litellm" in sys.modules)
    """)


def test_api_start_up_loads_the_model_client_only_when_a_model_is_configured(tmp_path):
    offline = subprocess.run([sys.executable, "-c", _api_startup_script(tmp_path, None)], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout.strip() == "NOT LOADED False"
    with_model = subprocess.run([sys.executable, "-c", _api_startup_script(tmp_path, "openai/gpt-4o-mini")],
                                cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert with_model.returncode == 0, with_model.stderr
    assert with_model.stdout.strip().startswith("LOADED")
