// Package mailtest provides a capturing hashdrop.Mailer for tests of other
// packages; Code, which finds the one-time code in a message body (from this
// Mailer or from an outbox file); and StartSMTP, a real SMTP server on
// loopback for tests of mailers over real sessions.
package mailtest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// Mailer records every message sent to it. The zero value is ready to use
// and safe for concurrent use.
type Mailer struct {
	mu   sync.Mutex
	msgs []hashdrop.Message
	err  error
}

var _ hashdrop.Mailer = (*Mailer)(nil)

// Send records m, or returns the error set by FailWith without recording.
func (c *Mailer) Send(ctx context.Context, m hashdrop.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.msgs = append(c.msgs, m)
	return nil
}

// FailWith makes every later Send return err (nil restores delivery), to
// test how callers handle a mail provider that is down.
func (c *Mailer) FailWith(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = err
}

// Messages returns a copy of everything sent so far, oldest first.
func (c *Mailer) Messages() []hashdrop.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]hashdrop.Message(nil), c.msgs...)
}

// Last returns the newest message to recipient (compared
// case-insensitively) and whether there is one.
func (c *Mailer) Last(recipient string) (hashdrop.Message, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.msgs) - 1; i >= 0; i-- {
		if strings.EqualFold(c.msgs[i].To, recipient) {
			return c.msgs[i], true
		}
	}
	return hashdrop.Message{}, false
}

// LastCode returns the code in the newest message to recipient.
func (c *Mailer) LastCode(recipient string) (string, error) {
	m, ok := c.Last(recipient)
	if !ok {
		return "", fmt.Errorf("mailtest: no message to %s", recipient)
	}
	return Code(m.Body)
}

var digitRuns = regexp.MustCompile(`[0-9]+`)

// Code returns the 6-digit one-time code in body. It fails unless exactly
// one distinct standalone 6-digit number occurs, so a body format change
// that makes the code ambiguous breaks tests loudly instead of silently.
func Code(body string) (string, error) {
	var code string
	for _, run := range digitRuns.FindAllString(body, -1) {
		switch {
		case len(run) != 6:
		case code == "":
			code = run
		case code != run:
			return "", fmt.Errorf("mailtest: more than one 6-digit number in the message")
		}
	}
	if code == "" {
		return "", fmt.Errorf("mailtest: no 6-digit code in the message")
	}
	return code, nil
}
