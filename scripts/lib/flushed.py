#!/usr/bin/python3
"""What RocksDB flushed from its memtables, per column family, read from the
event log in a state directory's LOG files: entries, key and value bytes of the
table files that flush jobs created (compaction outputs are not counted: they
rewrite what a flush already wrote). What is still in the memtables when the
engine stops is not in it either (the write-ahead log holds that).

    flushed.py STATE_DIR      one line: "FAMILY N entries K+V MB, ..."
"""
import glob
import json
import sys
from collections import defaultdict


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    flush_jobs, files = set(), []
    for path in sorted(glob.glob(sys.argv[1] + "/LOG*")):
        with open(path, errors="replace") as f:
            for line in f:
                at = line.find("EVENT_LOG_v1")
                if at < 0:
                    continue
                event = json.loads(line[at + len("EVENT_LOG_v1"):])
                if event.get("event") == "flush_started":
                    flush_jobs.add(event["job"])
                elif event.get("event") == "table_file_creation":
                    files.append(event)
    totals = defaultdict(lambda: [0, 0, 0])
    for event in files:
        if event["job"] not in flush_jobs:
            continue
        props = event.get("table_properties", {})
        t = totals[event.get("cf_name", "?")]
        t[0] += props.get("num_entries", 0)
        t[1] += props.get("raw_key_size", 0)
        t[2] += props.get("raw_value_size", 0)
    ranked = sorted(totals.items(), key=lambda kv: -(kv[1][1] + kv[1][2]))
    print(", ".join(f"{cf} {n} entries {k / 1e6:.1f}+{v / 1e6:.1f} MB" for cf, (n, k, v) in ranked) or "nothing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
