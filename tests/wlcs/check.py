#!/usr/bin/env python3
"""Summarise a WLCS run (results.json from run_suites.py) per test group, compare it with
expected-failures.txt, and print anvil's figures beside ours when its table is at hand.

expected-failures.txt: one test per line, a tab, the reason. A reason starting with
"flaky:" marks a test whose verdict depends on timing; it may pass or fail.

Exit status 1 when a listed test passes (take it off the list) or a test fails that is
not listed (fix it, or list it with a reason)."""
import json, os, sys
from collections import Counter, defaultdict

results = json.load(open(sys.argv[1]))["results"]
expected_path = sys.argv[2]
anvil_path = sys.argv[3] if len(sys.argv) > 3 else None

def verdict(v):
    if v == "OK": return "passed"
    if v == "SKIP": return "skipped"
    if v == "DISABLED": return "disabled"
    return "failed"          # FAILED, TIMEOUT, CRASH(...)

def group(test):
    suite = test.split(".")[0]
    return suite.split("/")[-1]

expected = {}
for n, line in enumerate(open(expected_path), 1):
    line = line.rstrip("\n")
    if not line.strip() or line.startswith("#"):
        continue
    name, _, reason = line.partition("\t")
    if not reason.strip():
        sys.exit(f"{expected_path}:{n}: {name} has no reason")
    expected[name.strip()] = reason.strip()

by_group = defaultdict(Counter)
totals = Counter()
for test, v in results.items():
    by_group[group(test)][verdict(v)] += 1
    totals[verdict(v)] += 1

anvil = {}
if anvil_path and os.path.exists(anvil_path):
    for line in open(anvil_path):
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 2:
            anvil[parts[0]] = parts[1]
anvil_groups = defaultdict(Counter)
for test, v in anvil.items():
    anvil_groups[group(test)][verdict(v)] += 1

print(f"{'group':<44} {'pass':>5} {'fail':>5} {'skip':>5}" + ("   anvil pass/fail/skip" if anvil else ""))
for g in sorted(by_group):
    c = by_group[g]
    line = f"{g:<44} {c['passed']:>5} {c['failed']:>5} {c['skipped']:>5}"
    if anvil:
        a = anvil_groups.get(g, Counter())
        line += f"   {a['passed']:>5}/{a['failed']}/{a['skipped']}"
    print(line)
print(f"ghostcomp: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped, "
      f"{totals['disabled']} disabled of {len(results)}")
if anvil:
    a = Counter(verdict(v) for v in anvil.values())
    print(f"anvil (smithay 0.7.0): {a['passed']} passed, {a['failed']} failed, {a['skipped']} skipped, "
          f"{a['disabled']} disabled of {len(anvil)}")

problems = []
for test, v in sorted(results.items()):
    listed = test in expected
    flaky = listed and expected[test].startswith("flaky:")
    if verdict(v) == "passed" and listed and not flaky:
        problems.append(f"now passes, take it off the expected failures: {test}")
    if verdict(v) == "failed" and not listed:
        problems.append(f"fails but is not an expected failure ({v}): {test}")
for test in sorted(set(expected) - set(results)):
    problems.append(f"listed but not in this WLCS: {test}")
for p in problems:
    print(p)
print(f"{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
sys.exit(1 if problems else 0)
