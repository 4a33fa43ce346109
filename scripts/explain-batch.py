#!/usr/bin/env python3
"""EXPLAIN (ANALYZE, BUFFERS, WAL) of one realistic batch in database DB, in a
transaction rolled back: the whole INSERT into events (each trigger's time) for
N rows of a CSV written by the import benchmarks (BenchmarkCopyCSV with
GHEVENTS_BENCH_FILES_ONLY=1) from line FIRSTLINE on, then each statement of each
AFTER INSERT trigger function of events, read from the server (so it follows the
triggers as they are), with the N rows after those as the transition table.
It prints the SQL; run it with psql:

    scripts/explain-batch.py DB CSV FIRSTLINE N > x.sql
    psql -h 127.0.0.1 -U postgres -d DB -f x.sql
"""
import re, subprocess, sys
db, csv, first, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def q(sql):
    return subprocess.run(['psql','-h','127.0.0.1','-U','postgres','-d',db,'-At','-c',sql],capture_output=True,text=True,check=True).stdout
funcs = q("""SELECT t.tgname || '|' || p.proname FROM pg_trigger t JOIN pg_proc p ON p.oid=t.tgfoid
 WHERE t.tgrelid='events'::regclass AND NOT t.tgisinternal AND (t.tgtype & 4) <> 0 ORDER BY t.tgname""").split()
cols = "id, type, actor_id, actor_login, repo_id, repo_name, org_id, org_login, action, created_at, raw"
def load(name, a):
    return (f"CREATE TEMP TABLE {name} (LIKE events INCLUDING DEFAULTS INCLUDING GENERATED);\n"
            f"\\copy {name} ({cols}) FROM PROGRAM 'sed -n {a},{a+n-1}p {csv}' WITH (FORMAT csv)\n"
            f"ANALYZE {name};\n")
out = ["\\timing on", "BEGIN;", load("ne_a", first), load("ne_b", first + n),
       "SELECT events_ensure_month(min(created_at)), events_ensure_month(max(created_at)) FROM ne_b;",
       f"EXPLAIN (ANALYZE, BUFFERS, WAL) INSERT INTO events ({cols}) SELECT {cols} FROM ne_a;"]
for f in funcs:
    tg, fn = f.split('|')
    d = q(f"SELECT pg_get_functiondef('{fn}'::regproc)")
    body = d.split('BEGIN', 1)[1].rsplit('RETURN NULL;', 1)[0]
    body = re.sub(r'--[^\n]*', '', body)
    for st in body.split(';'):
        st = st.strip()
        if not st:
            continue
        if not re.match(r'(?is)^(INSERT|UPDATE|DELETE|WITH|SELECT)\b', st):
            # IF EXISTS (...) THEN UPDATE ...: the UPDATE alone
            m = re.search(r'(?is)THEN\s+(.*)', st)
            if not m:
                continue
            st = m.group(1)
        st = re.sub(r'\b(new_events|changed_events)\b', 'ne_b', st)
        out.append(f"\\echo ==== {tg} ({fn})")
        out.append(f"EXPLAIN (ANALYZE, BUFFERS, WAL) {st};")
out.append("ROLLBACK;")
print("\n".join(out))
