"""The 20,000-call soak of `rag serve` (item 17 of issue 10). Not in the default run: about
11 minutes on a 2-core box. Run it with `pytest -m soak` (or `rag bench --soak 20000`)."""

import json
import subprocess
import sys

import pytest

from rag.config import PROJECT_ROOT

pytestmark = pytest.mark.soak


def test_serve_memory_plateaus_over_20000_api_calls(tmp_path):
    out = tmp_path / "soak.json"
    run = subprocess.run([sys.executable, "-m", "rag.cli", "bench", "--soak", "20000", "--out", str(out)],
                         capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=3600)
    result = json.loads(out.read_text())
    print(run.stdout)
    assert run.returncode == 0 and result["plateau"], run.stdout
    assert result["outcomes"].get("error", 0) == 0 and result["tracebacks_in_server_log"] == 0
    assert len(result["rss_mb"]) == 21  # sampled every 1,000 calls
