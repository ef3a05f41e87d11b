#!/usr/bin/env python3
"""Deterministic generator for Ferry's Zendesk-shaped sample export.

Usage:  python3 samples/generate.py

Writes samples/zendesk-export/ (NDJSON files, attachment files, expected.json)
and samples/README.md.  Standard library only.  Every random choice comes from
random.Random streams with fixed seeds, so the output is byte-identical on
every run.  After writing, the script re-reads everything it wrote, validates
it (JSON, references, timestamps, attachment sizes, broken lines) and computes
the counts published in expected.json and README.md from the files on disk.
"""

import hashlib
import html
import json
import os
import random
import re
import shutil
import struct
import unicodedata
import zlib
from datetime import datetime, timedelta, timezone

SEED = 20240305
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "zendesk-export")
README = os.path.join(HERE, "README.md")
HC = "https://acme.zendesk.com"
DANGLING_ARTICLE = 62099  # linked from article 62021, but not in the export (deleted before it)
UTC = timezone.utc
RANGE_START = datetime(2023, 1, 1, tzinfo=UTC)
RANGE_END = datetime(2025, 6, 30, 23, 59, 59, tzinfo=UTC)
SIZE_LIMIT = 1_000_000


def stream(n):
    """Independent RNG per concern, so editing one part doesn't reshuffle the rest."""
    return random.Random(SEED * 100 + n)


R_ORG, R_USER, R_TICKET, R_TEXT, R_TIME, R_FIELD, R_HC = (stream(i) for i in range(1, 8))


def ts(d):
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def between(rng, a, b):
    return a + timedelta(seconds=rng.randint(0, int((b - a).total_seconds())))


def D(y, m, d, hh=0, mm=0, ss=0):
    return datetime(y, m, d, hh, mm, ss, tzinfo=UTC)


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def ascii_fold(s):
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s if not unicodedata.combining(c))


def slugify(title):
    """Zendesk-style slug: keeps case, non-alphanumerics become single hyphens."""
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_fold(title)).strip("-")


# ---------------------------------------------------------------------------
# Tiny markup for comment bodies -> (html_body, plain_body)
#   "\n\n" separates paragraphs, "\n" is a <br>, a paragraph whose lines all
#   start with "- " is a <ul>, **x** is <strong>, [text](url) is a link.
#   plain_body: markup removed, links rendered "text (url)" (or just url).
# ---------------------------------------------------------------------------
INLINE_RE = re.compile(r"\*\*(.+?)\*\*|\[([^\]]+)\]\(([^)\s]+)\)")


def _inline_html(text):
    out, pos = [], 0
    for m in INLINE_RE.finditer(text):
        out.append(html.escape(text[pos:m.start()], quote=False))
        if m.group(1) is not None:
            out.append("<strong>%s</strong>" % html.escape(m.group(1), quote=False))
        else:
            out.append('<a href="%s">%s</a>' % (html.escape(m.group(3)), html.escape(m.group(2), quote=False)))
        pos = m.end()
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)


def _inline_plain(text):
    def rep(m):
        if m.group(1) is not None:
            return m.group(1)
        t, u = m.group(2), m.group(3)
        return u if t == u else "%s (%s)" % (t, u)
    return INLINE_RE.sub(rep, text)


def render(src, images=()):
    hparts, pparts = [], []
    for para in src.split("\n\n"):
        lines = para.split("\n")
        if all(l.startswith("- ") for l in lines):
            hparts.append("<ul>" + "".join("<li>%s</li>" % _inline_html(l[2:]) for l in lines) + "</ul>")
        else:
            hparts.append("<p>" + "<br>".join(_inline_html(l) for l in lines) + "</p>")
        pparts.append(_inline_plain(para))
    for aid, name in images:
        hparts.append('<p><img src="attachments/%d/%s"></p>' % (aid, name))
    return '<div class="zd-comment" dir="auto">' + "".join(hparts) + "</div>", "\n\n".join(pparts)


# ---------------------------------------------------------------------------
# Binary attachment content: PNG (zlib+struct, stored deflate blocks so the
# bytes don't depend on the zlib build), minimal PDF, text, CSV.
# ---------------------------------------------------------------------------
def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _stored_zlib(raw):
    out = bytearray(b"\x78\x01")
    pos = 0
    while True:
        block = raw[pos:pos + 65535]
        pos += len(block)
        final = 1 if pos >= len(raw) else 0
        out += bytes([final]) + struct.pack("<HH", len(block), len(block) ^ 0xFFFF) + block
        if final:
            break
    out += struct.pack(">I", zlib.adler32(raw) & 0xFFFFFFFF)
    return bytes(out)


def make_png(w, h, c1, c2, pattern):
    rows = bytearray()
    for y in range(h):
        rows.append(0)  # filter: none
        for x in range(w):
            if pattern == "solid":
                c = c1
            elif pattern == "checker":
                c = c1 if ((x // 4) + (y // 4)) % 2 == 0 else c2
            elif pattern == "hgrad":
                t = x / max(1, w - 1)
                c = tuple(int(a + (b - a) * t) for a, b in zip(c1, c2))
            elif pattern == "vgrad":
                t = y / max(1, h - 1)
                c = tuple(int(a + (b - a) * t) for a, b in zip(c1, c2))
            elif pattern == "frame":
                c = c2 if x in (0, w - 1) or y in (0, h - 1) or x == y else c1
            else:
                raise ValueError(pattern)
            rows += bytes(c)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", _stored_zlib(bytes(rows)))
            + _png_chunk(b"IEND", b""))


def _pdf_str(s):
    out = []
    for ch in s.encode("cp1252"):
        c = chr(ch)
        if c in "()\\":
            out.append("\\" + c)
        elif 32 <= ch < 127:
            out.append(c)
        else:
            out.append("\\%03o" % ch)
    return "(" + "".join(out) + ")"


def make_pdf(lines):
    content = ["BT", "/F1 12 Tf", "72 770 Td", "16 TL"]
    for i, line in enumerate(lines):
        content.append(("%s Tj" if i == 0 else "T* %s Tj") % _pdf_str(line))
    content.append("ET")
    stream_bytes = ("\n".join(content) + "\n").encode("ascii")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream_bytes)).encode() + b" >>\nstream\n" + stream_bytes + b"endstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n" % (len(objs) + 1)
    out += b"0000000000 65535 f \n"
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


APP_LOG = "\n".join([
    "2024-03-11T08:14:02Z INFO  app starting version=5.2.0 build=8812",
    "2024-03-11T08:14:03Z INFO  loading cart session=9f3c2a",
    "2024-03-11T08:14:05Z WARN  payment provider slow response ms=4812",
    "2024-03-11T08:14:09Z ERROR checkout failed code=PAY_502 order=ORD-448120",
    "2024-03-11T08:14:09Z ERROR Zahlung fehlgeschlagen: Gateway-Zeitüberschreitung",
    "2024-03-11T08:14:10Z INFO  retry scheduled in=30s",
]) + "\n"

CRASH_REPORT = "\n".join([
    "Incident Identifier: 6C1F3E7A-2B44-4F0E-9A51-0D2B8E6F1C33",
    "Hardware Model:      iPhone14,5",
    "OS Version:          iPhone OS 17.4 (21E219)",
    "App Version:         5.2 (8812)",
    "Exception Type:      EXC_BAD_ACCESS (SIGSEGV)",
    "Thread 0 Crashed:",
    "0   AcmeMobile   0x0000000102a1c4f8 SyncEngine.merge(_:) + 312",
    "1   AcmeMobile   0x0000000102a1b9e0 SyncEngine.start() + 88",
]) + "\n"

NETWORK_TRACE = "\n".join([
    "GET https://app.acme.example/api/v2/reports/monthly-revenue.csv",
    "Status: 200 OK",
    "Content-Length: 0",
    "Content-Type: text/csv; charset=utf-8",
    "X-Request-Id: req_7Hc2kQ91",
    "Time: 31.8 s",
]) + "\n"

BESTELLUNGEN_CSV = "\n".join([
    "Bestellnummer,Datum,Artikel,Menge,Betrag (EUR)",
    "ORD-448120,2024-03-02,Hardware-Kit,1,\"1.299,00\"",
    "ORD-448121,2024-03-05,Ersatzkabel,2,\"24,90\"",
    "ORD-448122,2024-03-09,\"Tastatur, Deutsch (QWERTZ)\",1,\"89,00\"",
]) + "\n"

EXPORT_CSV = "\n".join([
    "date,region,revenue_usd,orders",
    "2024-05-01,North America,18420.50,212",
    "2024-05-01,Europe,12988.00,161",
    "2024-05-01,\"Asia, Pacific\",7410.25,88",
]) + "\n"

USERS_CSV = "\n".join([
    "email,name,role",
    "grace.lee@orbit.example,Grace Lee,admin",
    "m.brown@orbit.example,Michael Brown,member",
    "zoe.muller@orbit.example,Zoë Müller,member",
]) + "\n"


# ---------------------------------------------------------------------------
# Organizations
# ---------------------------------------------------------------------------
ORGS = [
    # id, name, domains, details, notes, tags, external_id
    (1000, "Acme Corp", ["acmecorp.example"], "Headquarters: Springfield, USA", "Key account since 2019.", ["enterprise", "vip"], "crm-0001"),
    (1001, "Globex Corporation", ["globex.example"], "Manufacturing, 4,000 employees", "", ["enterprise"], "crm-0002"),
    (1002, "Initech GmbH", ["initech.example"], "Sitz: München, Deutschland", "Rechnungen bitte auf Deutsch.", ["pro"], "crm-0003"),
    (1003, "Umbrella Logistics", ["umbrella-logistics.example"], "Freight and warehousing", "", ["pro"], None),
    (1004, "Pinecrest Dental", ["pinecrest.example"], "Dental clinics, 12 locations", "Prefers phone contact.", ["starter"], None),
    (1005, "Blue Harbor Foods", ["blueharbor.example"], "Seafood distribution", "", ["pro"], "crm-0006"),
    (1006, "Kumo Systems 株式会社", ["kumo.example"], "本社: 東京都渋谷区", "Invoices in JPY.", ["enterprise"], "crm-0007"),
    (1007, "Société Lumière SARL", ["lumiere.example"], "Siège : Lyon, France", "", ["pro"], None),
    (1008, "Café Olé S.L.", ["cafeole.example"], "Cadena de cafeterías, Madrid", "", ["starter"], None),
    (1009, "Müller & Söhne KG", ["mueller-soehne.example"], "Familienunternehmen seit 1952", "", ["pro"], "crm-0010"),
    (1010, "شركة النور للتجارة", ["alnoor.example"], "المقر الرئيسي: الرياض", "", ["pro"], None),
    (1011, "אור טכנולוגיות בע\"מ", ["or-tech.example"], "משרד ראשי: תל אביב", "Name contains a double quote (Hebrew abbreviation).", ["starter"], None),
    (1012, "Orbit Analytics", ["orbit.example"], "Data consultancy", "Renewal in Q3.", ["enterprise", "vip"], "crm-0013"),
    (1013, "Nordlicht Energie AG", ["nordlicht.example"], "Energieversorger, Hamburg", "", ["enterprise"], None),
    (1014, "Vega Outdoor", ["vega-outdoor.example"], "Outdoor retail", "", ["starter"], None),
    (1015, "Oakridge School District", ["oakridge.example"], "K-12, 9 schools", "Tax exempt.", ["education"], None),
    (1016, "Hanami Design", ["hanami.example"], "Design studio", "", ["starter"], None),
    (1017, "Zephyr Travel", ["zephyr.example"], "Travel agency", "", ["pro"], "crm-0018"),
    # deliberate duplicates
    (1018, " ACME corp", [], "", "Created by hand by an agent; duplicate of Acme Corp.", [], None),
    (1019, "BHF Distribution", ["bhf.example", "blueharbor.example"], "Logistics arm of Blue Harbor", "", ["pro"], None),
]
DUP_ORGS = [[1000, 1018], [1005, 1019]]
VIP_ORGS = {oid for (oid, _, _, _, _, tags, _) in ORGS if "vip" in tags}


def build_orgs():
    out = []
    for oid, name, domains, details, notes, tags, ext in ORGS:
        if oid >= 1018:
            created = between(R_ORG, D(2024, 2, 1), D(2024, 3, 31))
        else:
            created = between(R_ORG, D(2023, 1, 1), D(2023, 1, 1, 23, 59, 59))  # initial import
        updated = between(R_ORG, created, D(2025, 6, 1))
        out.append({"id": oid, "name": name, "domain_names": domains, "details": details, "notes": notes,
                    "tags": tags, "external_id": ext, "created_at": ts(created), "updated_at": ts(updated)})
    return out


ORG_DOMAIN = {oid: (domains[0] if domains else None) for (oid, _, domains, _, _, _, _) in ORGS}
ORG_DOMAIN[1018] = "acmecorp.example"
LANG_ORGS = {
    "en": [1000, 1001, 1003, 1004, 1005, 1012, 1014, 1015, 1016, 1017, None, None, None],
    "de": [1002, 1009, 1013, None],
    "fr": [1007, 1007, None],
    "es": [1008, 1008, None],
    "ja": [1006, 1006, None],
    "ar": [1010, 1010, None],
    "he": [1011, 1011, None],
}

# ---------------------------------------------------------------------------
# Groups and ticket fields
# ---------------------------------------------------------------------------
GROUPS = [
    (3000, "Tier 1 Support", "First line: triage, accounts, how-to questions.", True),
    (3001, "Tier 2 Technical", "Bugs, API, integrations and outages.", False),
    (3002, "Billing", "Invoices, refunds, plans and seats.", False),
    (3003, "Shipping & Returns", "Hardware orders, deliveries and replacements.", False),
    (3004, "Mobile", "iOS and Android apps.", False),
    (3005, "Escalations", "Management escalations and VIP accounts.", False),
]


def build_groups():
    out = []
    for gid, name, desc, default in GROUPS:
        created = between(R_ORG, D(2023, 1, 1), D(2023, 1, 10))
        out.append({"id": gid, "name": name, "description": desc, "default": default, "deleted": False,
                    "created_at": ts(created), "updated_at": ts(between(R_ORG, created, D(2024, 12, 31)))})
    return out


F_ORDER, F_PRODUCT, F_PLAN, F_REFUND, F_PURCHASE, F_VIP, F_MODULES, F_SERIAL, F_NOTES, F_SEATS = range(4000, 4010)
FIELDS = [
    (F_ORDER, "regexp", "Order number", "Order number from the confirmation email (ORD-123456).", True, False, "^ORD-[0-9]{6}$", []),
    (F_PRODUCT, "tagger", "Product", "Product the ticket is about.", True, True, None,
     [("Acme Cloud", "acme_cloud"), ("Acme Mobile", "acme_mobile"), ("Acme Desktop", "acme_desktop"),
      ("Acme API", "acme_api"), ("Hardware kit", "hardware_kit")]),
    (F_PLAN, "tagger", "Plan", "Customer's subscription plan.", True, False, None,
     [("Free", "plan_free"), ("Starter", "plan_starter"), ("Pro", "plan_pro"), ("Enterprise", "plan_enterprise")]),
    (F_REFUND, "decimal", "Refund amount", "Amount refunded, in USD.", True, False, None, []),
    (F_PURCHASE, "date", "Purchase date", "Date of the purchase.", True, False, None, []),
    (F_VIP, "checkbox", "VIP", "Customer belongs to a VIP account.", True, False, None, []),
    (F_MODULES, "multiselect", "Affected modules", "Parts of the product affected.", True, False, None,
     [("Billing", "billing"), ("Reporting", "reporting"), ("Integrations", "integrations"),
      ("Mobile app", "mobile_app"), ("Authentication", "authentication"), ("Notifications", "notifications")]),
    (F_SERIAL, "text", "Serial number", "Serial number printed under the device.", False, False, None, []),
    (F_NOTES, "textarea", "Customer notes", "Free-form notes about the customer.", True, False, None, []),
    (F_SEATS, "integer", "Seats", "Number of seats requested.", True, False, None, []),
]


def build_fields():
    out, opt_id = [], 4100
    for pos, (fid, ftype, title, desc, active, required, rx, opts) in enumerate(FIELDS, 1):
        created = between(R_ORG, D(2023, 1, 2), D(2023, 1, 10))
        options = []
        for name, value in opts:
            options.append({"id": opt_id, "name": name, "value": value})
            opt_id += 1
        out.append({"id": fid, "type": ftype, "title": title, "description": desc, "active": active,
                    "required": required, "position": pos, "regexp_for_validation": rx,
                    "custom_field_options": options, "created_at": ts(created),
                    "updated_at": ts(between(R_ORG, created, D(2025, 1, 31)))})
    return out


# ---------------------------------------------------------------------------
# Users
# ---------------------------------------------------------------------------
AGENTS = [  # id, name, email, role, languages, locale, time zone
    (2000, "Olivia Bennett", "olivia.bennett@support.acme.example", "admin", ["en"], "en-US", "Pacific Time (US & Canada)"),
    (2001, "Kenji Watanabe", "kenji.watanabe@support.acme.example", "admin", ["en", "ja"], "ja", "Tokyo"),
    (2002, "Lena Fischer", "lena.fischer@support.acme.example", "agent", ["en", "de"], "de", "Berlin"),
    (2003, "Marco Rossi", "marco.rossi@support.acme.example", "agent", ["en"], "en-GB", "Rome"),
    (2004, "Aisha Rahman", "aisha.rahman@support.acme.example", "agent", ["en", "ar"], "en-GB", "London"),
    (2005, "Daniel Kim", "daniel.kim@support.acme.example", "agent", ["en"], "en-US", "Eastern Time (US & Canada)"),
    (2006, "Sofía Martínez", "sofia.martinez@support.acme.example", "agent", ["en", "es"], "es", "Madrid"),
    (2007, "Tom O'Brien", "tom.obrien@support.acme.example", "agent", ["en"], "en-GB", "Dublin"),
    (2008, "Chloé Girard", "chloe.girard@support.acme.example", "agent", ["en", "fr"], "fr", "Paris"),
    (2009, "Yael Levi", "yael.levi@support.acme.example", "agent", ["en", "he"], "he", "Jerusalem"),
    (2010, "Ben Carter", "ben.carter@support.acme.example", "agent", ["en"], "en-US", "Central Time (US & Canada)"),
    (2011, "Hiroko Sato", "hiroko.sato@support.acme.example", "agent", ["en", "ja"], "ja", "Tokyo"),
    (2012, "Omar Haddad", "omar.haddad@support.acme.example", "agent", ["en", "ar"], "ar", "Riyadh"),
    (2013, "Lukas Novák", "lukas.novak@support.acme.example", "agent", ["en", "de"], "de", "Prague"),
]
DEACTIVATED_AGENT = 2010
DEACTIVATED_AT = D(2024, 8, 30, 16, 0, 0)
AGENT_IDS = [a[0] for a in AGENTS if a[3] == "agent"]

