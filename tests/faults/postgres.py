"""A PostgreSQL cluster of a test's own, so that restarting it stops nobody else's database. We run as root,
and PostgreSQL refuses to, so its commands run as the `postgres` OS user, in a directory that user owns."""

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DATABASE = "charla"


def _as_postgres(*command: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command]


class Cluster:
    def __init__(self, port: int) -> None:
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="charla-pg-"))
        user = pwd.getpwnam("postgres")
        os.chown(self.root, user.pw_uid, user.pw_gid)
        self.data, self.log = self.root / "data", self.root / "server.log"

    @property
    def dsn(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> None:
        """initdb (trust auth, no fsync of the new files) and start, listening on 127.0.0.1 only."""
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def copy_database(self, source_dsn: str) -> None:
        """The source database, schema and rows (a migrated test database with the demo bot), as `charla`."""
        subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c",
                        f"CREATE DATABASE {DATABASE}"], check=True)  # fmt: skip
        dump = subprocess.Popen(["pg_dump", "--no-owner", source_dsn], stdout=subprocess.PIPE)
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null", self.dsn], stdin=dump.stdout,
                       check=True)  # fmt: skip
        assert dump.wait() == 0

    def restart(self) -> None:
        """A fast shutdown (every session ended, open transactions rolled back) and a start, as an operator's
        restart or a failover does; returns when it accepts connections again."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "restart")

    def destroy(self, keep_log: Path) -> None:
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"),
                       capture_output=True)  # fmt: skip
        if self.log.exists():
            shutil.copyfile(self.log, keep_log)
        if (self.root / "commands.log").exists():
            shutil.copyfile(self.root / "commands.log", keep_log.with_suffix(".commands.log"))
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, *command: str) -> None:
        """Output to a file, not a pipe: the server pg_ctl starts keeps its output open, so reading a pipe to its
        end would wait for the server to stop."""
        with (self.root / "commands.log").open("ab") as output:
            subprocess.run(_as_postgres(*command), check=True, stdout=output, stderr=subprocess.STDOUT, cwd=self.root)
