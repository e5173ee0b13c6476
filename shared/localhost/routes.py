"""HTTP routes as the Functions host reads them: `{param}` segments, literals matched case-insensitively."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

import azure.functions as func

HttpFunction = Callable[[func.HttpRequest], func.HttpResponse]


@dataclass(frozen=True)
class Route:
    template: str
    methods: frozenset[str]
    function: HttpFunction
    pattern: re.Pattern[str]
    literal_segments: int

    @classmethod
    def compile(cls, prefix: str, template: str, methods: Sequence[str], function: HttpFunction) -> Route:
        parts = []
        literals = 0
        for segment in [s for s in (prefix.strip("/") + "/" + template.strip("/")).split("/") if s]:
            pieces = re.split(r"(\{[A-Za-z_][A-Za-z0-9_]*\})", segment)
            regex = ""
            for piece in pieces:
                if piece.startswith("{") and piece.endswith("}"):
                    regex += f"(?P<{piece[1:-1]}>[^/]+)"
                else:
                    regex += re.escape(piece)
            literals += 0 if "{" in segment else 1
            parts.append(regex)
        pattern = re.compile("^/" + "/".join(parts) + "/?$", re.IGNORECASE)
        return cls(
            template,
            frozenset(str(getattr(m, "value", m)).upper() for m in methods),
            function,
            pattern,
            literals,
        )


class Router:
    def __init__(self, routes: Sequence[Route]) -> None:
        # More literal segments first, as the host prefers the most specific template.
        self._routes = sorted(routes, key=lambda r: -r.literal_segments)

    def match(self, path: str, method: str) -> tuple[Route, dict[str, str]] | bool | None:
        """The route and its parameters; False when the path exists but not for this method; None if no path."""
        path_exists = False
        for route in self._routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            if method.upper() in route.methods:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
            path_exists = True
        return False if path_exists else None
