package httpapi

import (
	"io"
	"net/http"

	"github.com/hashdrop/hashdrop/internal/api"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

func (a *handler) healthz(w http.ResponseWriter, _ *http.Request, _ string) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "OK")
	return nil
}

func (a *handler) cliVersionHandler(w http.ResponseWriter, _ *http.Request, _ string) error {
	writeJSON(w, http.StatusOK, api.CLIVersion{CompatibleVersion: a.cliVersion})
	return nil
}

func (a *handler) openAPIDocument(w http.ResponseWriter, _ *http.Request, _ string) error {
	if len(a.openAPI) == 0 {
		return hashdrop.Errorf(hashdrop.KindNotFound, "no API document configured")
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(a.openAPI)
	return nil
}

func (a *handler) register(w http.ResponseWriter, r *http.Request, _ string) error {
	var req api.Credentials
	if err := a.decodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := a.svc.Register(r.Context(), req.Email, req.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, api.User{ID: u.ID, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(), Email: u.Email})
	return nil
}

func (a *handler) verify(w http.ResponseWriter, r *http.Request, _ string) error {
	var req api.VerifyRequest
	if err := a.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := a.svc.Verify(r.Context(), req.Email, req.OTP); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *handler) login(w http.ResponseWriter, r *http.Request, _ string) error {
	var req api.Credentials
	if err := a.decodeJSON(w, r, &req); err != nil {
		return err
	}
	pair, err := a.svc.Login(r.Context(), req.Email, req.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Tokens{AccessToken: pair.Access.Reveal(), RefreshToken: pair.Refresh.Reveal()})
	return nil
}

func (a *handler) deleteAccount(w http.ResponseWriter, r *http.Request, caller string) error {
	var req api.Credentials
	if err := a.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := a.svc.DeleteAccount(r.Context(), caller, req.Email, req.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *handler) refresh(w http.ResponseWriter, r *http.Request, _ string) error {
	var req api.RefreshRequest
	if err := a.decodeJSON(w, r, &req); err != nil {
		return err
	}
	pair, err := a.svc.Refresh(r.Context(), req.RefreshToken, req.Rotate)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Tokens{AccessToken: pair.Access.Reveal(), RefreshToken: pair.Refresh.Reveal()})
	return nil
}

func (a *handler) revoke(w http.ResponseWriter, r *http.Request, _ string) error {
	var req api.RefreshRequest
	if err := a.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := a.svc.Revoke(r.Context(), req.RefreshToken); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *handler) presign(w http.ResponseWriter, r *http.Request, caller string) error {
	var req api.PresignRequest
	if err := a.decodeJSON(w, r, &req); err != nil {
		return err
	}
	declared := int64(-1)
	if req.SizeBytes != nil {
		if *req.SizeBytes < 0 {
			return hashdrop.Errorf(hashdrop.KindInvalid, "size_bytes must not be negative")
		}
		declared = *req.SizeBytes
	}
	res, err := a.svc.Presign(r.Context(), caller, hashdrop.PresignRequest{
		FileName:     req.FileName,
		MimeType:     req.MimeType,
		DeclaredSize: declared,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.PresignResponse{
		FileID:         res.FileID,
		UploadResource: api.UploadResource{URL: res.UploadURL.Reveal()},
	})
	return nil
}

func (a *handler) complete(w http.ResponseWriter, r *http.Request, caller string) error {
	var req api.CompleteRequest
	if err := a.decodeJSON(w, r, &req); err != nil {
		return err
	}
	f, err := a.svc.Complete(r.Context(), caller, hashdrop.CompleteRequest{
		FileID:         req.FileID,
		PlaintextHash:  req.PlaintextHash,
		PlaintextSize:  req.PlaintextSizeBytes,
		PassphraseSalt: req.PassphraseSalt,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.CompleteResponse{S3ObjectKey: f.ObjectKey, UploadedFileSize: f.EncryptedSize})
	return nil
}

func (a *handler) listFiles(w http.ResponseWriter, r *http.Request, caller string) error {
	files, err := a.svc.Files(r.Context(), caller)
	if err != nil {
		return err
	}
	out := make([]api.FileSummary, 0, len(files))
	for _, f := range files {
		out = append(out, api.FileSummary{
			FileID:             f.ID,
			FileName:           f.FileName,
			EncryptedSizeBytes: f.EncryptedSize,
			Status:             string(f.Status),
			KeyManagementMode:  string(f.KeyMode),
			CreatedAt:          f.CreatedAt.UTC(),
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *handler) resolveFiles(w http.ResponseWriter, r *http.Request, caller string) error {
	files, err := a.filesByPrefix(r, caller)
	if err != nil {
		return err
	}
	out := make([]api.ResolvedFile, 0, len(files))
	for _, f := range files {
		out = append(out, api.ResolvedFile{FileName: f.FileName, FileID: f.ID})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *handler) fileDetails(w http.ResponseWriter, r *http.Request, caller string) error {
	files, err := a.filesByPrefix(r, caller)
	if err != nil {
		return err
	}
	out := make([]api.FileDetail, 0, len(files))
	for _, f := range files {
		out = append(out, api.FileDetail{
			FileID:             f.ID,
			FileName:           f.FileName,
			Status:             string(f.Status),
			PlaintextSizeBytes: f.PlaintextSize,
			EncryptedSizeBytes: f.EncryptedSize,
			S3Key:              f.ObjectKey,
			KeyManagementMode:  string(f.KeyMode),
			PlaintextHash:      f.PlaintextHash,
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *handler) filesByPrefix(r *http.Request, caller string) ([]hashdrop.File, error) {
	prefix, err := idParam(r)
	if err != nil {
		return nil, err
	}
	files, err := a.svc.FilesByPrefix(r.Context(), caller, prefix)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, hashdrop.Errorf(hashdrop.KindNotFound, "no file matches %q", prefix)
	}
	return files, nil
}

func (a *handler) fileHash(w http.ResponseWriter, r *http.Request, caller string) error {
	id, err := idParam(r)
	if err != nil {
		return err
	}
	f, err := a.svc.File(r.Context(), caller, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Hash{Hash: f.PlaintextHash})
	return nil
}

func (a *handler) fileSalt(w http.ResponseWriter, r *http.Request, caller string) error {
	id, err := idParam(r)
	if err != nil {
		return err
	}
	f, err := a.svc.File(r.Context(), caller, id)
	if err != nil {
		return err
	}
	if f.KeyMode != hashdrop.KeyModePassphrase || f.PassphraseSalt == "" {
		return hashdrop.Errorf(hashdrop.KindNotFound, "file %s has no passphrase salt: its key is in the owner's vault", f.ID)
	}
	writeJSON(w, http.StatusOK, api.Salt{Salt: f.PassphraseSalt})
	return nil
}

func (a *handler) deleteFile(w http.ResponseWriter, r *http.Request, caller string) error {
	prefix, err := idParam(r)
	if err != nil {
		return err
	}
	if err := a.svc.DeleteFile(r.Context(), caller, prefix); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// download answers with a redirect to a short-lived signed URL. The URL is
// a secret: it goes into the Location header and nowhere else, and no body
// repeats it (http.Redirect would).
func (a *handler) download(w http.ResponseWriter, r *http.Request, _ string) error {
	u, err := a.svc.DownloadURL(r.Context(), r.PathValue("ownerSegment"), r.PathValue("fileID"))
	if err != nil {
		return err
	}
	w.Header().Set("Location", u.Reveal())
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusSeeOther)
	return nil
}

// idParam reads the required ?id= query parameter.
func idParam(r *http.Request) (string, error) {
	q := r.URL.Query()
	if !q.Has("id") || q.Get("id") == "" {
		return "", hashdrop.Errorf(hashdrop.KindInvalid, "missing query parameter id")
	}
	return q.Get("id"), nil
}
