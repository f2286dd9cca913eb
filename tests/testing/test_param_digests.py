"""Every MNIST-FC result still reproduces bit for bit: one epoch of each shipped config gives
the parameters recorded, as SHA-256 digests, before the rule-contract refactor
(param_digests.json; how it was made is in digests.py), and so do the MNIST-LC configs on
500 examples. Each epoch runs with the config's BLAS threads (1), as `localnet run` does,
whatever the environment sets: the table was made with 1."""

from __future__ import annotations

import json

import pytest
from testing.digests import ROOT, TABLE, digest, platform_key

TABLE_DATA = json.loads(TABLE.read_text())
CASES = [(stem, int(limit)) for stem, by_limit in sorted(TABLE_DATA["digests"].items()) for limit in sorted(by_limit)]


def test_the_table_names_shipped_configs_each_at_a_short_and_a_full_epoch():
    shipped = {path.stem for path in (ROOT / "models").glob("mnist_*.toml")}
    stems = {stem for stem, _ in CASES}
    assert stems <= shipped  # configs added after the table have no old digest
    fc = {stem for stem in stems if stem.startswith("mnist_fc_")}
    assert len(fc) >= 10 and all(set(TABLE_DATA["digests"][stem]) == {"0", "6000"} for stem in fc)


@pytest.mark.slow
@pytest.mark.parametrize(("stem", "limit"), CASES, ids=[f"{s}-{n or 'full'}" for s, n in CASES])
def test_one_epoch_gives_the_recorded_parameters(stem, limit):
    """On a recorded platform: its digest exactly. The first table (AMD EPYC) was recorded
    without its key, so elsewhere the digest must be one of the recorded ones."""
    got, key = digest(ROOT / "models" / f"{stem}.toml", limit), platform_key()
    platforms = TABLE_DATA.get("platforms", {})
    if key in platforms:
        assert got == platforms[key]["digests"][stem][str(limit)], f"platform {key}"
        return
    known = {TABLE_DATA["digests"][stem][str(limit)]} | {p["digests"][stem][str(limit)] for p in platforms.values()}
    assert got in known, (f"platform {key} has no recorded digests and none of the recorded ones matches: either "
                          "the code changed the results, or this platform needs its own (tests/testing/digests.py "
                          "says how to record them with the pre-refactor code)")
