"""``gatepass central user add|passwd|list``: one real subprocess, the rest through the same CLI in-process."""

from __future__ import annotations

import os
import subprocess
import sys

from click.testing import CliRunner

from central.console import auth
from central.db import open_db
from gatepass.cli import main


def _config(tmp_path, central_url):
    cfg = tmp_path / "central.toml"
    url = f'database_url = "{central_url}"\n' if central_url.startswith("postgresql") else ""
    cfg.write_text(f'data_dir = "{tmp_path / "c"}"\nsession_secret = "{"s" * 32}"\n' + url)
    return str(cfg)


def _target(tmp_path, central_url):
    return central_url if central_url.startswith("postgresql") else tmp_path / "c" / "central.db"


def _cli(*args: str, stdin: str = "") -> tuple[int, str]:
    with CliRunner().isolation(input=stdin) as streams:
        code = main(["central", "user", *args])
        return code, b"".join(s.getvalue() for s in streams[:2]).decode()


def test_user_add_in_a_real_subprocess(tmp_path, central_url):
    cfg = _config(tmp_path, central_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_")}
    r = subprocess.run([sys.executable, "-m", "gatepass", "central", "user", "add", "--config", cfg, "li.si",
                        "--role", "admin", "--name", "李四", "--password-stdin"], input="first-password\n",
                       text=True, capture_output=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    assert "li.si" in r.stdout and "first-password" not in r.stdout + r.stderr
    users = auth.list_users(open_db(_target(tmp_path, central_url)))
    assert [(u["username"], u["role"], u["display_name"]) for u in users] == [("li.si", "admin", "李四")]


def test_user_list_passwd_and_errors(tmp_path, central_url):
    cfg = _config(tmp_path, central_url)
    assert _cli("add", "--config", cfg, "wang", "--password-stdin", stdin="first-password\n")[0] == 0
    code, text = _cli("add", "--config", cfg, "wang", "--password-stdin", stdin="first-password\n")
    assert code == 2 and "already exists" in text
    code, text = _cli("add", "--config", cfg, "zhao", "--password-stdin", stdin="short\n")
    assert code == 2 and "too short" in text
    code, text = _cli("list", "--config", cfg)
    assert code == 0 and "wang" in text and "staff" in text and "zhao" not in text
    assert _cli("passwd", "--config", cfg, "wang", "--password-stdin", stdin="second-password\n")[0] == 0
    db = open_db(_target(tmp_path, central_url))
    assert auth.authenticate(db, "wang", "second-password") is not None
    assert auth.authenticate(db, "wang", "first-password") is None
    code, text = _cli("passwd", "--config", cfg, "nobody", "--password-stdin", stdin="second-password\n")
    assert code == 2 and "no user" in text
