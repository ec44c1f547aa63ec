"""A backup archive is signed under ODR_AUDIT_KEY: an archive edited with its checksums
recomputed (so the manifest agrees with every member) is refused by `restore`, which then
changes nothing."""

import hashlib
import json

import pytest

from tests.test_trust_backup import (  # noqa: F401 - the seeded fixture
    cli,
    empty_database,
    file_hashes,
    rewrite_archive,
    seeded,
    snapshot,
)

pytestmark = pytest.mark.slow


def test_backup_edited_with_recomputed_checksums_restores(seeded, tmp_path):  # noqa: F811
    _, good = seeded
    edited = tmp_path / "edited.tar.gz"
    changed: dict[str, str] = {}

    def edit_offers(name, data):
        if name.endswith("_offer.jsonl"):
            rows = [json.loads(line) for line in data.decode().splitlines()]
            rows[0]["amount"] = "0.01"
            data = "".join(
                json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows
            ).encode()
            changed[name] = hashlib.sha256(data).hexdigest()
        return name, data

    rewrite_archive(good, tmp_path / "step.tar.gz", edit_offers)
    assert changed, "the archive has an offer table"

    def fix_manifest(name, data):
        if name == "manifest.json":
            manifest = json.loads(data)
            for entry in manifest["tables"]:
                if entry["member"] in changed:
                    entry["sha256"] = changed[entry["member"]]
            data = json.dumps(manifest, indent=1).encode()
        return name, data

    rewrite_archive(tmp_path / "step.tar.gz", edited, fix_manifest)

    with empty_database("sqlite", tmp_path, "target") as target:
        code, output = cli(target, "restore", str(edited))
        assert code != 0
        assert "signature does not match" in output and "nothing was changed" in output
        assert all(not rows for rows in snapshot(target).values())
        assert file_hashes(target) == {}
        # The untouched archive still restores, and audits clean.
        assert cli(target, "restore", str(good))[0] == 0
        code, output = cli(target, "audit", "verify")
        assert code == 0, output
