package hashdrop

import (
	"bytes"
	"testing"
)

func TestOTPCodeRejectsBiasedDraws(t *testing.T) {
	// 0xFFFFFFFF lies in the incomplete last block of 10^6 and must be
	// redrawn; 0x00000001 then gives "000001".
	r := bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1})
	got, err := newOTPCode(r)
	if err != nil || got != "000001" {
		t.Errorf("newOTPCode = %q, %v; want 000001", got, err)
	}
	if _, err := newOTPCode(bytes.NewReader([]byte{1, 2})); err == nil {
		t.Errorf("newOTPCode on a short reader succeeded")
	}
}

func TestOTPCodeFormat(t *testing.T) {
	for range 200 {
		c, err := newOTPCode(rngReader{})
		if err != nil || !isOTPFormat(c) {
			t.Fatalf("code %q, %v", c, err)
		}
	}
}

func TestOTPHashBindsUser(t *testing.T) {
	s := &Service{Keys: Keys{OTP: []byte("k")}}
	if bytes.Equal(s.otpHash("a", "123456"), s.otpHash("b", "123456")) {
		t.Errorf("the same code hashes alike for two users")
	}
}

func TestSecondsToNextUTCMidnight(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"2031-03-14T23:59:59Z", 1},
		{"2031-03-14T23:59:59.5Z", 1},
		{"2031-03-14T00:00:00Z", 86400},
		{"2031-03-14T12:00:00+02:00", 14 * 3600},
	} {
		tm, _ := parseTime(c.in)
		if got := secondsToNextUTCMidnight(tm); got != c.want {
			t.Errorf("secondsToNextUTCMidnight(%s) = %d, want %d", c.in, got, c.want)
		}
	}
}
