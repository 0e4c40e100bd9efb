"""A real rsyslogd for tests: started on a free 127.0.0.1 port, stopped reliably.

Debian packages: ``rsyslog`` (imudp, imtcp, imuxsock, omfile) and, for TLS,
``rsyslog-gnutls``. rsyslogd runs unprivileged in the foreground
(``rsyslogd -n -f CONF -i PIDFILE``) with its work directory, pid file, config and
output under the directory given (a test's ``tmp_path``). Every message it
receives is written to ``received.log`` as ``%rawmsg%`` plus a newline: for TCP
that is the frame's content, for UDP and unix sockets the datagram.

Use it from a fixture (these methods block; from a coroutine run them in an
executor). Finding a free port needs real sockets: in Home Assistant's test
harness request the ``socket_enabled`` fixture first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import datetime
import ipaddress
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "Rsyslog",
    "TlsFiles",
    "gtls_available",
    "make_tls_files",
    "rsyslogd_path",
]

_MODULE_DIRS = (
    "/usr/lib/x86_64-linux-gnu/rsyslog",
    "/usr/lib/aarch64-linux-gnu/rsyslog",
    "/usr/lib/rsyslog",
    "/usr/lib64/rsyslog",
)


def rsyslogd_path() -> str | None:
    """The rsyslogd binary (it lives in /usr/sbin, often not on a user's PATH)."""
    found = shutil.which("rsyslogd")
    if found:
        return found
    for candidate in ("/usr/sbin/rsyslogd", "/sbin/rsyslogd"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def gtls_available() -> bool:
    """Whether rsyslog's GnuTLS network stream driver (rsyslog-gnutls) is installed."""
    return any(Path(folder, "lmnsd_gtls.so").exists() for folder in _MODULE_DIRS)


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the CA that clients trust, and the server's certificate and key."""

    ca_cert: Path
    cert: Path
    key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """Generate a test CA and a server certificate for 127.0.0.1 and localhost."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "IoTitan test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(
        directory / "ca.pem", directory / "server.pem", directory / "server.key"
    )
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return files


def free_port() -> int:
    """A port that is free on 127.0.0.1 for both TCP and UDP right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port on 127.0.0.1")


def _listening(port: int, table: str, state: str) -> bool:
    """Whether /proc/net/<table> shows 127.0.0.1:port in `state` (0A listen, 07 udp)."""
    wanted = f"0100007F:{port:04X}"
    with Path("/proc/net", table).open() as file:
        next(file)
        for row in file:
            fields = row.split()
            if fields[1] == wanted and fields[3] == state:
                return True
    return False


class Rsyslog:
    """One rsyslogd with UDP and TCP (or TLS) inputs on 127.0.0.1:`port`.

    Also a unix datagram socket (`unix_socket`) through imuxsock when asked.
    `start` and `stop` may be called repeatedly; the port and output file stay
    the same, so a restarted receiver appends to what it received before.
    """

    def __init__(
        self,
        directory: Path,
        *,
        tls: TlsFiles | None = None,
        unix_socket: bool = False,
        port: int | None = None,
        max_message_size: str | None = "64k",
        template: str = "%rawmsg%\\n",
    ) -> None:
        """Prepare the configuration in `directory` (nothing runs yet).

        `max_message_size` is rsyslog's global ``maxMessageSize``; None leaves it
        out, so rsyslogd runs with its built-in default (8k), as a stock install.
        `template` is what is written for each record (RainerScript string).
        """
        binary = rsyslogd_path()
        if binary is None:
            raise RuntimeError("rsyslogd is not installed (Debian package rsyslog)")
        self.binary = binary
        self.directory = directory
        self.tls = tls
        self.max_message_size = max_message_size
        self.template = template
        self.port = port if port is not None else free_port()
        self.output = directory / "received.log"
        self.internal_log = directory / "rsyslogd-internal.log"
        self.config = directory / "rsyslog.conf"
        self.pid_file = directory / "rsyslogd.pid"
        self.unix_socket = directory / "log.sock" if unix_socket else None
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr = directory / "rsyslogd.stderr"
        directory.mkdir(parents=True, exist_ok=True)
        self.config.write_text(self.config_text())

    def config_text(self) -> str:
        """The rsyslog configuration (RainerScript)."""
        size = (
            f' maxMessageSize="{self.max_message_size}"'
            if self.max_message_size is not None
            else ""
        )
        lines = [f'global(workDirectory="{self.directory}"{size})']
        tcp_driver = ""
        if self.tls is not None:
            lines.append(
                f'global(DefaultNetstreamDriverCAFile="{self.tls.ca_cert}"'
                f' DefaultNetstreamDriverCertFile="{self.tls.cert}"'
                f' DefaultNetstreamDriverKeyFile="{self.tls.key}")'
            )
            tcp_driver = (
                ' StreamDriver.Name="gtls" StreamDriver.Mode="1"'
                ' StreamDriver.AuthMode="anon"'
            )
        lines += [
            'module(load="imudp")',
            f'module(load="imtcp"{tcp_driver})',
            f'template(name="iotitan_raw" type="string" string="{self.template}")',
            'ruleset(name="iotitan_in") {',
            f'  action(type="omfile" file="{self.output}" template="iotitan_raw"'
            ' flushOnTXEnd="on" asyncWriting="off")',
            "}",
            f'input(type="imudp" address="127.0.0.1" port="{self.port}"'
            ' ruleset="iotitan_in" rcvbufSize="4m")',
            f'input(type="imtcp" address="127.0.0.1" port="{self.port}"'
            ' ruleset="iotitan_in")',
        ]
        if self.unix_socket is not None:
            lines += [
                'module(load="imuxsock" SysSock.Use="off")',
                f'input(type="imuxsock" Socket="{self.unix_socket}"'
                ' ruleset="iotitan_in" UseSpecialParser="off"'
                ' RateLimit.Interval="0" CreatePath="on")',
            ]
        # rsyslogd's own messages go to a file of their own, not into the output
        lines.append(f'*.* action(type="omfile" file="{self.internal_log}")')
        return "\n".join(lines) + "\n"

    def check_config(self) -> None:
        """``rsyslogd -N1``: raise with rsyslogd's words if the config is wrong."""
        result = subprocess.run(
            [self.binary, "-N1", "-f", str(self.config)],
            capture_output=True,
            check=False,
            timeout=30,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"rsyslogd -N1 rejected {self.config}:\n"
                + result.stdout.decode(errors="replace")
                + result.stderr.decode(errors="replace")
            )

    @property
    def running(self) -> bool:
        """Whether the rsyslogd process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 20.0) -> None:
        """Start rsyslogd and wait until all its inputs are listening."""
        if self.running:
            return
        self.check_config()
        with self._stderr.open("ab") as stderr:
            self._process = subprocess.Popen(
                [self.binary, "-n", "-f", str(self.config), "-i", str(self.pid_file)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
            )
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"rsyslogd exited with {self._process.returncode}:\n{self.diagnostics()}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(
                    f"rsyslogd did not start listening:\n{self.diagnostics()}"
                )
            time.sleep(0.02)

    def _ready(self) -> bool:
        return (
            _listening(self.port, "tcp", "0A")
            and _listening(self.port, "udp", "07")
            and (self.unix_socket is None or self.unix_socket.exists())
        )

    def diagnostics(self) -> str:
        """rsyslogd's stderr and internal log, for failure messages."""
        parts = []
        for path in (self._stderr, self.internal_log):
            if path.exists():
                parts.append(
                    f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
                )
        return "\n".join(parts)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop rsyslogd with SIGTERM (SIGKILL if it does not exit in time)."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        self._process = None
        self._wait_closed()

    def kill(self) -> None:
        """Kill rsyslogd with SIGKILL (kill -9): no chance to flush or close."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
            process.wait(10)
        self._process = None
        self._wait_closed()

    def _wait_closed(self) -> None:
        """Wait until the kernel has dropped the listening sockets."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (
            _listening(self.port, "tcp", "0A") or _listening(self.port, "udp", "07")
        ):
            time.sleep(0.01)

    def read(self) -> bytes:
        """Everything received so far."""
        try:
            return self.output.read_bytes()
        except FileNotFoundError:
            return b""

    def wait_for(
        self,
        done: Callable[[bytes], bool],
        timeout: float = 20.0,
        settle: float = 0.0,
    ) -> bytes:
        """Poll the output until `done(output)`, then `settle` seconds more.

        Returns the output (also when the timeout passes: the caller asserts).
        """
        deadline = time.monotonic() + timeout
        data = self.read()
        while not done(data) and time.monotonic() < deadline:
            time.sleep(0.02)
            data = self.read()
        if settle:
            time.sleep(settle)
            data = self.read()
        return data

    def __enter__(self) -> Rsyslog:
        """Start on entering a with block."""
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop on leaving it, whatever happened."""
        self.stop()
