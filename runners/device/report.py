"""The device check's summary (card, versions, ratios, projections, peak memory) and its Markdown table."""

from __future__ import annotations

from typing import Any

#: the rule whose measured LC step cost stands for each CIFAR-LC config's rule in the grid projection
STEP_FAMILY = {"bp": "bp", "bp_convnet": "bp", "fa": "fa", "dfa": "fa", "tp": "sdtp", "dtp": "sdtp", "sdtp": "sdtp",
               "aosdtp": "sdtp"}


def _stage(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next((s for s in report["stages"] if s["name"] == name), {})


def _config_rule(name: str) -> str:
    """cifar_lc_sdtp_parallel.toml -> sdtp; cifar_lc_bp_convnet.toml -> bp_convnet."""
    stem = name.removeprefix("cifar_lc_").removesuffix(".toml")
    return stem.removesuffix("_parallel").removesuffix("_alternating")


def summarize(report: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of the stages run so far (absent where a stage gave none)."""
    env, tests = _stage(report, "env"), _stage(report, "tests")
    out: dict[str, Any] = {"card": env.get("gpu") or env.get("nvidia_smi") or "no GPU (backend numpy)"}
    out["versions"] = {k: env[k] for k in ("nvidia_smi", "cuda_driver", "cuda_runtime", "compute_capability", "cupy",
                                           "torch", "torch_cuda", "numpy", "python") if env.get(k) is not None}
    if "tests" in tests:
        out["tests"] = {k: tests.get(k) for k in ("tests", "failures", "errors", "skipped")}
    for name in ("fc", "lc_step"):
        rows = _stage(report, name).get("rows") or []
        if rows:
            out[f"{name}_ratios"] = {r["rule"]: {"ratio": r["ratio"], "paired": r["ratio_paired_median"]} for r in rows}
        if _stage(report, name).get("profile"):
            out[f"{name}_step_profile_ms"] = _stage(report, name)["profile"]
    peaks: dict[str, int] = {}
    for stage in report["stages"]:
        for key, value in (stage.get("memory") or {}).items():
            if value is not None:
                peaks[key] = max(peaks.get(key, 0), int(value))
    out["peak_memory_bytes"] = peaks
    epoch = _stage(report, "cifar_epoch")
    if "epoch_seconds" in epoch:
        grid = epoch.get("grid_configs", [])
        one = epoch["projected_500_epochs_hours"]
        cifar = {"epoch_seconds": epoch["epoch_seconds"], "train_images_per_second": epoch["train_images_per_second"],
                 "bp_500_epochs_hours": one, "grid_configs": len(grid), "grid_hours_at_bp_cost": one * len(grid)}
        steps = {r["rule"]: r["step_ms"] for r in _stage(report, "lc_step").get("rows") or []}
        if grid and all(rule in steps for rule in ("bp", "fa", "sdtp")):
            factors = [steps[STEP_FAMILY.get(_config_rule(g), "sdtp")] / steps["bp"] for g in grid]
            cifar["grid_hours_weighted"] = one * sum(factors)
            cifar["grid_weighting"] = ("each config's epoch = BP's epoch x (its rule's measured LC step time / BP's); "
                                       "dfa as fa; tp, dtp, aosdtp and both schedules as sdtp parallel")
        out["cifar_lc_bp"] = cifar
    imagenet = _stage(report, "imagenet")
    if imagenet:
        out["imagenet_lc_sdtp"] = ({key: imagenet.get(key) for key in ("images_per_second", "images_per_second_staged",
                                                                       "images_per_second_step_only")}
                                   if "images_per_second" in imagenet else {"status": imagenet.get("status"),
                                   "why": imagenet.get("reason") or imagenet.get("error")})
    return out


def _num(value: Any, fmt: str = ",.0f") -> str:
    return "-" if value is None else format(value, fmt)


def markdown(report: dict[str, Any]) -> str:
    """One Markdown page: card and versions, the stage table, then each stage's numbers."""
    s = report.get("summary") or summarize(report)
    opts = report["options"]
    gib = {k: f"{v / 2**30:.2f} GiB" for k, v in s["peak_memory_bytes"].items()}
    lines = ["# Device check", "", f"Card: **{s['card']}**; backend {opts['backend']}"
             f"{' (--small: sizing run, not numbers)' if opts['small'] else ''}; budget {report['budget_seconds']:.0f} s.",
             "", "Versions: " + (", ".join(f"{k} {v}" for k, v in s["versions"].items()) or "-") + ".", "",
             "Peak memory: " + (", ".join(f"{k.removesuffix('_bytes')} {v}" for k, v in gib.items()) or "-") + ".", "",
             "| stage | status | seconds | notes |", "| --- | --- | ---: | --- |"]
    for st in report["stages"]:
        note = st.get("error") or st.get("reason") or st.get("note") or ""
        if st["name"] == "tests" and "tests" in st:
            note = f"{st['tests']} tests, {st['failures']} failures, {st['errors']} errors, {st['skipped']} skipped " + note
        if st["name"] == "install" and "missing_after" in st:
            note = f"gpu extra {st.get('gpu_extra')}; missing: {', '.join(st['missing_after']) or 'none'} " + note
        lines.append(f"| {st['name']} | {st['status']} | {st['seconds']:.1f} | {str(note).replace('|', '/')[:200]} |")
    for name, title in (("fc", "MNIST-FC"), ("lc_step", "CIFAR-LC, one step")):
        rows = _stage(report, name).get("rows") or []
        if rows:
            lines += ["", f"## {title} against torch (float32, batch {rows[0].get('batch', rows[0].get('batch_size'))}; "
                      "ratio > 1: localnet faster)", "", "| rule | localnet ex/s | torch ex/s | ratio | paired median |",
                      "| --- | ---: | ---: | ---: | ---: |"]
            lines += [f"| {r['rule']} | {_num(r['localnet'])} | {_num(r['torch'])} | {_num(r['ratio'], '.2f')} | "
                      f"{_num(r['ratio_paired_median'], '.2f')} |" for r in rows]
            profile = _stage(report, name).get("profile") or {}
            if profile:
                keys = list(next(iter(profile.values())))
                lines += ["", f"One localnet step, ms ({', '.join(keys)}; device time well under host time: "
                          "the GPU waits for Python and launches):", "", "| rule | " + " | ".join(keys) + " |",
                          "| --- |" + " ---: |" * len(keys)]
                lines += [f"| {rule} | " + " | ".join(f"{v[k]:.2f}" for k in keys) + " |" for rule, v in profile.items()]
    ops = _stage(report, "lc_ops")
    if ops.get("rows"):
        lines += ["", "## LC layer ops (ms per call; vs torch > 1: localnet faster)", "",
                  "| layer | op | localnet ms | torch ms | vs torch |", "| --- | --- | ---: | ---: | ---: |"]
        lines += [f"| {r['layer']} | {r['op']} | {r['ours_s'] * 1e3:.3f} | {r['torch_s'] * 1e3:.3f} | {r['vs_torch']:.2f} |"
                  for r in ops["rows"]]
        lines += ["", "| col2im layer | " + " | ".join(k for k in ops["col2im"][0] if k.endswith("_ms")) + " |",
                  "| --- |" + " ---: |" * sum(k.endswith("_ms") for k in ops["col2im"][0])]
        lines += [f"| {r['layer']} | " + " | ".join(f"{v:.3f}" for k, v in r.items() if k.endswith("_ms")) + " |"
                  for r in ops["col2im"]]
    if "cifar_lc_bp" in s:
        c = s["cifar_lc_bp"]
        lines += ["", "## CIFAR-10 LC BP, one epoch (synthetic images of CIFAR's shape)", "",
                  "| epoch s (train + eval) | train img/s | 500 epochs (h) | grid configs | grid h at BP cost "
                  "| grid h weighted |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: |",
                  f"| {c['epoch_seconds']:.1f} | {_num(c['train_images_per_second'])} | {c['bp_500_epochs_hours']:.1f} | "
                  f"{c['grid_configs']} | {c['grid_hours_at_bp_cost']:.1f} | {_num(c.get('grid_hours_weighted'), '.1f')} |"]
    if "imagenet_lc_sdtp" in s:
        i = s["imagenet_lc_sdtp"]
        text = (f"{_num(i['images_per_second'])} img/s with each batch's copy to the device in line, "
                f"{_num(i.get('images_per_second_staged'))} img/s with the copy staged ahead on its own stream, "
                f"{_num(i['images_per_second_step_only'])} img/s the step alone" if "images_per_second" in i
                else f"{i['status']}: {i['why']}")
        lines += ["", "## ImageNet-LC SDTP, 200 steps", "", text]
    return "\n".join(lines) + "\n"
