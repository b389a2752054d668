package storage

import (
	"database/sql"
	"os"
	"slices"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// The array literals the bulk path binds are read back by PostgreSQL as
// the very elements they were made of, whatever the elements hold:
// quotes, backslashes, the literal's own commas and braces, spaces, the
// word NULL, empty strings.
func TestArrayLiteralsRoundTrip(t *testing.T) {
	dsn := os.Getenv("CRMACCESS_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("CRMACCESS_POSTGRES_DSN is not set: PostgreSQL not tested")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, elems := range [][]string{
		{}, {""}, {"g"}, {"contact:12", "crm:public"},
		{`a"b`, `c\d`, `\"`, `"`, `\`}, {"a,b", "{x}", "} {", " lead", "trail ", "NULL", "null"},
		{"tab\there", "line\nbreak", "é", "aaaaaaaa-0000-0000-0000-000000000001"},
	} {
		lit := arrayLiteral(len(elems), func(i int) string { return elems[i] })
		var got []string
		rows, err := db.Query(`SELECT u FROM unnest($1::text[]) WITH ORDINALITY AS x(u, n) ORDER BY n`, lit)
		if err != nil {
			t.Fatalf("%q: %v", lit, err)
		}
		for rows.Next() {
			var e sql.NullString
			if err := rows.Scan(&e); err != nil {
				t.Fatal(err)
			}
			if !e.Valid {
				t.Fatalf("%q: a NULL element", lit)
			}
			got = append(got, e.String)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, elems) && (len(got) != 0 || len(elems) != 0) {
			t.Fatalf("%q read back as %q, want %q", lit, got, elems)
		}
	}
	ids := []int64{1, -2, 1 << 62, 0}
	var got []int64
	rows, err := db.Query(`SELECT u FROM unnest($1::bigint[]) WITH ORDINALITY AS x(u, n) ORDER BY n`, idsLiteral(ids))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	if err := rows.Close(); err != nil || !slices.Equal(got, ids) {
		t.Fatalf("ids read back as %v (%v), want %v", got, err, ids)
	}
}
