"""`tools/inspect MODEL`: a human summary of a `.dsm` file (versions, config, tensors, checksum, quant params)."""
from __future__ import annotations

import json
import sys
from collections import Counter

import numpy as np

from tools.convert import format as fm
from tools.convert.schema import layers


def summary(path: str) -> str:
    with open(path, "rb") as f:
        raw = f.read()
    lines = [f"file: {path} ({len(raw)} bytes)"]
    try:
        mf = fm.decode(raw, verify_checksum=False)
    except fm.ModelFormatError as e:
        return "\n".join(lines + [f"INVALID: {e}"])
    try:
        n = int.from_bytes(raw[:8], "little")
        fm._checksum(raw, n)
        status = "ok"
    except fm.ModelFormatError as e:
        status = f"BAD ({e})"
    m = mf.metadata
    lines += [f"format: {m['format']} {m['format_version']}   numerics: {m['numerics_version']}   dtype: {m['dtype']}",
              f"checksum: {m['checksum']} {status}",
              f"producer: {m.get('producer', '-')}",
              f"calibration: {m['calibration']}",
              "config:"]
    for k, v in sorted(mf.config.items()):
        lines.append(f"  {k} = {json.dumps(v)}")
    by = Counter()
    size = Counter()
    for a in mf.tensors.values():
        by[str(a.dtype)] += 1
        size[str(a.dtype)] += a.nbytes
    lines.append(f"tensors: {len(mf.tensors)}  " + "  ".join(
        f"{k}: {by[k]} ({size[k]} bytes)" for k in sorted(by)))
    params = sum(a.size for k, a in mf.tensors.items() if k.endswith(".weight"))
    lines.append(f"weight elements: {params}")
    t = mf.tensors
    if mf.dtype == "int8":
        lines.append("per-layer quantization (epilogue, K, in scale/zero, w_scale min..max, out scale/zero or m range):")
        for L in layers(mf.config):
            if not L.quant:
                lines.append(f"  {L.name:32s} fp32 {L.O}x{L.K}")
                continue
            ws = t[f"{L.name}.w_scale"]
            s = (f"  {L.name:32s} {L.epilogue} {L.O}x{L.K} in {t[f'{L.name}.in_scale'][0]:.4g}/"
                 f"{int(t[f'{L.name}.in_zero'][0])} w {ws.min():.3g}..{ws.max():.3g}")
            if L.epilogue == "B":
                osc, oz, sh = t[f"{L.name}.out_scale"], t[f"{L.name}.out_zero"], t[f"{L.name}.shift"]
                s += f" out {np.unique(osc).round(5).tolist()}/{np.unique(oz).tolist()} shift {sh.min()}..{sh.max()}"
            else:
                mm = t[f"{L.name}.m"]
                s += f" m {mm.min():.3g}..{mm.max():.3g}"
            lines.append(s)
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: tools/inspect MODEL.dsm", file=sys.stderr)
        return 2
    text = summary(argv[0])
    print(text)
    return 1 if ("INVALID:" in text or "checksum: " in text and " BAD (" in text) else 0


if __name__ == "__main__":
    sys.exit(main())
