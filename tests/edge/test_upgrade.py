"""``gatepass edge upgrade`` on plain data: what to install, the venv links (migration, switch, prune), the database
on rollback, the plan and ``--dry-run``. The whole upgrade under real systemd: tests/systemd/test_upgrade_real.py."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from edge import upgrade
from edge.upgrade import UpgradeError, UpgradeOptions, Verdict, resolve_target
from gatepass.cli import cli


def _fake_venv(path: Path, version: str) -> Path:
    """A directory that looks like a venv with gatepass ``version`` installed."""
    (path / "lib" / "python3.11" / "site-packages" / f"gatepass-{version}.dist-info").mkdir(parents=True)
    (path / "bin").mkdir()
    (path / "bin" / "gatepass").write_text("#!/opt/gatepass/venv/bin/python\n")
    return path


def _opts(root: Path, **kw) -> UpgradeOptions:
    return UpgradeOptions(root=root, python=Path("/usr/bin/python3"), **kw)


# -- what to install -------------------------------------------------------------------------------------------


def test_a_version_is_installed_from_the_index_or_the_given_wheelhouse():
    release = resolve_target("0.4.1", ("/srv/wheels",), no_index=True)
    assert release.version == "0.4.1"
    assert release.pip_args == ("--no-index", "--find-links", "/srv/wheels", "gatepass==0.4.1")
    assert resolve_target("1.0rc1").pip_args == ("gatepass==1.0rc1",)


@pytest.mark.parametrize("bad", ["../../etc", "0.4.1; rm -rf /", "latest", "", "0.4.1+local", "-r x"])
def test_what_is_no_version_nor_path_is_refused(bad):
    with pytest.raises(UpgradeError):
        resolve_target(bad)


def test_a_wheel_names_its_version(tmp_path):
    wheel = tmp_path / "gatepass-0.4.1-py3-none-any.whl"
    wheel.write_bytes(b"")
    release = resolve_target(str(wheel), ("/srv/wheels",))
    assert release.version == "0.4.1" and release.pip_args == ("--find-links", "/srv/wheels", str(wheel))
    with pytest.raises(UpgradeError, match="does not exist"):
        resolve_target(str(tmp_path / "gatepass-0.4.9-py3-none-any.whl"))


def test_a_directory_of_wheels_must_hold_one_gatepass_version(tmp_path):
    (tmp_path / "gatepass-0.4.1-py3-none-any.whl").write_bytes(b"")
    (tmp_path / "numpy-2.0-cp311-cp311-linux_aarch64.whl").write_bytes(b"")
    release = resolve_target(str(tmp_path))
    assert release.version == "0.4.1"
    assert release.pip_args == ("--no-index", "--find-links", str(tmp_path), "gatepass==0.4.1")
    (tmp_path / "gatepass-0.4.2-py3-none-any.whl").write_bytes(b"")
    with pytest.raises(UpgradeError, match="exactly one"):
        resolve_target(str(tmp_path))


def test_versions_are_read_from_the_command_and_the_venv(tmp_path):
    assert upgrade.version_from_output("gatepass, version 0.4.1\n") == "0.4.1"
    assert upgrade.version_from_output("oops") is None
    assert upgrade.venv_version(_fake_venv(tmp_path / "v", "0.4.0")) == "0.4.0"
    assert upgrade.venv_version(tmp_path) is None


# -- the venv links --------------------------------------------------------------------------------------------


def test_an_older_plain_directory_venv_is_moved_aside_and_linked(tmp_path):
    opts = _opts(tmp_path)
    _fake_venv(opts.link, "0.4.0")
    assert upgrade.current_venv(opts) == opts.link
    moved = upgrade.migrate_plain_venv(opts)
    assert moved == opts.venvs / "0.4.0" and (moved / "bin" / "gatepass").exists()
    assert opts.link.is_symlink() and os.readlink(opts.link) == "venvs/0.4.0"
    assert (opts.link / "bin" / "gatepass").exists()  # its scripts' /opt/gatepass/venv/bin/python still resolves
    assert upgrade.current_venv(opts) == opts.venvs / "0.4.0"


def test_switch_replaces_the_links_and_prune_keeps_two(tmp_path):
    opts = _opts(tmp_path)
    for v in ("0.3.9", "0.4.0", "0.4.1"):
        _fake_venv(opts.venvs / v, v)
    upgrade.point(opts.link, opts.venvs / "0.4.0")
    upgrade.switch(opts, opts.venvs / "0.4.1", opts.venvs / "0.4.0")
    assert os.readlink(opts.link) == "venvs/0.4.1" and os.readlink(opts.previous_link) == "venvs/0.4.0"
    assert not list(opts.home.glob(".*.new"))  # the temporary links were renamed over the old ones
    assert upgrade.prune(opts) == [opts.venvs / "0.3.9"]
    assert sorted(p.name for p in opts.venvs.iterdir()) == ["0.4.0", "0.4.1"]


# -- the database on rollback ----------------------------------------------------------------------------------


def _db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE entries (seq INTEGER PRIMARY KEY, pass_id TEXT)")
    conn.execute("INSERT INTO entries (pass_id) VALUES ('1001')")
    conn.commit()
    conn.close()
    return path


def _run_with_backup(tmp_path: Path) -> upgrade._Run:
    db = _db(tmp_path / "edge.db")
    run = upgrade._Run(new=tmp_path / "new", old=tmp_path / "old", prior_previous=None, db_path=db)
    upgrade._backup(run)
    assert run.backup == tmp_path / "edge.db.before-upgrade" and run.backup.stat().st_mode & 0o777 == 0o600
    return run


def _migrate_like_a_new_version(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE entries ADD COLUMN new_field TEXT")
    conn.execute("CREATE TABLE new_things (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()


def _columns(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[1] for r in conn.execute("PRAGMA table_info(entries)")]
    finally:
        conn.close()


def test_a_new_version_that_migrated_but_wrote_nothing_gets_its_migrations_undone(tmp_path):
    run = _run_with_backup(tmp_path)
    _migrate_like_a_new_version(run.db_path)
    said = upgrade._database_on_rollback(run, Verdict(False, reached_ready=False))
    assert "restored" in said and "wrote nothing" in said
    assert _columns(run.db_path) == ["seq", "pass_id"]


def test_a_new_version_that_logged_an_entry_keeps_the_database(tmp_path):
    run = _run_with_backup(tmp_path)
    _migrate_like_a_new_version(run.db_path)
    conn = sqlite3.connect(run.db_path)
    conn.execute("INSERT INTO entries (pass_id) VALUES ('1002')")
    conn.commit()
    conn.close()
    said = upgrade._database_on_rollback(run, Verdict(False, reached_ready=False))
    assert "kept" in said and "no entry lost" in said
    conn = sqlite3.connect(run.db_path)
    assert conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 2
    conn.close()


def test_a_new_version_that_was_ready_once_keeps_the_database(tmp_path):
    run = _run_with_backup(tmp_path)
    _migrate_like_a_new_version(run.db_path)
    said = upgrade._database_on_rollback(run, Verdict(False, reached_ready=True, why="crashed after READY"))
    assert "kept" in said and "new_field" in _columns(run.db_path)


def test_tables_added_by_a_migration_are_no_writes():
    before = {"entries": (3, 3)}
    assert upgrade.unchanged_since(before, {"entries": (3, 3), "new_things": (0, 0)})
    assert not upgrade.unchanged_since(before, {"entries": (4, 4)})
    assert not upgrade.unchanged_since(before, {"entries": (3, 4)})  # one deleted, one added


# -- the plan and the command ----------------------------------------------------------------------------------


def test_the_plan_of_an_older_install_moves_its_venv_and_touches_no_service_in_a_staging_root(tmp_path):
    opts = _opts(tmp_path, target="0.4.1", find_links=("/srv/wheels",))
    _fake_venv(opts.link, "0.4.0")
    steps = [s.description for s in upgrade.plan_upgrade(opts)]
    assert any("move the plain directory" in s for s in steps)
    assert any("switch" in s and "venvs/0.4.1" in s for s in steps)
    assert not any("systemctl" in s or ".service" in s for s in steps)  # a staging root: no service
    assert steps[-1].startswith("只保留当前和上一个")


def test_dry_run_prints_the_steps_and_changes_nothing(tmp_path):
    opts = _opts(tmp_path)
    _fake_venv(opts.link, "0.4.0")
    result = CliRunner().invoke(cli, ["edge", "upgrade", "0.4.1", "--root", str(tmp_path), "--dry-run",
                                      "--find-links", "/srv/wheels"])
    assert result.exit_code == 0, result.output
    assert "would 用" in result.output and "pip install --find-links /srv/wheels gatepass==0.4.1" in result.output
    assert not opts.venvs.exists() and not opts.link.is_symlink()


@pytest.mark.parametrize("args, message", [
    (["0.4.0"], "already the running version"),
    (["--rollback"], "no previous version"),
    ([], "give VERSION|PATH or --rollback"),
    (["0.4.1", "--rollback"], "give VERSION|PATH or --rollback"),
])
def test_what_cannot_be_done_is_refused_in_words(tmp_path, args, message):
    _fake_venv(_opts(tmp_path).link, "0.4.0")
    result = CliRunner().invoke(cli, ["edge", "upgrade", *args, "--root", str(tmp_path), "--dry-run"])
    assert result.exit_code != 0
    assert message in result.output or message in str(result.exception), result.output


def test_nothing_installed_is_refused(tmp_path):
    with pytest.raises(UpgradeError, match="no gatepass installed"):
        upgrade.plan_upgrade(_opts(tmp_path, target="0.4.1"))


def test_a_step_failing_while_the_services_are_stopped_puts_the_old_venv_back(tmp_path):
    opts = _opts(tmp_path, target="0.4.1")
    _fake_venv(opts.venvs / "0.4.0", "0.4.0")
    upgrade.point(opts.link, opts.venvs / "0.4.0")
    run = upgrade._Run(new=opts.venvs / "0.4.1", old=opts.venvs / "0.4.0", prior_previous=None,
                       db_path=tmp_path / "edge.db")
    said: list[str] = []

    def half_done() -> None:
        upgrade.point(opts.link, run.new)
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        upgrade._while_stopped(opts, run, half_done, said.append)()
    assert os.readlink(opts.link) == "venvs/0.4.0" and "back to the old version" in said[0]
