#!/usr/bin/env python3
"""GPU check, last step: gathers what scripts/gpu-check.sh's steps left under its work folder
(steps.tsv, the logs, ops.txt, parity.json, torch.json, parity-sanitizer.json) into one JSON
report and a short summary table. Exit status 1 if a step failed, timed out or was skipped for
lack of time; a step skipped because its tool is missing (compute-sanitizer) is not a failure.

  python3 scripts/gpu-check/report.py --work /tmp/gpu-check --out gpu-check.json --summary summary.txt --seconds 300
"""
import argparse
import json
import os
import re
import sys


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def read_json(path):
    text = read(path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as e:
        return {"error": f"unreadable JSON {path}: {e}"}


def num(v, spec=".2e"):
    """A number for the summary; JSON null (JavaScript's Infinity / NaN) as 'inf/nan'."""
    return format(v, spec) if isinstance(v, (int, float)) else "inf/nan"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--summary", required=True)
    ap.add_argument("--seconds", type=float, default=None)
    a = ap.parse_args()
    w = a.work

    steps = []
    for line in (read(os.path.join(w, "steps.tsv"), "") or "").splitlines():
        parts = line.split("\t")
        while len(parts) < 5:
            parts.append("")
        name, status, rc, secs, note = parts[:5]
        steps.append({"name": name, "status": status, "rc": None if rc == "-" else int(rc or 0),
                      "seconds": float(secs or 0), "note": note})

    ops = None
    ops_text = read(os.path.join(w, "ops.txt"))
    if ops_text is not None:
        ops = {"lines": [], "allOk": ops_text.strip().endswith("ALL OK")}
        for m in re.finditer(r"^(\S.*?)\s+(OK|FAIL)\s+cases=(\d+)\s+(exact, )?\S+=(\S+)(?:\s+first failure: (.*))?$", ops_text, re.M):
            ops["lines"].append({"op": m.group(1), "ok": m.group(2) == "OK", "cases": int(m.group(3)),
                                 "exact": bool(m.group(4)), "maxError": float(m.group(5)), "firstFailure": m.group(6)})
        first = re.search(r"^(compared|emulated) plugin: (.*)$", ops_text, re.M)
        ops["plugin"] = first.group(2) if first else None

    parity = read_json(os.path.join(w, "parity.json"))
    torch = read_json(os.path.join(w, "torch.json"))
    sanitizer = read_json(os.path.join(w, "parity-sanitizer.json"))
    env = read(os.path.join(w, "logs", "env.log"), "")

    report = {
        "tool": "rnnkit gpu-check",
        "seconds": a.seconds,
        "steps": steps,
        "env": env[-6000:],
        "cc": (read(os.path.join(w, "cc"), "") or "").strip(),
        "plugin": (read(os.path.join(w, "plugin"), "") or "").strip(),
        "cublas": (read(os.path.join(w, "cublas"), "") or "").strip(),
        "ops": ops,
        "parity": parity,
        "torch": torch,
        "sanitizerParity": sanitizer,
        "sanitizerLog": (read(os.path.join(w, "sanitizer.txt"), "") or "")[-8000:],
    }
    bad = [s["name"] for s in steps if s["status"] in ("fail", "timeout") or (s["status"] == "skipped" and "no time" in s["note"])]
    expected = ["env", "node", "cublas", "build", "ops", "parity", "torch", "sanitizer"]
    missing = [n for n in expected if n not in {s["name"] for s in steps}]
    report["failedSteps"] = bad
    report["missingSteps"] = missing
    report["ok"] = not bad and not missing

    lines = [f"rnnkit GPU check: {'PASS' if report['ok'] else 'FAIL'}"
             + (f" in {a.seconds:.0f} s" if a.seconds is not None else "")
             + (f"; failed: {', '.join(bad)}" if bad else "") + (f"; never ran: {', '.join(missing)}" if missing else "")]
    for s in steps:
        lines.append(f"  {s['name']:10s} {s['status']:8s} {s['seconds']:7.1f} s  {s['note'][:150]}")
    if ops:
        worst = max((l for l in ops["lines"] if not l["exact"]), key=lambda l: l["maxError"], default=None)
        fails = [l["op"] for l in ops["lines"] if not l["ok"]]
        lines.append(f"ops: {len(ops['lines'])} entries, {'ALL OK' if ops['allOk'] else 'FAILED: ' + ', '.join(fails)}"
                     + (f"; worst non-exact {worst['op']} {worst['maxError']:.2e}" if worst else ""))
    if parity and parity.get("cases"):
        lines.append(f"parity: {len(parity['cases'])} cases, {len(parity.get('failed') or [])} failed, max rel error "
                     f"{num(parity.get('maxRelError'))} ({parity.get('worstCase')}), tolerance {parity.get('tolerance')}")
        for f in (parity.get("failed") or [])[:10]:
            lines.append(f"   FAIL {f}")
    elif parity:
        lines.append(f"parity: {parity.get('error')}")
    if torch:
        if torch.get("error"):
            lines.append(f"torch: {torch['error']}")
        lines.append(f"torch {torch.get('torch')} cuDNN {torch.get('cudnn')} on {torch.get('device')}: "
                     f"{sum(1 for c in (torch.get('cases') or []) if c.get('ok'))}/{len(torch.get('cases', []))} cases OK")
        lines.append(f"  {'case':28s} {'rk-f64':>9s} {'cudnn-f64':>9s} {'rk-cudnn':>9s} | {'fwd ms rk':>9s} {'cudnn':>7s} {'tf32':>7s} | {'f+b ms rk':>9s} {'cudnn':>7s} {'tf32':>7s}")
        for c in torch.get("cases", []):
            def g(d, *ks):
                for k in ks:
                    d = (d or {}).get(k)
                return d
            row = f"  {c['name']:28s} {num(c.get('maxRnnkitVsF64')):>9s} {num(c.get('maxTorchVsF64')):>9s} {num(c.get('maxRnnkitVsTorch')):>9s}"
            if c.get("torchTiming"):
                fmt = lambda v: f"{v:7.3f}" if isinstance(v, (int, float)) else "      -"
                row += (f" | {fmt(g(c, 'rnnkitTiming', 'forward', 'medianMs')):>9s} {fmt(g(c, 'torchTiming', 'fp32', 'forward', 'medianMs'))}"
                        f" {fmt(g(c, 'torchTiming', 'tf32', 'forward', 'medianMs'))}"
                        f" | {fmt(g(c, 'rnnkitTiming', 'forwardBackward', 'medianMs')):>9s} {fmt(g(c, 'torchTiming', 'fp32', 'forwardBackward', 'medianMs'))}"
                        f" {fmt(g(c, 'torchTiming', 'tf32', 'forwardBackward', 'medianMs'))}")
            if not c.get("ok"):
                row += "  FAIL " + (c.get("error") or "").strip().splitlines()[-1][:120] if c.get("error") else "  FAIL"
            lines.append(row)
    if report["sanitizerLog"]:
        m = re.search(r"ERROR SUMMARY: (\d+) error", report["sanitizerLog"])
        lines.append(f"compute-sanitizer memcheck: {m.group(0) if m else 'no summary line'}")
    summary = "\n".join(lines) + "\n"
    report["summary"] = summary
    with open(a.out, "w") as f:
        json.dump(report, f, indent=1)
    with open(a.summary, "w") as f:
        f.write(summary)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
