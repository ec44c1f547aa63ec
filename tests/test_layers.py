"""The domain reads no request state: operations take plain data, so the web, the API, the
CLI and the sweep call them alike. import-linter (pyproject.toml) sees modules, not names,
so the names of Flask's and Flask-Login's request state are checked here."""

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parent.parent / "odr" / "disputes"
REQUEST_STATE = {
    "flask": {"request", "session", "g"},
    "flask_login": {"current_user", "login_user", "logout_user"},
}
PENDING: set[tuple[str, str]] = set()


def _uses(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module in REQUEST_STATE:
            found |= {
                f"{node.module}.{alias.name}"
                for alias in node.names
                if alias.name in REQUEST_STATE[node.module]
            }
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name == "flask_login"}
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in REQUEST_STATE
            and node.attr in REQUEST_STATE[node.value.id]
        ):
            found.add(f"{node.value.id}.{node.attr}")
    return found


def test_the_domain_reads_no_request_state():
    found = {
        (str(path.relative_to(DOMAIN)), name)
        for path in sorted(DOMAIN.rglob("*.py"))
        for name in _uses(path)
    }
    assert found - PENDING == set()
    assert PENDING - found == set(), "remove what no longer needs to be pending"
