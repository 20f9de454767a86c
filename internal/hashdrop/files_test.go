package hashdrop_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

func TestOwnerSegment(t *testing.T) {
	e := newEnv(t)
	a, b := e.svc.OwnerSegment("user-a"), e.svc.OwnerSegment("user-b")
	if !regexp.MustCompile(`^usrh-[0-9a-f]{32}$`).MatchString(a) || a == b || a != e.svc.OwnerSegment("user-a") {
		t.Errorf("OwnerSegment = %q, %q", a, b)
	}
	other := *e.svc
	other.Keys.UserIDSalt = []byte("another salt 0123456789abcdefghij")
	if other.OwnerSegment("user-a") == a {
		t.Errorf("OwnerSegment does not depend on the salt")
	}
}

func TestUploadLifecycle(t *testing.T) {
	e := newEnv(t)
	id := e.verifiedUser(t, "nina@example.com")
	res, err := e.svc.Presign(t.Context(), id, hashdrop.PresignRequest{FileName: "enc-name", MimeType: "enc-mime", DeclaredSize: 1234})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.UploadURL.Reveal(), "size=1234") {
		t.Errorf("PUT URL not bound to the declared size: %s", res.UploadURL.Reveal())
	}
	key := e.svc.OwnerSegment(id) + "/" + res.FileID
	f, err := e.svc.File(t.Context(), id, res.FileID)
	if err != nil || f.Status != hashdrop.StatusPending || f.ObjectKey != key || f.DeclaredSize != 1234 {
		t.Fatalf("pending file %+v, %v", f, err)
	}

	req := hashdrop.CompleteRequest{FileID: res.FileID, PlaintextHash: "fp", PlaintextSize: 1000, PassphraseSalt: "00112233445566778899AABBCCDDEEFF"}
	_, err = e.svc.Complete(t.Context(), id, req)
	wantKind(t, "Complete before the PUT", err, hashdrop.KindNotFound)
	if !strings.Contains(hashdrop.ErrorMessage(err), "not found in storage") {
		t.Errorf("message %q", hashdrop.ErrorMessage(err))
	}
	e.blobs.put(key, 1234)
	otherID := e.verifiedUser(t, "olga@example.com")
	_, err = e.svc.Complete(t.Context(), otherID, req)
	wantKind(t, "Complete of another user's file", err, hashdrop.KindNotFound)

	done, err := e.svc.Complete(t.Context(), id, req)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != hashdrop.StatusUploaded || done.EncryptedSize != 1234 || done.KeyMode != hashdrop.KeyModePassphrase ||
		done.PassphraseSalt != "00112233445566778899aabbccddeeff" || done.PlaintextSize != 1000 || done.PlaintextHash != "fp" {
		t.Errorf("completed file %+v", done)
	}
	_, err = e.svc.Complete(t.Context(), id, req)
	wantKind(t, "Complete twice", err, hashdrop.KindNotFound)
	salt, err := e.svc.Salt(t.Context(), id, res.FileID)
	if err != nil || salt != done.PassphraseSalt {
		t.Errorf("Salt = %q, %v", salt, err)
	}
	vault := e.uploaded(t, id, 5)
	if vault.KeyMode != hashdrop.KeyModeVault {
		t.Errorf("no salt gave key mode %q", vault.KeyMode)
	}
	_, err = e.svc.Salt(t.Context(), id, vault.ID)
	wantKind(t, "Salt of a vault-mode file", err, hashdrop.KindNotFound)
}

func TestPresignRejectsBadInput(t *testing.T) {
	e := newEnv(t)
	id := e.verifiedUser(t, "pia@example.com")
	for name, c := range map[string]struct {
		req  hashdrop.PresignRequest
		kind hashdrop.Kind
	}{
		"empty name":         {hashdrop.PresignRequest{DeclaredSize: -1}, hashdrop.KindInvalid},
		"long name":          {hashdrop.PresignRequest{FileName: strings.Repeat("n", 1025), DeclaredSize: -1}, hashdrop.KindInvalid},
		"control in name":    {hashdrop.PresignRequest{FileName: "a\x00b", DeclaredSize: -1}, hashdrop.KindInvalid},
		"invalid UTF-8 name": {hashdrop.PresignRequest{FileName: "\xff", DeclaredSize: -1}, hashdrop.KindInvalid},
		"long MIME type":     {hashdrop.PresignRequest{FileName: "n", MimeType: strings.Repeat("m", 256), DeclaredSize: -1}, hashdrop.KindInvalid},
		"negative size":      {hashdrop.PresignRequest{FileName: "n", DeclaredSize: -2}, hashdrop.KindInvalid},
		"too large":          {hashdrop.PresignRequest{FileName: "n", DeclaredSize: 5<<30 + 1}, hashdrop.KindTooLarge},
	} {
		_, err := e.svc.Presign(t.Context(), id, c.req)
		wantKind(t, name, err, c.kind)
	}
	if fs, _ := e.svc.Files(t.Context(), id); len(fs) != 0 {
		t.Errorf("rejected presigns left %d records", len(fs))
	}
}

