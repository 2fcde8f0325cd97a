"""The image's HEALTHCHECK, run as the container runs it, against a live server.

No Docker engine is needed: the check's command is read from the Dockerfile
and run with the environment a container would give it (LRS_PORT as set with
`docker run -e`). Until session 26 it asked port 8080 whatever LRS_PORT said,
so a container given another port was marked unhealthy."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from tests import live

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"


def healthcheck_command() -> list[str]:
    """The HEALTHCHECK's exec-form CMD, continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    match = re.search(r"^HEALTHCHECK\b.*?\bCMD\s+(\[.*\])\s*$", text, re.MULTILINE)
    assert match, "the Dockerfile has no HEALTHCHECK in exec form"
    return json.loads(match.group(1))


def run_check(port: int) -> int:
    """The check's exit code in a container given LRS_PORT=`port`."""
    command = healthcheck_command()
    assert command[0] == "python", command  # the image's interpreter; ours here
    env = {**os.environ, "LRS_PORT": str(port)}
    return subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True,
                          timeout=30).returncode


def test_the_healthcheck_asks_the_port_the_server_was_given(server):
    assert run_check(urlsplit(server.url).port) == 0


def test_the_healthcheck_fails_when_nothing_answers_on_that_port():
    assert run_check(live.free_port()) != 0
