package hashdrop_test

import (
	"testing"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

func TestMessageRecipient(t *testing.T) {
	for _, c := range []struct {
		to, subject string
		ok          bool
	}{
		{"alice@example.com", "Your code", true},
		{"Alice <alice@example.com>", "Your code", true},
		{"alice@example.com\r\nBcc: eve@example.com", "Your code", false},
		{"alice@example.com, eve@example.com", "Your code", false},
		{"alice@example.com", "Your code\r\nBcc: eve@example.com", false},
		{"not an address", "Your code", false},
		{"", "Your code", false},
	} {
		_, err := hashdrop.Message{To: c.to, Subject: c.subject}.Recipient()
		if got := err == nil; got != c.ok {
			t.Errorf("Recipient(%q, %q) error %v, want ok=%v", c.to, c.subject, err, c.ok)
		}
		if err != nil && hashdrop.ErrorKind(err) != hashdrop.KindInvalid {
			t.Errorf("Recipient(%q, %q) kind %s, want invalid", c.to, c.subject, hashdrop.ErrorKind(err))
		}
	}
}
