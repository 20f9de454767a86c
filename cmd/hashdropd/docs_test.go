package main

import (
	"flag"
	"os"
	"regexp"
	"testing"
)

// TestDeployDocsNameRealFlags keeps the operator docs honest: every --flag
// they spell must be one hashdropd (or its migrate-sqlite subcommand)
// accepts, so a copied command line never fails with "flag provided but
// not defined".
func TestDeployDocsNameRealFlags(t *testing.T) {
	known := map[string]bool{"from": true, "to": true} // migrate-sqlite
	fs := newFlagSet(&options{}, new(string), map[string]*string{})
	fs.VisitAll(func(f *flag.Flag) { known[f.Name] = true })
	// Flags of other programs the docs show next to hashdropd.
	others := map[string]bool{"port": true, "aws-sigv4": true, "exclude-table-data": true}
	flagRE := regexp.MustCompile(`--([a-z][a-z0-9-]*)`)
	for _, doc := range []string{"../../docs/deploy.md", "../../docs/scale-out.md"} {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range flagRE.FindAllStringSubmatch(string(text), -1) {
			if !known[m[1]] && !others[m[1]] {
				t.Errorf("%s names --%s, which hashdropd does not accept", doc, m[1])
			}
		}
	}
}
