package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/hashdrop/hashdrop/internal/migrate"
)

// migrateSQLiteCommand names the subcommand that moves an embedded
// deployment's metadata to PostgreSQL.
const migrateSQLiteCommand = "migrate-sqlite"

// runMigrateSQLite is `hashdropd migrate-sqlite --from PATH --to postgres://…`:
// one transaction into an empty PostgreSQL database (see docs/scale-out.md).
func runMigrateSQLite(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet(migrateSQLiteCommand, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	from := fs.String("from", "", "SQLite database `path` (or sqlite://…) of the stopped embedded server")
	to := fs.String("to", "", "empty PostgreSQL database: `postgres://…` (search_path selects a schema)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "Usage: hashdropd %s --from PATH --to postgres://…\n\n"+
				"Copies every account, code, token, file record and download counter from a\n"+
				"SQLite database into an empty PostgreSQL one, in one transaction. Stop the\n"+
				"server first; blobs stay where they are.\n\n", migrateSQLiteCommand)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("%s: unexpected argument %q", migrateSQLiteCommand, fs.Arg(0))}
	}
	if *from == "" || *to == "" {
		return usageError{fmt.Errorf("%s: both --from and --to are required", migrateSQLiteCommand)}
	}
	counts, err := migrate.SQLiteToPostgres(ctx, *from, *to)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "migrated %s\n", counts)
	return nil
}
