/*
 * Backend engine comparison for SwiftEtcd's MVCC store (issue 5): LMDB vs
 * SQLite on our workload, in one process so both see the same machine.
 *
 * Workload (etcd's `key` bucket): N records whose keys are 17-byte revisions
 * (8-byte big-endian main revision, '_', 8-byte big-endian sub revision) and
 * whose values are ~300 bytes, written in transactions of BATCH records with
 * no fsync per commit; then one ordered scan of everything; then random point
 * reads; then compaction: delete the oldest half, BATCH keys per
 * transaction; then write the same number of new revisions again, to see
 * whether freed pages are reused (etcd issue 9222: bbolt needs a
 * stop-the-world defrag to give space back).
 *
 * Usage: bench <lmdb|lmdb-metasync|sqlite|sqlite-normal> <dir> [records]
 *   lmdb           MDB_NOSYNC: commits never fsync
 *   lmdb-metasync  MDB_NOMETASYNC: each commit fdatasyncs its data pages
 *   sqlite         journal_mode=WAL, synchronous=OFF
 *   sqlite-normal  journal_mode=WAL, synchronous=NORMAL (fsync at checkpoints)
 * Prints one line per phase: engine, phase, seconds, file bytes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <lmdb.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum { KEY_SIZE = 17, VALUE_SIZE = 300, BATCH = 1000 };

static long records = 1000000;
static long point_reads = 200000;
static const char *engine;
static char path[4096];

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t next_random(void) {  /* xorshift64*: seeded, reproducible */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static void revision_key(uint64_t main_rev, uint8_t out[KEY_SIZE]) {
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(main_rev >> (56 - 8 * i));
    out[8] = '_';
    memset(out + 9, 0, 8);  /* sub revision 0 */
}

static void value_for(uint64_t main_rev, uint8_t out[VALUE_SIZE]) {
    uint64_t x = main_rev * 0x9E3779B97F4A7C15ull + 1;
    for (int i = 0; i < VALUE_SIZE; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        out[i] = (uint8_t)x;
    }
}

static long long file_size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? (long long)st.st_size : 0;
}

static void fail(const char *what, const char *detail) {
    fprintf(stderr, "%s: %s: %s\n", engine, what, detail);
    exit(1);
}

static void report(const char *phase, double seconds, long long bytes) {
    printf("%-14s %-22s %8.2f s %12lld bytes\n", engine, phase, seconds, bytes);
    fflush(stdout);
}

/* ---------------------------------------------------------------- LMDB */

static MDB_env *env;
static MDB_dbi dbi;

#define MDB_CHECK(call) do { int rc_ = (call); if (rc_) fail(#call, mdb_strerror(rc_)); } while (0)

static long long lmdb_size(void) { return file_size(path); }

static void lmdb_open(unsigned int sync_flag) {
    MDB_CHECK(mdb_env_create(&env));
    MDB_CHECK(mdb_env_set_mapsize(env, (size_t)64 << 30));
    MDB_CHECK(mdb_env_set_maxdbs(env, 8));
    MDB_CHECK(mdb_env_open(env, path, MDB_NOSUBDIR | MDB_NOTLS | sync_flag, 0644));
    MDB_txn *txn;
    MDB_CHECK(mdb_txn_begin(env, NULL, 0, &txn));
    MDB_CHECK(mdb_dbi_open(txn, "key", MDB_CREATE, &dbi));
    MDB_CHECK(mdb_txn_commit(txn));
}

static void lmdb_write(uint64_t first, long count) {
    uint8_t k[KEY_SIZE], v[VALUE_SIZE];
    for (long done = 0; done < count; done += BATCH) {
        MDB_txn *txn;
        MDB_CHECK(mdb_txn_begin(env, NULL, 0, &txn));
        for (long i = done; i < done + BATCH && i < count; i++) {
            revision_key(first + (uint64_t)i, k);
            value_for(first + (uint64_t)i, v);
            MDB_val key = {KEY_SIZE, k}, val = {VALUE_SIZE, v};
            MDB_CHECK(mdb_put(txn, dbi, &key, &val, 0));
        }
        MDB_CHECK(mdb_txn_commit(txn));
    }
}

