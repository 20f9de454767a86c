package mailtest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/mail/mailtest"
)

func TestMailerCaptures(t *testing.T) {
	t.Parallel()
	var m mailtest.Mailer
	ctx := t.Context()
	m.Send(ctx, hashdrop.Message{To: "a@example.com", Body: "code 111111"})
	m.Send(ctx, hashdrop.Message{To: "b@example.com", Body: "code 222222"})
	m.Send(ctx, hashdrop.Message{To: "A@example.com", Body: "code 333333"})
	if got := len(m.Messages()); got != 3 {
		t.Fatalf("%d messages, want 3", got)
	}
	if code, err := m.LastCode("a@EXAMPLE.com"); err != nil || code != "333333" {
		t.Errorf("LastCode = %q, %v; want 333333", code, err)
	}
	if _, ok := m.Last("c@example.com"); ok {
		t.Errorf("Last for an unknown recipient found a message")
	}
	if _, err := m.LastCode("c@example.com"); err == nil {
		t.Errorf("LastCode for an unknown recipient: no error")
	}

	down := errors.New("provider down")
	m.FailWith(down)
	if err := m.Send(ctx, hashdrop.Message{To: "a@example.com"}); !errors.Is(err, down) {
		t.Errorf("Send while failing = %v, want %v", err, down)
	}
	m.FailWith(nil)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.Send(canceled, hashdrop.Message{To: "a@example.com"}); err == nil {
		t.Errorf("Send with a canceled context: no error")
	}
	if got := len(m.Messages()); got != 3 {
		t.Errorf("%d messages after failed sends, want 3", got)
	}
}

func TestCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body, want string
		ok         bool
	}{
		{"Your code is 123456.", "123456", true},
		{"123456", "123456", true},
		{"Code: 012345\nIt expires in 10 minutes.\nAgain: 012345", "012345", true},
		{"no code here", "", false},
		{"too long 1234567", "", false},
		{"too short 12345", "", false},
		{"two 123456 and 654321", "", false},
		{"adjacent 123456 654321", "", false},
	}
	for _, tt := range tests {
		got, err := mailtest.Code(tt.body)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("Code(%q) = %q, %v; want %q, ok=%v", tt.body, got, err, tt.want, tt.ok)
		}
	}
}
