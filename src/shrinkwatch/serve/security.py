"""What makes the server safe to run: where it may listen, what it may read, who may ask, and how much.

- **Loopback by default.** :func:`check_bind` refuses a host beyond loopback (``0.0.0.0``, ``::``, a LAN
  address) unless a token is given; with a token every request must carry it (:class:`Guard`).
- **Only the data it was given.** :class:`DatasetResolver` turns the ``dataset`` of a request into a
  registered dataset id or a panel file under the folders given at start; an absolute path, a ``..``, a
  backslash or a symlink that leads out of a served folder is refused (4xx) before any file is opened.
- **Bounded requests.** :class:`Guard` refuses an over-long query (414), a body larger than the limit
  (413; the upload endpoint counts the streamed bytes itself too), a request without the token (403) and,
  when bound to loopback, a ``Host`` header naming another host (DNS rebinding: 400). The app bounds the
  time of each computation (503) and the size of a sweep (422).
- **No cross-origin reads unless asked** (``--cors ORIGIN``): no CORS headers otherwise.
- **Headers**: ``nosniff``, no framing, no referrer; JSON answers carry ``Content-Security-Policy:
  default-src 'none'``. Names from the data are JSON strings, never markup: the page escapes them.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Literal
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shrinkwatch.core.errors import OptionError
from shrinkwatch.datasets import REGISTRY

__all__ = ["ServeSettings", "DatasetRef", "DatasetResolver", "Guard", "Refusal", "check_bind", "is_loopback",
           "PANEL_SUFFIXES", "TOKEN_COOKIE", "MIN_TOKEN_LENGTH"]

#: Suffixes of a panel file (``shrinkwatch ingest -o``) the server reads.
PANEL_SUFFIXES = (".parquet", ".pq")
#: The cookie that carries the token after a page was opened with ``?token=``.
TOKEN_COOKIE = "shrinkwatch_token"
#: The shortest token accepted: a guessable token protects nothing.
MIN_TOKEN_LENGTH = 16
_LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost"}


class Refusal(Exception):
    """A request refused with an HTTP status and a message naming what was wrong (``{"detail": ...}``)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only.

    Examples
    --------
    >>> [is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0", "::", "192.168.1.5")]
    [True, True, True, True, False, False, False]
    """
    text = host.strip().strip("[]").lower()
    if text in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token, and refuse a short token.

    Examples
    --------
    >>> check_bind("127.0.0.1", None)
    >>> check_bind("0.0.0.0", None)
    Traceback (most recent call last):
    ...
    shrinkwatch.core.errors.OptionError: --host 0.0.0.0: ...
    """
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise OptionError(f"--token: at least {MIN_TOKEN_LENGTH} characters (got {len(token)}); a short token can "
                          "be guessed. Make one with: python -c \"import secrets; print(secrets.token_urlsafe())\"")
    if token is not None and not re.fullmatch(r"[A-Za-z0-9._~-]+", token):
        raise OptionError("--token: letters, digits and . _ ~ - only (it travels in headers, URLs and a cookie)")
    if not is_loopback(host) and not token:
        raise OptionError(f"--host {host}: listening beyond this machine (loopback) needs --token (or "
                          "$SHRINKWATCH_TOKEN), which every request must then carry; without one the server stays "
                          "on 127.0.0.1")


@dataclass(frozen=True)
class ServeSettings:
    """How a server runs: what it serves and its limits (``shrinkwatch serve`` options)."""

    host: str = "127.0.0.1"
    port: int = 8000
    #: the token every request must carry (None: none needed; loopback only)
    token: str | None = None
    #: registered ids or panel files loaded at start (and served by their file name)
    datasets: tuple[str, ...] = ()
    #: folders whose panel files may be asked for by their path below the folder
    panel_dirs: tuple[Path, ...] = ()
    data_dir: Path | None = None
    #: the run store (path or URL) that ``/api/runs`` reads; None: the default store
    store: str | None = None
    #: ``POST /api/panels`` ingests a file into ``panel_dirs[0]``
    allow_upload: bool = False
    max_upload_bytes: int = 20 * 2**20
    #: body of any other request (they take none)
    max_body_bytes: int = 64 * 2**10
    max_query_bytes: int = 8 * 2**10
    #: seconds one request may compute before it is answered 503 (the computation finishes in the background
    #: and its result is cached)
    time_limit: float = 60.0
    #: settings one sensitivity request may sweep
    max_sweep: int = 10_000
    cors_origins: tuple[str, ...] = ()
    cache_entries: int = 256
    cache_bytes: int = 512 * 2**20

    def __post_init__(self) -> None:
        check_bind(self.host, self.token)
        if self.allow_upload and not self.panel_dirs:
            raise OptionError("--allow-upload: give the folder uploads go to with --panels DIR")
        for folder in self.panel_dirs:
            if not Path(folder).is_dir():
                raise OptionError(f"--panels {folder}: not a folder")
        if self.time_limit <= 0:
            raise OptionError(f"--time-limit {self.time_limit}: expected a number of seconds above 0")
        if self.max_sweep < 1:
            raise OptionError(f"--max-sweep {self.max_sweep}: expected at least 1")
        for origin in self.cors_origins:
            if origin == "*" or not re.fullmatch(r"https?://[^/\s]+", origin):
                raise OptionError(f"--cors {origin!r}: expected one origin such as http://localhost:3000 "
                                  "(scheme and host, no path; '*' is not accepted)")

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


# ---------------------------------------------------------------- datasets


@dataclass(frozen=True)
class DatasetRef:
    """A dataset a request may use: a registered id, or a panel file (its name in the API and its real path)."""

    kind: Literal["registered", "panel"]
    key: str
    path: Path | None = None


@dataclass
class DatasetResolver:
    """Which datasets a request may name: registered ids, the panel files given at start (by file name), and
    panel files under the served folders (by their path below the folder). Nothing else is opened."""

    files: tuple[Path, ...] = ()
    folders: tuple[Path, ...] = ()
    _named: dict[str, Path] = field(default_factory=dict, init=False)
    _roots: tuple[Path, ...] = field(default=(), init=False)

    def __post_init__(self) -> None:
        for file in self.files:
            real = Path(file).resolve()
            name = real.name
            if not real.is_file():
                raise OptionError(f"--dataset {file}: not a registered id, and no such file")
            if real.suffix.lower() not in PANEL_SUFFIXES:
                raise OptionError(f"--dataset {file}: a panel file ends in .parquet (make one with "
                                  "`shrinkwatch ingest`)")
            if name in self._named and self._named[name] != real:
                raise OptionError(f"--dataset {file}: another panel file of the same name ({self._named[name]}) is "
                                  "served; rename one")
            self._named[name] = real
        self._roots = tuple(Path(folder).resolve() for folder in self.folders)

    def resolve(self, text: str) -> DatasetRef:
        """The dataset ``text`` names, or a :class:`Refusal`: 422 malformed, 400 a path that could leave the
        served folders, 403 a link that does, 404 unknown."""
        if not text or len(text) > 300 or any(ord(ch) < 32 for ch in text):
            raise Refusal(422, "query parameter 'dataset': expected a dataset id or a panel file name of at most "
                               "300 printable characters (GET /api/datasets lists them)")
        registered = REGISTRY.get(text)
        if registered is not None:
            if not registered.loadable:
                raise Refusal(404, f"dataset {text!r} is reference data, not a panel of units over years")
            return DatasetRef("registered", text)
        if text in self._named:
            return DatasetRef("panel", text, self._named[text])
        if "\\" in text or PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute() \
                or PureWindowsPath(text).drive or text.startswith("~"):
            raise Refusal(400, f"dataset {text!r}: absolute paths are not accepted; give a registered id or the "
                               "name of a panel file under the folders this server serves (GET /api/datasets)")
        if ".." in PurePosixPath(text).parts:
            raise Refusal(400, f"dataset {text!r}: '..' is not accepted; give a panel file's path below a served "
                               "folder (GET /api/datasets)")
        for root in self._roots:
            candidate = root / text
            if not os.path.lexists(candidate):
                continue
            real = candidate.resolve()
            if not real.is_relative_to(root):
                raise Refusal(403, f"dataset {text!r}: leads outside the folders this server serves (a link); "
                                   "refused")
            if real.suffix.lower() not in PANEL_SUFFIXES or not real.is_file():
                raise Refusal(404, f"dataset {text!r}: not a panel file (.parquet) under the served folders")
            return DatasetRef("panel", text, real)
        known = ", ".join(sorted(k for k, d in REGISTRY.items() if d.loadable))
        raise Refusal(404, f"unknown dataset {text!r}; registered ids: {known}; panel files: GET /api/datasets")

    def panel_files(self, limit: int = 1000) -> list[DatasetRef]:
        """The panel files a request may name, given ones first, then each served folder's (links that lead
        out are left out)."""
        found = [DatasetRef("panel", name, path) for name, path in self._named.items()]
        for root in self._roots:
            for folder, dirs, names in os.walk(root):
                dirs.sort()
                for name in sorted(names):
                    path = Path(folder) / name
                    if path.suffix.lower() not in PANEL_SUFFIXES:
                        continue
                    real = path.resolve()
                    if real.is_relative_to(root) and real.is_file():
                        found.append(DatasetRef("panel", path.relative_to(root).as_posix(), real))
                    if len(found) >= limit:
                        return found
        return found


# ---------------------------------------------------------------- the guard in front of every request


def _host_of(header: str) -> str:
    """The host of a ``Host`` header without its port (``[::1]:8000`` -> ``::1``)."""
    header = header.strip()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


async def _refuse(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *_HEADERS, *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"), (b"cross-origin-resource-policy", b"same-origin")]
_API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


class Guard:
    """ASGI middleware in front of the app: Host check on loopback, query and body size limits, the token, and
    the security headers on every answer."""

    def __init__(self, app: ASGIApp, settings: ServeSettings, upload_path: str = "/api/panels") -> None:
        self.app = app
        self.settings = settings
        self.upload_path = upload_path
        self._token = settings.token.encode("utf-8") if settings.token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.settings.loopback:
            host = _host_of(headers.get("host", ""))
            if not is_loopback(host):
                await _refuse(send, 400, f"Host {headers.get('host', '')!r} is not this machine: the server listens "
                                         "on loopback only (start it with --host and --token to serve others)")
                return
        query = scope.get("query_string", b"")
        if len(query) > self.settings.max_query_bytes:
            await _refuse(send, 414, f"the query is {len(query):,} bytes; at most "
                                     f"{self.settings.max_query_bytes:,} are accepted")
            return
        cookie_header: list[tuple[bytes, bytes]] = []
        if self._token is not None:
            given, from_query = self._given_token(headers, query)
            if given is None or not hmac.compare_digest(given.encode("utf-8"), self._token):
                await _refuse(send, 403, "this server needs its token: send 'Authorization: Bearer TOKEN' (or open "
                                         "the page once with ?token=TOKEN)" if given is None
                              else "wrong token")
                return
            if from_query:
                cookie_header = [(b"set-cookie", f"{TOKEN_COOKIE}={given}; HttpOnly; SameSite=Strict; Path=/"
                                  .encode("latin-1"))]
        upload = scope.get("path") == self.upload_path
        limit = self.settings.max_upload_bytes if upload else self.settings.max_body_bytes
        length = headers.get("content-length")
        if length is not None:
            if not length.strip().isdigit():
                await _refuse(send, 400, f"Content-Length {length!r}: expected a number of bytes")
                return
            if int(length) > limit:
                await _refuse(send, 413, f"the request body is {int(length):,} bytes; at most {limit:,} are "
                                         "accepted" + (" (--max-upload)" if upload else ""))
                return
        elif "chunked" in headers.get("transfer-encoding", "").lower() and not upload:
            await _refuse(send, 411, "a request body needs a Content-Length (only uploads may stream)")
            return
        api = str(scope.get("path", "")).startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), *_HEADERS, *cookie_header,
                                      *([_API_CSP] if api else [])]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    def _given_token(headers: dict[str, str], query: bytes) -> tuple[str | None, bool]:
        """The token a request carries (header, then query, then cookie) and whether it came in the query."""
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            return authorization[7:].strip(), False
        if "x-shrinkwatch-token" in headers:
            return headers["x-shrinkwatch-token"].strip(), False
        if query:
            for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
                if key == "token":
                    return value, True
        if "cookie" in headers:
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(headers["cookie"])
            except Exception:  # noqa: BLE001 - a malformed cookie header is no token
                return None, False
            if TOKEN_COOKIE in jar:
                return jar[TOKEN_COOKIE].value, False
        return None, False
