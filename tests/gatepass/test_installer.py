"""The installers' shared steps: reading the staging root's users, the machine check."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatepass.installer import InstallError, check_machine, lookup_ids


@settings(max_examples=50, deadline=None)
@given(lines=st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40), max_size=6))
def test_any_passwd_file_is_parsed_without_crashing(tmp_path_factory, lines):
    root = tmp_path_factory.mktemp("root")
    (root / "etc").mkdir()
    (root / "etc/passwd").write_text("\n".join(lines), encoding="utf-8")
    ids = lookup_ids(root, "gatepass")
    assert ids is None or all(isinstance(i, int) and i >= 0 for i in ids)


def test_only_64_bit_machines_are_installed_on():
    for machine in ("aarch64", "x86_64", "AMD64"):
        check_machine(machine)
    for machine in ("armv7l", "armv6l", "i686"):
        with pytest.raises(InstallError, match="64-bit"):
            check_machine(machine)
