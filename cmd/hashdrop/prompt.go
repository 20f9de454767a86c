package main

import (
	"bufio"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// input is one value the CLI may need from the user. It is taken from the
// first of: a flag, a --*-file flag, an environment variable, a terminal
// prompt. Without a terminal and without any of the others it is an error
// naming the variable and flag to use.
type input struct {
	what     string // e.g. "account password", for prompts and errors
	value    string // from a plain flag (non-secret values only)
	flagName string // the plain flag, for the error message
	file     string // path from the --*-file flag
	fileFlag string // e.g. "--password-file"
	env      string // e.g. "HASHDROP_PASSWORD"
	secret   bool   // prompt without echo
	confirm  bool   // prompt twice (new passwords and passphrases)
}

// maxSecretFileSize bounds a --*-file read: these are one-line secrets.
const maxSecretFileSize = 64 << 10

func (a *app) read(in input) (string, error) {
	switch {
	case in.value != "":
		return in.value, nil
	case in.file != "":
		return readSecretFile(in)
	}
	if v := a.env.Getenv(in.env); v != "" {
		return v, nil
	}
	if !a.env.Interactive || (in.secret && a.env.ReadSecret == nil) {
		return "", &cliError{code: exitUsage, msg: "missing " + in.what + " and no terminal to ask for it",
			hint: "set " + in.env + alternatives(in)}
	}
	v, err := a.prompt(in)
	if err != nil {
		return "", err
	}
	if in.confirm {
		again, err := a.prompt(input{what: in.what + " again", secret: in.secret})
		if err != nil {
			return "", err
		}
		if subtle.ConstantTimeCompare([]byte(v), []byte(again)) != 1 {
			return "", usageErrorf("the two %ss do not match", in.what)
		}
	}
	return v, nil
}

func alternatives(in input) string {
	var alt []string
	if in.flagName != "" {
		alt = append(alt, in.flagName)
	}
	if in.fileFlag != "" {
		alt = append(alt, in.fileFlag)
	}
	if len(alt) == 0 {
		return ""
	}
	return " or use " + strings.Join(alt, " / ")
}

func readSecretFile(in input) (string, error) {
	f, err := os.Open(in.file)
	if err != nil {
		return "", usageErrorf("read %s: %v", in.fileFlag, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileSize+1))
	if err != nil {
		return "", usageErrorf("read %s: %v", in.fileFlag, err)
	}
	if len(b) > maxSecretFileSize {
		return "", usageErrorf("%s: file is larger than %d bytes", in.fileFlag, maxSecretFileSize)
	}
	// Only the line ending goes: spaces may be part of a passphrase.
	v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if v == "" {
		return "", usageErrorf("%s: file is empty", in.fileFlag)
	}
	return v, nil
}

func (a *app) prompt(in input) (string, error) {
	fmt.Fprintf(a.env.Stderr, "%s: ", upperFirst(in.what))
	var v string
	if in.secret {
		b, err := a.env.ReadSecret()
		fmt.Fprintln(a.env.Stderr)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", in.what, err)
		}
		v = strings.TrimRight(string(b), "\r\n")
	} else {
		if a.lines == nil {
			a.lines = bufio.NewReader(a.env.Stdin)
		}
		line, err := a.lines.ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", fmt.Errorf("read %s: %w", in.what, err)
		}
		v = strings.TrimSpace(line)
	}
	if v == "" {
		return "", usageErrorf("no %s given", in.what)
	}
	return v, nil
}

// confirm asks a yes/no question on the terminal; without one it answers
// yes, since the command line already said what to do.
func (a *app) confirm(question string) (bool, error) {
	if !a.env.Interactive {
		return true, nil
	}
	ans, err := a.prompt(input{what: question + " [y/N]"})
	if err != nil {
		var ce *cliError
		if errors.As(err, &ce) { // an empty answer means no
			return false, nil
		}
		return false, err
	}
	return strings.EqualFold(ans, "y") || strings.EqualFold(ans, "yes"), nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
