package projections

import "time"

// nullable maps "" to SQL NULL.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// typed turns a column of values into a typed slice that pgx encodes as a
// PostgreSQL array. Every value of a column has the same Go type.
func typed(c column) any {
	switch c[0].(type) {
	case string:
		return convert[string](c)
	case *string:
		return convert[*string](c)
	case time.Time:
		return convert[time.Time](c)
	case int64:
		return convert[int64](c)
	default:
		panic("projections: unsupported column type")
	}
}

func convert[T any](c column) []T {
	out := make([]T, len(c))
	for i, v := range c {
		out[i] = v.(T)
	}
	return out
}
