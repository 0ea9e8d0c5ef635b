#!/usr/bin/env python3
"""Source lint for Embedded Swift rules the compiler does not always catch.

The Embedded compiler rejects existential *values*, but a signature such as `func f(_ p: any P)`
that no code calls yet slips through. Package.swift enables ExistentialAny, so every existential
is spelled `any P`; here every `any P` must name a class-bound protocol (`protocol P: AnyObject`).
Also rejects imports of Foundation/Glibc/Dispatch. Prints `file:line: message` and exits 1.
"""
import pathlib
import re
import sys

FORBIDDEN_IMPORT = re.compile(
    r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*import\s+(?:(?:struct|class|enum|func|protocol|var|let|typealias)\s+)?"
    r"(Foundation|FoundationEssentials|FoundationNetworking|Glibc|Musl|Darwin|Dispatch)\b")
PROTOCOL_DECL = re.compile(r"\bprotocol\s+(\w+)\s*(?::\s*([^{]+))?\{")
ANY_USE = re.compile(r"\bany\s+(\w+)")


def strip_comments_and_strings(text: str) -> str:
    text = re.sub(r'"""(?:.|\n)*?"""', lambda m: "\n" * m.group(0).count("\n"), text)
    text = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)
    text = re.sub(r"/\*(?:.|\n)*?\*/", lambda m: "\n" * m.group(0).count("\n"), text)
    return re.sub(r"//[^\n]*", "", text)


def main(root: str) -> int:
    files = sorted(pathlib.Path(root).rglob("*.swift"))
    sources = {f: strip_comments_and_strings(f.read_text()) for f in files}
    class_bound = {"AnyObject"}
    for text in sources.values():
        for name, inherits in PROTOCOL_DECL.findall(text):
            parents = {p.strip() for p in (inherits or "").split(",")}
            if parents & {"AnyObject", "class"}:
                class_bound.add(name)
    problems = []
    for path, text in sources.items():
        raw = path.read_text().splitlines()
        for number, line in enumerate(text.splitlines(), start=1):
            if FORBIDDEN_IMPORT.search(raw[number - 1] if number <= len(raw) else line):
                problems.append(f"{path}:{number}: imports a module Embedded Swift lacks (use CEdgeShim)")
            for name in ANY_USE.findall(line):
                if name not in class_bound:
                    problems.append(f"{path}:{number}: existential 'any {name}' is not class-bound "
                                    f"(Embedded Swift allows only class-bound existentials)")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "Sources"))
