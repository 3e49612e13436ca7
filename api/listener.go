package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/domain"
)

// Listener wraps ln so that the one kind of answer no handler can shape —
// net/http's own reply to a request it cannot parse — follows the
// contract too. net/http parses the request line and target
// (url.ParseRequestURI) before any handler runs; a path such as "/a%zz"
// fails there, and the server writes a canned "400 Bad Request" in
// text/plain straight to the connection, with no hook to change it. The
// wrapped connections recognise that canned reply (a single write of a
// status line followed by exactly net/http's error headers, which no
// handler's response has: those always carry Date) and send the JSON
// error DTO instead, with a generated X-Request-Id. The connection is
// closed afterwards, as net/http intends.
func Listener(ln net.Listener) net.Listener { return &jsonErrListener{ln} }

type jsonErrListener struct{ net.Listener }

func (l *jsonErrListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonErrConn{Conn: c}, nil
}

type jsonErrConn struct{ net.Conn }

// CloseWrite keeps net/http's graceful close (a FIN before the socket
// closes, so the client reads the answer rather than a reset).
func (c *jsonErrConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// cannedError is net/http's reply to an unparsable request (server.go,
// conn.serve): "HTTP/1.1 400 Bad Request[: text]" + errorHeaders + body.
var cannedError = regexp.MustCompile(`\AHTTP/1\.1 (400) Bad Request(?:: ([^\r\n]*))?\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n[^\r\n]*\z`)

// cannedHeaders is the cheap test that comes before the regular expression.
var cannedHeaders = []byte("\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n")

func (c *jsonErrConn) Write(b []byte) (int, error) {
	if len(b) > 512 || !bytes.HasPrefix(b, []byte("HTTP/1.1 400 ")) || !bytes.Contains(b, cannedHeaders) {
		return c.Conn.Write(b)
	}
	m := cannedError.FindSubmatch(b)
	if m == nil {
		return c.Conn.Write(b)
	}
	detail := "the request line or target cannot be parsed (for example a bad %-escape in the path)"
	if len(m[2]) > 0 {
		detail = string(m[2])
	}
	if _, err := c.Conn.Write(malformedResponse(detail)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// malformedResponse is the raw HTTP response for a request net/http could
// not parse: 400 VALIDATION_FAILED as the error DTO.
func malformedResponse(detail string) []byte {
	body, _ := json.Marshal(ErrorResponse{
		StatusCode: http.StatusBadRequest,
		Error:      http.StatusText(http.StatusBadRequest),
		Message:    "malformed HTTP request: " + detail,
		Code:       string(domain.CodeValidation),
	})
	body = append(body, '\n')
	var out bytes.Buffer
	fmt.Fprintf(&out, "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: %s\r\nX-Request-Id: %s\r\nConnection: close\r\n\r\n",
		strconv.Itoa(len(body)), uuid.Must(uuid.NewV7()))
	out.Write(body)
	return out.Bytes()
}
