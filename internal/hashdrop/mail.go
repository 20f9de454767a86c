package hashdrop

import (
	"errors"
	"net/mail"
	"strings"
)

// ParseAddress accepts exactly one email address, with or without a display
// name, and nothing that could smuggle another header or recipient into a
// message.
func ParseAddress(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("address contains a line break")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(a.Address, "<>,; ") {
		return nil, errors.New("not a single address")
	}
	return a, nil
}

// Recipient checks m before any mailer renders it: one recipient address and
// a one-line subject, so no header can be injected (KindInvalid otherwise).
func (m Message) Recipient() (*mail.Address, error) {
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, Errorf(KindInvalid, "mail subject must be one line")
	}
	to, err := ParseAddress(m.To)
	if err != nil {
		return nil, Errorf(KindInvalid, "invalid mail recipient")
	}
	return to, nil
}
