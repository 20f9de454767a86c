package hashdrop

import "log/slog"

// Secret holds a value that must never reach a log line or an error message:
// tokens, OTPs, keys, signed URLs. It formats as a fixed placeholder; Reveal
// returns the value for the one place that needs it (a response body, a
// Location header).
type Secret string

const redacted = "[REDACTED]"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer so %v and %s print the placeholder.
func (s Secret) String() string { return redacted }

// GoString keeps %#v from leaking the value.
func (s Secret) GoString() string { return redacted }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText keeps encoders (including slog's JSON handler) from writing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
