#!/usr/bin/env python3
"""Load peer: Python sqlite3 executemany of mapped tickets and comments.

    python3 bench/peers/py_sqlite_load.py DB TICKETS.ndjson COMMENTS.ndjson

Creates two tables with the main columns plus the whole record as JSON text, inserts
every line with executemany in one transaction, and commits. Prints the row count.
No ID map, no content hashes, no per-part checkpoints: the plain minimum.
"""
import json
import os
import sqlite3
import sys

TICKET_COLS = ["id", "subject", "status", "priority", "type", "requester_id", "submitter_id",
               "assignee_id", "group_id", "organization_id", "created_at", "updated_at"]
COMMENT_COLS = ["id", "ticket_id", "author_id", "public", "body_html", "body_plain", "created_at"]


def rows(path, cols, counter):
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            counter[0] += 1
            yield tuple(rec.get(c) for c in cols) + (json.dumps(rec, ensure_ascii=False),)


def main():
    db, tickets, comments = sys.argv[1:4]
    if os.path.exists(db):
        os.remove(db)
    con = sqlite3.connect(db)
    con.execute("create table tickets(%s, doc text)" % ", ".join(
        c + (" text primary key" if c == "id" else "") for c in TICKET_COLS))
    con.execute("create table comments(%s, doc text)" % ", ".join(
        c + (" text primary key" if c == "id" else "") for c in COMMENT_COLS))
    n = [0]
    with con:
        con.executemany("insert into tickets values (%s)" % ",".join("?" * (len(TICKET_COLS) + 1)),
                        rows(tickets, TICKET_COLS, n))
        con.executemany("insert into comments values (%s)" % ",".join("?" * (len(COMMENT_COLS) + 1)),
                        rows(comments, COMMENT_COLS, n))
    con.close()
    print(n[0])


if __name__ == "__main__":
    main()
