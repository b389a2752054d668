// Command bench is crmaccess's benchmark harness: it builds the data sets
// (SQLite files in a temporary directory, removed at the end), measures
// every row of issue 4 for crmaccess and, in the same run, for the baseline
// (a plain Casbin ACL model through gorm-adapter), and prints one table;
// then the rows of issue 8 (several instances over one database) and of
// issue 9 (records and users created, deleted, removed, upserted) on SQLite
// and, when CRMACCESS_POSTGRES_DSN names a PostgreSQL database, on
// PostgreSQL, side by side in a second table.
//
//	go run ./bench -size full    # 1k, 100k and 1M grants; under 10 minutes on 2 cores
//	go run ./bench -size small   # the same rows on small data, for CI
//	go run ./bench -size huge    # rows 1, 3 and 5 at 10M grants beside 1k
//
// The huge mode (issue 14) builds a 1k and a 10M-grant set (3.1M
// opportunities) in SQLite through Service.Import and, when
// CRMACCESS_POSTGRES_DSN is set, the 10M set in PostgreSQL too (tables of
// a prefix of this run, dropped at the end); then measures the cold start
// (row 5, fresh processes, on each database), read checks at 1k and 10M
// taking turns (row 1, in memory) and one opportunity's change (row 3, on
// each database). No baseline runs at that size. See BENCHMARKS.md,
// "10 million grants", for its time, disk and memory.
//
// Rows that measure a cold heap (cold start, distinct checks, the streamed
// filter answer, stock Casbin's reload) or need a writer in another process
// run in a child process: the harness re-executes itself with -child.
package main