func TestCompleteRejectsBadInput(t *testing.T) {
	e := newEnv(t)
	id := e.verifiedUser(t, "quinn@example.com")
	res, _ := e.svc.Presign(t.Context(), id, hashdrop.PresignRequest{FileName: "n", DeclaredSize: -1})
	for name, req := range map[string]hashdrop.CompleteRequest{
		"not a UUID":      {FileID: "abc"},
		"salt not hex":    {FileID: res.FileID, PassphraseSalt: "zz"},
		"odd salt":        {FileID: res.FileID, PassphraseSalt: "abc"},
		"long salt":       {FileID: res.FileID, PassphraseSalt: strings.Repeat("ab", 65)},
		"negative size":   {FileID: res.FileID, PlaintextSize: -1},
		"long hash":       {FileID: res.FileID, PlaintextHash: strings.Repeat("h", 257)},
		"control in hash": {FileID: res.FileID, PlaintextHash: "a\nb"},
	} {
		_, err := e.svc.Complete(t.Context(), id, req)
		wantKind(t, name, err, hashdrop.KindInvalid)
	}
	if f, _ := e.svc.File(t.Context(), id, res.FileID); f.Status != hashdrop.StatusPending {
		t.Errorf("rejected completions changed the status to %q", f.Status)
	}
}

func TestCompleteDiscardsWrongSizes(t *testing.T) {
	e := newEnv(t)
	e.svc.Config.MaxFileSize = 100
	id := e.verifiedUser(t, "rita@example.com")
	for name, c := range map[string]struct{ declared, stored int64 }{
		"over the limit, undeclared": {-1, 101},
		"not what was declared":      {50, 51},
		"shorter than declared":      {50, 49},
	} {
		res, err := e.svc.Presign(t.Context(), id, hashdrop.PresignRequest{FileName: "n", DeclaredSize: c.declared})
		if err != nil {
			t.Fatal(err)
		}
		key := e.svc.OwnerSegment(id) + "/" + res.FileID
		e.blobs.put(key, c.stored)
		_, err = e.svc.Complete(t.Context(), id, hashdrop.CompleteRequest{FileID: res.FileID})
		wantKind(t, name, err, hashdrop.KindTooLarge)
		if e.blobs.has(key) {
			t.Errorf("%s: object kept", name)
		}
		if f, _ := e.store.FileByID(t.Context(), res.FileID); f.Status != hashdrop.StatusFailed {
			t.Errorf("%s: status %q, want failed", name, f.Status)
		}
	}
}

func TestCompleteOverQuotaDiscards(t *testing.T) {
	e := newEnv(t)
	e.svc.Config.Quota = hashdrop.Quota{UserBytes: 100, UserFiles: 10, GlobalBytes: 1000}
	id := e.verifiedUser(t, "sam@example.com")
	res, _ := e.svc.Presign(t.Context(), id, hashdrop.PresignRequest{FileName: "n", DeclaredSize: -1})
	key := e.svc.OwnerSegment(id) + "/" + res.FileID
	e.blobs.put(key, 101)
	_, err := e.svc.Complete(t.Context(), id, hashdrop.CompleteRequest{FileID: res.FileID})
	wantKind(t, "Complete over quota", err, hashdrop.KindQuotaExceeded)
	if e.blobs.has(key) {
		t.Errorf("object over quota kept")
	}
}