NAME_POOLS = {
    # locale-group: (first names, last names, order) ; romanised with ascii_fold unless a pair is given
    "en": (["Emily", "Michael", "Sarah", "James", "Grace", "Ethan", "Hannah", "Noah", "Ava", "Liam", "Zoë",
            "Renée", "Connor", "Isabel", "Marcus", "Priyanka", "Andrés", "Nora", "Chidi", "Freya"],
           ["Johnson", "Brown", "O'Connor", "Smith", "Lee", "Walker", "Wright", "Davis", "Thompson", "Harris",
            "Clarke", "Nguyen", "García", "Okafor", "Fitzgerald", "Kowalski", "Bélanger", "Ó Súilleabháin"]),
    "de": (["Jürgen", "Sören", "Anja", "Björn", "Käthe", "Matthias", "Lea", "Uwe", "Jörg", "Maike"],
           ["Müller", "Schäfer", "Groß", "Weiß", "Köhler", "Becker", "Hoffmann", "Krüger"]),
    "fr": (["Élodie", "François", "Hélène", "Jérôme", "Anaïs", "Loïc", "Céline", "Noël"],
           ["Lefèvre", "Dupré", "Mercier", "Faure", "Bérard", "Rousseau", "Lemaître"]),
    "es": (["José", "María José", "Íñigo", "Begoña", "Raúl", "Lucía", "Ángel", "Nuria"],
           ["Álvarez", "Núñez", "Fernández", "Peña", "Muñoz", "Ibáñez", "Gómez"]),
    "ja": ([("優希", "yuki"), ("健", "ken"), ("陽菜", "hina"), ("翔太", "shota"), ("さくら", "sakura"), ("大輔", "daisuke")],
           [("田中", "tanaka"), ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("伊藤", "ito"), ("渡辺", "watanabe")]),
    "zh": ([("芳", "fang"), ("伟", "wei"), ("娜", "na"), ("强", "qiang"), ("静", "jing")],
           [("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen")]),
    "ar": ([("أحمد", "ahmed"), ("فاطمة", "fatima"), ("محمد", "mohammed"), ("ليلى", "layla"), ("يوسف", "youssef"), ("مريم", "mariam")],
           [("حسن", "hassan"), ("العلي", "alali"), ("منصور", "mansour"), ("خليل", "khalil"), ("سعيد", "saeed"), ("الحربي", "alharbi")]),
    "he": ([("נועה", "noa"), ("דוד", "david"), ("מיכל", "michal"), ("יוסי", "yossi"), ("תמר", "tamar"), ("אורי", "uri")],
           [("כהן", "cohen"), ("לוי", "levi"), ("מזרחי", "mizrahi"), ("פרץ", "peretz"), ("ביטון", "biton"), ("אברהם", "avraham")]),
}
FULL_NAMES = {
    "ru": [("Анна Иванова", "anna.ivanova"), ("Дмитрий Смирнов", "dmitry.smirnov"), ("Ольга Кузнецова", "olga.kuznetsova"),
           ("Сергей Попов", "sergey.popov"), ("Наталья Соколова", "natalya.sokolova")],
    "el": [("Ελένη Παπαδοπούλου", "eleni.papadopoulou"), ("Νίκος Γεωργίου", "nikos.georgiou"),
           ("Μαρία Κωνσταντίνου", "maria.konstantinou"), ("Γιώργος Δημητρίου", "giorgos.dimitriou")],
    "emoji": [("Sam 🚀 Rivera", "sam.rivera"), ("Jess Park ✨", "jess.park")],
}
LOCALE_INFO = {  # group -> [(locale, tz)], conversation language
    "en": ([("en-US", "Pacific Time (US & Canada)"), ("en-US", "Eastern Time (US & Canada)"), ("en-US", "Central Time (US & Canada)"),
            ("en-GB", "London"), ("en-GB", "Edinburgh")], "en"),
    "de": ([("de", "Berlin"), ("de", "Vienna"), ("de", "Bern")], "de"),
    "fr": ([("fr", "Paris"), ("fr", "Brussels")], "fr"),
    "es": ([("es", "Madrid"), ("es", "Mexico City")], "es"),
    "ja": ([("ja", "Tokyo"), ("ja", "Osaka")], "ja"),
    "zh": ([("zh-cn", "Beijing"), ("zh-cn", "Hong Kong")], "en"),
    "ar": ([("ar", "Riyadh"), ("ar", "Cairo"), ("ar", "Abu Dhabi")], "ar"),
    "he": ([("he", "Jerusalem")], "he"),
    "ru": ([("ru", "Moscow")], "en"),
    "el": ([("el", "Athens")], "en"),
    "emoji": ([("en-US", "Pacific Time (US & Canada)")], "en"),
}
END_USER_MIX = [("en", 48), ("de", 12), ("fr", 10), ("es", 10), ("ja", 10), ("ar", 8), ("he", 8),
                ("zh", 5), ("ru", 5), ("el", 4), ("emoji", 2)]
# (group, original (name, email, org), duplicate (name, email, org))
DUP_USERS = [
    ("es", ("Maria Lopez", "maria.lopez@example.com", None), ("María López", " Maria.Lopez@Example.com ", None)),
    ("de", ("Jonas Weber", "jonas.weber@initech.example", 1002), ("Jonas Weber", "Jonas.Weber@INITECH.example", 1002)),
    ("ja", ("山本 由紀", "yuki.yamamoto@kumo.example", 1006), ("Yuki Yamamoto", "yuki.yamamoto@kumo.example ", 1006)),
    ("ar", ("أحمد منصور", "ahmed.mansour@alnoor.example", 1010), ("Ahmed Mansour", "AHMED.MANSOUR@alnoor.example", None)),
    ("he", ("נועה כהן", "noa.cohen@example.com", None), ("Noa Cohen", "  Noa.Cohen@example.com", None)),
    ("fr", ("Pierre Dubois", "pierre.dubois@lumiere.example", 1007), ("pierre dubois", "Pierre.Dubois@Lumiere.example ", 1007)),
]
DUP_ORIG_SLOTS = [5, 17, 29, 41, 53, 65]          # positions among end users (0-based)
DUP_COPY_SLOTS = [96, 104, 111, 118, 124, 129]
PHONE_ONLY = [("en", "Walter Finch", "+1 (415) 555-0142"), ("es", "Rosa Jiménez", "555 0187")]
PHONE_ONLY_SLOTS = [23, 77]
DUP_ORG_MEMBERS_FROM = 100                       # members of orgs 1018/1019 are picked from here on
FREE_DOMAINS = ["example.com", "example.net", "example.org", "mail.example"]


