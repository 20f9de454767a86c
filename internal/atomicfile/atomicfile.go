// Package atomicfile writes files so that readers, and the file system after a
// crash, see either the complete old content or the complete new content under
// the final name, never a partial file.
//
// The recipe is the usual one: create a temporary file in the destination's
// directory (so the rename cannot cross file systems), write, fsync, set the
// permissions, rename over the destination, then fsync the directory so the
// rename itself is durable.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// ErrExist is returned (wrapped, together with fs.ErrExist) by CommitNoReplace
// when the destination already exists.
var ErrExist = fs.ErrExist

// File is a temporary file that becomes the destination on Commit. Use it
// like an *os.File for writing; call exactly one of Commit, CommitNoReplace or
// Abort. Abort after a successful commit is a no-op, so
//
//	f, err := atomicfile.Create(path, 0o600)
//	...
//	defer f.Abort()
//	... write ...
//	return f.Commit()
//
// is the intended shape.
type File struct {
	*os.File
	path string // final destination
	perm fs.FileMode
	done bool
}

// Create starts an atomic write of path. The temporary file lives in the same
// directory, is named ".<base>.*.tmp" and has mode 0600 until commit, when it
// gets perm.
func Create(path string, perm fs.FileMode) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp") // CreateTemp uses 0600
	if err != nil {
		return nil, fmt.Errorf("create temporary file for %s: %w", path, err)
	}
	return &File{File: f, path: path, perm: perm}, nil
}

// TempName reports the temporary file's path (useful in tests and messages).
func (f *File) TempName() string { return f.File.Name() }

func (f *File) prepare() error {
	if f.done {
		return errors.New("atomicfile: already committed or aborted")
	}
	if err := f.File.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", f.path, err)
	}
	if err := f.File.Chmod(f.perm); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("chmod %s: %w", f.path, err)
	}
	if err := f.File.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.path, err)
	}
	return nil
}

// Commit makes the written content visible under the final name, replacing
// any existing file. On error the temporary file is removed and the old
// content (if any) is untouched.
func (f *File) Commit() error {
	if err := f.prepare(); err != nil {
		f.Abort()
		return err
	}
	if err := os.Rename(f.File.Name(), f.path); err != nil {
		f.Abort()
		return fmt.Errorf("rename into place: %w", err)
	}
	f.done = true
	return syncDir(filepath.Dir(f.path))
}

// CommitNoReplace is Commit that refuses to replace an existing destination:
// it fails with an error matching fs.ErrExist and removes the temporary file.
// The check and the rename are one atomic step (renameat2 RENAME_NOREPLACE on
// Linux, a hard link elsewhere or when the file system lacks renameat2), so a
// file created concurrently is never clobbered.
func (f *File) CommitNoReplace() error {
	if err := f.prepare(); err != nil {
		f.Abort()
		return err
	}
	if err := renameNoReplace(f.File.Name(), f.path); err != nil {
		f.Abort()
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists: %w", f.path, fs.ErrExist)
		}
		return fmt.Errorf("rename into place: %w", err)
	}
	f.done = true
	return syncDir(filepath.Dir(f.path))
}

// Abort discards the temporary file. It is safe to call more than once and
// after a commit (then it does nothing).
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	f.File.Close() // may already be closed by prepare
	if err := os.Remove(f.File.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// WriteFile atomically replaces path with data, with mode perm.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// syncDir makes a rename in dir durable. Windows cannot fsync directories;
// NTFS journals the rename itself.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// linkNoReplace is the portable no-clobber rename: link fails if the target
// exists; then the temporary name is removed.
func linkNoReplace(oldpath, newpath string) error {
	if err := os.Link(oldpath, newpath); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fs.ErrExist
		}
		return err
	}
	return os.Remove(oldpath)
}