static long lmdb_scan(uint64_t *checksum) {
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val key, val;
    long n = 0;
    MDB_CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    MDB_CHECK(mdb_cursor_open(txn, dbi, &cur));
    for (int rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        *checksum += ((uint8_t *)val.mv_data)[val.mv_size - 1] + key.mv_size;
        n++;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return n;
}

static long lmdb_point_reads(uint64_t first, long count, uint64_t *checksum) {
    MDB_txn *txn;
    uint8_t k[KEY_SIZE];
    long found = 0;
    MDB_CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    for (long i = 0; i < point_reads; i++) {
        revision_key(first + next_random() % (uint64_t)count, k);
        MDB_val key = {KEY_SIZE, k}, val;
        if (mdb_get(txn, dbi, &key, &val) == 0) {
            *checksum += ((uint8_t *)val.mv_data)[0];
            found++;
        }
    }
    mdb_txn_abort(txn);
    return found;
}

static void lmdb_delete_range(uint64_t first, long count) {
    uint8_t k[KEY_SIZE];
    for (long done = 0; done < count; done += BATCH) {
        MDB_txn *txn;
        MDB_CHECK(mdb_txn_begin(env, NULL, 0, &txn));
        for (long i = done; i < done + BATCH && i < count; i++) {
            revision_key(first + (uint64_t)i, k);
            MDB_val key = {KEY_SIZE, k};
            MDB_CHECK(mdb_del(txn, dbi, &key, NULL));
        }
        MDB_CHECK(mdb_txn_commit(txn));
    }
}

/* -------------------------------------------------------------- SQLite */

static sqlite3 *db;
static sqlite3_stmt *insert_stmt, *get_stmt, *delete_stmt;

static void sql_exec(const char *sql) {
    char *error = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &error) != SQLITE_OK) fail(sql, error ? error : "?");
}

static sqlite3_stmt *sql_prepare(const char *sql) {
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) fail(sql, sqlite3_errmsg(db));
    return stmt;
}

static long long sqlite_size(void) {
    char wal[4200];
    snprintf(wal, sizeof wal, "%s-wal", path);
    return file_size(path) + file_size(wal);
}

static void sqlite_open(const char *synchronous) {
    char pragma[64];
    if (sqlite3_open(path, &db) != SQLITE_OK) fail("open", sqlite3_errmsg(db));
    sql_exec("PRAGMA journal_mode=WAL");
    snprintf(pragma, sizeof pragma, "PRAGMA synchronous=%s", synchronous);
    sql_exec(pragma);
    /* Clustered on the key, like a B-tree key-value store. */
    sql_exec("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID");
    insert_stmt = sql_prepare("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)");
    get_stmt = sql_prepare("SELECT v FROM kv WHERE k = ?");
    delete_stmt = sql_prepare("DELETE FROM kv WHERE k = ?");
}

static void sql_step_done(sqlite3_stmt *stmt) {
    if (sqlite3_step(stmt) != SQLITE_DONE) fail("step", sqlite3_errmsg(db));
    sqlite3_reset(stmt);
}

static void sqlite_write(uint64_t first, long count) {
    uint8_t k[KEY_SIZE], v[VALUE_SIZE];
    for (long done = 0; done < count; done += BATCH) {
        sql_exec("BEGIN");
        for (long i = done; i < done + BATCH && i < count; i++) {
            revision_key(first + (uint64_t)i, k);
            value_for(first + (uint64_t)i, v);
            sqlite3_bind_blob(insert_stmt, 1, k, KEY_SIZE, SQLITE_STATIC);
            sqlite3_bind_blob(insert_stmt, 2, v, VALUE_SIZE, SQLITE_STATIC);
            sql_step_done(insert_stmt);
        }
        sql_exec("COMMIT");
    }
}

static long sqlite_scan(uint64_t *checksum) {
    sqlite3_stmt *stmt = sql_prepare("SELECT k, v FROM kv ORDER BY k");
    long n = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const uint8_t *v = sqlite3_column_blob(stmt, 1);
        int vlen = sqlite3_column_bytes(stmt, 1);
        *checksum += v[vlen - 1] + (uint64_t)sqlite3_column_bytes(stmt, 0);
        n++;
    }
    if (rc != SQLITE_DONE) fail("scan", sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    return n;
}

