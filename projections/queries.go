package projections

import (
	"fmt"
	"time"

	"github.com/sessiond/sessiond/eventstore"
)

// QueryActiveSessionIDs names the read-model query of a user's active
// sessions, for append preconditions (eventstore.Precondition). Its
// arguments are the user id (string) and the moment (time.Time).
const QueryActiveSessionIDs = "active-session-ids"

// Queries is the eventstore.QueryFunc of the PostgreSQL read model.
func Queries(query string, args []any) (eventstore.Statement, error) {
	switch query {
	case QueryActiveSessionIDs:
		user, now, err := activeArgs(args)
		return eventstore.Statement{SQL: `SELECT session_id FROM sessions
WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2`, Args: []any{user, now}}, err
	}
	return eventstore.Statement{}, fmt.Errorf("unknown read-model query %q", query)
}

// QueriesSQLite is the eventstore.QueryFunc of the SQLite read model.
func QueriesSQLite(query string, args []any) (eventstore.Statement, error) {
	switch query {
	case QueryActiveSessionIDs:
		user, now, err := activeArgs(args)
		return eventstore.Statement{SQL: `SELECT session_id FROM sessions
WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?`, Args: []any{user, SQLiteTime(now)}}, err
	}
	return eventstore.Statement{}, fmt.Errorf("unknown read-model query %q", query)
}

func activeArgs(args []any) (string, time.Time, error) {
	if len(args) == 2 {
		user, ok1 := args[0].(string)
		now, ok2 := args[1].(time.Time)
		if ok1 && ok2 {
			return user, now, nil
		}
	}
	return "", time.Time{}, fmt.Errorf("%s takes a user id and a time, got %v", QueryActiveSessionIDs, args)
}
