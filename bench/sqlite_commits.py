"""How many validation-shaped transactions SQLite (WAL, synchronous=FULL)
commits per second on this disk when the statements run in the thread that
owns the connection: one validation per commit, and several per commit
(group commit). The statements are those of Ichido's acceptance: the
conditional token update, the user's failure reset, and the hash-chained
audit append. Python's overhead makes these numbers a lower bound.

    python3 bench/sqlite_commits.py /tmp/some-dir/test.db
"""
import hashlib
import os
import sqlite3
import sys
import time

path = sys.argv[1]
for f in (path, path + "-wal", path + "-shm"):
    if os.path.exists(f): os.remove(f)
c = sqlite3.connect(path, isolation_level=None)
c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA synchronous=FULL")
c.execute("CREATE TABLE tokens (id INTEGER PRIMARY KEY, last_counter INTEGER, drift INTEGER, last_used_at INTEGER, failed_count INTEGER, state TEXT)")
c.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, failed_count INTEGER, locked_until INTEGER)")
c.execute("CREATE TABLE audit_head (id INTEGER PRIMARY KEY, seq INTEGER, hash TEXT)")
c.execute("CREATE TABLE audit (seq INTEGER PRIMARY KEY, at INTEGER, actor TEXT, action TEXT, username TEXT, serial TEXT, client_ip TEXT, user_agent TEXT, result TEXT, reason TEXT, prev_hash TEXT, hash TEXT)")
c.execute("CREATE INDEX audit_user ON audit (username, seq)")
c.execute("CREATE INDEX audit_action ON audit (action, seq)")
N = 2000
c.execute("BEGIN")
for i in range(N):
    c.execute("INSERT INTO tokens VALUES (?, 0, 0, 0, 0, 'active')", (i,))
    c.execute("INSERT INTO users VALUES (?, 0, NULL)", (i,))
c.execute("INSERT INTO audit_head VALUES (1, 0, ?)", ("0" * 64,))
c.execute("COMMIT")
counters = [0] * N
def one(i, now):
    counters[i] += 1
    c.execute("UPDATE tokens SET last_counter=?, drift=0, last_used_at=?, failed_count=0 WHERE id=? AND state='active' AND (last_counter IS NULL OR last_counter < ?)", (counters[i], now, i, counters[i]))
    c.execute("UPDATE users SET failed_count=0 WHERE id=? AND (locked_until IS NULL OR locked_until <= ?)", (i, now))
    seq, prev = c.execute("UPDATE audit_head SET seq=seq+1 WHERE id=1 RETURNING seq, hash").fetchone()
    h = hashlib.sha256((prev + str(seq)).encode()).hexdigest()
    c.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", (seq, now, "apikey:admin", "validate", "bench-%06d" % i, "HOTP%08d" % i, "127.0.0.1", "ichido-bench", "accept", "ok", prev, h))
    c.execute("UPDATE audit_head SET hash=? WHERE id=1", (h,))
for batch in (1, 8, 32):
    n = 0; t = time.perf_counter()
    while time.perf_counter() - t < 3:
        c.execute("BEGIN")
        for _ in range(batch):
            one(n % N, int(time.time() * 1000)); n += 1
        c.execute("COMMIT")
    dt = time.perf_counter() - t
    print(f"batch {batch:2}: {n/dt:7.0f} validations/s, {n/batch/dt:6.0f} commits/s")
