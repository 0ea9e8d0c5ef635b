#!/usr/bin/env python3
"""Prints what the final aarch64 link of one executable target needs, one item per line.

SwiftPM compiles every module for aarch64-none-none-elf but cannot link for Linux, so cross/build links
the objects itself. This walks the executable's target dependencies (from `swift package describe
--type json` on stdin), so new modules are picked up without editing cross/build:
  object <path>   the .o of every source of a Swift or C target in the closure
  lib <name>      every `link "name"` of a system-library target's module map
  entry <symbol>  the executable's renamed main (SwiftPM compiles it as <c99name>_main)

usage: link_inputs.py EXECUTABLE_TARGET OBJECT_DIR < describe.json
"""
import json
import os
import re
import sys


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 64
    executable, object_dir = sys.argv[1], sys.argv[2]
    package = json.load(sys.stdin)
    targets = {t["name"]: t for t in package["targets"]}
    if executable not in targets:
        print(f"link_inputs: no target named {executable}", file=sys.stderr)
        return 1
    closure, pending = [], [executable]
    while pending:
        name = pending.pop()
        if name in closure:
            continue
        closure.append(name)
        pending.extend(targets[name].get("target_dependencies", []))
        if targets[name].get("product_dependencies"):
            print(f"link_inputs: {name} depends on a package product; not supported", file=sys.stderr)
            return 1
    missing = []
    for name in sorted(closure):
        target = targets[name]
        if target["type"] == "system-target":
            modulemap = os.path.join(package["path"], target["path"], "module.modulemap")
            with open(modulemap, encoding="utf-8") as f:
                for lib in re.findall(r'^\s*link\s+"([^"]+)"', f.read(), re.M):
                    print("lib", lib)
            continue
        build_dir = os.path.join(object_dir, target["c99name"] + ".build")
        # Only objects of the target's current sources: a deleted source file leaves its object behind.
        # Swift objects sit flat as <file>.o (whole-module builds), C objects as <relative path>.o.
        for source in target.get("sources", []):
            candidates = [os.path.join(build_dir, source + ".o"),
                          os.path.join(build_dir, os.path.basename(source) + ".o")]
            found = next((c for c in candidates if os.path.isfile(c)), None)
            if found is None:
                missing.append(name + "/" + source)
            else:
                print("object", found)
    if missing:
        print("link_inputs: no objects for " + ", ".join(missing) + " under " + object_dir, file=sys.stderr)
        return 1
    print("entry", targets[executable]["c99name"] + "_main")
    return 0


if __name__ == "__main__":
    sys.exit(main())