def phone_for(rng, locale):
    r = rng.random()
    if r < 0.12:
        return None
    if r < 0.22:
        return ""
    n = rng.randint(100, 199)
    if locale == "en-US" or locale in ("zh-cn", "ru", "el"):
        return rng.choice(["+1 (415) 555-0%03d" % n, "+1.212.555.0%03d" % n, "555 0%03d" % n,
                           "(312) 555-0%03d" % n, "+15555550%03d" % n])
    if locale == "en-GB":
        return rng.choice(["0044 20 7946 0%03d" % n, "+44 20 7946 0%03d" % n, "020 7946 0%03d" % n])
    return {
        "de": "+49 (0)30 555 0%03d" % n,
        "fr": "+33 1 99 00 %02d %02d" % (n // 100 + 10, n % 100),
        "es": "+34 91 555 0%03d" % n,
        "ja": rng.choice(["+81-3-5555-0%03d" % n, "03-5555-0%03d" % n]),
        "ar": "+966 11 555 0%03d" % n,
        "he": "+972-3-555-0%03d" % n,
    }[locale]


def build_users():
    rng = R_USER
    users = []
    # staff
    for i, (uid, name, email, role, _langs, locale, tz) in enumerate(AGENTS):
        created = D(2023, 1, 1, 9) + timedelta(hours=7 * i, minutes=rng.randint(0, 59))
        updated = between(rng, D(2024, 1, 1), D(2025, 6, 1))
        active = True
        if uid == DEACTIVATED_AGENT:
            updated, active = DEACTIVATED_AT, False
        users.append({"id": uid, "name": name, "email": email, "phone": phone_for(rng, locale if locale in ("en-US", "en-GB") else "en-US"),
                      "role": role, "active": active, "suspended": False, "organization_id": None,
                      "locale": locale, "time_zone": tz, "tags": ["staff"] if role == "agent" else ["staff", "owner"],
                      "created_at": ts(created), "updated_at": ts(updated)})

    # regular end-user specs
    specs = []
    for group, count in END_USER_MIX:
        for k in range(count):
            if group in FULL_NAMES:
                name, local = FULL_NAMES[group][k % len(FULL_NAMES[group])]
            else:
                firsts, lasts = NAME_POOLS[group]
                f, l = rng.choice(firsts), rng.choice(lasts)
                if isinstance(f, tuple):
                    if group in ("ja",):
                        name = "%s %s" % (l[0], f[0])
                    elif group == "zh":
                        name = l[0] + f[0]
                    else:
                        name = "%s %s" % (f[0], l[0])
                    local = "%s.%s" % (f[1], l[1])
                else:
                    name = "%s %s" % (f, l)
                    local = re.sub(r"[^a-z.]", "", ascii_fold("%s.%s" % (f, l)).lower().replace(" ", ""))
            specs.append({"group": group, "name": name, "local": local})
    rng.shuffle(specs)
    total = len(specs) + 2 * len(DUP_USERS) + len(PHONE_ONLY)
    slots = [None] * total
    for (group, orig, copy), so, sc in zip(DUP_USERS, DUP_ORIG_SLOTS, DUP_COPY_SLOTS):
        slots[so] = {"group": group, "name": orig[0], "email": orig[1], "org": orig[2], "dup": "orig"}
        slots[sc] = {"group": group, "name": copy[0], "email": copy[1], "org": copy[2], "dup": "copy"}
    for (group, name, phone), s in zip(PHONE_ONLY, PHONE_ONLY_SLOTS):
        slots[s] = {"group": group, "name": name, "email": None, "phone": phone, "org": None, "phone_only": True}
    it = iter(specs)
    for i in range(total):
        if slots[i] is None:
            slots[i] = next(it)
    # members of the two duplicate organizations: English-speaking users created after those orgs
    member_pool = [p for p in range(DUP_ORG_MEMBERS_FROM, total) if slots[p]["group"] in ("en", "zh", "ru", "el", "emoji")
                   and "dup" not in slots[p] and "phone_only" not in slots[p]]
    picked = rng.sample(member_pool, 6)
    for org_id, positions in ((1018, sorted(picked[:3])), (1019, sorted(picked[3:]))):
        for p in positions:
            slots[p]["org"] = org_id

    # creation times increase with id, skewed towards early 2023
    start, end = D(2023, 1, 2), D(2025, 3, 31)
    span = int((end - start).total_seconds())
    times = sorted(start + timedelta(seconds=int(span * (rng.random() ** 1.6))) for _ in range(total))
    times[0] = D(2023, 1, 2, 8, 0, 0)

    seen = {u["email"].strip().lower() for u in users}
    meta = {}
    for i, spec in enumerate(slots):
        uid = 2014 + i
        group = spec["group"]
        locale, tz = rng.choice(LOCALE_INFO[group][0])
        if "org" in spec:
            org = spec["org"]
        else:
            org = rng.choice(LANG_ORGS[LOCALE_INFO[group][1]])
        if "email" in spec:
            email = spec["email"]
        else:
            domain = ORG_DOMAIN[org] if org else rng.choice(FREE_DOMAINS)
            email = "%s@%s" % (spec["local"], domain)
            n = 2
            while email.lower() in seen:
                email = "%s%d@%s" % (spec["local"], n, domain)
                n += 1
        if email is not None and spec.get("dup") != "copy":
            assert email.strip().lower() not in seen, email
            seen.add(email.strip().lower())
        phone = spec["phone"] if "phone" in spec else phone_for(rng, locale)
        tags = []
        if org in VIP_ORGS:
            tags.append("vip")
        if rng.random() < 0.12:
            tags.append("beta")
        created = times[i]
        updated = between(rng, created, D(2025, 6, 15))
        suspended = rng.random() < 0.03 and "dup" not in spec and "phone_only" not in spec
        users.append({"id": uid, "name": spec["name"], "email": email, "phone": phone, "role": "end-user",
                      "active": True, "suspended": suspended, "organization_id": org, "locale": locale,
                      "time_zone": tz, "tags": tags, "created_at": ts(created), "updated_at": ts(updated)})
        meta[uid] = {"lang": LOCALE_INFO[group][1], "created": created, "org": org, "email": email,
                     "suspended": suspended}
    return users, meta


# ---------------------------------------------------------------------------
# Help Center skeleton (needed by tickets for links)
# ---------------------------------------------------------------------------
CATEGORIES = [
    (60000, "Getting Started", "Everything you need for your first days with Acme Cloud."),
    (60001, "Account & Billing", "Plans, invoices, payments and account security."),
    (60002, "Troubleshooting", "Fixes for common problems and known issues."),
]
SECTIONS = [
    (61000, 60000, "Setting up your account", "Create your account and invite your team."),
    (61001, 60000, "Using Acme Cloud", "Projects, imports, exports and reports."),
    (61002, 60001, "Billing and payments", "Invoices, refunds and seats."),
    (61003, 60001, "Security and privacy", "Passwords, 2FA, SSO and data deletion."),
    (61004, 60002, "Mobile app", "Install and troubleshoot the iOS and Android apps."),
    (61005, 60002, "Known issues", "Problems we know about and their workarounds."),
]
# id, section, title, labels, intro, prerequisites, steps, troubleshooting (may contain {link:ID:anchor})
ARTICLES = [
    (62000, 61000, "Welcome to Acme Cloud", ["getting-started"],
     "Acme Cloud helps your team plan projects, track orders and share reports in one place. This article gives you a quick tour.",
     ["An Acme account (the Free plan is enough)", "A recent version of Chrome, Firefox, Safari or Edge"],
     ["Sign in at app.acme.example.", "Create your first project from the dashboard.", "Invite your colleagues."],
     "Can't sign in? See {link:62012:troubleshooting}."),
    (62001, 61000, "Creating your account", ["account", "signup"],
     "You can create an account with your work email address or with single sign-on.",
     ["A work email address", "Access to your inbox to confirm the address"],
     ["Go to app.acme.example/signup.", "Enter your name and email address.", "Click the link in the confirmation email."],
     "No confirmation email? Check your spam folder, then see {link:62018:troubleshooting}."),
    (62002, 61000, "Inviting team members", ["team", "seats"],
     "Admins can invite as many people as there are free seats on the plan.",
     ["Admin role", "At least one free seat"],
     ["Open Settings → Team.", "Click Invite and enter email addresses.", "Choose a role for each person."],
     "Out of seats? See {link:62011:steps}."),
    (62003, 61000, "Choosing a plan", ["billing", "plans"],
     "Acme Cloud comes in four plans: Free, Starter, Pro and Enterprise.",
     ["Admin role"],
     ["Open Settings → Billing.", "Compare the plans.", "Click Upgrade and confirm."],
     "If the upgrade fails, check your card details as described in {link:62008:steps}."),
    (62004, 61001, "Creating your first project", ["projects"],
     "Projects group tasks, files and reports for one piece of work.",
     ["Member or admin role"],
     ["Click New project on the dashboard.", "Give the project a name and choose a template.", "Add tasks or import them."],
     "Templates missing? Your plan may not include them: see {link:62003:steps}."),
    (62005, 61001, "Importing data from CSV", ["import", "csv"],
     "You can import tasks, contacts and orders from a CSV file encoded in UTF-8.",
     ["A CSV file with a header row, UTF-8 encoded", "Admin role"],
     ["Open the project and click Import.", "Select your CSV file and map the columns.", "Review the preview and click Import."],
     "Accents look wrong after import? Save the file as UTF-8 and try again."),
    (62006, 61001, "Exporting reports", ["reports", "export", "csv"],
     "Every report can be exported to CSV, PDF or Excel.",
     ["Access to the report"],
     ["Open the report.", "Click Export and choose a format.", "Wait for the download to start."],
     "Large CSV exports may fail: see {link:62020:troubleshooting}."),
    (62007, 61001, "Keyboard shortcuts", ["productivity"],
     "Work faster with keyboard shortcuts. Press ? anywhere to show the list.",
     ["A physical keyboard"],
     ["Press G then P to go to projects.", "Press C to create a task.", "Press / to search."],
     "Shortcuts don't work inside text fields; press Esc first."),
    (62008, 61002, "Updating your payment method", ["billing", "payment"],
     "Admins can change the credit card or switch to invoice payment.",
     ["Admin role", "A valid credit card"],
     ["Open Settings → Billing → Payment method.", "Click Change and enter the new card.", "Save."],
     "Card declined? Contact your bank, then see {link:62009:steps}."),
    (62009, 61002, "Understanding your invoice", ["billing", "invoice"],
     "Your invoice lists every seat, add-on and tax line for the billing period.",
     ["Admin or billing role"],
     ["Open Settings → Billing → Invoices.", "Click an invoice to open it.", "Download it as PDF."],
     "Missing your VAT number? Add it to your billing profile and we'll reissue the invoice."),
    (62010, 61002, "Requesting a refund", ["billing", "refund"],
     "We refund unused time within 30 days of a charge.",
     ["The order or invoice number", "Admin or billing role"],
     ["Open a ticket with the subject \"Refund\".", "Include the order number.", "We confirm the refund by email."],
     "Refunds take 5–10 business days to appear on your statement. Duplicate charge? See {link:62022:troubleshooting}."),
    (62011, 61002, "Adding or removing seats", ["billing", "seats"],
     "Seats can be added at any time; you pay pro rata for the rest of the period.",
     ["Admin role"],
     ["Open Settings → Billing → Seats.", "Change the number of seats.", "Confirm the new price."],
     "Can't remove seats? Deactivate users first, as described in {link:62002:steps}."),
    (62012, 61003, "Resetting your password", ["password", "login"],
     "If you forgot your password you can reset it from the sign-in page.",
     ["Access to the email address of your account"],
     ["Click Forgot password on the sign-in page.", "Enter your email address.", "Follow the link in the email within 1 hour."],
     "Account locked after too many attempts? Wait 15 minutes or set up 2FA: {link:62013:steps}."),
    (62013, 61003, "Setting up two-factor authentication", ["2fa", "security", "login"],
     "Two-factor authentication (2FA) protects your account with a code from your phone.",
     ["An authenticator app such as Google Authenticator or 1Password"],
     ["Open Profile → Security.", "Click Enable 2FA and scan the QR code.", "Save your recovery codes somewhere safe."],
     "Lost your phone? Use a recovery code, or contact support. See also {link:62012:troubleshooting}."),
    (62014, 61003, "Configuring single sign-on (SSO)", ["sso", "saml", "security"],
     "Enterprise plans can sign in with SAML 2.0 identity providers such as Okta or Entra ID.",
     ["Enterprise plan", "Admin access to your identity provider"],
     ["Copy the metadata URL from Settings → Security → SSO.", "Create a SAML app in your identity provider.", "Test the connection and enable SSO."],
     "\"Invalid audience\" errors mean the entity ID doesn't match. Users can still reset passwords: {link:62012:steps}."),
    (62015, 61003, "Deleting your account and data", ["privacy", "gdpr", "account"],
     "You can ask us to delete your account and all personal data at any time.",
     ["Owner role, or the account holder themselves"],
     ["Export anything you want to keep.", "Open a ticket asking for deletion.", "Confirm the deletion by email."],
     "Deletion is permanent. Refunds for unused time: {link:62010:steps}."),
    (62016, 61004, "Installing the mobile app", ["mobile", "ios", "android"],
     "The Acme app is available for iOS 16+ and Android 10+.",
     ["A phone running iOS 16+ or Android 10+"],
     ["Open the App Store or Google Play.", "Search for Acme Cloud and install it.", "Sign in with your Acme account."],
     "App won't open? See {link:62017:troubleshooting}."),
    (62017, 61004, "Fixing sync problems on mobile", ["mobile", "sync"],
     "If changes don't appear on other devices, the app may have stopped syncing.",
     ["The latest app version"],
     ["Pull down to refresh.", "Sign out and sign back in.", "Reinstall the app if the problem persists."],
     "Offline changes sync when you reconnect: see {link:62019:steps}."),
    (62018, 61004, "Push notifications not arriving", ["mobile", "notifications"],
     "Notifications depend on both your phone settings and your Acme settings.",
     ["Notifications allowed for the Acme app"],
     ["Check Profile → Notifications in Acme.", "Check the phone's notification settings.", "Disable battery optimisation for Acme (Android)."],
     "Still nothing? Reinstall the app: {link:62016:steps}."),
    (62019, 61004, "Offline mode", ["mobile", "offline"],
     "Draft: the mobile app keeps working without a connection and syncs later.",
     ["App version 5.3 or later"],
     ["Open Settings → Offline.", "Choose which projects to keep offline.", "Work as usual; changes sync when you reconnect."],
     "Conflicts are resolved as described in {link:62017:troubleshooting}."),
    (62020, 61005, "Export to CSV fails with large reports", ["known-issue", "export", "csv"],
     "Exports of reports with more than 10,000 rows may produce an empty CSV file.",
     ["Any plan"],
     ["Filter the report to fewer rows (for example by quarter).", "Export each part separately.", "Combine the files in your spreadsheet app."],
     "A fix is scheduled. Other known issues are listed in the Known issues section."),
    (62021, 61005, "Dashboard loads slowly", ["known-issue", "performance"],
     "Dashboards with many widgets can take a long time to load.",
     ["Any plan"],
     ["Remove widgets you don't use.", "Reduce the date range.", "Split large dashboards in two."],
     "Check the status page at https://status.acme.example before contacting us."),
    (62022, 61005, "Known issue: duplicate invoice emails", ["known-issue", "billing", "invoice"],
     "Draft: some customers received the same invoice email twice in March 2024.",
     ["None"],
     ["No action is needed.", "You were charged only once.", "Contact us if you see two charges."],
     "See {link:62010:troubleshooting} if you were charged twice."),
    (62023, 61005, "Release notes 2025.2", ["release-notes"],
     "Draft: what's new in release 2025.2.",
     ["None"],
     ["Offline mode for mobile.", "Faster CSV exports.", "New keyboard shortcuts."],
     "Read about offline mode in {link:62019:steps}."),
]
ART_BY_ID = {a[0]: a for a in ARTICLES}
DRAFT_ARTICLES = {62019, 62022, 62023}
PROMOTED_ARTICLES = {62000, 62010, 62012}
RELATED = {
    62000: [62001, 62004], 62001: [62003, 62013], 62002: [62011, 62001], 62003: [62011, 62008],
    62004: [62005, 62002], 62005: [62006, 62020], 62006: [62020, 62005], 62007: [62004, 62019],
    62008: [62009, 62022], 62009: [62008, 62010], 62010: [62009, 62008], 62011: [62003, 62002],
    62012: [62013, 62014], 62013: [62012, 62017], 62014: [62013, 62015], 62015: [62010, 62012],
    62016: [62017, 62018], 62017: [62016, 62019], 62018: [62016, 62017], 62019: [62017, 62016],
    62020: [62006, 62021], 62021: [62020, 62000], 62022: [62008, 62009], 62023: [62021, 62020],
}


def art_slug(aid):
    return slugify(ART_BY_ID[aid][2])


def art_url(aid, locale="en-us", slug=True):
    return "%s/hc/%s/articles/%d%s" % (HC, locale, aid, "-" + art_slug(aid) if slug else "")


KB = {"password": art_url(62012), "2fa": art_url(62013), "refund": art_url(62010), "seats": art_url(62011),
      "csv": art_url(62020), "invoice": art_url(62009), "sso": art_url(62014), "sync": art_url(62017),
      "delete": art_url(62015), "notif": art_url(62018)}

# ---------------------------------------------------------------------------
# Conversation texts
# ---------------------------------------------------------------------------
# scenario: key, subject, description, first agent reply, requester follow-up (or None),
#           type, priority (None = random), tags, group, field hints
S = dict
SCENARIOS = {
    "en": [
        S(key="shipping", subject="Where is my order {order}?",
          desc="Hi,\n\nI ordered a **Hardware kit** on {date} (order {order}) and it still hasn't arrived. The tracking page hasn't changed in five days.\n\nCan you check what's going on?\n\nThanks,\n{name}",
          reply="Hi {first},\n\nsorry about the wait! The carrier held your parcel at the regional depot because of a damaged label. It has been re-labelled and should arrive within 2 business days.\n\nYou can follow it here: [track parcel]({tracking})",
          follow="It's still not here and the tracking page now says \"returned to sender\" 😟",
          type="question", tags=["shipping", "delay"], group=3003, fields=S(order=True, purchase=True, product="hardware_kit")),
        S(key="refund", subject="Refund for order {order}",
          desc="Hello,\n\nI was charged {amount} USD for order {order} but I cancelled it the same day. Please refund the full amount.\n\n{name}",
          reply="Hi {first},\n\nthanks for reaching out. I can see the cancellation on our side and have started a refund of **{amount} USD**. It usually takes 5–10 business days to show up on your statement.\n\nMore details: [Requesting a refund]({kb_refund})",
          follow="Thanks. Will I get a confirmation email for the refund?",
          type="question", tags=["billing", "refund"], group=3002, fields=S(order=True, refund=True, purchase=True)),
        S(key="login", subject="Can't log in after password reset",
          desc="Hi support,\n\nI reset my password this morning but the login page keeps saying \"invalid credentials\". I've tried Chrome and Firefox.\n\nPlease help, I have a demo in two hours!",
          reply="Hi {first},\n\nI've cleared the lock on your account: too many failed attempts had triggered it. Please try again now, and if it still fails follow the steps in [Resetting your password]({kb_password}).",
          follow="Still getting the same error, even in a private window.",
          type="incident", tags=["login", "account"], group=3000, fields=S(modules=["authentication"])),
        S(key="2fa", subject="Lost my phone – can't get 2FA codes",
          desc="Hi,\n\nmy phone was stolen and I can't get my two-factor codes any more. I still have access to my email address.\n\nHow do I get back into my account?",
          reply="Hi {first},\n\nsorry to hear that. For security reasons we need to verify your identity first. Please reply with:\n\n- the last 4 digits of the card on file\n- the date of your last invoice\n\nOnce verified we'll disable 2FA so you can set it up again: [Setting up two-factor authentication]({kb_2fa})",
          follow="Card ends in 4242, last invoice was on {date}.",
          type="incident", tags=["login", "2fa", "security"], group=3000, fields=S(modules=["authentication"])),
        S(key="csv", subject="Export to CSV produces an empty file",
          desc="When I export the **Monthly revenue** report to CSV the downloaded file is empty (0 bytes). PDF export works fine.\n\nSteps:\n\n- open Reports → Monthly revenue\n- click Export → CSV\n- open the file\n\nThis started after last week's update.",
          reply="Hi {first},\n\nthanks for the detailed report! This is a known issue with reports over 10,000 rows: [Export to CSV fails with large reports]({kb_csv}). As a workaround you can filter the report by quarter.",
          follow=None, type="incident", tags=["bug", "reporting", "export"], group=3001,
          fields=S(product="acme_cloud", modules=["reporting"])),
        S(key="ios", subject="iOS app crashes on launch",
          desc="Since updating to version 5.2 the iPhone app crashes right after the splash screen. iPhone 13, iOS 17.4. Reinstalling didn't help.",
          reply="Hi {first},\n\nthanks for letting us know. We've reproduced the crash on iOS 17.4 and a fix is in review with Apple. I'll update this ticket as soon as version 5.2.1 is live.",
          follow="Any ETA? My whole team uses the app in the field.",
          type="incident", tags=["bug", "mobile", "ios"], group=3004, fields=S(product="acme_mobile", modules=["mobile_app"])),
        S(key="double", subject="Charged twice this month",
          desc="Hi,\n\nI see two charges of {amount} USD on my credit card for this month's subscription. Can you refund one of them?\n\nRegards,\n{name}",
          reply="Hi {first},\n\nyou're right: a payment retry created a duplicate charge. I've refunded the second charge of **{amount} USD**. You'll receive a confirmation email shortly.",
          follow=None, type="incident", tags=["billing", "refund"], group=3002,
          fields=S(refund=True, modules=["billing"])),
        S(key="seats", subject="How do I add more seats?",
          desc="We're onboarding {seats} new people next month. How do I add seats to our plan, and will we be charged pro rata?",
          reply="Hi {first},\n\ngreat news! Admins can add seats under **Settings → Billing → Seats**. New seats are charged pro rata for the rest of your billing period.\n\nStep-by-step guide: [Adding or removing seats]({kb_seats})",
          follow="Perfect. Do seats we remove later get credited?",
          type="question", tags=["billing", "seats"], group=3002, fields=S(seats=True, plan=True)),
        S(key="damaged", subject="Item arrived damaged",
          desc="Hi,\n\nthe hardware kit from order {order} arrived with a cracked case. The box was clearly crushed in transit. Serial number: {serial}.\n\nI'd like a replacement please.",
          reply="Hi {first},\n\nI'm really sorry about that! Could you send a photo of the damaged item and the box? Once we have it we'll ship a replacement right away.",
          follow="Photos attached. The box was wet too.",
          type="incident", tags=["shipping", "damaged", "replacement"], group=3003,
          fields=S(order=True, serial=True, product="hardware_kit")),
        S(key="api", subject="API returns 429 Too Many Requests",
          desc="Our integration started getting 429 responses from /api/v2/orders even though we send fewer than 100 requests per minute. Request id: req_{req}.",
          reply="Hi {first},\n\nthanks for the request id. Your account was still on the Starter rate limit (60 requests per minute). I've raised it to the Pro limit that matches your plan. Please let us know if you still see 429s.",
          follow=None, type="problem", tags=["api", "bug"], group=3001, fields=S(product="acme_api", modules=["integrations"], plan=True)),
        S(key="gdpr", subject="Please delete my account and data",
          desc="Hello,\n\nunder the GDPR I request the deletion of my account and all personal data you hold about me.\n\n{name}",
          reply="Hi {first},\n\nwe've received your request. Before we proceed, please confirm that you understand that deletion is permanent and cannot be undone. More information: [Deleting your account and data]({kb_delete})",
          follow="Yes, I confirm. Please go ahead.",
          type="task", tags=["gdpr", "privacy", "account"], group=3000, fields=S()),
        S(key="sso", subject="SSO setup with Okta fails",
          desc="We're trying to configure SAML SSO with Okta but get \"Invalid audience\" after signing in. Our entity ID is https://acme.example/saml. What are we missing?",
          reply="Hi {first},\n\nthe audience (SP entity ID) must be exactly **https://app.acme.example/saml/metadata**. Please update it in Okta and try again. Full guide: [Configuring single sign-on (SSO)]({kb_sso})",
          follow="Changed it, now we get \"signature invalid\".",
          type="question", tags=["sso", "security"], group=3001, fields=S(plan="plan_enterprise", modules=["authentication"])),
        S(key="vat", subject="Invoice needs our VAT number",
          desc="Hi,\n\nour accounting team needs the invoice from {date} to include our VAT number GB123456789. Can you reissue it?\n\nThanks",
          reply="Hi {first},\n\nno problem. I've added the VAT number to your billing profile and reissued the invoice; you'll find it under **Settings → Billing → Invoices**. See also [Understanding your invoice]({kb_invoice}).",
          follow=None, type="task", tags=["billing", "invoice"], group=3002, fields=S(modules=["billing"])),
        S(key="outage", subject="URGENT 🔥 dashboard not loading",
          desc="The dashboard has been showing a blank page for the whole team since 09:00 UTC. This is blocking our operations!",
          reply="Hi {first},\n\nwe're aware of the issue and our engineers are on it. You can follow updates on our status page: [https://status.acme.example](https://status.acme.example)\n\nI'll update you here as soon as it's resolved.",
          follow="Still blank for us. Any news?",
          type="problem", priority="urgent", tags=["outage", "bug"], group=3001, fields=S(product="acme_cloud", modules=["reporting"])),
        S(key="sync", subject="Mobile app not syncing",
          desc="Changes I make on my Android phone don't show up on the web app. The last successful sync was 3 days ago.",
          reply="Hi {first},\n\ncould you try the steps in [Fixing sync problems on mobile]({kb_sync})? In most cases signing out and back in fixes it.",
          follow="Signed out and in again, still not syncing.",
          type="incident", tags=["mobile", "sync", "android"], group=3004, fields=S(product="acme_mobile", modules=["mobile_app"])),
        S(key="notif", subject="Not receiving email notifications",
          desc="None of my colleagues receive email notifications for new comments any more. We checked the spam folders.",
          reply="Hi {first},\n\nthanks for checking the spam folders. Your mail server rejected our messages last week, so our system paused delivery. I've re-enabled it; new notifications should arrive again. See also [Push notifications not arriving]({kb_notif}).",
          follow=None, type="incident", tags=["notifications", "email"], group=3001, fields=S(modules=["notifications"])),
    ],
    "de": [
        S(key="de_shipping", subject="Bestellung {order} noch nicht angekommen",
          desc="Hallo,\n\nich habe am {date} die Bestellung {order} aufgegeben, aber sie ist immer noch nicht angekommen. Laut Sendungsverfolgung liegt das Paket seit einer Woche im Verteilzentrum.\n\nKönnen Sie bitte nachsehen?\n\nViele Grüße\n{name}",
          reply="Hallo {first},\n\nentschuldigen Sie die Verzögerung! Das Paket wurde im Verteilzentrum falsch sortiert und ist jetzt wieder unterwegs. Sie können es hier verfolgen: [Sendung verfolgen]({tracking})",
          follow="Danke. Laut Tracking ist es jetzt in Leipzig – das ist die falsche Richtung 😅",
          type="question", tags=["shipping", "delay"], group=3003, fields=S(order=True, purchase=True, product="hardware_kit")),
        S(key="de_invoice", subject="Rechnung März 2024 – falsche Anschrift",
          desc="Guten Tag,\n\nauf der Rechnung für März 2024 steht noch unsere alte Adresse. Bitte stellen Sie eine korrigierte Rechnung aus. Unsere neue Anschrift:\n\n**Initech GmbH, Leopoldstraße 12, 80802 München**\n\nIm Anhang finden Sie die Rechnung, einen Screenshot und das Protokoll des fehlgeschlagenen Checkouts.",
          reply="Hallo {first},\n\nvielen Dank für die Unterlagen. Ich habe die Adresse in Ihrem Rechnungsprofil aktualisiert und die Rechnung neu ausgestellt. Sie finden sie unter **Einstellungen → Abrechnung → Rechnungen**.",
          follow="Die neue Rechnung ist da, aber die USt-IdNr. fehlt noch.",
          type="task", tags=["billing", "invoice"], group=3002, fields=S(modules=["billing"])),
        S(key="de_login", subject="Kann mich nicht mehr anmelden",
          desc="Hallo,\n\nseit heute Morgen kann ich mich nicht mehr anmelden. Nach der Eingabe des 2FA-Codes erscheint nur „Sitzung abgelaufen“.\n\nGruß\n{name}",
          reply="Hallo {first},\n\ndas liegt meist an einer falsch gehenden Uhr auf dem Handy. Bitte aktivieren Sie die automatische Uhrzeit und versuchen Sie es erneut. Anleitung: [Zwei-Faktor-Authentifizierung einrichten]({kb_2fa_de})",
          follow="Die Uhrzeit war tatsächlich falsch eingestellt. Jetzt klappt es!",
          type="incident", tags=["login", "2fa"], group=3000, fields=S(modules=["authentication"])),
    ],
    "fr": [
        S(key="fr_refund", subject="Remboursement non reçu pour la commande {order}",
          desc="Bonjour,\n\nj'ai annulé la commande {order} il y a trois semaines et je n'ai toujours pas été remboursé(e) de {amount} USD.\n\nMerci de vérifier.\n\n{name}",
          reply="Bonjour {first},\n\nmerci pour votre patience. Le remboursement de **{amount} USD** a bien été émis le {date}. Selon votre banque, il peut falloir jusqu'à 10 jours ouvrés.",
          follow="Toujours rien sur mon relevé, malheureusement.",
          type="question", tags=["billing", "refund"], group=3002, fields=S(order=True, refund=True, purchase=True)),
        S(key="fr_export", subject="Impossible d'exporter mes rapports en CSV",
          desc="Bonjour,\n\nquand j'exporte le rapport « Chiffre d'affaires mensuel » en CSV, le fichier est vide. L'export PDF fonctionne.\n\nCordialement,\n{name}",
          reply="Bonjour {first},\n\nil s'agit d'un problème connu pour les rapports de plus de 10 000 lignes. En attendant le correctif, vous pouvez filtrer le rapport par trimestre : [Export to CSV fails with large reports]({kb_csv})",
          follow=None, type="incident", tags=["bug", "reporting", "export"], group=3001,
          fields=S(product="acme_cloud", modules=["reporting"])),
        S(key="fr_plan", subject="Question sur la facturation annuelle",
          desc="Bonjour,\n\nsi nous passons à la facturation annuelle, est-ce que la remise de 15 % s'applique aussi aux licences ajoutées en cours d'année ?\n\nMerci d'avance",
          reply="Bonjour {first},\n\noui : la remise s'applique à toutes les licences ajoutées pendant l'année, au prorata de la période restante.",
          follow="Parfait, merci ! Comment faire le changement ?",
          type="question", tags=["billing", "plans"], group=3002, fields=S(plan=True, seats=True)),
    ],
    "es": [
        S(key="es_damaged", subject="Pedido {order} llegó dañado",
          desc="Hola:\n\nel pedido {order} llegó con la caja rota y el equipo no enciende. Número de serie: {serial}.\n\n¿Me podéis enviar uno nuevo?\n\nGracias,\n{name}",
          reply="Hola {first}:\n\nsentimos mucho lo ocurrido. ¿Podrías enviarnos una foto del producto y del embalaje? En cuanto la recibamos, te mandamos un reemplazo.",
          follow="Adjunto las fotos. La caja estaba mojada.",
          type="incident", tags=["shipping", "damaged", "replacement"], group=3003,
          fields=S(order=True, serial=True, product="hardware_kit")),
        S(key="es_login", subject="No puedo iniciar sesión en la app móvil",
          desc="Hola,\n\ndesde ayer la app del móvil me dice «Credenciales no válidas», pero en el ordenador entro sin problema.\n\nUn saludo",
          reply="Hola {first}:\n\n¿podrías cerrar sesión en la app, actualizarla a la última versión y volver a entrar? Si sigue fallando, restablece la contraseña: [Resetting your password]({kb_password})",
          follow="Ya la actualicé y sigue igual 😞",
          type="incident", tags=["login", "mobile"], group=3004, fields=S(product="acme_mobile", modules=["authentication", "mobile_app"])),
        S(key="es_double", subject="Cobro duplicado en mi tarjeta",
          desc="Hola:\n\nveo dos cargos de {amount} USD en mi tarjeta por la suscripción de este mes. ¿Podéis devolver uno?\n\n{name}",
          reply="Hola {first}:\n\ntienes razón, un reintento de pago generó un cargo duplicado. Ya hemos devuelto **{amount} USD**; recibirás un correo de confirmación.",
          follow=None, type="incident", tags=["billing", "refund"], group=3002, fields=S(refund=True, modules=["billing"])),
    ],
    "ja": [
        S(key="ja_login", subject="ログインできません",
          desc="お世話になっております。\n\n昨日からログインしようとすると「認証に失敗しました」と表示されます。パスワードは再設定済みです。\n\nよろしくお願いいたします。\n{name}",
          reply="{first}様\n\nお問い合わせいただきありがとうございます。アカウントのロックを解除いたしました。もう一度ログインをお試しください。\n\n手順はこちら：[パスワードの再設定]({kb_password_ja})",
          follow="まだ同じエラーが出ます。😢",
          type="incident", tags=["login", "account"], group=3000, fields=S(modules=["authentication"])),
        S(key="ja_invoice", subject="請求書の再発行をお願いします",
          desc="いつもお世話になっております。\n\n{date}付けの請求書の宛名を「Kumo Systems 株式会社」に変更して再発行していただけますでしょうか。\n\n{name}",
          reply="{first}様\n\nご連絡ありがとうございます。宛名を変更した請求書を再発行いたしました。**設定 → 請求 → 請求書** からダウンロードいただけます。",
          follow=None, type="task", tags=["billing", "invoice"], group=3002, fields=S(modules=["billing"])),
        S(key="ja_crash", subject="アプリがクラッシュします（iOS）",
          desc="iPhoneアプリを最新版に更新してから、起動直後に落ちてしまいます。\n\n端末：iPhone 13\nOS：iOS 17.4",
          reply="{first}様\n\nご不便をおかけして申し訳ございません。同じ現象を確認しており、修正版（5.2.1）を準備中です。リリースされ次第ご連絡いたします。",
          follow="その後いかがでしょうか？",
          type="incident", tags=["bug", "mobile", "ios"], group=3004, fields=S(product="acme_mobile", modules=["mobile_app"])),
    ],
    "ar": [
        S(key="ar_shipping", subject="لم يصل طلبي رقم {order}",
          desc="مرحباً،\n\nطلبت المنتج بتاريخ {date} برقم الطلب {order}، ولكن الطلب لم يصل حتى الآن. هل يمكنكم التحقق من حالة الشحن؟\n\nمع الشكر،\n{name}",
          reply="مرحباً {first}،\n\nنعتذر عن التأخير. الشحنة الآن في مركز التوزيع وستصل خلال يومين. يمكنك تتبعها من هنا: [تتبع الشحنة]({tracking})",
          follow="ما زالت الشحنة في نفس المكان منذ ثلاثة أيام.",
          type="question", tags=["shipping", "delay"], group=3003, fields=S(order=True, purchase=True, product="hardware_kit")),
        S(key="ar_login", subject="مشكلة في تسجيل الدخول",
          desc="مرحباً،\n\nلا أستطيع تسجيل الدخول إلى حسابي منذ أمس. تظهر رسالة «كلمة المرور غير صحيحة» رغم أنني غيّرتها.\n\nشكراً",
          reply="مرحباً {first}،\n\nتم إلغاء قفل حسابك. يرجى المحاولة مرة أخرى، وإذا استمرت المشكلة اتبع الخطوات في هذا المقال: [إعادة تعيين كلمة المرور]({kb_password_ar})",
          follow="تم حل المشكلة، شكراً جزيلاً! 🌟",
          type="incident", tags=["login", "account"], group=3000, fields=S(modules=["authentication"])),
        S(key="ar_refund", subject="طلب استرداد المبلغ",
          desc="السلام عليكم،\n\nأرغب في استرداد مبلغ {amount} دولار عن الطلب {order} لأن المنتج لا يعمل كما هو موصوف.\n\n{name}",
          reply="مرحباً {first}،\n\nتمت الموافقة على استرداد **{amount} USD**. سيظهر المبلغ في كشف حسابك خلال 5 إلى 10 أيام عمل.",
          follow="هل سأستلم رسالة تأكيد بالبريد الإلكتروني؟",
          type="question", tags=["billing", "refund"], group=3002, fields=S(order=True, refund=True, purchase=True)),
    ],
    "he": [
        S(key="he_shipping", subject="ההזמנה {order} עדיין לא הגיעה",
          desc="שלום,\n\nהזמנתי ב-{date} (הזמנה {order}) והחבילה עדיין לא הגיעה. אפשר לבדוק מה קרה?\n\nתודה,\n{name}",
          reply="שלום {first},\n\nמצטערים על העיכוב. החבילה נמצאת במרכז המיון ותגיע תוך יומיים. אפשר לעקוב כאן: [מעקב משלוח]({tracking})",
          follow="עדיין לא הגיעה 😕",
          type="question", tags=["shipping", "delay"], group=3003, fields=S(order=True, purchase=True, product="hardware_kit")),
        S(key="he_invoice", subject="שאלה לגבי החשבונית",
          desc="שלום,\n\nבחשבונית האחרונה חויבתי על 12 משתמשים, אבל יש לנו רק 10. אשמח להסבר.\n\n{name}",
          reply="שלום {first},\n\nבדקנו: שני משתמשים הושבתו אחרי תחילת תקופת החיוב. הזיכוי יופיע בחשבונית הבאה.",
          follow="תודה על ההסבר!",
          type="question", tags=["billing", "invoice", "seats"], group=3002, fields=S(seats=True, plan=True)),
        S(key="he_sync", subject="האפליקציה לא מסתנכרנת",
          desc="היי,\n\nמאז העדכון האחרון האפליקציה בטלפון לא מסתנכרנת עם המחשב. ניסיתי להתנתק ולהתחבר מחדש וזה לא עזר.",
          reply="שלום {first},\n\nאפשר לשלוח צילום מסך של הודעת השגיאה? בינתיים כדאי לנסות את השלבים במאמר: [Fixing sync problems on mobile]({kb_sync})",
          follow="שלחתי צילום מסך. זה עדיין לא עובד.",
          type="incident", tags=["mobile", "sync"], group=3004, fields=S(product="acme_mobile", modules=["mobile_app"])),
    ],
}
KB.update({"2fa_de": art_url(62013, "de"), "password_ja": art_url(62012, "ja"), "password_ar": art_url(62012, "ar")})

GENERIC = {
    "en": S(
        resolve="I'm marking this ticket as solved. Just reply to this email if you need anything else.",
        nudge=["Any update on this? It's been a few days.", "One more detail: it happens for all my colleagues too.", "Hello? Is anyone looking at this? 🙄"],
        agent=["Thanks for the update, {first}. I've passed this on to our engineering team and will get back to you as soon as I hear from them.",
               "Quick update: our team has deployed a fix. Could you try again and let me know if it works now?",
               "Thanks for your patience! I'm still waiting for an update from the team and will follow up by the end of the week.",
               "I've checked your account and everything looks correct on our side. Could you clear your browser cache and try again?"],
        ask=["Could you send us a screenshot of the error and the approximate time it happened? That will help us track it down.",
             "Could you confirm the email address on the account and the last 4 digits of the card used?",
             "Just checking in: do you still need help with this? If we don't hear back in a few days this ticket will be closed automatically."],
        close=["Glad to hear it's working now! I'll mark this ticket as solved; just reply to this email if anything else comes up. 😊",
               "Great, thanks for confirming. Closing this one out. Have a nice day!",
               "All done! I'm marking this as solved. If you have any other questions, just reply here."],
        req=["Thanks for the quick reply!", "I tried that but it still doesn't work. Anything else I can try?",
             "Any update on this? It's been a few days.",
             "Sorry for the late reply, I was travelling. Yes, the problem is still there.",
             "Here is the screenshot you asked for.", "OK, I'll wait. Please keep me posted 🙏"],
        thanks=["That fixed it, thank you so much! 🙏", "Works now. Thanks for the help!"],
        hold=["We're waiting on a fix from our engineering team, so I've put this ticket on hold. I'll update you as soon as there's news."]),
    "de": S(
        resolve='Ich setze das Ticket auf „Gelöst“. Antworten Sie einfach auf diese E-Mail, falls noch etwas ist.',
        nudge=["Gibt es schon Neuigkeiten?", "Noch eine Info: Das Problem betrifft auch meine Kollegen."],
        agent=["Hallo {first},\n\nvielen Dank für Ihre Nachricht. Ich habe das an unser Technik-Team weitergegeben und melde mich, sobald ich mehr weiß.",
               "Kurzes Update: Der Fehler wurde behoben. Könnten Sie es bitte noch einmal versuchen?"],
        ask=["Könnten Sie uns bitte einen Screenshot der Fehlermeldung schicken?"],
        close=["Freut mich, dass es jetzt funktioniert! Ich schließe das Ticket. Bei Fragen antworten Sie einfach auf diese E-Mail."],
        req=["Danke für die schnelle Antwort!", "Leider funktioniert es immer noch nicht. 😕", "Gibt es schon Neuigkeiten?"],
        thanks=["Jetzt klappt es, vielen Dank! 👍"],
        hold=["Wir warten auf eine Korrektur unseres Entwicklungsteams und haben das Ticket deshalb auf „Angehalten“ gesetzt."]),
    "fr": S(
        resolve='Je passe ce ticket en « résolu ». Répondez simplement à cet e-mail si besoin.',
        nudge=["Avez-vous du nouveau ?", "Petite précision : mes collègues ont le même problème."],
        agent=["Bonjour {first},\n\nmerci pour votre message. J'ai transmis votre demande à notre équipe technique et je reviens vers vous dès que possible.",
               "Bonne nouvelle : le correctif est en ligne. Pouvez-vous réessayer ?"],
        ask=["Pourriez-vous nous envoyer une capture d'écran du message d'erreur ?"],
        close=["Ravi que ce soit résolu ! Je clôture le ticket ; n'hésitez pas à répondre à cet e-mail si besoin."],
        req=["Merci pour votre réponse rapide !", "Toujours le même problème, malheureusement.", "Avez-vous du nouveau ?"],
        thanks=["Ça marche maintenant, merci beaucoup ! 😊"],
        hold=["Nous attendons un correctif de notre équipe technique ; le ticket est mis en attente en attendant."]),
    "es": S(
        resolve='Marco este ticket como resuelto. Si necesitas algo más, responde a este correo.',
        nudge=["¿Hay alguna novedad?", "Un detalle más: a mis compañeros les pasa lo mismo."],
        agent=["Hola {first}:\n\ngracias por escribirnos. Ya estamos revisando tu caso y te escribiremos en cuanto tengamos novedades.",
               "Te hemos enviado un reemplazo. Puedes seguir el envío aquí: [seguimiento]({tracking})"],
        ask=["¿Podrías enviarnos una captura de pantalla del error?"],
        close=["¡Nos alegra que se haya resuelto! Cerramos el ticket; si necesitas algo más, responde a este correo."],
        req=["¡Gracias por la respuesta tan rápida!", "Sigue sin funcionar. 😞", "¿Hay alguna novedad?"],
        thanks=["¡Ya funciona, muchas gracias! 🎉"],
        hold=["Estamos esperando una corrección del equipo técnico, así que dejamos el ticket en espera."]),
    "ja": S(
        resolve='本チケットは解決済みとさせていただきます。ご不明な点があれば、このメールにご返信ください。',
        nudge=["その後いかがでしょうか？", "補足です。同僚の環境でも同じ現象が発生しています。"],
        agent=["{first}様\n\nご連絡ありがとうございます。担当チームに確認し、分かり次第ご連絡いたします。",
               "修正版をリリースいたしました。お手数ですが、もう一度お試しください。"],
        ask=["お手数ですが、エラー画面のスクリーンショットをお送りいただけますでしょうか。"],
        close=["解決したとのこと、安心いたしました。本チケットはクローズさせていただきます。"],
        req=["早速のご対応ありがとうございます。", "まだ直りません。", "その後いかがでしょうか？"],
        thanks=["直りました！ありがとうございました 🙇"],
        hold=["開発チームの修正を待っているため、チケットを保留にいたしました。"]),
    "ar": S(
        resolve='سنعتبر هذه التذكرة محلولة. إذا احتجت إلى أي مساعدة، يمكنك الرد على هذه الرسالة.',
        nudge=["هل هناك أي جديد؟", "معلومة إضافية: زملائي يواجهون المشكلة نفسها."],
        agent=["مرحباً {first}،\n\nشكراً لتواصلك معنا. نحن نراجع طلبك الآن وسنعود إليك في أقرب وقت ممكن.",
               "تم إصلاح المشكلة. هل يمكنك المحاولة مرة أخرى؟"],
        ask=["هل يمكنك إرسال لقطة شاشة لرسالة الخطأ؟"],
        close=["يسعدنا أن المشكلة قد حُلّت. سنغلق هذه التذكرة، ويمكنك الرد على هذه الرسالة إذا احتجت إلى أي مساعدة."],
        req=["شكراً على الرد السريع!", "ما زالت المشكلة قائمة للأسف.", "هل هناك أي جديد؟"],
        thanks=["شكراً جزيلاً، كل شيء يعمل الآن! 🌟"],
        hold=["ننتظر إصلاحاً من فريق التطوير، لذلك وضعنا التذكرة في حالة الانتظار."]),
    "he": S(
        resolve='אנחנו מסמנים את הפנייה כפתורה. אפשר להשיב למייל הזה אם צריך עוד משהו.',
        nudge=["יש עדכון?", "עוד פרט: גם לעמיתים שלי יש את אותה בעיה."],
        agent=["שלום {first},\n\nתודה שפנית אלינו. אנחנו בודקים את הנושא ונחזור אליך בהקדם.",
               "התיקון שוחרר. אפשר לנסות שוב ולעדכן אותנו?"],
        ask=["אפשר לשלוח צילום מסך של הודעת השגיאה?"],
        close=["שמחים שהבעיה נפתרה! אנחנו סוגרים את הפנייה. אפשר להשיב למייל הזה בכל שאלה."],
        req=["תודה על התגובה המהירה!", "זה עדיין לא עובד. 😕", "יש עדכון?"],
        thanks=["עכשיו זה עובד, תודה רבה! 🙌"],
        hold=["אנחנו ממתינים לתיקון מצוות הפיתוח, ולכן הפנייה הועברה למצב המתנה."]),
}
PRIVATE_NOTES = [  # (text, only for tickets with this tag)
    ("Checked the logs: 3 failed payment attempts on this account between 02:00 and 02:15 UTC.", "billing"),
    ("Escalated to Tier 2, see ENG-{eng}.", None),
    ("Customer is on a paid plan, please prioritise.", None),
    ("Refund approved by finance, amount matches the order.", "refund"),
    ("Looks like a duplicate of a known issue. Linking to the problem ticket.", "bug"),
    ("Called the customer, no answer. Will try again tomorrow.", None),
    ("@{colleague} can you take a look? You handled a similar case last month.", None),
    ("Waiting for the carrier's investigation, follow up on Friday.", "shipping"),
    ("Internal: **do not** promise a date for the fix yet.", "bug"),
    ("Reproduced on staging with the customer's data export.", "bug"),
    ("Identity verified against the billing contact. OK to proceed.", "login"),
    ("Replacement approved, warehouse ticket WH-{eng}.", "damaged"),
]
DANGLING_SCENARIO = S(
    key="dangling", subject="Order sync failed for customer record {missing}",
    desc="Order sync from the shop integration failed for customer record {missing}.\n\nThe requester could not be matched to an existing user.",
    reply="Hello,\n\nwe received an order sync error from your shop integration. We're looking for the right contact on your side and will follow up here.",
    follow=None, type="task", tags=["api", "integration"], group=3001, fields=S(product="acme_api", modules=["integrations"]))
DANGLING_NOTE = "Requester {missing} does not exist any more (deleted during the CRM clean-up?). Do not reply until we find the right contact."
HOLD_NOTE = "Putting this on hold until ENG-{eng} is released. Customer informed."
CUSTOMER_NOTES = ["Prefers contact by phone.\nAvailable 9–17 CET.", "Reseller account, invoices go to the partner.",
                  "Very patient customer 🙂", "Asked us not to call before 10:00.", "Speaks English and Português."]
DANGLING_TICKET_INDEX = 136          # 0-based position in creation order -> ticket id 137
DANGLING_USER_ID = 2999


class Fmt(dict):
    def __missing__(self, key):
        raise KeyError("template placeholder {%s} has no value" % key)


def first_name(name):
    name = name.strip()
    return name.split()[0] if " " in name else name


# ---------------------------------------------------------------------------
# Tickets
# ---------------------------------------------------------------------------
def build_tickets(users, umeta):
    rng = R_TICKET
    trng = R_TEXT
    n_tickets = 200
    start, end = D(2023, 1, 15), D(2025, 5, 31)
    created_times = sorted(between(R_TIME, start, end) for _ in range(n_tickets))
    end_users = [u["id"] for u in users if u["role"] == "end-user"]
    by_lang = {}
    for uid in end_users:
        by_lang.setdefault(umeta[uid]["lang"], []).append(uid)

    # -- requester reservations ------------------------------------------------
    reserved = {}
    def reserve(uid, count, channel=None):
        cands = [i for i in range(n_tickets) if i not in reserved and i != DANGLING_TICKET_INDEX
                 and created_times[i] >= umeta[uid]["created"] + timedelta(days=1)]
        assert len(cands) >= count, (uid, len(cands))
        for i in rng.sample(cands, count):
            reserved[i] = (uid, channel)
    dup_ids = [u["id"] for u in users if u["role"] == "end-user" and
               any(u["email"] and u["email"].strip().lower() == d[1][1] for d in DUP_USERS)]
    for uid in sorted(dup_ids, key=lambda x: -umeta[x]["created"].timestamp()):
        reserve(uid, 2)
    for uid in [u["id"] for u in users if u["organization_id"] in (1018, 1019)]:
        reserve(uid, 1)
    for uid in [u["id"] for u in users if u["role"] == "end-user" and u["email"] is None]:
        reserve(uid, 2, "phone")

    lang_weights = [("en", 62), ("de", 8), ("fr", 7), ("es", 7), ("ja", 6), ("ar", 5), ("he", 5)]
    scen_cursor = {lang: trng.randrange(len(SCENARIOS[lang])) for lang in SCENARIOS}

    tickets = []
    comment_id = 10000
    for idx in range(n_tickets):
        tid = idx + 1
        created = created_times[idx]
        frac = idx / n_tickets
        dangling = idx == DANGLING_TICKET_INDEX
        channel = None
        if dangling:
            requester, lang = DANGLING_USER_ID, "en_dangling"
        elif idx in reserved:
            requester, channel = reserved[idx]
            lang = umeta[requester]["lang"]
        else:
            lang = rng.choices([l for l, _ in lang_weights], [w for _, w in lang_weights])[0]
            pool = [u for u in by_lang[lang] if umeta[u]["created"] <= created and umeta[u]["email"] is not None
                    and not umeta[u]["suspended"]]
            if not pool:
                lang = "en"
                pool = [u for u in by_lang["en"] if umeta[u]["created"] <= created and umeta[u]["email"] is not None]
            requester = rng.choice(pool)
        if dangling:
            scen, lang = DANGLING_SCENARIO, "en"
        else:
            scen_list = SCENARIOS[lang]
            scen = scen_list[scen_cursor[lang] % len(scen_list)]
            scen_cursor[lang] += 1 + (trng.random() < 0.3)
        if channel is None:
            channel = "api" if dangling else rng.choices(["email", "web", "chat", "api", "phone"], [45, 30, 10, 5, 10])[0]

        # -- status by age ------------------------------------------------------
        if frac < 0.6:
            sw = [("closed", 65), ("solved", 25), ("open", 4), ("pending", 3), ("hold", 3)]
        elif frac < 0.85:
            sw = [("closed", 20), ("solved", 35), ("open", 20), ("pending", 12), ("hold", 8), ("new", 5)]
        else:
            sw = [("solved", 15), ("open", 35), ("pending", 20), ("hold", 8), ("new", 22)]
        status = "open" if dangling else rng.choices([s for s, _ in sw], [w for _, w in sw])[0]

        # -- comment role plan ----------------------------------------------------
        if status == "new":
            roles = ["R", "R", "R"]
        elif dangling:
            roles = ["A0", "N", "A"]
        else:
            n = rng.choices([3, 4, 5, 6, 7, 8], [20, 25, 22, 15, 10, 8])[0]
            middle = []
            for k in range(n - 2):
                role = "A" if k % 2 == 0 else "R"
                if role == "A" and rng.random() < 0.55:
                    role = "N"
                elif role == "R" and rng.random() < 0.12:
                    role = "N"
                middle.append(role)
            last = {"solved": "C", "closed": "C", "pending": "Q", "open": "R", "hold": "H"}[status]
            roles = ["R"] + middle + [last]
            if status == "hold" and rng.random() < 0.5:
                roles[-1] = "HN"

        times = [created]
        for _ in roles[1:]:
            gap = rng.choice([rng.randint(300, 3 * 3600), rng.randint(3600, 30 * 3600), rng.randint(20 * 3600, 72 * 3600)])
            times.append(times[-1] + timedelta(seconds=gap))
        last_t = times[-1]
        if status in ("solved", "closed"):
            solved_at = last_t + timedelta(seconds=rng.randint(5, 600))
            updated = solved_at if status == "solved" else solved_at + timedelta(days=4, seconds=rng.randint(0, 3600))
        else:
            solved_at = None
            updated = last_t + timedelta(seconds=rng.randint(0, 6 * 3600))
        assert updated <= RANGE_END

        tickets.append({"idx": idx, "id": tid, "lang": lang, "scen": scen, "requester": requester, "channel": channel,
                        "status": status, "roles": roles, "times": times, "created": created, "updated": updated,
                        "solved_at": solved_at, "dangling": dangling})

    # -- assignees (deactivated agent first) -----------------------------------------
    cands = [t for t in tickets if t["lang"] == "en" and t["status"] != "new" and not t["dangling"]
             and t["updated"] < DEACTIVATED_AT and t["requester"] not in dup_ids]
    done = [t for t in cands if t["status"] in ("solved", "closed")]
    undone = [t for t in cands if t["status"] not in ("solved", "closed")]
    deact_tickets = rng.sample(done, 5) + rng.sample(undone, min(2, len(undone)))
    deact_ids = {t["id"] for t in deact_tickets}
    agents_for = {lang: [a[0] for a in AGENTS if a[3] == "agent" and lang in a[4] and a[0] != DEACTIVATED_AGENT]
                  for lang in SCENARIOS}
    for t in tickets:
        if t["id"] in deact_ids:
            t["assignee"] = DEACTIVATED_AGENT
        elif t["status"] == "new" or (t["status"] in ("open", "hold") and rng.random() < 0.12):
            t["assignee"] = None
        else:
            t["assignee"] = rng.choice(agents_for[t["lang"]])

    # -- materialise ------------------------------------------------------------------
    out = []
    for t in tickets:
        scen, lang, requester = t["scen"], t["lang"], t["requester"]
        req_user = next((u for u in users if u["id"] == requester), None)
        req_name = req_user["name"].strip() if req_user else "Customer"
        order = "ORD-%06d" % rng.randint(100000, 999999)
        amount = "%d.%02d" % (rng.randint(9, 499), rng.choice([0, 49, 90, 99, 95]))
        purchase = t["created"] - timedelta(days=rng.randint(3, 40))
        fmt = Fmt(first=first_name(req_name), missing=str(DANGLING_USER_ID), name=req_name, order=order, amount=amount,
                  date=purchase.strftime("%Y-%m-%d"), tracking="https://tracking.example/%s" % order,
                  serial="SN-%04X-%04d" % (rng.randint(0, 0xFFFF), rng.randint(0, 9999)),
                  seats=str(rng.choice([5, 10, 12, 25, 40])), req=str(rng.randint(10**7, 10**8 - 1)),
                  eng=str(rng.randint(1000, 9999)))
        for k, v in KB.items():
            fmt["kb_" + k] = v
        gen = GENERIC[lang]
        assignee = t["assignee"]
        def pick_agent(when, public):
            pool = agents_for[lang] if public else AGENT_IDS + [2000, 2001]
            pool = [a for a in pool if a != DEACTIVATED_AGENT]
            if assignee is not None and (public or rng.random() < 0.6):
                if assignee != DEACTIVATED_AGENT or when < DEACTIVATED_AT:
                    return assignee
            return rng.choice(pool)
        submitter = requester
        if t["dangling"]:
            submitter = 2000
        elif t["channel"] == "phone":
            submitter = assignee if assignee is not None else rng.choice(agents_for[lang])
        colleague = rng.choice([a for a in AGENT_IDS if a not in (assignee, DEACTIVATED_AGENT)])
        fmt["colleague"] = first_name(next(a[1] for a in AGENTS if a[0] == colleague))
        comments = []
        used_first_reply = used_follow = False
        nudges = trng.sample(gen["nudge"], len(gen["nudge"]))
        for k, (role, when) in enumerate(zip(t["roles"], t["times"])):
            public = True
            if k == 0:
                text = scen["desc"]
                author = submitter if (t["channel"] == "phone" or t["dangling"]) else requester
            elif role == "R":
                if not used_first_reply:
                    text = nudges[0] if nudges else trng.choice(gen["nudge"])
                    nudges = nudges[1:]
                elif scen["follow"] and not used_follow:
                    text, used_follow = scen["follow"], True
                else:
                    text = trng.choice(gen["req"])
                author = requester
            elif role in ("A", "A0"):
                if not used_first_reply:
                    text, used_first_reply = scen["reply"], True
                else:
                    text = trng.choice(gen["agent"])
                author = pick_agent(when, True)
            elif role == "N":
                notes = [n for n, tag in PRIVATE_NOTES if tag is None or tag in scen["tags"]]
                text = trng.choice(notes)
                public = False
                author = pick_agent(when, False)
            elif role in ("Q", "C", "H"):
                line = {"Q": lambda: trng.choice(gen["ask"]), "C": lambda: trng.choice(gen["close"]),
                        "H": lambda: gen["hold"][0]}[role]()
                if not used_first_reply:
                    # the first public agent answer always carries the scenario's reply
                    text = scen["reply"] + {"Q": "", "C": "\n\n" + gen["resolve"], "H": "\n\n" + line}[role]
                    used_first_reply = True
                else:
                    text = line
                author = pick_agent(when, True)
            elif role == "HN":
                text, public = HOLD_NOTE, False
                author = pick_agent(when, False)
            else:
                raise ValueError(role)
            if t["dangling"] and role == "N":
                text = DANGLING_NOTE
            body_src = text.format_map(fmt)
            comments.append({"id": comment_id, "role": role if k else "R0", "author_id": author, "src": body_src, "public": public,
                             "created_at": when, "images": [], "attachments": []})
            comment_id += 1
        t["comments"] = comments
        t["fmt"] = fmt
        t["submitter"] = submitter
        t["purchase"] = purchase
        t["subject"] = scen["subject"].format_map(fmt)

        # -- other fields ---------------------------------------------------------
        org = umeta[requester]["org"] if requester in umeta else None
        t["org"] = org
        if t["dangling"]:
            t["group"] = scen["group"]
        elif rng.random() < 0.12:
            t["group"] = None
        else:
            t["group"] = 3005 if (org in VIP_ORGS and rng.random() < 0.3) else scen["group"]
        t["priority"] = scen.get("priority") or rng.choices(["low", "normal", "high", "urgent", None], [15, 50, 20, 5, 10])[0]
        t["type"] = scen["type"] if rng.random() < 0.85 else None
        tags = list(scen["tags"])
        if org in VIP_ORGS:
            tags.append("vip")
        if t["channel"] == "phone":
            tags.append("phone")
        t["tags"] = tags
        # ccs & followers
        ccs, followers = [], []
        if not t["dangling"] and rng.random() < 0.18:
            pool = [u for u in end_users if u != requester and umeta[u]["email"] is not None
                    and umeta[u]["created"] <= t["created"] and (org is None or umeta[u]["org"] == org)]
            if pool:
                ccs = rng.sample(pool, min(len(pool), rng.choice([1, 1, 2])))
        if t["status"] != "new" and rng.random() < 0.15:
            followers = [rng.choice([a for a in AGENT_IDS if a not in (assignee, DEACTIVATED_AGENT)])]
        t["ccs"], t["followers"] = ccs, followers
        t["custom_fields"] = custom_fields(t, scen, org)
    return tickets, deact_ids


def custom_fields(t, scen, org):
    rng = R_FIELD
    h = scen["fields"]
    fmt = t["fmt"]
    vals = {fid: None for fid in range(4000, 4010)}
    if h.get("order"):
        vals[F_ORDER] = fmt["order"]
    prod = h.get("product")
    if prod is None and rng.random() < 0.6:
        prod = rng.choice([v for _, v in FIELDS[1][7]])
    vals[F_PRODUCT] = prod
    plan = h.get("plan")
    if plan is True or (plan is None and rng.random() < 0.4):
        plan = rng.choice([v for _, v in FIELDS[2][7]])
    vals[F_PLAN] = plan
    if h.get("refund"):
        vals[F_REFUND] = fmt["amount"]
    if h.get("purchase"):
        vals[F_PURCHASE] = t["purchase"].strftime("%Y-%m-%d")
    vals[F_VIP] = org in VIP_ORGS
    mods = h.get("modules")
    if mods is not None:
        extra = [v for _, v in FIELDS[6][7] if v not in mods]
        if rng.random() < 0.3:
            mods = mods + [rng.choice(extra)]
        vals[F_MODULES] = mods
    if h.get("serial"):
        vals[F_SERIAL] = fmt["serial"]
    if rng.random() < 0.12:
        vals[F_NOTES] = rng.choice(CUSTOMER_NOTES)
    if h.get("seats"):
        vals[F_SEATS] = int(fmt["seats"])
    return [{"id": fid, "value": vals[fid]} for fid in range(4000, 4010)]


# ---------------------------------------------------------------------------
# Attachments
# ---------------------------------------------------------------------------
SAME_BYTES_PNG = make_png(20, 14, (200, 40, 40), (255, 255, 255), "frame")
# (file name, content type, bytes, inline) groups; each group lands on one comment
TICKET_ATTACHMENT_PLAN = [
    # (scenario keys, language, author: "R" requester after an agent answer / "R0" first comment /
    #  "A" agent public reply / "N" private note, files, text the comment gets)
    ("login csv sync notif sso ios 2fa", "en", "R", [("screenshot.png", "image/png", make_png(32, 32, (30, 90, 200), (220, 230, 255), "checker"), True)], 'Here is a screenshot of what I see:'),
    ("login sso api 2fa", "en", "R", [("error-message.png", "image/png", make_png(16, 16, (210, 30, 30), (0, 0, 0), "solid"), True)], 'This is the error message I get:'),
    ("outage", "en", "R", [("dashboard-blank.png", "image/png", make_png(64, 64, (255, 255, 255), (40, 40, 160), "vgrad"), True)], 'This is what the dashboard looks like right now:'),
    ("es_damaged", "es", "R", [("label-photo.png", "image/png", make_png(8, 8, (20, 160, 60), (0, 0, 0), "solid"), True)], 'Aquí está la foto de la etiqueta del paquete:'),
    ("notif", "en", "A", [("settings-page.png", "image/png", make_png(48, 48, (120, 40, 160), (250, 250, 250), "hgrad"), True)], "You'll find the option here, under **Settings → Notifications**:"),
    ("he_sync", "he", "R", [("sync-error.png", "image/png", make_png(24, 24, (255, 140, 0), (60, 60, 60), "checker"), True)], 'זו הודעת השגיאה שמופיעה:'),
    ("de_invoice", "de", "R0", [
        ("checkout-fehler.png", "image/png", make_png(40, 30, (245, 245, 245), (200, 0, 0), "frame"), False),
        ("app.log", "text/plain", APP_LOG.encode("utf-8"), False),
        ("bestellungen.csv", "text/csv", BESTELLUNGEN_CSV.encode("utf-8"), False),
        ("Rechnung März 2024.pdf", "application/pdf",
         make_pdf(["Initech GmbH", "Rechnung März 2024", "Rechnungsnummer: RE-2024-0311", "Betrag: 1.299,00 EUR"]), False)], None),
    ("ios csv login sync", "en", "R", [("error_dialog.png", "image/png", SAME_BYTES_PNG, False)], 'Attached is a screenshot of the error dialog.'),
    ("ios sync outage login", "en", "R", [("IMG_0042.png", "image/png", SAME_BYTES_PNG, False)], 'Photo of my screen attached, sorry for the quality.'),
    ("vat double refund", "en", "A", [("invoice-2024-118.pdf", "application/pdf", make_pdf(["Acme Cloud", "Invoice 2024-118", "Total: 249.00 USD"]), False)], "I've attached the invoice for your records."),
    ("ja_login ja_crash", "ja", "R", [("スクリーンショット 2024-05-01.png", "image/png", make_png(20, 20, (250, 200, 210), (120, 20, 60), "checker"), False)], 'エラー画面のスクリーンショットを添付します。'),
    ("csv outage api", "en", "R", [("network-trace.txt", "text/plain", NETWORK_TRACE.encode("utf-8"), False)], "I've attached the network trace from my browser."),
    ("csv", "en", "R", [("export.csv", "text/csv", EXPORT_CSV.encode("utf-8"), False)], 'Attached is the file I get when I export a smaller date range, for comparison.'),
    ("fr_refund fr_plan", "fr", "A", [("facture_0423.pdf", "application/pdf", make_pdf(["Acme Cloud", "Facture 0423", "Total : 99,00 EUR"]), False)], 'Vous trouverez la facture en pièce jointe.'),
    ("ios", "en", "N", [("crash-report.txt", "text/plain", CRASH_REPORT.encode("utf-8"), False)], "Crash report from the customer's device attached. Forwarding to the mobile team."),
    ("es_damaged", "es", "R", [("caja-dañada.png", "image/png", make_png(28, 20, (150, 110, 60), (90, 60, 30), "vgrad"), False)], 'Adjunto una foto de la caja dañada.'),
    ("refund double seats vat", "en", "R", [("contract scan.pdf", "application/pdf", make_pdf(["Master Services Agreement", "Signed copy (scan)"]), False)], 'Attached is our signed contract, which shows the agreed price.'),
    ("outage api csv notif", "en", "R", [("error 500.png", "image/png", make_png(36, 12, (90, 90, 90), (255, 80, 80), "hgrad"), False)], 'Now I get an error 500, screenshot attached.'),
    ("seats", "en", "R", [("users.csv", "text/csv", USERS_CSV.encode("utf-8"), False)], 'Here is the list of users we want to import.'),
    ("es_double", "es", "A", [("factura-marzo.pdf", "application/pdf", make_pdf(["Acme Cloud", "Factura marzo 2024", "Total: 49,00 EUR"]), False)], 'Te adjuntamos la factura actualizada.'),
    ("ar_refund", "ar", "R", [("إيصال الدفع.png", "image/png", make_png(12, 18, (10, 120, 110), (240, 240, 240), "checker"), False)], 'أرفقت صورة إيصال الدفع.'),
]


def place_ticket_attachments(tickets):
    rng = stream(9)
    used_tickets = set()
    placements = []
    for want_keys, want_lang, want_role, files, text in TICKET_ATTACHMENT_PLAN:
        best = None
        for t in tickets:
            if t["id"] in used_tickets or t["dangling"]:
                continue
            if t["lang"] != want_lang or t["scen"]["key"] not in want_keys.split():
                continue
            answered = False  # has an agent answered publicly before this comment?
            for k, c in enumerate(t["comments"]):
                ok = ((want_role == "R0" and k == 0 and c["author_id"] == t["requester"]) or
                      (want_role == "R" and answered and c["author_id"] == t["requester"]) or
                      (want_role == "A" and c["role"] == "A") or
                      (want_role == "N" and not c["public"]))
                if ok:
                    best = best or []
                    best.append((t, c))
                    break
                answered = answered or (k > 0 and c["public"] and c["author_id"] != t["requester"])
        assert best, (want_keys, want_role)
        t, c = rng.choice(best)
        used_tickets.add(t["id"])
        if text is not None:
            # agents add a line to their reply; customers and notes get a line about the file
            c["src"] = c["src"] + "\n\n" + text if want_role == "A" else text
        placements.append((c, files))
    # ids in comment order so they ascend through the file
    placements.sort(key=lambda p: p[0]["id"])
    att_id = 50000
    for c, files in placements:
        for name, ctype, data, inline in files:
            c["attachments"].append({"id": att_id, "file_name": name, "content_url": "attachments/%d/%s" % (att_id, name),
                                     "content_type": ctype, "size": len(data), "inline": inline, "_data": data})
            if inline:
                c["images"].append((att_id, name))
            att_id += 1
    return att_id


def public_attachment(a):
    return {k: v for k, v in a.items() if not k.startswith("_")}


def ticket_record(t):
    comments = []
    for c in t["comments"]:
        html_body, plain = render(c["src"], c["images"])
        comments.append({"id": c["id"], "type": "Comment", "author_id": c["author_id"], "body": plain,
                         "html_body": html_body, "plain_body": plain, "public": c["public"],
                         "created_at": ts(c["created_at"]), "attachments": [public_attachment(a) for a in c["attachments"]]})
    collaborators = []
    for u in t["ccs"] + t["followers"]:
        if u not in collaborators:
            collaborators.append(u)
    return {"id": t["id"], "external_id": None, "subject": t["subject"], "description": comments[0]["plain_body"],
            "status": t["status"], "priority": t["priority"], "type": t["type"], "requester_id": t["requester"],
            "submitter_id": t["submitter"], "assignee_id": t["assignee"], "group_id": t["group"],
            "organization_id": t["org"], "tags": t["tags"], "custom_fields": t["custom_fields"],
            "collaborator_ids": collaborators, "follower_ids": t["followers"], "email_cc_ids": t["ccs"],
            "via": {"channel": t["channel"]}, "created_at": ts(t["created"]), "updated_at": ts(t["updated"]),
            "solved_at": ts(t["solved_at"]) if t["solved_at"] else None, "comments": comments,
            "audits": ticket_audits(t)}


def ticket_audits(t):
    """Ticket audits with "Change" events (status, priority), derived from the ticket without
    any random draw, so adding them left every other generated value as it was. Every 7th
    solved or closed ticket has its status history; every 11th also a priority change."""
    audits = []
    author = t["assignee"] or t["submitter"]
    if t["solved_at"] and t["id"] % 7 == 0:
        audits.append({"id": t["id"] * 10 + 1, "author_id": author, "created_at": ts(t["created"] + timedelta(hours=1)),
                       "events": [{"type": "Change", "field_name": "status", "value": "open", "previous_value": "new"}]})
        events = [{"type": "Change", "field_name": "status", "value": t["status"], "previous_value": "open"}]
        if t["id"] % 11 == 0 and t["priority"]:
            events.append({"type": "Change", "field_name": "priority", "value": t["priority"], "previous_value": "normal"})
        audits.append({"id": t["id"] * 10 + 2, "author_id": author, "created_at": ts(t["solved_at"]),
                       "events": events + [{"type": "Notification", "subject": "Your request was solved"}]})
    return audits


# ---------------------------------------------------------------------------
# Help Center
# ---------------------------------------------------------------------------
TRANSLATIONS = {  # article -> {locale: (title, intro)}
    62000: {"de": ("Willkommen bei Acme Cloud", "Mit Acme Cloud plant Ihr Team Projekte, verfolgt Bestellungen und teilt Berichte an einem Ort."),
            "fr": ("Bienvenue sur Acme Cloud", "Acme Cloud aide votre équipe à planifier ses projets, suivre ses commandes et partager ses rapports."),
            "ar": ("مرحباً بك في Acme Cloud", "يساعد Acme Cloud فريقك على تخطيط المشاريع وتتبع الطلبات ومشاركة التقارير في مكان واحد."),
            "he": ("ברוכים הבאים ל-Acme Cloud", "Acme Cloud עוזר לצוות שלכם לתכנן פרויקטים, לעקוב אחרי הזמנות ולשתף דוחות במקום אחד."),
            "ja": ("Acme Cloud へようこそ", "Acme Cloud では、プロジェクトの計画、注文の追跡、レポートの共有を一か所で行えます。")},
    62012: {"de": ("Passwort zurücksetzen", "Wenn Sie Ihr Passwort vergessen haben, können Sie es auf der Anmeldeseite zurücksetzen."),
            "fr": ("Réinitialiser votre mot de passe", "Si vous avez oublié votre mot de passe, vous pouvez le réinitialiser depuis la page de connexion."),
            "ar": ("إعادة تعيين كلمة المرور", "إذا نسيت كلمة المرور، يمكنك إعادة تعيينها من صفحة تسجيل الدخول."),
            "he": ("איפוס הסיסמה", "אם שכחתם את הסיסמה, אפשר לאפס אותה מדף ההתחברות."),
            "ja": ("パスワードの再設定", "パスワードを忘れた場合は、ログイン画面から再設定できます。")},
    62013: {"de": ("Zwei-Faktor-Authentifizierung einrichten", "Die Zwei-Faktor-Authentifizierung (2FA) schützt Ihr Konto mit einem Code von Ihrem Handy."),
            "fr": ("Configurer l'authentification à deux facteurs", "L'authentification à deux facteurs (2FA) protège votre compte grâce à un code envoyé sur votre téléphone.")},
    62010: {"de": ("Eine Rückerstattung beantragen", "Nicht genutzte Zeiträume erstatten wir innerhalb von 30 Tagen nach der Abbuchung."),
            "fr": ("Demander un remboursement", "Nous remboursons la période non utilisée dans les 30 jours suivant le prélèvement."),
            "ja": ("返金のリクエスト", "ご請求から30日以内であれば、未使用期間分を返金いたします。")},
    62016: {"ja": ("モバイルアプリのインストール", "Acme アプリは iOS 16 以降と Android 10 以降に対応しています。"),
            "he": ("התקנת האפליקציה לנייד", "אפליקציית Acme זמינה ל-iOS 16 ומעלה ול-Android 10 ומעלה.")},
    62005: {"de": ("Daten aus CSV importieren", "Sie können Aufgaben, Kontakte und Bestellungen aus einer UTF-8-kodierten CSV-Datei importieren.")},
}
DRAFT_TRANSLATIONS = {(62005, "de")}
LOCALE_WORDS = {
    "de": ("Bevor Sie beginnen", "Sie benötigen ein aktives Acme-Konto.", "Fehlerbehebung", "Siehe auch"),
    "fr": ("Avant de commencer", "Vous avez besoin d'un compte Acme actif.", "Dépannage", "Voir aussi"),
    "ar": ("قبل أن تبدأ", "تحتاج إلى حساب Acme نشط.", "استكشاف الأخطاء وإصلاحها", "انظر أيضاً"),
    "he": ("לפני שמתחילים", "נדרש חשבון Acme פעיל.", "פתרון בעיות", "ראו גם"),
    "ja": ("始める前に", "有効な Acme アカウントが必要です。", "トラブルシューティング", "関連記事"),
}
ARTICLE_ATTACHMENTS = {
    62005: ("import-dialog.png", "image/png", make_png(40, 24, (235, 245, 255), (30, 90, 200), "frame"), True),
    62009: ("sample-invoice.pdf", "application/pdf", make_pdf(["Acme Cloud", "Sample invoice", "Seats: 10 x 25.00 USD", "Total: 250.00 USD"]), False),
}
# articles authored by the deactivated agent (still reference him)
ARTICLE_AUTHORS_DEACT = {62007, 62021}


def link_rel(aid, anchor):
    return '<a href="/hc/en-us/articles/%d-%s#%s">%s</a>' % (aid, art_slug(aid), anchor, html.escape(ART_BY_ID[aid][2], quote=False))


def article_body(aid, att):
    _, _, title, _, intro, prereq, steps, trouble = ART_BY_ID[aid]
    e = lambda s: html.escape(s, quote=False)
    trouble_html = re.sub(r"\{link:(\d+):([a-z-]+)\}", lambda m: link_rel(int(m.group(1)), m.group(2)), e(trouble))
    if aid == 62020:
        trouble_html = trouble_html.replace("Known issues section", '<a href="%s/hc/en-us/sections/61005-%s">Known issues section</a>'
                                            % (HC, slugify("Known issues")))
    if aid == 62021:
        trouble_html = trouble_html.replace("https://status.acme.example", '<a href="https://status.acme.example">https://status.acme.example</a>')
        # A link to an article that was deleted before the export: link rewriting must report it.
        trouble_html += ' Older dashboards are described in <a href="%s/hc/en-us/articles/%d-Classic-dashboards">Classic dashboards</a>.' % (HC, DANGLING_ARTICLE)
    parts = ["<p>%s</p>" % e(intro),
             '<h2 id="before-you-start">Before you start</h2>',
             "<ul>" + "".join("<li>%s</li>" % e(p) for p in prereq) + "</ul>",
             '<h2 id="steps">Steps</h2>',
             "<ol>" + "".join("<li>%s</li>" % e(s) for s in steps) + "</ol>"]
    if att is not None:
        a_id, name, inline = att
        if inline:
            parts.append('<p><img src="attachments/%d/%s"></p>' % (a_id, name))
        else:
            parts.append('<p><a href="attachments/%d/%s">Download a sample invoice (PDF)</a></p>' % (a_id, name))
    parts += ['<h2 id="troubleshooting">Troubleshooting</h2>', "<p>%s</p>" % trouble_html,
              '<h2 id="see-also">See also</h2>']
    r1, r2 = RELATED[aid]
    links = ['<li><a href="%s">%s</a></li>' % (art_url(r1), e(ART_BY_ID[r1][2]))]
    if aid % 2 == 0:
        links.append('<li><a href="%s">%s</a></li>' % (art_url(r2, slug=False), e(ART_BY_ID[r2][2])))
    else:
        links.append("<li>%s</li>" % link_rel(r2, "steps" if aid % 4 == 1 else "troubleshooting"))
    parts.append("<ul>" + "".join(links) + "</ul>")
    return "".join(parts)


def translation_body(aid, locale, intro):
    before, prep, trouble, see = LOCALE_WORDS[locale]
    target = 62012 if aid == 62000 else 62000
    links = ['<a href="%s/hc/%s/articles/%d">%s</a>' % (HC, locale, target, html.escape(TRANSLATIONS[target][locale][0], quote=False))]
    if aid == 62012 and locale in TRANSLATIONS[62013]:
        links.append('<a href="%s/hc/%s/articles/%d">%s</a>' % (HC, locale, 62013, html.escape(TRANSLATIONS[62013][locale][0], quote=False)))
    return ('<p>%s</p><h2 id="before-you-start">%s</h2><p>%s</p><h2 id="troubleshooting">%s</h2><p>%s: %s</p>'
            % (html.escape(intro, quote=False), before, prep, trouble, see, " · ".join(links)))


def build_help_center(att_start):
    rng = R_HC
    cats, secs, arts = [], [], []
    for pos, (cid, name, desc) in enumerate(CATEGORIES):
        created = D(2023, 1, 5, 10, pos * 7)
        cats.append({"id": cid, "name": name, "description": desc, "locale": "en-us", "position": pos,
                     "created_at": ts(created), "updated_at": ts(between(rng, created, D(2025, 1, 31))),
                     "html_url": "%s/hc/en-us/categories/%d-%s" % (HC, cid, slugify(name))})
    sec_pos = {}
    for sid, cid, name, desc in SECTIONS:
        pos = sec_pos.setdefault(cid, 0)
        sec_pos[cid] += 1
        created = D(2023, 1, 6, 10, len(secs) * 5)
        secs.append({"id": sid, "category_id": cid, "name": name, "description": desc, "locale": "en-us",
                     "position": pos, "created_at": ts(created), "updated_at": ts(between(rng, created, D(2025, 2, 28))),
                     "html_url": "%s/hc/en-us/sections/%d-%s" % (HC, sid, slugify(name))})
    att_id = att_start
    art_pos = {}
    active_authors = [a for a in AGENT_IDS if a != DEACTIVATED_AGENT]
    for aid, sid, title, labels, *_ in ARTICLES:
        pos = art_pos.setdefault(sid, 0)
        art_pos[sid] += 1
        if aid in ARTICLE_AUTHORS_DEACT:
            author = DEACTIVATED_AGENT
            created = between(rng, D(2023, 2, 1), D(2024, 6, 30))
            updated = between(rng, created, DEACTIVATED_AT)
        else:
            author = rng.choice(active_authors)
            created = between(rng, D(2023, 2, 1), D(2024, 12, 31))
            updated = between(rng, created, D(2025, 6, 20))
        atts, att_ref = [], None
        if aid in ARTICLE_ATTACHMENTS:
            name, ctype, data, inline = ARTICLE_ATTACHMENTS[aid]
            atts.append({"id": att_id, "file_name": name, "content_url": "attachments/%d/%s" % (att_id, name),
                         "content_type": ctype, "size": len(data), "inline": inline, "_data": data})
            att_ref = (att_id, name, inline)
            att_id += 1
        body = article_body(aid, att_ref)
        draft = aid in DRAFT_ARTICLES
        translations = [{"locale": "en-us", "title": title, "body": body, "draft": draft,
                         "created_at": ts(created), "updated_at": ts(updated)}]
        for locale in ["de", "fr", "ar", "he", "ja"]:
            if locale in TRANSLATIONS.get(aid, {}):
                ttitle, intro = TRANSLATIONS[aid][locale]
                tc = between(rng, created, max(created, updated))
                tu = between(rng, tc, D(2025, 6, 25))
                translations.append({"locale": locale, "title": ttitle, "body": translation_body(aid, locale, intro),
                                     "draft": draft or (aid, locale) in DRAFT_TRANSLATIONS,
                                     "created_at": ts(tc), "updated_at": ts(tu)})
        arts.append({"id": aid, "section_id": sid, "author_id": author, "title": title, "body": body,
                     "locale": "en-us", "source_locale": "en-us", "label_names": labels, "draft": draft,
                     "promoted": aid in PROMOTED_ARTICLES, "position": pos, "created_at": ts(created),
                     "updated_at": ts(updated), "html_url": art_url(aid), "translations": translations,
                     "attachments": atts})
    return cats, secs, arts


# ---------------------------------------------------------------------------
# Broken lines
# ---------------------------------------------------------------------------
TICKET_BROKEN_AFTER = {41: "truncated", 95: "string_id", 155: "array"}   # after N valid tickets
TICKET_BROKEN_AFTER_TRUNCATED_SOURCE = 41                                 # the truncated line is a copy of this ticket
USER_BROKEN_AFTER = 87                                                     # after N valid users


def truncate_line(text, fraction):
    cut = int(len(text) * fraction)
    # cut inside a string value (just after a letter) so that the result is never valid JSON
    while not text[cut - 1].isalpha():
        cut += 1
    out = text[:cut]
    try:
        json.loads(out)
    except json.JSONDecodeError:
        return out
    raise AssertionError("truncation produced valid JSON")


def broken_ticket_lines(records):
    src = next(r for r in records if r["id"] == TICKET_BROKEN_AFTER_TRUNCATED_SOURCE)
    assert not any(c["attachments"] for c in src["comments"]), "pick a source ticket without attachments"
    clone = json.loads(dumps(src))
    clone["id"] = 201
    for i, c in enumerate(clone["comments"]):
        c["id"] = 19000 + i
    truncated = truncate_line(dumps(clone), 0.55)
    string_id = dumps({"id": "not-a-number", "external_id": None, "subject": "Broken id",
                       "description": "This record has a non-numeric id and must be rejected.", "status": "open",
                       "priority": "normal", "type": "question", "requester_id": 2014, "submitter_id": 2014,
                       "assignee_id": 2002, "group_id": 3000, "organization_id": None, "tags": [],
                       "custom_fields": [], "collaborator_ids": [], "follower_ids": [], "email_cc_ids": [],
                       "via": {"channel": "web"}, "created_at": "2024-04-02T10:00:00Z",
                       "updated_at": "2024-04-02T10:00:00Z", "solved_at": None, "comments": []})
    array = dumps(["this", "is", "an", "array"])
    return {"truncated": (truncated, "truncated JSON object (copy of ticket %d renumbered 201, cut mid-string)" % src["id"]),
            "string_id": (string_id, "valid JSON object but \"id\" is the string \"not-a-number\""),
            "array": (array, "valid JSON but not an object (an array)")}


def broken_user_line():
    u = {"id": 2150, "name": "Gabriel Souza", "email": "gabriel.souza@example.com", "phone": "+55 11 5555-0123",
         "role": "end-user", "active": True, "suspended": False, "organization_id": None, "locale": "pt-br",
         "time_zone": "Brasilia", "tags": [], "created_at": "2024-07-01T12:00:00Z", "updated_at": "2024-07-01T12:00:00Z"}
    return truncate_line(dumps(u), 0.6), "truncated JSON object (user 2150, cut mid-string)"


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------
def write_bytes(rel, data):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def write_lines(rel, lines):
    write_bytes(rel, ("\n".join(lines) + "\n").encode("utf-8"))


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)

    orgs = build_orgs()
    groups = build_groups()
    fields = build_fields()
    users, umeta = build_users()
    tickets, deact_ids = build_tickets(users, umeta)
    next_att = place_ticket_attachments(tickets)
    cats, secs, arts = build_help_center(next_att)
    records = [ticket_record(t) for t in tickets]

    broken = []
    # users
    user_lines = [dumps(u) for u in users]
    bl, why = broken_user_line()
    user_lines.insert(USER_BROKEN_AFTER, bl)
    broken.append({"file": "users.ndjson", "line": USER_BROKEN_AFTER + 1, "problem": why, "kind": "truncated"})
    # tickets
    ticket_lines = [dumps(r) for r in records]
    bt = broken_ticket_lines(records)
    for after in sorted(TICKET_BROKEN_AFTER, reverse=True):
        kind = TICKET_BROKEN_AFTER[after]
        ticket_lines.insert(after, bt[kind][0])
    for after in sorted(TICKET_BROKEN_AFTER):
        kind = TICKET_BROKEN_AFTER[after]
        line_no = ticket_lines.index(bt[kind][0]) + 1
        broken.append({"file": "tickets.ndjson", "line": line_no, "problem": bt[kind][1], "kind": kind})
    broken.sort(key=lambda b: (b["file"] != "tickets.ndjson", b["line"]))

    write_lines("organizations.ndjson", [dumps(o) for o in orgs])
    write_lines("users.ndjson", user_lines)
    write_lines("groups.ndjson", [dumps(g) for g in groups])
    write_lines("ticket_fields.ndjson", [dumps(f) for f in fields])
    write_lines("tickets.ndjson", ticket_lines)
    write_lines("help_center/categories.ndjson", [dumps(c) for c in cats])
    write_lines("help_center/sections.ndjson", [dumps(s) for s in secs])
    art_public = []
    for a in arts:
        pa = dict(a)
        pa["attachments"] = [public_attachment(x) for x in a["attachments"]]
        art_public.append(pa)
    write_lines("help_center/articles.ndjson", [dumps(a) for a in art_public])
    for t in tickets:
        for c in t["comments"]:
            for a in c["attachments"]:
                write_bytes(a["content_url"], a["_data"])
    for a in arts:
        for x in a["attachments"]:
            write_bytes(x["content_url"], x["_data"])

    facts = verify(broken, deact_ids)
    write_bytes("expected.json", (json.dumps(facts, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    with open(README, "wb") as f:
        f.write(readme(facts).encode("utf-8"))
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(OUT) for fn in fns)
    total += os.path.getsize(README)
    assert total < SIZE_LIMIT, total
    print(summary(facts, total))


# ---------------------------------------------------------------------------
# Verification: re-read the files and compute every published number
# ---------------------------------------------------------------------------
def read_ndjson(rel, broken):
    skip = {b["line"]: b for b in broken if b["file"] == rel}
    out = []
    with open(os.path.join(OUT, rel), "rb") as f:
        data = f.read()
    assert data.endswith(b"\n") and b"\r" not in data, rel
    for n, line in enumerate(data.decode("utf-8").split("\n")[:-1], 1):
        if n in skip:
            kind = skip[n]["kind"]
            try:
                v = json.loads(line)
            except json.JSONDecodeError:
                assert kind == "truncated", (rel, n)
                continue
            assert kind != "truncated", (rel, n)
            assert not isinstance(v, dict) or not isinstance(v.get("id"), int), (rel, n)
            continue
        v = json.loads(line)
        assert isinstance(v, dict) and isinstance(v["id"], int), (rel, n)
        assert line == dumps(v), (rel, n, "not canonical")
        out.append(v)
    return out


def check_times(obj, where):
    c, u = parse_ts(obj["created_at"]), parse_ts(obj["updated_at"])
    assert RANGE_START <= c <= u <= RANGE_END, where


def check_attachment(a, where, seen_ids):
    assert list(a) == ["id", "file_name", "content_url", "content_type", "size", "inline"], where
    assert a["id"] not in seen_ids, where
    seen_ids.add(a["id"])
    assert a["content_url"] == "attachments/%d/%s" % (a["id"], a["file_name"]), where
    path = os.path.join(OUT, a["content_url"])
    with open(path, "rb") as f:
        data = f.read()
    assert len(data) == a["size"], (where, a["file_name"])
    if a["content_type"] == "image/png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        w, h = struct.unpack(">II", data[16:24])
        idat_len = struct.unpack(">I", data[33:37])[0]
        raw = zlib.decompress(data[41:41 + idat_len])
        assert len(raw) == h * (3 * w + 1) and 8 <= w <= 64 and 8 <= h <= 64
    elif a["content_type"] == "application/pdf":
        assert data.startswith(b"%PDF-1.4") and data.endswith(b"%%EOF\n")
    return hashlib.sha256(data).hexdigest()


def verify(broken, deact_ids):
    orgs = read_ndjson("organizations.ndjson", broken)
    users = read_ndjson("users.ndjson", broken)
    groups = read_ndjson("groups.ndjson", broken)
    fields = read_ndjson("ticket_fields.ndjson", broken)
    tickets = read_ndjson("tickets.ndjson", broken)
    cats = read_ndjson("help_center/categories.ndjson", broken)
    secs = read_ndjson("help_center/sections.ndjson", broken)
    arts = read_ndjson("help_center/articles.ndjson", broken)

    def ids(rs):
        i = [r["id"] for r in rs]
        assert len(i) == len(set(i))
        return set(i)
    org_ids, user_ids, group_ids, field_ids = ids(orgs), ids(users), ids(groups), ids(fields)
    cat_ids, sec_ids, art_ids = ids(cats), ids(secs), ids(arts)
    ids(tickets)
    assert all(1000 <= i < 2000 for i in org_ids) and all(2000 <= i < 3000 for i in user_ids)
    assert all(3000 <= i < 4000 for i in group_ids) and all(4000 <= i < 4100 for i in field_ids)
    assert sorted(t["id"] for t in tickets) == list(range(1, 201))
    assert all(60000 <= i < 61000 for i in cat_ids) and all(61000 <= i < 62000 for i in sec_ids)
    assert all(62000 <= i < 63000 for i in art_ids)
    for rs, name in [(orgs, "org"), (users, "user"), (groups, "group"), (fields, "field"), (tickets, "ticket"),
                     (cats, "category"), (secs, "section"), (arts, "article")]:
        for r in rs:
            check_times(r, (name, r["id"]))
    by_user = {u["id"]: u for u in users}
    staff = {u["id"] for u in users if u["role"] in ("agent", "admin")}
    org_by_id = {o["id"]: o for o in orgs}
    for u in users:
        assert u["organization_id"] is None or u["organization_id"] in org_ids
        if u["organization_id"] is not None:
            assert u["created_at"] >= org_by_id[u["organization_id"]]["created_at"], ("user before org", u["id"])
    first_ticket = min(t["created_at"] for t in tickets)
    assert all(x["created_at"] <= first_ticket for x in fields + groups)
    field_by_id = {f["id"]: f for f in fields}

    # tickets
    dangling, comment_ids, att_ids, hashes = [], set(), set(), {}
    n_comments = n_private = n_inline = n_ticket_att = 0
    comments_per_ticket = []
    max_att_in_comment = 0
    for t in tickets:
        w = ("ticket", t["id"])
        if t["requester_id"] not in user_ids:
            dangling.append({"ticket_id": t["id"], "user_id": t["requester_id"]})
        else:
            assert by_user[t["requester_id"]]["role"] == "end-user", w
        assert t["submitter_id"] in user_ids, w
        assert t["assignee_id"] is None or t["assignee_id"] in staff, w
        assert t["group_id"] is None or t["group_id"] in group_ids, w
        assert t["organization_id"] is None or t["organization_id"] in org_ids, w
        for k in ("collaborator_ids", "follower_ids", "email_cc_ids"):
            assert all(x in user_ids for x in t[k]), w
        assert t["collaborator_ids"] == list(dict.fromkeys(t["email_cc_ids"] + t["follower_ids"])), w
        for x in [t["requester_id"], t["submitter_id"]] + t["collaborator_ids"]:
            assert x not in by_user or by_user[x]["created_at"] <= t["created_at"], (w, "user created after ticket", x)
        assert [cf["id"] for cf in t["custom_fields"]] == sorted(field_ids), w
        for cf in t["custom_fields"]:
            f, v = field_by_id[cf["id"]], cf["value"]
            if v is None:
                continue
            typ = f["type"]
            if typ in ("text", "textarea", "regexp"):
                assert isinstance(v, str)
                if typ == "regexp":
                    assert re.match(f["regexp_for_validation"], v), (w, v)
            elif typ == "integer":
                assert isinstance(v, int) and not isinstance(v, bool)
            elif typ == "decimal":
                assert isinstance(v, str) and re.fullmatch(r"\d+\.\d+", v)
            elif typ == "date":
                assert isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v)
            elif typ == "checkbox":
                assert isinstance(v, bool)
            elif typ == "tagger":
                assert v in [o["value"] for o in f["custom_field_options"]]
            elif typ == "multiselect":
                assert isinstance(v, list) and all(x in [o["value"] for o in f["custom_field_options"]] for x in v)
        assert (t["solved_at"] is not None) == (t["status"] in ("solved", "closed")), w
        if t["solved_at"]:
            assert parse_ts(t["created_at"]) <= parse_ts(t["solved_at"]) <= parse_ts(t["updated_at"]), w
        cs = t["comments"]
        assert 3 <= len(cs) <= 8, w
        comments_per_ticket.append(len(cs))
        assert cs[0]["plain_body"] == t["description"], w
        prev = parse_ts(t["created_at"]) - timedelta(seconds=1)
        for c in cs:
            assert c["id"] not in comment_ids and 10000 <= c["id"] < 50000
            comment_ids.add(c["id"])
            when = parse_ts(c["created_at"])
            assert when > prev and when <= parse_ts(t["updated_at"]), (w, c["id"])
            prev = when
            assert c["body"] == c["plain_body"]
            assert c["author_id"] in staff or c["author_id"] == t["requester_id"], (w, c["id"])
            assert by_user[c["author_id"]]["created_at"] <= c["created_at"], (w, c["id"])
            if c["author_id"] in by_user and by_user[c["author_id"]]["id"] == 2010:
                assert when < DEACTIVATED_AT
            if not c["public"]:
                n_private += 1
                assert c["author_id"] in staff
            n_comments += 1
            max_att_in_comment = max(max_att_in_comment, len(c["attachments"]))
            for a in c["attachments"]:
                assert 50000 <= a["id"] < 60000
                hashes.setdefault(check_attachment(a, (w, c["id"]), att_ids), []).append(a["id"])
                n_ticket_att += 1
                img = '<img src="attachments/%d/%s">' % (a["id"], a["file_name"])
                assert (img in c["html_body"]) == a["inline"], (w, a["id"])
                n_inline += a["inline"]
    assert len(dangling) == 1
    assert max_att_in_comment == 4

    # help center
    for s in secs:
        assert s["category_id"] in cat_ids
    link_forms = {"absolute_with_slug": 0, "absolute_id_only": 0, "relative_with_anchor": 0, "translation_locale": 0, "dangling": 0}
    n_trans = n_art_att = n_art_inline = 0
    anchors = {a["id"]: set(re.findall(r'id="([a-z-]+)"', a["body"])) for a in arts}
    for a in arts:
        w = ("article", a["id"])
        assert a["section_id"] in sec_ids and by_user[a["author_id"]]["role"] == "agent", w
        tr = a["translations"]
        assert tr[0]["locale"] == "en-us" and tr[0]["title"] == a["title"] and tr[0]["body"] == a["body"], w
        n_trans += len(tr)
        for x in tr:
            check_times(x, w)
        for x in a["attachments"]:
            hashes.setdefault(check_attachment(x, w, att_ids), []).append(x["id"])
            n_art_att += 1
            img = '<img src="attachments/%d/%s">' % (x["id"], x["file_name"])
            assert (img in a["body"]) == x["inline"], w
            n_art_inline += x["inline"]
        for m in re.finditer(r'href="([^"]+)"', a["body"]):
            href = m.group(1)
            mm = re.fullmatch(r"https://acme\.zendesk\.com/hc/en-us/articles/(\d+)-[A-Za-z0-9-]+", href)
            if mm and int(mm.group(1)) == DANGLING_ARTICLE:
                link_forms["dangling"] += 1
                continue
            if mm:
                link_forms["absolute_with_slug"] += 1
                assert int(mm.group(1)) in art_ids
                continue
            mm = re.fullmatch(r"https://acme\.zendesk\.com/hc/en-us/articles/(\d+)", href)
            if mm:
                link_forms["absolute_id_only"] += 1
                assert int(mm.group(1)) in art_ids
                continue
            mm = re.fullmatch(r"/hc/en-us/articles/(\d+)-[A-Za-z0-9-]+#([a-z-]+)", href)
            if mm:
                link_forms["relative_with_anchor"] += 1
                assert int(mm.group(1)) in art_ids and mm.group(2) in anchors[int(mm.group(1))], href
        for x in tr[1:]:
            for m in re.finditer(r'href="([^"]+)"', x["body"]):
                mm = re.fullmatch(r"https://acme\.zendesk\.com/hc/([a-z-]+)/articles/(\d+)", m.group(1))
                assert mm and mm.group(1) == x["locale"] and int(mm.group(2)) in art_ids
                link_forms["translation_locale"] += 1
    # no stray files in attachments/
    on_disk = set()
    for dp, _, fns in os.walk(os.path.join(OUT, "attachments")):
        for fn in fns:
            on_disk.add(os.path.relpath(os.path.join(dp, fn), OUT).replace(os.sep, "/"))
    assert len(on_disk) == len(att_ids)

    dup_emails = {}
    for u in users:
        if u["email"] is not None:
            dup_emails.setdefault(u["email"].strip().lower(), []).append(u["id"])
    dup_emails = {k: v for k, v in sorted(dup_emails.items()) if len(v) > 1}
    assert len(dup_emails) == 6
    dup_refs = {}
    for t in tickets:
        for ids_ in dup_emails.values():
            if t["requester_id"] in ids_:
                dup_refs.setdefault(t["requester_id"], []).append(t["id"])
    assert all(len(dup_refs.get(i, [])) >= 1 for v in dup_emails.values() for i in v)
    deact = [u["id"] for u in users if u["role"] == "agent" and not u["active"]]
    assert deact == [DEACTIVATED_AGENT]
    deact_tickets = sorted(t["id"] for t in tickets if t["assignee_id"] == DEACTIVATED_AGENT)
    assert deact_tickets == sorted(deact_ids)
    identical = sorted(v for v in hashes.values() if len(v) > 1)
    assert len(identical) == 1 and len(identical[0]) == 2

    dup_org_refs = {}
    for pair in DUP_ORGS:
        for oid in pair:
            dup_org_refs[str(oid)] = {"users": sum(u["organization_id"] == oid for u in users),
                                      "tickets": sum(t["organization_id"] == oid for t in tickets)}
            assert dup_org_refs[str(oid)]["users"] >= 1 and dup_org_refs[str(oid)]["tickets"] >= 1, oid
    roles = {}
    for u in users:
        roles[u["role"]] = roles.get(u["role"], 0) + 1
    return {
        "counts": {
            "organizations": len(orgs), "users": len(users), "users_by_role": dict(sorted(roles.items())),
            "groups": len(groups), "ticket_fields": len(fields),
            "ticket_field_options": sum(len(f["custom_field_options"]) for f in fields),
            "tickets": len(tickets), "comments": n_comments, "public_comments": n_comments - n_private,
            "private_comments": n_private,
            "attachments": n_ticket_att + n_art_att, "attachments_total": n_ticket_att + n_art_att, "ticket_attachments": n_ticket_att,
            "article_attachments": n_art_att, "inline_images_total": n_inline + n_art_inline,
            "ticket_inline_images": n_inline, "article_inline_images": n_art_inline,
            "unique_attachment_contents": len(hashes),
            "categories": len(cats), "sections": len(secs), "articles": len(arts),
            "draft_articles": sum(a["draft"] for a in arts), "translations": n_trans,
            "non_english_translations": n_trans - len(arts),
            "article_links": link_forms,
            "tickets_with_inactive_field_value": sum(
                1 for t in tickets for cf in t["custom_fields"]
                if cf["value"] is not None and not field_by_id[cf["id"]]["active"]),
            "tickets_by_status": {s: sum(t["status"] == s for t in tickets)
                                  for s in ["new", "open", "pending", "hold", "solved", "closed"]},
        },
        "duplicate_user_emails": dup_emails,
        "duplicate_user_tickets": {str(k): v for k, v in sorted(dup_refs.items())},
        "duplicate_organizations": DUP_ORGS,
        "duplicate_organization_refs": dup_org_refs,
        "deactivated_agent_id": DEACTIVATED_AGENT,
        "deactivated_agent_ticket_ids": deact_tickets,
        "deactivated_agent_article_ids": sorted(a["id"] for a in arts if a["author_id"] == DEACTIVATED_AGENT),
        "dangling_requester": dangling[0],
        "phone_only_user_ids": [u["id"] for u in users if u["email"] is None],
        "identical_attachment_ids": identical[0],
        "tickets_without_assignee": sorted(t["id"] for t in tickets if t["assignee_id"] is None),
        "tickets_without_group": sorted(t["id"] for t in tickets if t["group_id"] is None),
        "broken_lines": [{"file": b["file"], "line": b["line"], "problem": b["problem"]} for b in broken],
    }


# ---------------------------------------------------------------------------
# README and console summary
# ---------------------------------------------------------------------------
def summary(f, total):
    c = f["counts"]
    lines = ["Wrote %s (%d bytes of files, including README.md)" % (os.path.relpath(OUT, os.getcwd()), total)]
    for k in ["organizations", "users", "groups", "ticket_fields", "tickets", "comments", "private_comments",
              "attachments_total", "ticket_attachments", "article_attachments", "inline_images_total",
              "categories", "sections", "articles", "translations"]:
        lines.append("  %-22s %s" % (k, c[k]))
    for b in f["broken_lines"]:
        lines.append("  broken: %s:%d  %s" % (b["file"], b["line"], b["problem"]))
    return "\n".join(lines)


def readme(f):
    c = f["counts"]
    users_by_id = {}
    with open(os.path.join(OUT, "users.ndjson"), encoding="utf-8") as fh:
        for line in fh:
            try:
                u = json.loads(line)
                users_by_id[u["id"]] = u
            except json.JSONDecodeError:
                pass
    orgs_by_id = {}
    with open(os.path.join(OUT, "organizations.ndjson"), encoding="utf-8") as fh:
        for line in fh:
            o = json.loads(line)
            orgs_by_id[o["id"]] = o
    L = []
    a = L.append
    a("# Ferry sample data: a Zendesk-shaped export")
    a("")
    a("`zendesk-export/` is a small, fictional help desk export shaped like Zendesk's REST API objects")
    a("(Support API and Help Center API). It was written for Ferry's tests and demos; it is not a real")
    a("Zendesk download and contains no real customer data (e-mail domains are `*.example` / `example.com`,")
    a("phone numbers are in fictional ranges).")
    a("")
    a("Everything here, including this README and `zendesk-export/expected.json`, is generated by")
    a("")
    a("```sh")
    a("python3 samples/generate.py")
    a("```")
    a("")
    a("The generator uses only the Python 3 standard library and fixed random seeds: every run produces")
    a("byte-identical files. It deletes and rewrites `zendesk-export/`, then re-reads what it wrote,")
    a("validates it and computes the numbers below from the files. Do not edit the output by hand;")
    a("change `generate.py` and run it again.")
    a("")
    a("## Layout")
    a("")
    a("```")
    a("zendesk-export/")
    a("  organizations.ndjson          Support API organization objects")
    a("  users.ndjson                  users (end users, agents, admins)  -- contains 1 broken line")
    a("  groups.ndjson                 agent groups")
    a("  ticket_fields.ndjson          custom ticket fields (one of each common type)")
    a("  tickets.ndjson                tickets, each with its comments embedded  -- contains 3 broken lines")
    a("  help_center/categories.ndjson")
    a("  help_center/sections.ndjson")
    a("  help_center/articles.ndjson   articles with translations and attachments embedded")
    a("  attachments/<id>/<file_name>  the bytes of every attachment (tickets and articles)")
    a("  expected.json                 machine-readable facts for the test suite")
    a("```")
    a("")
    a("Every `.ndjson` file holds one JSON object per line, UTF-8, `\\n` line endings, a trailing newline,")
    a("keys in a fixed order, compact separators, non-ASCII characters written as-is (not `\\u` escaped).")
    a("")
    a("## Counts")
    a("")
    a("Valid records only (broken lines are not counted).")
    a("")
    a("| what | count |")
    a("| --- | ---: |")
    rows = [("organizations.ndjson", c["organizations"]),
            ("users.ndjson (%s)" % ", ".join("%s %d" % kv for kv in c["users_by_role"].items()), c["users"]),
            ("groups.ndjson", c["groups"]), ("ticket_fields.ndjson", c["ticket_fields"]),
            ("custom field options (tagger + multiselect)", c["ticket_field_options"]),
            ("tickets.ndjson", c["tickets"]),
            ("tickets by status (%s)" % ", ".join("%s %d" % kv for kv in c["tickets_by_status"].items()), c["tickets"]),
            ("comments (all tickets)", c["comments"]), ("public comments", c["public_comments"]),
            ("private notes", c["private_comments"]),
            ("attachment objects, total", c["attachments_total"]), ("attachments on ticket comments", c["ticket_attachments"]),
            ("attachments on articles", c["article_attachments"]),
            ("inline images, total", c["inline_images_total"]), ("inline images in ticket comments", c["ticket_inline_images"]),
            ("inline images in articles", c["article_inline_images"]),
            ("distinct attachment contents (sha256)", c["unique_attachment_contents"]),
            ("help_center/categories.ndjson", c["categories"]), ("help_center/sections.ndjson", c["sections"]),
            ("help_center/articles.ndjson", c["articles"]), ("draft articles", c["draft_articles"]),
            ("article translations, total (including en-us)", c["translations"]),
            ("non-en-us translations", c["non_english_translations"])]
    for k, v in c["article_links"].items():
        rows.append(("links between articles: %s" % k.replace("_", " "), v))
    for k, v in rows:
        a("| %s | %s |" % (k, v))
    a("")
    a("Link forms: `absolute with slug` is `https://acme.zendesk.com/hc/en-us/articles/<id>-<slug>`,")
    a("`absolute id only` is `https://acme.zendesk.com/hc/en-us/articles/<id>`, `relative with anchor` is")
    a("`/hc/en-us/articles/<id>-<slug>#<anchor>` (every anchor exists as an `id=` in the target), and")
    a("`translation locale` is `https://acme.zendesk.com/hc/<locale>/articles/<id>` inside de/fr/ar/he/ja")
    a("translations. Article bodies also contain one section link")
    a("(`https://acme.zendesk.com/hc/en-us/sections/61005-Known-issues`) and one external link")
    a("(`https://status.acme.example`) that must not be rewritten as article links. Some ticket comments")
    a("link to Help Center articles too (absolute, with slug, including `/hc/de/`, `/hc/ja/`, `/hc/ar/` URLs).")
    a("")
    a("## Deliberate problems")
    a("")
    a("### Duplicate users")
    a("")
    a("Six e-mail addresses appear twice, written differently; normalising with trim + lower-case makes")
    a("them equal. The later id is the duplicate. Tickets reference both ids of every pair.")
    a("")
    a("| normalised e-mail | ids | as written | names | organizations | tickets (requester) |")
    a("| --- | --- | --- | --- | --- | --- |")
    for email, ids_ in f["duplicate_user_emails"].items():
        us = [users_by_id[i] for i in ids_]
        a("| %s | %s | %s | %s | %s | %s |" % (
            email, ", ".join(map(str, ids_)),
            " / ".join("`%s`" % json.dumps(u["email"], ensure_ascii=False) for u in us),
            " / ".join(u["name"] for u in us),
            " / ".join(json.dumps(u["organization_id"]) for u in us),
            " / ".join(",".join(map(str, f["duplicate_user_tickets"].get(str(u["id"]), []))) for u in us)))
    a("")
    a("### Duplicate organizations")
    a("")
    for pair in f["duplicate_organizations"]:
        o1, o2 = orgs_by_id[pair[0]], orgs_by_id[pair[1]]
        refs = f["duplicate_organization_refs"]
        a("- %d `%s` (domains `%s`; %d users, %d tickets) and %d `%s` (domains `%s`; %d users, %d tickets)" % (
            o1["id"], json.dumps(o1["name"], ensure_ascii=False), json.dumps(o1["domain_names"]),
            refs[str(o1["id"])]["users"], refs[str(o1["id"])]["tickets"],
            o2["id"], json.dumps(o2["name"], ensure_ascii=False), json.dumps(o2["domain_names"]),
            refs[str(o2["id"])]["users"], refs[str(o2["id"])]["tickets"]))
    a("")
    a("The first pair differs only in case and spacing (leading space, `ACME corp` vs `Acme Corp`); the second")
    a("pair has different names but shares the domain `blueharbor.example`. Users and tickets point at")
    a("both members of each pair.")
    a("")
    a("### Deactivated agent")
    a("")
    a("User %d (%s) has role `agent` and `active: false` (deactivated on %s, its `updated_at`)."
      % (f["deactivated_agent_id"], users_by_id[f["deactivated_agent_id"]]["name"],
         users_by_id[f["deactivated_agent_id"]]["updated_at"]))
    a("It is the assignee of tickets %s (some not yet solved) and the author of most agent comments"
      % ", ".join(map(str, f["deactivated_agent_ticket_ids"])))
    a("on them (all written before the deactivation), and the `author_id` of articles %s."
      % ", ".join(map(str, f["deactivated_agent_article_ids"])))
    a("")
    a("### Dangling reference")
    a("")
    d = f["dangling_requester"]
    a("Ticket %d has `requester_id` %d, and no user %d exists. This is the only reference in the export"
      % (d["ticket_id"], d["user_id"], d["user_id"]))
    a("that points at a missing record. Its submitter (2000, an admin, via `api`) and all its comment")
    a("authors exist.")
    a("")
    a("### Broken lines")
    a("")
    a("A stage reading the export must reject these lines, naming the file and the line, and keep going:")
    a("")
    a("| file | line (1-based) | what is wrong |")
    a("| --- | ---: | --- |")
    for b in f["broken_lines"]:
        a("| %s | %d | %s |" % (b["file"], b["line"], b["problem"]))
    a("")
    a("The truncated lines describe records that do not otherwise exist (ticket 201 with comment ids")
    a("19000+, user 2150); nothing references them. Valid line numbers are therefore not ticket ids:")
    a("line N holds ticket N only up to line 41.")
    a("")
    a("## expected.json")
    a("")
    a("`zendesk-export/expected.json` repeats these facts for tests: `counts` (every number in the table")
    a("above; `attachments` equals `attachments_total`), `duplicate_user_emails` (normalised e-mail to ids),")
    a("`duplicate_user_tickets`, `duplicate_organizations` (pairs of ids), `duplicate_organization_refs`,")
    a("`deactivated_agent_id`, `deactivated_agent_ticket_ids`, `deactivated_agent_article_ids`,")
    a("`dangling_requester` (`ticket_id`, `user_id`), `phone_only_user_ids`, `identical_attachment_ids`,")
    a("`tickets_without_assignee`, `tickets_without_group` and `broken_lines` (`file`, 1-based `line`, `problem`).")
    a("")
    a("## Other things a consumer must know")
    a("")
    a("- IDs: organizations 1000+, users 2000+ (staff 2000–2013, end users 2014+), groups 3000+, ticket")
    a("  fields 4000–4009, field options 4100+, tickets 1–200, comments 10000+, attachments 50000+,")
    a("  categories 60000+, sections 61000+, articles 62000+.")
    a("- Comments are embedded in each ticket (`comments`, oldest first), unlike the live API where they come")
    a("  from `/tickets/{id}/comments`. The first comment's `plain_body` equals the ticket `description`;")
    a("  `body` always equals `plain_body`.")
    a("- `html_body` is wrapped in `<div class=\"zd-comment\" dir=\"auto\">` like Zendesk's. `plain_body` is the")
    a("  text: paragraphs separated by a blank line, `<br>` as a newline, list items as `- item`, links as")
    a("  `text (url)`. Inline images appear only in `html_body` as `<img src=\"attachments/<id>/<file_name>\">`.")
    a("- `content_url` is a path relative to `zendesk-export/`, `attachments/<id>/<file_name>`, with the file")
    a("  name as-is (spaces and non-ASCII characters are not percent-encoded). Real Zendesk gives an absolute")
    a("  https URL. `size` is the exact byte count of the file.")
    a("- Attachment ids %d and %d have identical bytes (different names, different tickets)."
      % tuple(f["identical_attachment_ids"]))
    a("  One private note carries an attachment. File names include spaces and non-ASCII")
    a("  (`Rechnung März 2024.pdf`, `スクリーンショット 2024-05-01.png`, `إيصال الدفع.png`, `caja-dañada.png`).")
    a("- PNGs are real RGB images written with `struct` and `zlib` checksums, using stored (uncompressed)")
    a("  deflate blocks so the bytes do not depend on the zlib build. PDFs are minimal valid one-page PDF 1.4.")
    a("- Every ticket lists all %d custom fields in `custom_fields`, ordered by id, `value` null when unset."
      % c["ticket_fields"])
    a("  Value types follow Zendesk: text/textarea/regexp strings, integer numbers, decimal strings (`\"19.99\"`),")
    a("  dates `YYYY-MM-DD`, checkbox booleans (always set, never null), tagger the option `value`, multiselect")
    a("  an array of option values. Field 4007 (Serial number) is inactive (`active: false`) yet %d tickets"
      % c["tickets_with_inactive_field_value"])
    a("  still carry a value for it.")
    a("- `collaborator_ids` is the union of `email_cc_ids` (end users) and `follower_ids` (agents).")
    a("- Phone-only users (`email: null`): %s; their tickets come in `via.channel: \"phone\"` with an agent as"
      % ", ".join(map(str, f["phone_only_user_ids"])))
    a("  submitter and author of the first comment. `phone` is free text in many formats, `\"\"` or null.")
    a("- `time_zone` uses Zendesk's (Rails) names such as `Pacific Time (US & Canada)` or `Berlin`;")
    a("  `locale` uses Zendesk codes (`en-US`, `de`, `zh-cn`, ...). Help Center locales are lower-case (`en-us`).")
    a("- Names and texts cover Latin with accents, Arabic and Hebrew (right to left, with embedded")
    a("  left-to-right order numbers), Japanese, Chinese, Cyrillic, Greek and emoji. Organization 1011's")
    a("  name contains a double quote; organization 1009's contains `&`.")
    a("- Slugs keep Zendesk's style: the title with case kept and runs of other characters turned into `-`.")
    a("- Tickets with no assignee: %d; with no group: %d (ids in `expected.json`)."
      % (len(f["tickets_without_assignee"]), len(f["tickets_without_group"])))
    a("- Timestamps are ISO 8601 UTC (`2024-03-05T14:22:10Z`) between 2023-01-01 and 2025-06-30; ticket ids")
    a("  grow with `created_at`; comment times strictly increase within a ticket.")
    a("")
    return "\n".join(L)


if __name__ == "__main__":
    main()
