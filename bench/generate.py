#!/usr/bin/env python3
"""Deterministic generator of Zendesk-shaped exports at any size, for benchmarks
and kill tests.

    python3 bench/generate.py --tickets 100000 --out bench/data/100k [--seed 7] [--blobs]

Writes the same layout as samples/zendesk-export (see samples/README.md):
organizations, users (with duplicate e-mails differing in case and spacing),
groups, ticket fields of every type, tickets with 3 to 10 comments of realistic
length (HTML and plain bodies, public and private), tags, custom field values,
attachment metadata (and small real files with --blobs), and Help Center
categories, sections and articles. The same arguments give byte-identical files.
Memory stays flat: records are written as they are made.
"""
import argparse
import json
import os
import random

WORDS = ("order invoice refund shipping delay login password reset account billing plan seats "
         "upgrade downgrade mobile app crash error screen button export report dashboard api "
         "token webhook integration sync calendar email notification support agent customer "
         "warehouse parcel tracking number address payment card declined receipt discount "
         "coupon subscription renewal trial feature request bug broken slow timeout server").split()
STATUSES = ["new", "open", "pending", "hold", "solved", "closed"]
PRIORITIES = ["low", "normal", "high", "urgent", None]
TYPES = ["question", "incident", "problem", "task", None]
CHANNELS = ["email", "web", "api", "chat", "phone"]
TAGS = ["vip", "billing", "refund", "bug", "mobile", "shipping", "login", "api", "feature", "urgent"]


def ts(rng, start=1672531200, span=78_000_000):
    t = start + rng.randrange(span)
    return t


def iso(t):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def sentence(rng, n):
    words = [rng.choice(WORDS) for _ in range(n)]
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def paragraph(rng):
    return " ".join(sentence(rng, rng.randrange(6, 16)) for _ in range(rng.randrange(2, 6)))


