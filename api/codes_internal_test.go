package api

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/apiwire"
)

// TestCodesDocumented: the OpenAPI document's error-code enum lists exactly
// the codes the API can answer with (KEY_NOT_FOUND is the CLI's alone).
func TestCodesDocumented(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Code struct {
							Enum []string `json:"enum"`
						} `json:"code"`
					} `json:"properties"`
				} `json:"ApiErrorResponseDto"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	enum := doc.Components.Schemas.Error.Properties.Code.Enum
	for _, code := range apiwire.Codes() {
		if code == domain.CodeKeyNotFound {
			continue
		}
		if !slices.Contains(enum, string(code)) {
			t.Errorf("code %s is in the status table but not in the OpenAPI enum", code)
		}
	}
	for _, c := range enum {
		if !slices.Contains(apiwire.Codes(), domain.Code(c)) {
			t.Errorf("the OpenAPI enum lists %s, which no error maps to", c)
		}
	}
}
