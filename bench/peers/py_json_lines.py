#!/usr/bin/env python3
"""Extract peer: Python's json module reads and writes every line of a Zendesk export.

    python3 bench/peers/py_json_lines.py EXPORT_DIR OUT_DIR

For every *.ndjson file under EXPORT_DIR: json.loads each line and write it back with
json.dumps (compact, UTF-8) to the same relative path under OUT_DIR. Prints the number
of lines. This is the least a hand-written export converter does; it does not split
comments out of tickets, hash attachments, or checkpoint.
"""
import json
import os
import sys


def main():
    src, out = sys.argv[1], sys.argv[2]
    lines = 0
    for dirpath, _, files in sorted(os.walk(src)):
        for name in sorted(files):
            if not name.endswith(".ndjson"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), src)
            target = os.path.join(out, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(os.path.join(dirpath, name), encoding="utf-8") as f, \
                    open(target, "w", encoding="utf-8") as w:
                for line in f:
                    if not line.strip():
                        continue
                    w.write(json.dumps(json.loads(line), ensure_ascii=False, separators=(",", ":")))
                    w.write("\n")
                    lines += 1
    print(lines)


if __name__ == "__main__":
    main()
