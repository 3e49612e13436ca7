package sqlitestore

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sessiond/sessiond/eventstore"
)

// OpenDB opens the database file at path with the store's settings on
// every pooled connection: WAL journal, synchronous=FULL (a commit is on
// disk before it returns), a 10 s busy timeout and foreign keys.
func OpenDB(path string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(0)
	var mode string
	var sync int
	if err := db.QueryRow(`SELECT journal_mode, synchronous FROM pragma_journal_mode, pragma_synchronous`).Scan(&mode, &sync); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, Classify(err))
	}
	if mode != "wal" || sync != 2 {
		db.Close()
		return nil, fmt.Errorf("open %s: journal_mode=%s synchronous=%d; want wal and 2 (FULL)", path, mode, sync)
	}
	return db, nil
}

// code returns the SQLite extended result code of err, or 0.
func code(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// IsAppendOnlyViolation reports whether err is the events table's trigger
// refusing an UPDATE or DELETE.
func IsAppendOnlyViolation(err error) bool { return code(err) == sqlite3.SQLITE_CONSTRAINT_TRIGGER }

// Classify maps SQLite failures to the eventstore's errors by result code:
// a busy, locked, full, read-only or failing disk is ErrUnavailable (the
// append was not recorded and may be retried). Others are unchanged.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	switch code(err) & 0xff { // primary result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL,
		sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL:
		return fmt.Errorf("%w: %w", eventstore.ErrUnavailable, err)
	}
	return err
}

// classifyBatch also turns a unique violation into a conflict.
func classifyBatch(err error, batch []*eventstore.Request) error {
	if code(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		c := &eventstore.ConflictError{Actual: -1}
		if len(batch) == 1 && len(batch[0].Appends) > 0 {
			c.StreamID = batch[0].Appends[0].StreamID
			c.Expected = batch[0].Appends[0].ExpectedVersion
		}
		return fmt.Errorf("%w: %w", c, err)
	}
	return Classify(err)
}
