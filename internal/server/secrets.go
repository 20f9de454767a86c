package server

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashdrop/hashdrop/internal/atomicfile"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// secretsFile holds the secrets generated in dev, base64 by name.
const secretsFile = "secrets.json"

// generatedSecretSize is the length of a generated secret (raw bytes).
const generatedSecretSize = 32

// fillDevSecrets completes s with the secrets kept in dataDir, generating
// and saving (0600, atomically) the ones that do not exist yet. Secrets the
// operator supplied win and are never written to disk. It reports which
// secrets came from (or went to) the file.
func fillDevSecrets(s *Secrets, dataDir string) ([]string, error) {
	path := filepath.Join(dataDir, secretsFile)
	stored := map[string]string{}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read generated secrets: %w", err)
	default:
		if err := json.Unmarshal(data, &stored); err != nil {
			return nil, fmt.Errorf("read generated secrets %s: not valid JSON (delete it to regenerate every secret)", path)
		}
	}

	var used []string
	changed := false
	for _, f := range s.fields() {
		if f.ptr.Reveal() != "" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(stored[f.name])
		if err != nil || len(raw) < MinSecretLen {
			raw = make([]byte, generatedSecretSize)
			if _, err := rand.Read(raw); err != nil {
				return nil, fmt.Errorf("generate secret %s: %w", f.name, err)
			}
			stored[f.name] = base64.StdEncoding.EncodeToString(raw)
			changed = true
		}
		*f.ptr = hashdrop.Secret(raw)
		used = append(used, f.name)
	}
	if changed {
		out, err := json.MarshalIndent(stored, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("encode generated secrets: %w", err)
		}
		if err := atomicfile.WriteFile(path, append(out, '\n'), 0o600); err != nil {
			return nil, fmt.Errorf("save generated secrets: %w", err)
		}
	}
	return used, nil
}
