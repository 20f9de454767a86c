package hashdrop

import (
	"crypto/rand"
	"time"
)

type rngReader struct{}

func (rngReader) Read(p []byte) (int, error) { return rand.Read(p) }

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }
