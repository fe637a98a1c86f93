"""Module dependency cycles within each crate of the workspace.

An edge a -> b is any `crate::b...` or `super::...` path in module a's file (comments and the
`#[cfg(test)] mod tests` block ignored), so a cycle means two modules need each other.
Usage: scripts/module_cycles.py [CRATE_SRC_DIR ...] (default: every crates/*/src).
Exits 1 and lists the cycles if there are any (docs/ARCHITECTURE.md §1: no cycles).
"""
import re, os, sys, glob


def cycles_of(root):
    mods = {}
    for dp, dn, fns in os.walk(root):
        for f in fns:
            if not f.endswith('.rs'): continue
            p = os.path.join(dp, f)
            rel = os.path.relpath(p, root)[:-3]
            parts = rel.split('/')
            if parts[-1] in ('mod', 'lib', 'main'): parts = parts[:-1]
            mods['::'.join(parts)] = p
    def top(m):  # module granularity: first two levels
        return m
    edges = {m: set() for m in mods}
    for m, p in mods.items():
        src = open(p).read()
        src = re.sub(r'//[^\n]*', '', src)
        # strip #[cfg(test)] mod tests {...} roughly: ignore lines after "mod tests"
        i = src.find('#[cfg(test)]\nmod tests')
        if i >= 0: src = src[:i]
        for t in re.findall(r'crate::((?:\w+::)*\w+)', src):
            segs = t.split('::')
            for k in range(len(segs), 0, -1):
                cand = '::'.join(segs[:k])
                if cand in mods and cand != m and not m.startswith(cand + '::') and not cand == '':
                    edges[m].add(cand); break
        base = m.split('::')[:-1]
        for t in re.findall(r'\bsuper::((?:\w+::)*\w+)', src):
            segs = base + t.split('::')
            for k in range(len(segs), 0, -1):
                cand = '::'.join(segs[:k])
                if cand in mods and cand != m and not m.startswith(cand + '::'):
                    edges[m].add(cand); break
    # find SCCs (Tarjan)
    idx = {}; low = {}; st = []; on = set(); sccs = []; c = [0]
    sys.setrecursionlimit(10000)
    def dfs(v):
        idx[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
        for w in edges.get(v, ()):
            if w not in idx: dfs(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], idx[w])
        if low[v] == idx[v]:
            comp = []
            while True:
                w = st.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: sccs.append(comp)
    for v in list(edges):
        if v not in idx: dfs(v)
    return sccs, edges


def main():
    roots = sys.argv[1:] or sorted(glob.glob(os.path.join(os.path.dirname(__file__), '..', 'crates', '*', 'src')))
    found = False
    for root in roots:
        sccs, edges = cycles_of(root)
        for comp in sccs:
            found = True
            print(f'{os.path.normpath(root)}: cycle:', ', '.join(sorted(comp)))
            for a in sorted(comp):
                print('   ', a, '->', ', '.join(sorted(e for e in edges[a] if e in comp)))
    if not found:
        print(f'no module cycles in {len(roots)} crates')
    sys.exit(1 if found else 0)


if __name__ == '__main__':
    main()
