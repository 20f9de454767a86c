package api

import (
	"testing"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

func TestStatusAndKindOf(t *testing.T) {
	want := map[hashdrop.Kind]int{
		hashdrop.KindInvalid:         400,
		hashdrop.KindUnauthenticated: 401,
		hashdrop.KindForbidden:       403,
		hashdrop.KindQuotaExceeded:   403,
		hashdrop.KindNotFound:        404,
		hashdrop.KindConflict:        409,
		hashdrop.KindTooLarge:        413,
		hashdrop.KindRateLimited:     429,
		hashdrop.KindUnavailable:     503,
		hashdrop.KindInternal:        500,
		"something-new":              500,
	}
	for kind, status := range want {
		if got := Status(kind); got != status {
			t.Errorf("Status(%q) = %d, want %d", kind, got, status)
		}
		// Reading a status back gives a kind with the same status (403 is
		// forbidden, whether or not it was a quota).
		if got := Status(KindOf(status)); got != status {
			t.Errorf("Status(KindOf(%d)) = %d", status, got)
		}
	}
	if got := KindOf(403); got != hashdrop.KindForbidden {
		t.Errorf("KindOf(403) = %q, want forbidden", got)
	}
	if got := KindOf(418); got != hashdrop.KindInternal {
		t.Errorf("KindOf(418) = %q, want internal", got)
	}
}
