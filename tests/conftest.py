"""Shared fixtures. Every test runs with the network closed except 127.0.0.1."""

from __future__ import annotations

import atexit
import ipaddress
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NEWSBOT_SHARED", ROOT.parent / "shared"))
SEED = ROOT / "config" / "documents" / "000_c85e0081388b6925.txt"
# The CLI keeps computed word forms in a cache folder: the tests' own, never the user's.
_CACHE = tempfile.mkdtemp(prefix="newsbot-tests-cache-")
atexit.register(shutil.rmtree, _CACHE, True)
os.environ.setdefault("NEWSBOT_CACHE_DIR", _CACHE)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _allowed(address: object) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX
        return True
    if isinstance(address, tuple) and address:
        host = address[0]
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return host == "localhost"
    return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _allowed(address):
        raise AssertionError(f"test tried to reach the network: {address!r}")
    _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _allowed(address):
        raise AssertionError(f"test tried to reach the network: {address!r}")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


def _guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
    name = host.decode() if isinstance(host, bytes) else host
    if name not in (None, "localhost", "127.0.0.1", "::1", ""):
        try:
            if not ipaddress.ip_address(str(name)).is_loopback:
                raise AssertionError(f"test tried to resolve a non-loopback address: {name}")
        except ValueError:
            raise AssertionError(f"test tried to resolve {name!r}: the network is closed") from None
    return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any connection or name lookup that is not loopback fails the test."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    yield


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's own token or paths."""
    for var in list(os.environ):
        kept = var in ("NEWSBOT_SHARED", "NEWSBOT_CACHE_DIR")  # the tests' own, set above
        if (var.startswith("NEWSBOT_") and not kept) or var == "TELEGRAM_BOT_TOKEN":
            monkeypatch.delenv(var, raising=False)


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with the reason."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available (the shared corpus lives beside the checkout)")
    return path
