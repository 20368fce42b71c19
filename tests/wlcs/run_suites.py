#!/usr/bin/env python3
"""Runs WLCS against a compositor integration library, each test suite in its own
process (large suites split into shards of a few tests) with a time limit, several at a
time. Tests left without a verdict (their process crashed or hung) run again alone, so
one crash costs one test, not its whole suite.

usage: run_suites.py WLCS_BINARY INTEGRATION.so OUT_DIR
Writes OUT_DIR/tests.txt (every test), OUT_DIR/<unit>.log (each process's output) and
OUT_DIR/results.json: {"results": {test: OK|FAILED|SKIP|DISABLED|TIMEOUT|CRASH(rc=N)},
"reasons": {test: the failure's first lines}}.
Environment: JOBS (8), SUITE_TIMEOUT (400 s), TEST_TIMEOUT (60 s), SHARD_SIZE (6)."""
import json, os, re, subprocess, sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

wlcs, library, out_dir = sys.argv[1:4]
jobs = int(os.environ.get("JOBS", 8))
suite_limit = int(os.environ.get("SUITE_TIMEOUT", 400))
test_limit = int(os.environ.get("TEST_TIMEOUT", 60))
shard_size = int(os.environ.get("SHARD_SIZE", 6))
os.makedirs(out_dir, exist_ok=True)


def list_tests():
    """gtest prints suites flush left and their tests indented; '#' starts a comment."""
    listing = subprocess.run([wlcs, library, "--gtest_list_tests"], check=True,
                             stdout=subprocess.PIPE, text=True).stdout
    names, suite = [], None
    for line in listing.splitlines():
        if not line.strip():
            continue
        head = line.split("#")[0].strip()
        if line.startswith(" "):
            names.append(suite + head)
        else:
            suite = head
    return names


tests = list_tests()
with open(os.path.join(out_dir, "tests.txt"), "w") as f:
    f.write("\n".join(tests) + "\n")
known = set(tests)

VERDICT = re.compile(r"^\[ *(OK|FAILED|SKIP|RUN) *\] ([^ ,]+)(?:, where GetParam\(\) = .*?)?( \(\d+ ?ms\))?$")
reasons = {}


def run(gtest_filter, tag, limit, shard=None):
    """One WLCS process; returns {test: verdict} for the tests it finished, and its status."""
    env = dict(os.environ)
    if shard:
        env.update(GTEST_SHARD_INDEX=str(shard[0]), GTEST_TOTAL_SHARDS=str(shard[1]))
    cmd = ["timeout", "-k", "5", str(limit), wlcs, library,
           "--gtest_filter=" + gtest_filter, "--gtest_color=no"]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=limit + 30, env=env)
        output, status = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        output, status = (e.stdout or b"").decode(errors="replace"), 124
    with open(os.path.join(out_dir, tag.replace("/", "_") + ".log"), "w") as f:
        f.write(output)
    finished, current, lines = {}, None, []
    for line in output.splitlines():
        m = VERDICT.match(line)
        if not m:
            if current:
                lines.append(line.strip())
            continue
        verdict, name = m.group(1), m.group(2)
        if verdict == "RUN":
            current, lines = name, []
        elif m.group(3) and name == current:  # the closing line carries the time taken
            finished[name] = verdict
            if verdict != "OK":
                reasons[name] = " | ".join(x for x in lines if x)[:400]
            current = None
    return finished, status


suites = list(dict.fromkeys(t.split(".")[0] for t in tests))
size = Counter(t.split(".")[0] for t in tests)
units = []
for suite in suites:
    shards = max(1, -(-size[suite] // shard_size))
    units += [(suite, (i, shards) if shards > 1 else None) for i in range(shards)]


def run_unit(unit):
    suite, shard = unit
    tag = suite + (f"_shard{shard[0]}of{shard[1]}" if shard else "")
    finished, status = run(suite + ".*", tag, suite_limit, shard)
    print(f"{tag}: status {status}, {len(finished)} verdicts", flush=True)
    return finished


results = {}
with ThreadPoolExecutor(jobs) as pool:
    for finished in pool.map(run_unit, units):
        results.update({t: v for t, v in finished.items() if t in known})


def run_alone(test):
    if test.split(".")[1].startswith("DISABLED_"):
        return test, "DISABLED"
    finished, status = run(test, "alone_" + test, test_limit)
    if test in finished:
        return test, finished[test]
    reasons[test] = f"the process ended with status {status} before a verdict"
    return test, "TIMEOUT" if status in (124, 137) else f"CRASH(rc={status})"


with ThreadPoolExecutor(jobs) as pool:
    for test, verdict in pool.map(run_alone, [t for t in tests if t not in results]):
        results[test] = verdict
        print(f"alone {test}: {verdict}", flush=True)

with open(os.path.join(out_dir, "results.json"), "w") as f:
    json.dump({"results": results, "reasons": reasons}, f, indent=1)
print(dict(Counter(results.values())))
