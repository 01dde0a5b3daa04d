"""A throwaway PostgreSQL cluster for the tests: initdb in a temporary directory, run as the
`postgres` user when the tests run as root, on a free loopback port; stopped after the session.

Where PostgreSQL is not installed the tests that need it are skipped with a clear message, and
failed under CI (`make test` installs Debian's `postgresql` when it runs as root)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

INSTALL = "PostgreSQL is not installed: sudo apt-get install postgresql (make test does it as root)"


def unavailable(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{why} (required under CI)")
    pytest.skip(why)


def _binary(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return found[0] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    def __init__(self) -> None:
        initdb, self.pg_ctl = _binary("initdb"), _binary("pg_ctl")
        if initdb is None or self.pg_ctl is None:
            unavailable(INSTALL)
        assert initdb is not None
        self.root = Path(tempfile.mkdtemp(prefix="orienta-pg-"))
        self.data = self.root / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            if shutil.which("runuser") is None:
                unavailable("running as root without runuser: cannot start PostgreSQL")
            self.as_user = ["runuser", "-u", "postgres", "--"]
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, "postgres")
        self.port = _free_port()
        self._run(
            [
                initdb,
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._pg_ctl("-o", options, "start")

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(
            [*self.as_user, *command], capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            unavailable(f"could not start PostgreSQL: {done.stderr.strip()[-400:]}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def restart(self) -> None:
        self._pg_ctl("-m", "fast", "restart")

    def _pg_ctl(self, *args: str) -> None:
        """`pg_ctl` on this cluster, waiting up to 60 s. -l: the server must not inherit our
        pipes (we would wait for them to close)."""
        log = str(self.root / "log")
        self._run([self.pg_ctl, "-D", str(self.data), "-l", log, "-w", "-t", "60", *args])

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, str(self.pg_ctl), "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def cluster() -> Iterator[Cluster]:
    started = Cluster()
    try:
        yield started
    finally:
        started.stop()