def dump(f, obj):
    f.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))
    f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickets", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--blobs", action="store_true", help="write small attachment files (else no attachments)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    out = args.out
    os.makedirs(os.path.join(out, "help_center"), exist_ok=True)
    n_tickets = args.tickets
    n_orgs = max(5, n_tickets // 50)
    n_agents = max(5, min(500, n_tickets // 200))
    n_end = max(20, n_tickets // 3)

    with open(os.path.join(out, "organizations.ndjson"), "w", encoding="utf-8") as f:
        for i in range(n_orgs):
            t = ts(rng)
            dump(f, {"id": 1_000_000 + i, "name": f"Org {i} " + rng.choice(WORDS).capitalize(),
                     "domain_names": [f"org{i}.example"], "details": sentence(rng, 8), "notes": "",
                     "tags": [rng.choice(TAGS)], "external_id": None,
                     "created_at": iso(t), "updated_at": iso(t + rng.randrange(10_000_000))})

    agents = []
    with open(os.path.join(out, "users.ndjson"), "w", encoding="utf-8") as f:
        for i in range(n_agents):
            uid = 2_000_000 + i
            agents.append(uid)
            t = ts(rng)
            dump(f, {"id": uid, "name": f"Agent {i}", "email": f"agent{i}@support.example", "phone": None,
                     "role": "admin" if i == 0 else "agent", "active": i % 97 != 5, "suspended": False,
                     "organization_id": None, "locale": "en-US", "time_zone": "UTC", "tags": [],
                     "created_at": iso(t), "updated_at": iso(t + 1000)})
        for i in range(n_end):
            uid = 3_000_000 + i
            t = ts(rng)
            email = f"user{i}@org{i % n_orgs}.example"
            if i % 50 == 49:  # a duplicate of the previous user, differing in case and spacing
                email = " " + f"user{i - 1}@org{(i - 1) % n_orgs}.example".upper() + " "
            dump(f, {"id": uid, "name": f"Customer {i}", "email": email,
                     "phone": f"+1 (415) 555-{i % 10000:04d}", "role": "end-user", "active": True,
                     "suspended": False, "organization_id": 1_000_000 + (i % n_orgs), "locale": "en-US",
                     "time_zone": "UTC", "tags": [], "created_at": iso(t), "updated_at": iso(t + 5000)})

    groups = [3000 + i for i in range(6)]
    with open(os.path.join(out, "groups.ndjson"), "w", encoding="utf-8") as f:
        for i, gid in enumerate(groups):
            dump(f, {"id": gid, "name": f"Group {i}", "description": "", "default": i == 0, "deleted": False,
                     "created_at": "2023-01-01T00:00:00Z", "updated_at": "2023-01-01T00:00:00Z"})

    fields = [(4000, "text", "Order number"), (4001, "tagger", "Product"), (4002, "integer", "Seats"),
              (4003, "decimal", "Refund amount"), (4004, "date", "Purchase date"), (4005, "checkbox", "VIP"),
              (4006, "multiselect", "Modules")]
    options = [{"id": 40000 + k, "name": f"Option {k}", "value": f"opt_{k}"} for k in range(5)]
    with open(os.path.join(out, "ticket_fields.ndjson"), "w", encoding="utf-8") as f:
        for fid, ftype, title in fields:
            dump(f, {"id": fid, "type": ftype, "title": title, "description": "", "active": True, "required": False,
                     "position": fid - 4000, "regexp_for_validation": None,
                     "custom_field_options": options if ftype in ("tagger", "multiselect") else [],
                     "created_at": "2023-01-01T00:00:00Z", "updated_at": "2023-01-01T00:00:00Z"})

    blob_dir = os.path.join(out, "attachments")
    comment_id = 10_000_000
    attachment_id = 50_000_000
    with open(os.path.join(out, "tickets.ndjson"), "w", encoding="utf-8") as f:
        for i in range(n_tickets):
            tid = i + 1
            requester = 3_000_000 + rng.randrange(n_end)
            assignee = rng.choice(agents)
            t = ts(rng)
            comments = []
            ct = t
            for c in range(rng.randrange(3, 11)):
                ct += rng.randrange(60, 200_000)
                text = paragraph(rng)
                public = c == 0 or rng.random() > 0.2
                attachments = []
                if args.blobs and rng.random() < 0.1:
                    attachment_id += 1
                    name = f"log-{attachment_id}.txt"
                    os.makedirs(os.path.join(blob_dir, str(attachment_id)), exist_ok=True)
                    body = (text * 3).encode()
                    with open(os.path.join(blob_dir, str(attachment_id), name), "wb") as b:
                        b.write(body)
                    attachments.append({"id": attachment_id, "file_name": name,
                                        "content_url": f"attachments/{attachment_id}/{name}",
                                        "content_type": "text/plain", "size": len(body), "inline": False})
                comment_id += 1
                comments.append({"id": comment_id, "type": "Comment",
                                 "author_id": requester if c % 2 == 0 else assignee,
                                 "body": text, "html_body": f"<div class=\"zd-comment\"><p>{text}</p></div>",
                                 "plain_body": text, "public": public, "created_at": iso(ct),
                                 "attachments": attachments})
            status = rng.choice(STATUSES)
            dump(f, {"id": tid, "external_id": None, "subject": sentence(rng, rng.randrange(4, 10)),
                     "description": comments[0]["plain_body"], "status": status,
                     "priority": rng.choice(PRIORITIES), "type": rng.choice(TYPES),
                     "requester_id": requester, "submitter_id": requester, "assignee_id": assignee,
                     "group_id": rng.choice(groups), "organization_id": 1_000_000 + rng.randrange(n_orgs),
                     "tags": rng.sample(TAGS, rng.randrange(0, 4)),
                     "custom_fields": [{"id": 4000, "value": f"ORD-{tid:08d}"},
                                       {"id": 4001, "value": f"opt_{tid % 5}"},
                                       {"id": 4002, "value": tid % 100},
                                       {"id": 4003, "value": f"{tid % 1000}.{tid % 100:02d}"},
                                       {"id": 4004, "value": iso(t)[:10]},
                                       {"id": 4005, "value": tid % 7 == 0},
                                       {"id": 4006, "value": [f"opt_{tid % 5}"]}],
                     "collaborator_ids": [], "follower_ids": [], "email_cc_ids": [],
                     "via": {"channel": rng.choice(CHANNELS)}, "created_at": iso(t), "updated_at": iso(ct),
                     "solved_at": iso(ct) if status in ("solved", "closed") else None,
                     "comments": comments})

    hc = os.path.join(out, "help_center")
    n_articles = max(10, n_tickets // 100)
    with open(os.path.join(hc, "categories.ndjson"), "w", encoding="utf-8") as f:
        for i in range(3):
            dump(f, {"id": 60000 + i, "name": f"Category {i}", "description": "", "locale": "en-us", "position": i,
                     "created_at": "2023-01-01T00:00:00Z", "updated_at": "2023-01-01T00:00:00Z",
                     "html_url": f"https://acme.zendesk.com/hc/en-us/categories/{60000 + i}"})
    with open(os.path.join(hc, "sections.ndjson"), "w", encoding="utf-8") as f:
        for i in range(9):
            dump(f, {"id": 61000 + i, "category_id": 60000 + i % 3, "name": f"Section {i}", "description": "",
                     "locale": "en-us", "position": i, "created_at": "2023-01-01T00:00:00Z",
                     "updated_at": "2023-01-01T00:00:00Z",
                     "html_url": f"https://acme.zendesk.com/hc/en-us/sections/{61000 + i}"})
    with open(os.path.join(hc, "articles.ndjson"), "w", encoding="utf-8") as f:
        for i in range(n_articles):
            aid = 62000 + i
            body = f"<p>{paragraph(rng)}</p><p>See <a href=\"https://acme.zendesk.com/hc/en-us/articles/{62000 + (i + 1) % n_articles}\">the next article</a>.</p>"
            t = ts(rng)
            dump(f, {"id": aid, "section_id": 61000 + i % 9, "author_id": agents[i % len(agents)],
                     "title": sentence(rng, 5), "body": body, "locale": "en-us", "source_locale": "en-us",
                     "label_names": [rng.choice(TAGS)], "draft": i % 13 == 0, "promoted": False, "position": i,
                     "created_at": iso(t), "updated_at": iso(t + 1000),
                     "html_url": f"https://acme.zendesk.com/hc/en-us/articles/{aid}",
                     "translations": [{"locale": "en-us", "title": "T", "body": body, "draft": False,
                                       "created_at": iso(t), "updated_at": iso(t + 1000)}],
                     "attachments": []})


if __name__ == "__main__":
    main()
