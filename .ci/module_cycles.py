#!/usr/bin/env python3
"""Lists import circles between the modules of each crate: module A names an item of module B
(a `use` or a path in code) and B, directly or through others, names A. A module naming its own
child's items is an edge; a child naming an ancestor's items (`super::`, `crate::`) is not."""
import re, sys, pathlib

def modules(src):
    mods = {}
    for f in src.rglob("*.rs"):
        rel = f.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] in ("lib", "main", "mod"):
            parts = parts[:-1]
        if parts and parts[0] == "bin":
            continue
        mods[tuple(parts)] = f
    return mods

PATH = re.compile(r"\b((?:crate|super|self)(?:::(?:super|[A-Za-z_][A-Za-z0-9_]*))+)")
GROUP = re.compile(r"\buse\s+((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\};", re.S)

def strip(text):
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"#\[cfg\(test\)\]\s*mod tests\s*\{.*", "", text, flags=re.S)
    return text

def resolve(mod, path):
    segs = path.split("::")
    if segs[0] == "crate":
        cur, rest = [], segs[1:]
    else:
        cur, rest = list(mod), segs
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                cur = cur[:-1]
            rest = rest[1:]
    return cur + rest

def target(mods, segs):
    for n in range(len(segs), -1, -1):
        if tuple(segs[:n]) in mods:
            return tuple(segs[:n])
    return None

def graph(src):
    mods = modules(src)
    edges = {m: set() for m in mods}
    for mod, f in mods.items():
        text = strip(f.read_text())
        paths = [m.group(1) for m in PATH.finditer(text)]
        children = re.findall(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+([a-z_0-9]+)\s*;", text, re.M)
        for child in children:
            for m in re.finditer(r"(?<![:\w])(" + child + r"(?:::[A-Za-z_][A-Za-z0-9_]*)+)", text):
                paths.append("self::" + m.group(1))
            for g in re.finditer(r"\buse\s+(" + child + r"(?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\};", text, re.S):
                for item in re.split(r"[,\s{}]+", g.group(2)):
                    item = item.split(" as ")[0].strip()
                    if re.match(r"^[A-Za-z_]", item) and item != "self":
                        paths.append("self::" + g.group(1) + "::" + item)
        for g in GROUP.finditer(text):
            base = g.group(1)
            for item in re.split(r"[,\s{}]+", g.group(2)):
                item = item.split(" as ")[0].strip()
                if re.match(r"^[A-Za-z_]", item) and item != "self":
                    paths.append(base + "::" + item)
        for p in paths:
            t = target(mods, resolve(mod, p))
            # A module composing its children is an edge; a child naming its parent's (or the
            # crate root's) shared items is not: that is how a module shares with its parts.
            if t is not None and t != mod and t != mod[: len(t)]:
                edges[mod].add(t)
    return edges

def cycles(edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    def strong(v):
        index[v] = low[v] = counter[0]; counter[0] += 1
        stack.append(v); on.add(v)
        for w in edges[v]:
            if w not in index:
                strong(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1:
                out.append(comp)
    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            strong(v)
    return out

found = 0
for crate in sorted(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "crates").iterdir()):
    src = crate / "src"
    if not src.is_dir():
        continue
    for comp in cycles(graph(src)):
        found += 1
        print(f"{crate.name}: " + " <-> ".join("::".join(m) or "crate" for m in sorted(comp)))
print(f"{found} import circle(s)")
sys.exit(1 if found else 0)