static long sqlite_point_reads(uint64_t first, long count, uint64_t *checksum) {
    uint8_t k[KEY_SIZE];
    long found = 0;
    sql_exec("BEGIN");  /* one read snapshot, as the LMDB side */
    for (long i = 0; i < point_reads; i++) {
        revision_key(first + next_random() % (uint64_t)count, k);
        sqlite3_bind_blob(get_stmt, 1, k, KEY_SIZE, SQLITE_STATIC);
        if (sqlite3_step(get_stmt) == SQLITE_ROW) {
            *checksum += ((const uint8_t *)sqlite3_column_blob(get_stmt, 0))[0];
            found++;
        }
        sqlite3_reset(get_stmt);
    }
    sql_exec("COMMIT");
    return found;
}

static void sqlite_delete_range(uint64_t first, long count) {
    uint8_t k[KEY_SIZE];
    for (long done = 0; done < count; done += BATCH) {
        sql_exec("BEGIN");
        for (long i = done; i < done + BATCH && i < count; i++) {
            revision_key(first + (uint64_t)i, k);
            sqlite3_bind_blob(delete_stmt, 1, k, KEY_SIZE, SQLITE_STATIC);
            sql_step_done(delete_stmt);
        }
        sql_exec("COMMIT");
    }
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s <lmdb|lmdb-metasync|sqlite|sqlite-normal> <dir> [records]\n", argv[0]);
        return 2;
    }
    engine = argv[1];
    if (argc > 3) records = atol(argv[3]);
    if (records < 2 * BATCH) records = 2 * BATCH;
    int is_lmdb = strncmp(engine, "lmdb", 4) == 0;
    snprintf(path, sizeof path, "%s/%s.db", argv[2], engine);

    if (strcmp(engine, "lmdb") == 0) lmdb_open(MDB_NOSYNC);
    else if (strcmp(engine, "lmdb-metasync") == 0) lmdb_open(MDB_NOMETASYNC);
    else if (strcmp(engine, "sqlite") == 0) sqlite_open("OFF");
    else if (strcmp(engine, "sqlite-normal") == 0) sqlite_open("NORMAL");
    else fail("unknown engine", engine);

    long half = records / 2;
    uint64_t checksum = 0;
    double t = now();
    if (is_lmdb) lmdb_write(1, records); else sqlite_write(1, records);
    report("write", now() - t, is_lmdb ? lmdb_size() : sqlite_size());

    t = now();
    long scanned = is_lmdb ? lmdb_scan(&checksum) : sqlite_scan(&checksum);
    if (scanned != records) fail("scan", "wrong record count");
    report("scan", now() - t, is_lmdb ? lmdb_size() : sqlite_size());

    t = now();
    long found = is_lmdb ? lmdb_point_reads(1, records, &checksum) : sqlite_point_reads(1, records, &checksum);
    if (found != point_reads) fail("point reads", "missing records");
    report("point-reads(200k)", now() - t, is_lmdb ? lmdb_size() : sqlite_size());

    t = now();
    if (is_lmdb) lmdb_delete_range(1, half); else sqlite_delete_range(1, half);
    report("delete-oldest-half", now() - t, is_lmdb ? lmdb_size() : sqlite_size());

    /* Compaction done; the same volume of new revisions arrives. */
    t = now();
    if (is_lmdb) lmdb_write((uint64_t)records + 1, half); else sqlite_write((uint64_t)records + 1, half);
    report("rewrite-half", now() - t, is_lmdb ? lmdb_size() : sqlite_size());

    if (is_lmdb) {
        MDB_CHECK(mdb_env_sync(env, 1));
        mdb_env_close(env);
    } else {
        sqlite3_finalize(insert_stmt);
        sqlite3_finalize(get_stmt);
        sqlite3_finalize(delete_stmt);
        if (sqlite3_close(db) != SQLITE_OK) fail("close", "busy");
    }
    fprintf(stderr, "%s checksum %llu\n", engine, (unsigned long long)checksum);
    return 0;
}
