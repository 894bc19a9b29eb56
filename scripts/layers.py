#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The layering of src/: every file may use its own layer and those below.

    scripts/layers.py [--root DIR] check    exit 1 listing every upward edge
                                            and every cycle between files
    scripts/layers.py [--root DIR] figures  the same, plus unsafe blocks per
                                            file and the largest functions

A file's layer is the first folder under src/ (a file directly in src/ is a
crate root, above everything). An edge is any reference one file makes to
another: `use crate::...`, a `crate::` or `super::` path anywhere in the code
or in an intra-doc link, a `#[path]` module declaration, and an
`#include "..."` in C. Comments and string literals are not read, except for
the intra-doc links of doc comments.
"""

import argparse
import os
import re
import sys

# Lowest first. A file may refer to files of its own layer or a lower one.
LAYERS = ["sys", "params", "meter", "export", "work", "control"]
ROOT_LAYER = len(LAYERS)
SOURCE_EXT = (".rs", ".h", ".c")


def layer_of(rel):
    """The layer index of a path relative to the repository, or None."""
    parts = rel.split("/")
    if parts[0] != "src":
        return None
    if len(parts) == 2:
        return ROOT_LAYER
    if parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return None


def layer_name(i):
    return LAYERS[i] if i < ROOT_LAYER else "root"


def strip_rust(text, keep_doc_links=True):
    """Rust source with comments and literals blanked (newlines kept, so line
    numbers hold). Intra-doc links in doc comments are kept as `[path]`."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            comment = text[i:j]
            kept = ""
            if keep_doc_links and (comment.startswith("///") or comment.startswith("//!")):
                kept = " ".join("[" + m + "]" for m in re.findall(r"\[`?((?:crate|super)::[\w:]+)`?\]", comment))
            out.append(kept.ljust(j - i)[: max(j - i, len(kept))])
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"' or (c in "bcr" and re.match(r'(?:b|c)?r#*"|[bc]"', text[i:i + 4]) and not re.match(r"\w", text[i - 1:i] or " ")):
            m = re.match(r'(?:b|c)?(r(#*))"', text[i:i + 8])
            if m:
                end = '"' + m.group(2)
                j = text.find(end, i + len(m.group(0)))
                j = n if j < 0 else j + len(end)
            else:
                j = i + (1 if c == '"' else 2)
                while j < n and text[j] != '"':
                    j += 2 if text[j] == "\\" else 1
                j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'":
            m = re.match(r"'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'\n])'", text[i:i + 12])
            if m:
                out.append(" " * len(m.group(0)))
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def strip_c(text):
    text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


