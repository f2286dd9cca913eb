"""Execution backends for `localnet sweep` (`--runner NAME`), registered under the entry-point
group `localnet.runners` in pyproject.toml: `local` (a process pool, the default, nothing to
install) and `ray` (a Ray cluster, `pip install -e '.[ray]'`)."""
