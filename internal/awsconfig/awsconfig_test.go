package awsconfig

import (
	"strings"
	"testing"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

func TestHalfStaticCredentialsAreRefused(t *testing.T) {
	for _, o := range []Options{{AccessKey: "AKIA"}, {SecretKey: "shh-secret"}} {
		_, err := Load(t.Context(), o)
		if hashdrop.ErrorKind(err) != hashdrop.KindInvalid {
			t.Errorf("Load(%+v) = %v, want an invalid-settings error", o, err)
		}
		if err != nil && strings.Contains(err.Error(), "shh-secret") {
			t.Errorf("error %q shows the secret key", err)
		}
	}
}

func TestStaticCredentialsAndRegion(t *testing.T) {
	cfg, err := Load(t.Context(), Options{Region: "eu-west-1", AccessKey: "AKIA", SecretKey: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil || creds.AccessKeyID != "AKIA" || creds.SecretAccessKey != "secret" || cfg.Region != "eu-west-1" {
		t.Errorf("got region %q, credentials %q/%v (err %v)", cfg.Region, creds.AccessKeyID, creds.SecretAccessKey != "", err)
	}
}