// TestPresignQuotaRace: 20 concurrent presigns against a quota that fits 5.
func TestPresignQuotaRace(t *testing.T) {
	e := newEnv(t)
	e.svc.Config.Quota = hashdrop.Quota{UserBytes: 500, UserFiles: 100, GlobalBytes: 1 << 30}
	id := e.verifiedUser(t, "tom@example.com")
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.svc.Presign(t.Context(), id, hashdrop.PresignRequest{FileName: "n", DeclaredSize: 100})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			wantKind(t, "refused presign", err, hashdrop.KindQuotaExceeded)
		}
	}
	if ok != 5 {
		t.Errorf("%d presigns succeeded, want 5", ok)
	}
	e.svc.Config.Quota.GlobalBytes = 500
	_, err := e.svc.Presign(t.Context(), e.verifiedUser(t, "uma@example.com"), hashdrop.PresignRequest{FileName: "n", DeclaredSize: 1})
	wantKind(t, "presign with the server full", err, hashdrop.KindUnavailable)
}

func TestPresignSigningFailureFreesReservation(t *testing.T) {
	e := newEnv(t)
	id := e.verifiedUser(t, "vic@example.com")
	e.blobs.Fail["PresignPut"] = errors.New("signer down")
	_, err := e.svc.Presign(t.Context(), id, hashdrop.PresignRequest{FileName: "n", DeclaredSize: 10})
	wantKind(t, "Presign with a failing signer", err, hashdrop.KindInternal)
	if strings.Contains(hashdrop.ErrorMessage(err), "signer") {
		t.Errorf("internal cause leaked into the message %q", hashdrop.ErrorMessage(err))
	}
	fs, _ := e.svc.Files(t.Context(), id)
	if len(fs) != 1 || fs[0].Status != hashdrop.StatusFailed {
		t.Errorf("files after a failed signing: %+v", fs)
	}
}

func TestPrefixesAndDeletion(t *testing.T) {
	e := newEnv(t)
	id := e.verifiedUser(t, "walt@example.com")
	a, b := e.uploaded(t, id, 1), e.uploaded(t, id, 1)
	common := 0
	for common < 36 && a.ID[common] == b.ID[common] {
		common++
	}
	for _, bad := range []string{"", strings.Repeat("a", 37), "ab%", "a_", "zz", "*"} {
		_, err := e.svc.FilesByPrefix(t.Context(), id, bad)
		wantKind(t, "FilesByPrefix("+bad+")", err, hashdrop.KindInvalid)
		wantKind(t, "DeleteFile("+bad+")", e.svc.DeleteFile(t.Context(), id, bad), hashdrop.KindInvalid)
	}
	if got, err := e.svc.FilesByPrefix(t.Context(), id, strings.ToUpper(a.ID[:common+1])); err != nil || len(got) != 1 || got[0].ID != a.ID {
		t.Errorf("FilesByPrefix(upper-case unique prefix) = %v, %v", got, err)
	}
	none := "ffffffff-ffff-4fff-bfff-ffffffffffff"
	if a.ID == none || b.ID == none {
		t.Skip("astronomically unlikely ID")
	}
	_, err := e.svc.FilesByPrefix(t.Context(), id, none)
	wantKind(t, "no match", err, hashdrop.KindNotFound)
	_, err = e.svc.File(t.Context(), id, "abc")
	wantKind(t, "File(not a UUID)", err, hashdrop.KindInvalid)
	// Another user sees nothing of these.
	other := e.verifiedUser(t, "xena@example.com")
	_, err = e.svc.File(t.Context(), other, a.ID)
	wantKind(t, "File of another user", err, hashdrop.KindNotFound)
	wantKind(t, "DeleteFile of another user", e.svc.DeleteFile(t.Context(), other, a.ID), hashdrop.KindNotFound)

	if common > 0 {
		err := e.svc.DeleteFile(t.Context(), id, a.ID[:common])
		wantKind(t, "ambiguous prefix", err, hashdrop.KindConflict)
		if !strings.Contains(hashdrop.ErrorMessage(err), "2 files") {
			t.Errorf("ambiguity message %q should say how many match", hashdrop.ErrorMessage(err))
		}
	}
	if err := e.svc.DeleteFile(t.Context(), id, a.ID[:common+1]); err != nil {
		t.Fatalf("DeleteFile: %v", err)
	}
	if e.blobs.has(a.ObjectKey) || !e.blobs.has(b.ObjectKey) {
		t.Errorf("DeleteFile removed the wrong objects")
	}
	_, err = e.svc.File(t.Context(), id, a.ID)
	wantKind(t, "File after deletion", err, hashdrop.KindNotFound)
	if fs, _ := e.svc.Files(t.Context(), id); len(fs) != 1 || fs[0].ID != b.ID {
		t.Errorf("Files after deletion = %+v", fs)
	}
	wantKind(t, "DeleteFile twice", e.svc.DeleteFile(t.Context(), id, a.ID), hashdrop.KindNotFound)

	e.blobs.Fail["Delete"] = errors.New("storage down")
	wantKind(t, "DeleteFile with storage down", e.svc.DeleteFile(t.Context(), id, b.ID), hashdrop.KindInternal)
	if _, err := e.svc.File(t.Context(), id, b.ID); err != nil {
		t.Errorf("a failed object deletion lost the record: %v", err)
	}
}

