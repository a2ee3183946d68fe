"""The demo's console account: ``gatepass demo`` prints how to sign in."""

from __future__ import annotations

from pathlib import Path

from central.console import auth, passwords
from central.db import open_db

DEMO_USER = "admin"


def demo_login(central_dir: Path) -> str:
    """Create (once) an admin account for the demo and return ``"user / password"``.

    The password is random, kept in ``<central_dir>/console-demo-login`` (mode 0600) so restarts reuse it.
    """
    central_dir = Path(central_dir)
    secret_file = central_dir / "console-demo-login"
    db = open_db(central_dir / "central.db")
    try:
        if not secret_file.exists():
            password = passwords.generate([DEMO_USER])
            secret_file.touch(mode=0o600)
            secret_file.write_text(password)
        password = secret_file.read_text().strip()
        if not any(u["username"] == DEMO_USER for u in auth.list_users(db)):
            auth.add_user(db, DEMO_USER, password, "admin", "演示管理员")
    finally:
        db.close()
    return f"{DEMO_USER} / {password}"