class Tree:
    def __init__(self, root):
        self.root = root
        self.files = []
        for d, _, names in os.walk(os.path.join(root, "src")):
            for name in names:
                if name.endswith(SOURCE_EXT) and not name.endswith("_generated.rs"):
                    self.files.append(os.path.relpath(os.path.join(d, name), root))
        self.files.sort()
        self.text = {}
        for f in self.files:
            with open(os.path.join(root, f), encoding="utf-8") as fh:
                self.text[f] = fh.read()
        # `#[macro_export]` puts a macro at the crate root's path
        # (`crate::log_info!`), but it belongs to the file defining it.
        self.macros = {}
        for f in self.files:
            for m in re.finditer(r"#\[macro_export\]\s*macro_rules!\s*(\w+)", self.text[f]):
                self.macros[m.group(1)] = f

    def module_path(self, rel):
        """`src/meter/flow.rs` -> ["meter", "flow"]; crate roots -> []."""
        parts = rel[len("src/"):-len(".rs")].split("/")
        if len(parts) == 1:
            return []
        if parts[-1] == "mod":
            parts = parts[:-1]
        return parts

    def file_of(self, segments):
        """The file a module path names: its longest prefix that is a file,
        else the folder's layer (an inline module of a crate root)."""
        if len(segments) == 1 and segments[0] in self.macros:
            return self.macros[segments[0]]
        for k in range(len(segments), 0, -1):
            for cand in ("src/" + "/".join(segments[:k]) + ".rs", "src/" + "/".join(segments[:k]) + "/mod.rs"):
                if cand in self.text:
                    return cand
        if segments and segments[0] in LAYERS:
            return "src/" + segments[0] + "/"
        return "src/netflow.rs"

    def edges(self, rel):
        """(line, target file or folder, what) for every reference in `rel`."""
        text = self.text[rel]
        found = []
        if rel.endswith(".rs"):
            code = strip_rust(text)
            here = self.module_path(rel)
            # Paths, including the groups of `use crate::{a::b, c}`.
            for m in re.finditer(r"\b((?:crate|super)(?:::(?:super|self))*)::(\{[^}]*\}|[\w:]+)", code):
                line = code.count("\n", 0, m.start()) + 1
                head = m.group(1).split("::")
                base = [] if head[0] == "crate" else here[:-1]
                for h in head[1:]:
                    if h == "super":
                        base = base[:-1]
                tails = [m.group(2)]
                if tails[0].startswith("{"):
                    tails = [t.strip() for t in tails[0][1:-1].split(",") if t.strip()]
                for t in tails:
                    segs = [s for s in re.split(r"::|\s+as\s+", t) if re.match(r"^\w+$", s)]
                    target = self.file_of(base + segs)
                    if target != rel:
                        found.append((line, target, m.group(0).split("{")[0] + t if "{" in m.group(0) else m.group(0)))
            # Modules whose file is given by path.
            for m in re.finditer(r'#\[path\s*=\s*"([^"]+)"\]', text):
                line = text.count("\n", 0, m.start()) + 1
                target = os.path.normpath(os.path.join(os.path.dirname(rel), m.group(1)))
                found.append((line, target, m.group(0)))
        else:
            code = strip_c(text)
            for m in re.finditer(r'^\s*#\s*include\s*"([^"]+)"', code, flags=re.M):
                line = code.count("\n", 0, m.start()) + 1
                target = os.path.normpath(os.path.join(os.path.dirname(rel), m.group(1)))
                found.append((line, target, m.group(0).strip()))
        return found

    def upward(self):
        bad = []
        for f in self.files:
            lf = layer_of(f)
            for line, target, what in self.edges(f):
                lt = layer_of(target)
                if lf is None or lt is None:
                    continue
                if lt > lf:
                    bad.append((f, line, target, what, lf, lt))
        return bad

    def cycles(self):
        """Strongly connected components of more than one file."""
        graph = {f: set() for f in self.files}
        for f in self.files:
            for _, target, _ in self.edges(f):
                if target in graph and target != f:
                    graph[f].add(target)
        # The crate roots declare every module; leave them out, or every file
        # that names a sibling through its crate path would close a cycle.
        for r in ("src/netflow.rs", "src/lib.rs"):
            graph.pop(r, None)
        for v in graph.values():
            v.discard("src/netflow.rs")
            v.discard("src/lib.rs")
        index, low, stack, on, out = {}, {}, [], set(), []
        counter = [0]

        def visit(v):
            index[v] = low[v] = counter[0]
            counter[0] += 1
            stack.append(v)
            on.add(v)
            for w in graph[v]:
                if w not in index:
                    visit(w)
                    low[v] = min(low[v], low[w])
                elif w in on:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))

        sys.setrecursionlimit(10000)
        for v in sorted(graph):
            if v not in index:
                visit(v)
        return out

    def unsafe_blocks(self):
        counts = {}
        for f in self.files:
            if f.endswith(".rs"):
                code = strip_rust(self.text[f], keep_doc_links=False)
                counts[f] = len(re.findall(r"\bunsafe\s*\{", code))
        return counts

    def functions(self):
        """(lines, file, name) of every Rust function with a body."""
        out = []
        for f in self.files:
            if not f.endswith(".rs"):
                continue
            code = strip_rust(self.text[f], keep_doc_links=False)
            for m in re.finditer(r"\bfn\s+(\w+)", code):
                i = m.end()
                depth = 0
                # Skip the signature up to its body (or a `;`: no body).
                while i < len(code) and code[i] not in "{;":
                    i += 1
                if i >= len(code) or code[i] == ";":
                    continue
                start = i
                while i < len(code):
                    if code[i] == "{":
                        depth += 1
                    elif code[i] == "}":
                        depth -= 1
                        if depth == 0:
                            break
                    i += 1
                first = code.count("\n", 0, m.start()) + 1
                last = code.count("\n", 0, i) + 1
                del start
                out.append((last - first + 1, f, m.group(1), first))
        out.sort(reverse=True)
        return out

    def safety_comments(self):
        short = as_above = total = 0
        for f in self.files:
            if not f.endswith(".rs"):
                continue
            for m in re.finditer(r"//\s*SAFETY:(.*)", self.text[f]):
                total += 1
                body = m.group(1).strip()
                if len(body) < 25:
                    short += 1
                if re.search(r"\bas above\b", body, flags=re.I):
                    as_above += 1
        return total, short, as_above


def report_edges(tree):
    bad = tree.upward()
    for f, line, target, what, lf, lt in bad:
        print(f"upward: {f}:{line} ({layer_name(lf)}) -> {target} ({layer_name(lt)}): {what}")
    cyc = tree.cycles()
    for c in cyc:
        print("cycle: " + " <-> ".join(c))
    return bad, cyc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("what", nargs="?", default="check", choices=["check", "figures"])
    args = ap.parse_args()
    tree = Tree(os.path.abspath(args.root))
    bad, cyc = report_edges(tree)
    if args.what == "figures":
        counts = tree.unsafe_blocks()
        in_sys = sum(n for f, n in counts.items() if layer_of(f) == 0)
        rest = sum(n for f, n in counts.items() if layer_of(f) != 0)
        print(f"unsafe blocks: {in_sys + rest} total, {in_sys} in src/sys/, {rest} elsewhere")
        for f, n in sorted(counts.items(), key=lambda x: (-x[1], x[0])):
            if n:
                print(f"  {n:4} {f}")
        total, short, as_above = tree.safety_comments()
        print(f"SAFETY comments: {total}, {short} under 25 characters, {as_above} saying 'as above'")
        print("largest functions (lines):")
        for lines, f, name, first in tree.functions()[:10]:
            print(f"  {lines:4} {f}:{first} {name}")
        print(f"upward edges: {len(bad)} (files: {len({(b[0], b[2]) for b in bad})}), cycles: {len(cyc)}")
    else:
        if bad or cyc:
            print(f"layers: {len(bad)} upward edge(s), {len(cyc)} cycle(s); the order, lowest first: "
                  + " < ".join(LAYERS) + " < crate root")
        else:
            print("layers: ok (" + " < ".join(LAYERS) + " < crate root)")
    return 1 if (bad or cyc) and args.what == "check" else 0


if __name__ == "__main__":
    sys.exit(main())
