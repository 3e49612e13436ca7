package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// SSFStream is one stream as its events describe it at some position.
type SSFStream struct {
	Config        SSFStreamConfig
	Status        string
	Reason        string
	CreatedPos    int64 // position of its SSFStreamCreated
	LastStatusPos int64 // position of its latest status change (0: none)
	Removed       []json.RawMessage
	Deleted       bool
}

// Clone returns a copy that shares nothing mutable with s.
func (s *SSFStream) Clone() *SSFStream {
	c := *s
	c.Removed = slices.Clone(s.Removed)
	return &c
}

// Apply folds one event about this stream, recorded at position.
func (s *SSFStream) Apply(e Event, position int64) {
	switch e := e.(type) {
	case SSFStreamUpdated:
		s.Config = e.Config
	case SSFStreamStatusChanged:
		s.Status, s.Reason, s.LastStatusPos = e.Status, e.Reason, position
	case SSFStreamDeleted:
		s.Deleted = true
	case SSFSubjectRemoved:
		c := canonicalJSON(e.Subject)
		if !slices.ContainsFunc(s.Removed, func(r json.RawMessage) bool { return bytes.Equal(r, c) }) {
			s.Removed = append(s.Removed, c)
		}
	case SSFSubjectAdded:
		c := canonicalJSON(e.Subject)
		s.Removed = slices.DeleteFunc(s.Removed, func(r json.RawMessage) bool { return bytes.Equal(r, c) })
	}
}

// Delivers reports whether the stream's configuration asks for eventType.
func (s *SSFStream) Delivers(eventType string) bool {
	return slices.Contains(s.Config.EventsDelivered, eventType)
}

// Excludes reports whether subject (an SSF subject as JSON) was removed
// from the stream. Streams start with every subject (default_subjects
// "ALL"); a removed simple subject matches any member of a complex subject
// equal to it, and a removed complex subject matches when each of its
// members is equal.
func (s *SSFStream) Excludes(subject json.RawMessage) bool {
	if len(s.Removed) == 0 {
		return false
	}
	var ev map[string]json.RawMessage
	if json.Unmarshal(subject, &ev) != nil {
		return false
	}
	whole := canonicalJSON(subject)
	for _, r := range s.Removed {
		if bytes.Equal(r, whole) {
			return true
		}
		var rm map[string]json.RawMessage
		if json.Unmarshal(r, &rm) != nil {
			continue
		}
		if string(canonicalJSON(rm["format"])) == `"complex"` {
			match := true
			for k, v := range rm {
				if k != "format" && !bytes.Equal(canonicalJSON(ev[k]), canonicalJSON(v)) {
					match = false
				}
			}
			if match {
				return true
			}
			continue
		}
		for k, v := range ev {
			if k != "format" && bytes.Equal(canonicalJSON(v), r) {
				return true
			}
		}
	}
	return false
}

// SSFRegistry is every SSF stream, rebuilt from the ssf-streams log stream.
type SSFRegistry struct {
	streams map[string]*SSFStream
	order   []string
	version int64
}

// NewSSFRegistry returns an empty registry.
func NewSSFRegistry() *SSFRegistry { return &SSFRegistry{streams: map[string]*SSFStream{}} }

// Apply folds one event of the ssf-streams stream, recorded at position
// with the given stream version.
func (r *SSFRegistry) Apply(e Event, position, version int64) error {
	r.version = version
	if c, ok := e.(SSFStreamCreated); ok {
		if _, dup := r.streams[c.Config.StreamID]; dup {
			return fmt.Errorf("ssf stream %s created twice", c.Config.StreamID)
		}
		r.streams[c.Config.StreamID] = &SSFStream{Config: c.Config, Status: SSFEnabled, CreatedPos: position}
		r.order = append(r.order, c.Config.StreamID)
		return nil
	}
	id := SSFStreamOf(e)
	s := r.streams[id]
	if s == nil {
		return fmt.Errorf("%s for unknown ssf stream %q", e.EventType(), id)
	}
	s.Apply(e, position)
	return nil
}

// Version is the ssf-streams stream version the registry was folded to.
func (r *SSFRegistry) Version() int64 { return r.version }

// Get returns the stream with id, deleted or not, or nil.
func (r *SSFRegistry) Get(id string) *SSFStream { return r.streams[id] }

// Live returns the stream with id unless it is unknown or deleted
// (STREAM_NOT_FOUND).
func (r *SSFRegistry) Live(id string) (*SSFStream, error) {
	s := r.streams[id]
	if s == nil || s.Deleted {
		return nil, Errorf(CodeStreamNotFound, "ssf stream %q not found", id)
	}
	return s, nil
}

// Owned is Live for the admin key keyID: another key's stream is
// STREAM_NOT_FOUND too, so keys cannot probe each other's streams.
func (r *SSFRegistry) Owned(id, keyID string) (*SSFStream, error) {
	s, err := r.Live(id)
	if err != nil {
		return nil, err
	}
	if s.Config.Owner != "" && s.Config.Owner != keyID {
		return nil, Errorf(CodeStreamNotFound, "ssf stream %q not found", id)
	}
	return s, nil
}

// Streams returns every stream that is not deleted, oldest first.
func (r *SSFRegistry) Streams() []*SSFStream {
	var out []*SSFStream
	for _, id := range r.order {
		if s := r.streams[id]; !s.Deleted {
			out = append(out, s)
		}
	}
	return out
}

// canonicalJSON re-encodes a JSON value with sorted object keys, so equal
// subjects compare equal byte for byte.
func canonicalJSON(raw json.RawMessage) json.RawMessage {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	b, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return b
}
