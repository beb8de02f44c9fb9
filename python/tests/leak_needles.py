"""The needle rule of the leak matrix (tests/leak/README.md): random secrets, their encodings,
12-character windows, and the count of hits in outputs."""

from __future__ import annotations

import base64
import json
import re
import secrets as rnd
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from conftest import REPO

CASES: dict[str, Any] = json.loads((REPO / "tests/leak/cases.json").read_text(encoding="utf-8"))
WINDOW: int = CASES["window"]

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_NON_ASCII = "éüß€Ω中ж"
_KEPT = set(_ALNUM + "*-._")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def secret(kind: str) -> str:
    """A fresh secret of ``kind`` (``text`` or ``header``)."""
    chars = list('/+&%="\\')
    if kind == "text":
        chars += [rnd.choice(_NON_ASCII) for _ in range(2)]
    chars += [rnd.choice(_ALNUM) for _ in range(31 - len(chars))]
    for i in range(len(chars) - 1, 0, -1):
        j = rnd.randbelow(i + 1)
        chars[i], chars[j] = chars[j], chars[i]
    chars.insert(1 + rnd.randbelow(len(chars) - 1), " ")
    return "".join(chars)


def client_id() -> str:
    return f"leak-{rnd.token_hex(6)}"


def _url_encode(v: str, space: str) -> str:
    out = []
    for b in v.encode():
        c = chr(b)
        out.append(c if c in _KEPT else space if c == " " else f"%{b:02X}")
    return "".join(out)


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def encodings(v: str, cid: str | None = None) -> list[str]:
    """Encodings 1 to 6 of ``v``, and 7 (Basic) when the client id ``cid`` is given."""
    js = json.dumps(v, ensure_ascii=False)[1:-1]
    out = [
        v,
        _url_encode(v, "+"),
        _url_encode(v, "%20"),
        js,
        json.dumps(v)[1:-1],
        v.replace("\\", "\\\\"),
    ]
    if cid is not None:
        out += [
            _b64(f"{_url_encode(cid, '+')}:{_url_encode(v, '+')}"),
            _b64(f"{_url_encode(cid, '%20')}:{_url_encode(v, '%20')}"),
            _b64(f"{cid}:{v}"),
        ]
    return list(dict.fromkeys(out))


class Needles:
    """The needle values of a run and the hits they make in outputs."""

    def __init__(self) -> None:
        self._windows: dict[str, str] = {}

    def add(self, label: str, value: str, cid: str | None = None) -> None:
        for e in encodings(value, cid):
            if len(e) <= WINDOW:
                self._windows[e] = label
            for i in range(len(e) - WINDOW + 1):
                self._windows[e[i : i + WINDOW]] = label

    def add_from_provider(
        self, echoes: list[dict[str, str]], requests: list[dict[str, Any]], ids: list[str]
    ) -> None:
        """Echoed tokens, and the assertions and bearer tokens of requests naming one of ``ids``."""
        for e in echoes:
            self.add("echoed access_token", e["access_token"])
            self.add("echoed refresh_token", e["refresh_token"])
        for r in requests:
            auth = (r.get("headers") or {}).get("authorization", "")
            body = r.get("body") or ""
            basic = base64.b64decode(auth[6:]).decode(errors="replace") if auth.startswith("Basic ") else ""
            if not any(i in r["path"] or i in body or i in basic for i in ids):
                continue
            for assertion in parse_qs(body).get("client_assertion", []):
                _, payload, signature = assertion.split(".")
                self.add("client_assertion payload", payload)
                self.add("client_assertion signature", signature)
            if auth.startswith("Bearer "):
                self.add("bearer token", auth[7:])

    def find(self, text: str) -> list[str]:
        """The hits in one output: each needle value found (by label), and control characters."""
        found: dict[str, str] = {}
        for i in range(len(text) - WINDOW + 1):
            label = self._windows.get(text[i : i + WINDOW])
            if label is not None and label not in found:
                found[label] = text[i : i + WINDOW]
        hits = [f"{label} ({w!r})" for label, w in found.items()]
        control = _CONTROL.search(text)
        if control:
            hits.append(f"control character {control.group()!r}")
        return hits


@dataclass
class Case:
    name: str
    template: dict[str, Any]
    echo: dict[str, Any]
    id: str
    secrets: dict[str, str]

    def profile(self, provider: str, private_key: str) -> dict[str, Any]:
        """The profile template with its placeholders filled."""

        def fill(v: Any) -> Any:
            if isinstance(v, str):
                v = v.replace("${PROVIDER}", provider).replace("${CLIENT_ID}", self.id)
                v = v.replace("${PRIVATE_KEY}", private_key)
                return re.sub(r"\$\{SECRET:(\w+)\}", lambda m: self.secrets[m.group(1)], v)
            if isinstance(v, list):
                return [fill(x) for x in v]
            if isinstance(v, dict):
                return {k: fill(x) for k, x in v.items()}
            return v

        return fill(self.template["profile"])  # type: ignore[no-any-return]

    def fault(self) -> dict[str, Any]:
        """The echo fault for one call, with ``align_on`` from the case's secrets."""
        fault = {"route": self.template["route"], "kind": "echo", "count": 1, **self.echo}
        if "align_at" in self.echo:
            fault["align_on"] = [e for v in self.secrets.values() for e in encodings(v, self.id)]
        return fault


def expand_cases() -> list[Case]:
    """Every case of the matrix with fresh secrets."""
    return [
        Case(
            name=f"{p['id']}/{n}-{echo['as']}",
            template=p,
            echo=echo,
            id=client_id(),
            secrets={name: secret(kind) for name, kind in p["secrets"].items()},
        )
        for p in CASES["profiles"]
        for n, echo in enumerate(CASES["echoes"])
    ]


def summary(lang: str, cases: int, outputs: int, hits: int) -> str:
    return f"leak matrix ({lang}): {cases} cases, {outputs} outputs checked, {hits} hits"
