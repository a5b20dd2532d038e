#!/usr/bin/env python3
"""GPU check, step "torch" (second half): PyTorch's cuDNN LSTM/GRU/RNN against rnnkit.

Reads what scripts/gpu-check/torch-export.js wrote (weights from rnnkit's
exportWeights('pytorch'), inputs, initial states, lengths, output gradient, and rnnkit's
outputs, final states and gradients), runs the same layer with PyTorch on the GPU (cuDNN, full
FP32: TF32 off) and in float64 on the CPU, and compares:

  err(rnnkit, f64), err(cudnn, f64), err(rnnkit, cudnn)   for every output and gradient

with the relative error of native/cuda/check/check.cpp: max_i |got - ref| / max(|ref|, rms(ref)).
A tensor passes when err(rnnkit, f64) <= max(--tol, 4 * err(cudnn, f64)): rnnkit is as close
to the exact answer as cuDNN is, or within the tolerance. Then times cuDNN (median of --repeats
runs between torch.cuda.synchronize() calls, after 3 warm-ups; TF32 off, and again with
PyTorch's default TF32 setting for cuDNN) beside rnnkit's timings from the manifest.

  python3 scripts/gpu-check/torch_compare.py --data DIR --out FILE [--cpu] [--tol 1e-4] [--repeats 20]

--cpu runs "PyTorch's side" on the CPU in float32 instead of cuDNN (a dry run of this script on a
machine without a GPU). Exit status: 0 passed, 1 a comparison failed, 2 torch or the data missing.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cpu", action="store_true")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()

    report = {"tool": "torch_compare", "ok": False, "cases": [], "tolerance": args.tol}

    def finish(code):
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)
        return code

    try:
        import numpy as np
        import torch
    except Exception as e:  # noqa: BLE001
        report["error"] = f"cannot import torch/numpy: {e}"
        print(report["error"])
        return finish(2)

    try:
        with open(os.path.join(args.data, "manifest.json")) as f:
            manifest = json.load(f)
    except Exception as e:  # noqa: BLE001
        report["error"] = f"no manifest from torch-export.js: {e}"
        print(report["error"])
        return finish(2)
    if manifest.get("error"):
        report["error"] = manifest["error"]
        print(report["error"])
        return finish(2)

    use_cuda = not args.cpu
    if use_cuda and not torch.cuda.is_available():
        report["error"] = "torch.cuda.is_available() is False"
        print(report["error"])
        return finish(2)
    dev = torch.device("cuda" if use_cuda else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    report["torch"] = torch.__version__
    report["device"] = torch.cuda.get_device_name(0) if use_cuda else "cpu"
    report["cudnn"] = torch.backends.cudnn.version() if use_cuda else None
    report["rnnkitBackend"] = manifest.get("backend")

    def load(entry, name):
        a = entry["arrays"][name]
        v = np.fromfile(os.path.join(args.data, a["file"]), dtype="<f4")
        return v.reshape(a["shape"])

    def rel_error(got, ref):
        got = np.asarray(got, dtype=np.float64).ravel()
        ref = np.asarray(ref, dtype=np.float64).ravel()
        if got.shape != ref.shape:
            return math.inf
        if ref.size == 0:
            return 0.0
        floor = max(math.sqrt(float(np.mean(ref * ref))), 1e-30)
        e = np.abs(got - ref) / np.maximum(np.abs(ref), floor)
        if np.isnan(e).any():
            return math.inf
        return float(e.max())

    def build(entry, dtype, device):
        s = entry["shape"]
        kind = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[entry["cell"]]
        kw = {"nonlinearity": "tanh"} if entry["cell"] == "rnn" else {}
        m = kind(s["D"], s["H"], num_layers=1, bias=True, batch_first=True, bidirectional=entry["bidirectional"], **kw)
        sd = {k: torch.from_numpy(load(entry, "w." + k).copy()) for k in entry["weights"]}
        missing = set(m.state_dict().keys()) ^ set(sd.keys())
        if missing:
            raise RuntimeError(f"exportWeights('pytorch') names differ from PyTorch's: {sorted(missing)}")
        m.load_state_dict(sd)
        return m.to(device=device, dtype=dtype)

    def run(entry, dtype, device, need_grad=True):
        """One forward (and backward of sum(output * dOutput)) of PyTorch's layer."""
        s = entry["shape"]
        dirs = 2 if entry["bidirectional"] else 1
        m = build(entry, dtype, device)
        x = torch.from_numpy(load(entry, "x").copy()).to(device=device, dtype=dtype).requires_grad_(need_grad)
        states = [load(entry, f"h0.{i}") for i in range(len(entry["stateOrder"]))]
        lstm = entry["cell"] == "lstm"
        per = 2 if lstm else 1
        # rnnkit: forward layer's states first ([h, c] each); PyTorch: [dirs, N, H] per state kind.
        h0 = np.stack([states[d * per] for d in range(dirs)])
        h0 = torch.from_numpy(h0).to(device=device, dtype=dtype).requires_grad_(need_grad)
        hx = h0
        c0 = None
        if lstm:
            c0 = np.stack([states[d * per + 1] for d in range(dirs)])
            c0 = torch.from_numpy(c0).to(device=device, dtype=dtype).requires_grad_(need_grad)
            hx = (h0, c0)
        lengths = entry["arrays"].get("lengths")
        if lengths:
            lens = torch.from_numpy(load(entry, "lengths").astype(np.int64))
            packed = torch.nn.utils.rnn.pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False)
            out_p, hn = m(packed, hx)
            out, _ = torch.nn.utils.rnn.pad_packed_sequence(out_p, batch_first=True, total_length=s["T"])
        else:
            out, hn = m(x, hx)
        res = {"output": out}
        hn_list = list(hn) if lstm else [hn]
        final = []
        for d in range(dirs):
            for k in range(per):
                final.append(hn_list[k][d])
        for i, t in enumerate(final):
            res[f"state.{i}"] = t
        if need_grad:
            d_out = torch.from_numpy(load(entry, "dOutput").copy()).to(device=device, dtype=dtype)
            (out * d_out).sum().backward()
            res["dInput"] = x.grad
            for d in range(dirs):
                res[f"dh0.{d * per}"] = h0.grad[d]
                if lstm:
                    res[f"dh0.{d * per + 1}"] = c0.grad[d]
            for name, p in m.named_parameters():
                res["grad." + name] = p.grad
        return {k: v.detach().to("cpu", torch.float64).numpy() for k, v in res.items()}, m, x, hx

    def sync():
        if use_cuda:
            torch.cuda.synchronize()

    def timed(fn, repeats):
        for _ in range(3):
            fn()
        sync()
        ms = []
        for _ in range(repeats):
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            ms.append((time.perf_counter() - t0) * 1e3)
        return {"medianMs": statistics.median(ms), "minMs": min(ms), "runs": len(ms)}

    all_ok = True
    for entry in manifest["cases"]:
        name = entry["name"]
        rec = {"name": name, "ok": False}
        report["cases"].append(rec)
        if entry.get("error"):
            rec["error"] = "rnnkit side failed: " + entry["error"].splitlines()[0]
            all_ok = False
            print(f"FAIL {name}: {rec['error']}")
            continue
        try:
            t0 = time.time()
            ref, _, _, _ = run(entry, torch.float64, torch.device("cpu"))
            tor, m, x, hx = run(entry, torch.float32, dev)
            rk = {}
            for k in entry["arrays"]:
                if k.startswith("rk."):
                    rk[k[3:]] = load(entry, k).astype(np.float64)
            single_bias = entry["cell"] != "gru"
            if single_bias:
                # A single Keras bias: rnnkit's gradient is the one of b_ih + b_hh, exported as one
                # of the two (the other zero); PyTorch's grad of b_ih equals that of b_hh.
                for suffix in ["", "_reverse"]:
                    ih, hh = f"grad.bias_ih_l0{suffix}", f"grad.bias_hh_l0{suffix}"
                    if ih in rk:
                        rk[hh] = rk[ih] + rk[hh]
                        del rk[ih]
                        for d in (ref, tor):
                            d.pop(ih, None)
            errs = {}
            tensor_ok = True
            for k in sorted(ref):
                if k not in rk:
                    errs[k] = {"error": "rnnkit did not export it"}
                    tensor_ok = False
                    continue
                e_rk = rel_error(rk[k], ref[k])
                e_tc = rel_error(tor[k], ref[k])
                e_rt = rel_error(rk[k], tor[k])
                ok = e_rk <= max(args.tol, 4 * e_tc)
                tensor_ok = tensor_ok and ok
                errs[k] = {"rnnkit_vs_f64": e_rk, "torch_vs_f64": e_tc, "rnnkit_vs_torch": e_rt, "ok": ok}
            rec["errors"] = errs
            rec["maxRnnkitVsF64"] = max((v.get("rnnkit_vs_f64", math.inf) for v in errs.values()), default=0.0)
            rec["maxTorchVsF64"] = max((v.get("torch_vs_f64", 0.0) for v in errs.values()), default=0.0)
            rec["maxRnnkitVsTorch"] = max((v.get("rnnkit_vs_torch", math.inf) for v in errs.values()), default=0.0)
            rec["ok"] = tensor_ok
            rec["compareSeconds"] = time.time() - t0
            if entry.get("time"):
                lengths = entry["arrays"].get("lengths")
                assert not lengths, "timed cases have no lengths"
                d_out = torch.from_numpy(load(entry, "dOutput").copy()).to(dev)

                def fwd():
                    with torch.no_grad():
                        m(x, hx)

                def fwd_bwd():
                    m.zero_grad(set_to_none=True)
                    out, _ = m(x.detach().requires_grad_(True), tuple(h.detach() for h in hx) if isinstance(hx, tuple) else hx.detach())
                    (out * d_out).sum().backward()

                t = {"fp32": {"forward": timed(fwd, args.repeats), "forwardBackward": timed(fwd_bwd, args.repeats)}}
                if use_cuda:
                    torch.backends.cudnn.allow_tf32 = True
                    t["tf32"] = {"forward": timed(fwd, args.repeats), "forwardBackward": timed(fwd_bwd, args.repeats)}
                    torch.backends.cudnn.allow_tf32 = False
                rec["torchTiming"] = t
                rec["rnnkitTiming"] = entry.get("rkTiming")
                rt = entry.get("rkTiming") or {}
                for phase in ("forward", "forwardBackward"):
                    a = (rt.get(phase) or {}).get("medianMs")
                    b = t["fp32"][phase]["medianMs"]
                    rec[f"{phase}RnnkitOverTorch"] = (a / b) if a and b else None
        except Exception as e:  # noqa: BLE001
            import traceback

            rec["error"] = traceback.format_exc()
            print(f"FAIL {name}: {e}")
        all_ok = all_ok and rec["ok"]
        line = f"{'OK  ' if rec['ok'] else 'FAIL'} {name:28s}"
        if "maxRnnkitVsF64" in rec:
            line += f" rnnkit-f64={rec['maxRnnkitVsF64']:.2e} torch-f64={rec['maxTorchVsF64']:.2e} rnnkit-torch={rec['maxRnnkitVsTorch']:.2e}"
        if rec.get("torchTiming"):
            tt = rec["torchTiming"]["fp32"]
            rt = rec.get("rnnkitTiming") or {}
            line += (
                f" | fwd rnnkit {rt.get('forward', {}).get('medianMs', float('nan')):.3f} ms"
                f" torch {tt['forward']['medianMs']:.3f} ms"
                f" | fwd+bwd rnnkit {rt.get('forwardBackward', {}).get('medianMs', float('nan')):.3f} ms"
                f" torch {tt['forwardBackward']['medianMs']:.3f} ms"
            )
        print(line, flush=True)
    report["ok"] = all_ok and len(report["cases"]) > 0
    return finish(0 if report["ok"] else 1)


if __name__ == "__main__":
    sys.exit(main())
