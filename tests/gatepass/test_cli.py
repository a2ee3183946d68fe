"""The command line: every command has help; bad input gives one line and a non-zero exit."""

from __future__ import annotations

import click
import pytest

from gatepass.cli import cli


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _all_commands(command, prefix + (name,))


def test_every_command_has_help_text():
    missing = [" ".join(path) for path, cmd in _all_commands(cli) if not (cmd.help or "").strip()]
    assert missing == []


def test_top_level_help_lists_required_subcommands(gatepass_cli):
    out = gatepass_cli("--help")
    assert out.returncode == 0
    for name in ("edge", "central", "sync", "sim", "demo", "doctor"):
        assert f"  {name} " in out.stdout


@pytest.mark.parametrize("path", [p for p, _ in _all_commands(cli)], ids=" ".join)
def test_each_command_help_runs(path):
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_check_config_accepts_a_good_file(gatepass_cli, tmp_path):
    cfg = tmp_path / "edge.toml"
    cfg.write_text('device_id = "g1"\n[gate]\nid = "north"\nmode = "unattended"\n')
    out = gatepass_cli("edge", "run", "--config", str(cfg), "--check-config")
    assert out.returncode == 0, out.stderr
    assert "north" in out.stdout


def test_unknown_key_is_a_one_line_error_naming_file_and_field(gatepass_cli, tmp_path):
    cfg = tmp_path / "edge.toml"
    cfg.write_text('[gate]\nidd = "north"\n')
    out = gatepass_cli("edge", "run", "--config", str(cfg), "--check-config")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(cfg) in lines[0] and "gate.idd" in lines[0] and "unknown key" in lines[0]


def test_bad_toml_and_missing_file(gatepass_cli, tmp_path):
    cfg = tmp_path / "edge.toml"
    cfg.write_text("[gate\n")
    out = gatepass_cli("edge", "run", "--config", str(cfg), "--check-config")
    assert out.returncode == 2 and "not valid TOML" in out.stderr and "Traceback" not in out.stderr
    out = gatepass_cli("edge", "run", "--config", str(tmp_path / "nope.toml"), "--check-config")
    assert out.returncode == 2 and "does not exist" in out.stderr


def test_debug_shows_the_traceback(gatepass_cli, tmp_path):
    out = gatepass_cli("--debug", "edge", "run", "--config", str(tmp_path / "nope.toml"), "--check-config")
    assert out.returncode != 0 and "Traceback" in out.stderr


def test_secret_without_default_is_required(gatepass_cli, tmp_path):
    cfg = tmp_path / "sync.toml"
    cfg.write_text('central_url = "http://127.0.0.1:1/"\n')
    out = gatepass_cli("sync", "run", "--config", str(cfg), "--check-config")
    assert out.returncode == 2 and "device_token" in out.stderr and "required" in out.stderr


def test_environment_overrides_file(gatepass_cli, tmp_path):
    cfg = tmp_path / "edge.toml"
    cfg.write_text('[gate]\nid = "north"\n')
    out = gatepass_cli("edge", "run", "--config", str(cfg), "--check-config",
                       env={"GATEPASS_EDGE_GATE__ID": "south"})
    assert out.returncode == 0 and "south" in out.stdout


def test_wrong_type_in_environment_names_the_field(gatepass_cli):
    out = gatepass_cli("edge", "run", "--check-config", env={"GATEPASS_EDGE_GUARD_PAGE__PORT": "eighty"})
    assert out.returncode == 2 and "guard_page.port" in out.stderr
