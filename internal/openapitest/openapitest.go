// Package openapitest checks the API's answers against its OpenAPI
// document (api/openapi.json) in tests, so an answer that drifts from the
// document fails the test that provoked it.
//
// Test code only: it imports the api package for its embedded document.
package openapitest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/sessiond/sessiond/api"
)

var (
	once    sync.Once
	router  routers.Router
	loadErr error
)

// load parses and validates the document once per test binary.
func load() (routers.Router, error) {
	once.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(api.OpenAPI)
		if err != nil {
			loadErr = fmt.Errorf("load openapi.json: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			loadErr = fmt.Errorf("openapi.json is not valid: %w", err)
			return
		}
		// Match requests by path alone: the test server's host is not one
		// of the document's servers.
		doc.Servers = nil
		router, loadErr = gorillamux.NewRouter(doc)
	})
	return router, loadErr
}

// Check validates one exchange: the response's status, headers and body
// must be what the document says that operation answers. A request to a
// path the document does not describe must be answered 404 or 405 with
// the JSON error. The request body is not read; pass nil.
func Check(tb testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	tb.Helper()
	if err := validate(req, status, header, body); err != nil {
		tb.Errorf("%s %s answered %d, which the OpenAPI document does not allow: %v\nbody: %.400s",
			req.Method, req.URL.Path, status, err, body)
	}
}

func validate(req *http.Request, status int, header http.Header, body []byte) error {
	r, err := load()
	if err != nil {
		return err
	}
	route, params, err := r.FindRoute(req)
	if err != nil {
		// Undocumented paths and methods answer with the contract's error.
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed || status == http.StatusBadRequest {
			return nil
		}
		return fmt.Errorf("no documented operation: %w", err)
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			ExcludeRequestBody: true,
		},
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	return openapi3filter.ValidateResponse(context.Background(), out)
}

// Transport wraps base (nil: http.DefaultTransport) so that every answer
// a test client receives is checked with Check.
func Transport(tb testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return checking{tb: tb, base: base}
}

type checking struct {
	tb   testing.TB
	base http.RoundTripper
}

func (c checking) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	// Streams (exports) are left to their own tests; everything else is
	// read whole and checked.
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "application/x-ndjson" || ct == "text/csv" {
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	Check(c.tb, req, resp.StatusCode, resp.Header, body)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
