"""A real Dovecot IMAP server for tests: started on loopback with a throwaway configuration.

A password-file user per test (each with its own Maildir in a temporary folder), a self-signed
certificate for the TLS cases, free ports; stopped when the test module ends. Tests skip, with
the reason, where Dovecot (Debian's dovecot-imapd) or openssl is not installed.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from imapclient import IMAPClient

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
PASSWORD = "correct horse battery staple"
USERS = 100


def missing_reason() -> str | None:
    if DOVECOT is None:
        return "Dovecot is not installed (apt-get install dovecot-imapd)"
    if shutil.which("openssl") is None:
        return "openssl is not installed (needed for the test server's certificate)"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Dovecot:
    root: Path
    port: int  # plain IMAP (STARTTLS offered)
    tls_port: int  # IMAP over TLS
    cert: Path
    process: subprocess.Popen[bytes]
    users_given: int = 0

    def add_user(self) -> str:
        """A user not used before, so an empty mailbox (all are in the password file from the start)."""
        self.users_given += 1
        return f"member-{self.users_given:03d}"

    def client(self, user: str) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(user, PASSWORD)
        return client

    def append(self, user: str, messages: list[bytes], folder: str = "INBOX") -> None:
        """Deliver messages into the user's folder with IMAP APPEND."""
        with self.client(user) as client:
            for message in messages:
                client.append(folder, message)
            client.logout()

    def folder(self, user: str, folder: str) -> list[bytes]:
        """The raw messages now in a folder ([] when it does not exist)."""
        client = self.client(user)
        try:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = client.search(["NOT", "DELETED"])
            found = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            return [found[uid][b"BODY[]"] for uid in uids]
        finally:
            client.logout()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start(root: Path) -> Dovecot:
    root.mkdir(parents=True, exist_ok=True)
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    (root / "passwd").write_text("".join(f"member-{n:03d}:{{PLAIN}}{PASSWORD}::::::\n"
                                         for n in range(1, USERS + 1)), encoding="utf-8")
    me = pwd.getpwuid(os.getuid())
    # Dovecot never runs a mailbox as root: as root, the mail belongs to Debian's dovecot user,
    # so the folder must be one it can reach (pytest's temporary folders are private).
    mail_user = pwd.getpwnam("dovecot") if os.getuid() == 0 else me
    root.chmod(0o711)
    (root / "mail").mkdir(exist_ok=True)
    os.chown(root / "mail", mail_user.pw_uid, mail_user.pw_gid)
    # The password file is read as ourselves (temporary folders are private); Dovecot's other
    # processes run as Debian's dovecot/dovenull users when started as root.
    internal, login = ("dovecot", "dovenull") if os.getuid() == 0 else (me.pw_name, me.pw_name)
    port, tls_port = free_port(), free_port()
    (root / "dovecot.conf").write_text(f"""
instance_name = pipeline-test-{port}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name}
default_login_user = {login}
first_valid_uid = 0
mail_location = maildir:{root}/mail/%u
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={root}/mail/%u
}}
service auth {{
  user = {me.pw_name}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
""", encoding="utf-8")
    process = subprocess.Popen([str(DOVECOT), "-F", "-c", str(root / "dovecot.conf")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            raise RuntimeError(f"Dovecot did not start: {output}{log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return Dovecot(root, port, tls_port, cert, process)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("Dovecot did not open its port within 20 seconds")


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dovecot]:
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="pipeline-dovecot-"))
    server = start(root)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