func TestDownloadURL(t *testing.T) {
	e := newEnv(t)
	id := e.verifiedUser(t, "yves@example.com")
	f := e.uploaded(t, id, 10)
	seg := e.svc.OwnerSegment(id)
	pending, _ := e.svc.Presign(t.Context(), id, hashdrop.PresignRequest{FileName: "n", DeclaredSize: -1})

	for name, c := range map[string]struct {
		seg, id string
		kind    hashdrop.Kind
	}{
		"bad segment":            {"usr-" + seg[5:], f.ID, hashdrop.KindInvalid},
		"upper-case segment":     {strings.ToUpper(seg), f.ID, hashdrop.KindInvalid},
		"short segment":          {seg[:20], f.ID, hashdrop.KindInvalid},
		"bad file ID":            {seg, "../../etc/passwd", hashdrop.KindInvalid},
		"wrong owner":            {e.svc.OwnerSegment("someone else"), f.ID, hashdrop.KindNotFound},
		"unknown file":           {seg, "0b0e7f43-6b8e-4b53-9b43-3c5b0f6f6a01", hashdrop.KindNotFound},
		"pending file":           {seg, pending.FileID, hashdrop.KindNotFound},
		"upper-case file ID":     {seg, strings.ToUpper(f.ID), hashdrop.KindInvalid},
		"segment with traversal": {"usrh-../../" + seg[11:], f.ID, hashdrop.KindInvalid},
	} {
		_, err := e.svc.DownloadURL(t.Context(), c.seg, c.id)
		wantKind(t, name, err, c.kind)
	}
	_, errWrongOwner := e.svc.DownloadURL(t.Context(), e.svc.OwnerSegment("x"), f.ID)
	_, errMissing := e.svc.DownloadURL(t.Context(), seg, "0b0e7f43-6b8e-4b53-9b43-3c5b0f6f6a01")
	if hashdrop.ErrorMessage(errWrongOwner) != hashdrop.ErrorMessage(errMissing) {
		t.Errorf("a wrong owner (%q) is distinguishable from a missing file (%q)", hashdrop.ErrorMessage(errWrongOwner), hashdrop.ErrorMessage(errMissing))
	}

	for i := range 3 {
		url, err := e.svc.DownloadURL(t.Context(), seg, f.ID)
		if err != nil || !strings.Contains(url.Reveal(), f.ObjectKey) || !strings.Contains(url.Reveal(), "ttl=5m0s") {
			t.Fatalf("download %d: %q, %v", i+1, url.Reveal(), err)
		}
	}
	_, err := e.svc.DownloadURL(t.Context(), seg, f.ID)
	wantKind(t, "fourth download", err, hashdrop.KindRateLimited)
	var he *hashdrop.Error
	if !errors.As(err, &he) || !strings.Contains(he.Message, "3 per day") {
		t.Fatalf("rate-limit error %v", err)
	}
	// The clock reads 15:09:26 UTC: the counter resets at midnight.
	if want := int((8*time.Hour + 50*time.Minute + 34*time.Second).Seconds()); he.RetryAfter != want {
		t.Errorf("RetryAfter = %d, want %d", he.RetryAfter, want)
	}
	e.clock.Add(time.Duration(he.RetryAfter) * time.Second)
	if _, err := e.svc.DownloadURL(t.Context(), seg, f.ID); err != nil {
		t.Errorf("download the next day: %v", err)
	}

	// A CDN signer, when configured, signs instead of the blob store.
	e.svc.Downloads = cdn{}
	if url, err := e.svc.DownloadURL(t.Context(), seg, f.ID); err != nil || !strings.HasPrefix(url.Reveal(), "https://cdn.test/") {
		t.Errorf("CDN download = %q, %v", url.Reveal(), err)
	}
}

type cdn struct{}

func (cdn) PresignGet(_ context.Context, key string, ttl time.Duration) (hashdrop.Secret, error) {
	return hashdrop.Secret("https://cdn.test/" + key), nil
}
